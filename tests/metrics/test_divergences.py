"""Exact divergences (metrics.divergences) against independent routes and hand-counted cases."""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats
from scipy.spatial.distance import jensenshannon

from metrics import InputError
from metrics.divergences import (
    d_pi, gaussian_d_pi, gaussian_js_pi, gaussian_kl, gaussian_reverse_kl, js_pi, kl, reverse_kl,
)


def _pairs(count=40, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        k = int(rng.integers(2, 40))
        yield (rng.dirichlet(np.full(k, rng.uniform(0.2, 3.0))), rng.dirichlet(np.full(k, rng.uniform(0.2, 3.0))))


def _js_entropy_route(p, q, pi):
    """JS_pi = H(M) - pi H(P) - (1 - pi) H(Q), with scipy's entr (an independent formula)."""
    m = pi * p + (1 - pi) * q
    return special.entr(m).sum() - pi * special.entr(p).sum() - (1 - pi) * special.entr(q).sum()


# --------------------------------------------------------------------------- discrete


@pytest.mark.parametrize("pi", [0.05, 0.2, 0.5, 0.73, 0.95])
def test_js_pi_matches_entropy_route(pi):
    for p, q in _pairs():
        assert js_pi(p, q, pi) == pytest.approx(_js_entropy_route(p, q, pi), rel=1e-10, abs=1e-15)
        assert d_pi(p, q, pi) == pytest.approx(_js_entropy_route(p, q, pi) / (pi * (1 - pi)), rel=1e-10)


@pytest.mark.parametrize("pi", [1e-9, 1e-4, 1 - 1e-4, 1 - 1e-9])
def test_d_pi_near_the_ends_matches_high_precision(pi):
    # the entropy route loses digits here (JS_pi is O(pi) out of O(1) entropies); mpmath does not
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for p, q in list(_pairs(8, seed=1)):
        mpi = mpmath.mpf(pi)
        ref = mpmath.mpf(0)
        for a, b in zip(p, q):
            a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
            m = mpi * a + (1 - mpi) * b
            ref += mpi * a * mpmath.log(a / m) + (1 - mpi) * b * mpmath.log(b / m)
        ref = float(ref / (mpi * (1 - mpi)))
        assert d_pi(p, q, pi) == pytest.approx(ref, rel=1e-12)


def test_limits_and_midpoint():
    for p, q in _pairs(20):
        assert d_pi(p, q, 0.0) == pytest.approx(stats.entropy(p, q), rel=1e-12)
        assert d_pi(p, q, 1.0) == pytest.approx(stats.entropy(q, p), rel=1e-12)
        assert d_pi(p, q, 0.5) == pytest.approx(4 * js_pi(p, q, 0.5), rel=1e-14)
        assert js_pi(p, q, 0.0) == 0.0 and js_pi(p, q, 1.0) == 0.0
        # continuity at both ends: d_pi - d_0 = O(pi max p/q) once the ratios are bounded
        p, q = 0.9 * p + 0.1 / len(p), 0.9 * q + 0.1 / len(q)
        assert d_pi(p, q, 1e-9) == pytest.approx(kl(p, q), rel=1e-6)
        assert d_pi(p, q, 1 - 1e-9) == pytest.approx(reverse_kl(p, q), rel=1e-6)


def test_js_matches_scipy_jensenshannon():
    for p, q in _pairs(20):
        assert js_pi(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-12)


def test_hand_counted_values():
    # KL([1/2, 1/2] || [9/10, 1/10]) = 1/2 log(5/9) + 1/2 log 5
    assert kl([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.5 * math.log(5 / 9) + 0.5 * math.log(5), rel=1e-15)
    assert reverse_kl([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2), rel=1e-15)
    assert kl([0.3, 0.7], [0.3, 0.7]) == 0.0


def test_zeros_give_inf_exactly_where_kl_is_infinite():
    p, q = [0.5, 0.5, 0.0], [0.5, 0.0, 0.5]
    assert kl(p, q) == math.inf and reverse_kl(p, q) == math.inf
    # M = (1/2, 1/4, 1/4): KL(P||M) = KL(Q||M) = log(2)/2, so JS = log(2)/2 and d_0.5 = 2 log 2
    assert js_pi(p, q, 0.5) == pytest.approx(math.log(2) / 2, rel=1e-15)
    assert d_pi(p, q, 0.5) == pytest.approx(2 * math.log(2), rel=1e-15)
    curve = d_pi(p, q, [0.0, 0.3, 1.0])
    assert curve[0] == math.inf and curve[2] == math.inf and math.isfinite(curve[1])
    # p has a zero where q does not: KL(P||Q) stays finite, KL(Q||P) is infinite
    assert kl([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert reverse_kl([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == math.inf
    assert d_pi([0.5, 0.5, 0.0], [0.25, 0.25, 0.5], 0.0) == pytest.approx(math.log(2), rel=1e-15)


@pytest.mark.parametrize("pi", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_disjoint_supports_give_binary_entropy(pi):
    h = 0.0 if pi in (0.0, 1.0) else -pi * math.log(pi) - (1 - pi) * math.log(1 - pi)
    assert js_pi([1.0, 0.0], [0.0, 1.0], pi) == pytest.approx(h, rel=1e-15, abs=0)


def test_counts_are_normalised_and_shapes_flatten():
    p, q = np.array([[1, 2], [3, 4]]), np.array([[4, 3], [2, 1]])
    assert kl(p, q) == pytest.approx(kl(p.ravel() / 10, q.ravel() / 10), rel=1e-15)
    assert kl(p, q) == pytest.approx(stats.entropy(p.ravel(), q.ravel()), rel=1e-14)


def test_vector_pi_equals_scalar_calls():
    p, q = next(_pairs())
    grid = np.linspace(0, 1, 7)
    values = d_pi(p, q, grid)
    assert isinstance(values, np.ndarray) and values.shape == (7,)
    assert values == pytest.approx([d_pi(p, q, float(g)) for g in grid], rel=1e-15)
    assert isinstance(d_pi(p, q, 0.3), float)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0.5, -0.5, 1.0], [0.3, 0.3, 0.4]), r"`p` must be non-negative; got -0.5 at flat index 1"),
        (([0.5, 0.5], [0.3, 0.3, 0.4]), r"`p` and `q` must have the same shape .* \(2,\) and \(3,\)"),
        (([0.5, np.nan], [0.5, 0.5]), r"`p` contains a non-finite value \(nan\) at flat index 1"),
        (([0.0, 0.0], [0.5, 0.5]), r"`p` sums to 0"),
        (([], []), r"`p` is empty"),
    ],
)
def test_discrete_bad_input(args, match):
    with pytest.raises(InputError, match=match):
        kl(*args)


@pytest.mark.parametrize(("pi", "match"), [(1.5, r"`pi` must lie in \[0, 1\].*got 1.5"),
                                           ([[0.5]], r"`pi` must be a scalar or a non-empty 1-D array"),
                                           ("half", r"`pi` must be a number")])
def test_bad_pi(pi, match):
    with pytest.raises(InputError, match=match):
        d_pi([0.5, 0.5], [0.2, 0.8], pi)


# --------------------------------------------------------------------------- Gaussians


def _kl_1d(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def test_gaussian_kl_diagonal_is_sum_of_1d():
    rng = np.random.default_rng(3)
    m1, m2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.3, 2, 5), rng.uniform(0.3, 2, 5)
    ref = sum(_kl_1d(*args) for args in zip(m1, s1, m2, s2))
    assert gaussian_kl(m1, s1**2, m2, s2**2) == pytest.approx(ref, rel=1e-13)
    assert gaussian_reverse_kl(m1, s1**2, m2, s2**2) == pytest.approx(
        sum(_kl_1d(*args) for args in zip(m2, s2, m1, s1)), rel=1e-13)


def test_gaussian_kl_full_covariance_textbook_formula():
    rng = np.random.default_rng(4)
    d = 6
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    c1, c2 = a @ a.T + 0.5 * np.eye(d), b @ b.T + 0.5 * np.eye(d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    inv2 = np.linalg.inv(c2)
    ref = 0.5 * (np.trace(inv2 @ c1) + (m2 - m1) @ inv2 @ (m2 - m1) - d
                 + np.linalg.slogdet(c2)[1] - np.linalg.slogdet(c1)[1])
    assert gaussian_kl(m1, c1, m2, c2) == pytest.approx(ref, rel=1e-11)
    # scalars broadcast: isotropic N(0, 4 I_3) vs N(0, I_3)
    assert gaussian_kl(0.0, 4.0, np.zeros(3), 1.0) == pytest.approx(3 * _kl_1d(0, 2, 0, 1), rel=1e-14)


@pytest.mark.parametrize(("mp", "sp", "mq", "sq"), [(0, 1, 1, 1), (0, 1, 0, 2), (0.3, 0.5, -1, 1.7), (0, 1, 0, 0.2)])
@pytest.mark.parametrize("pi", [0.1, 0.5, 0.9])
def test_gaussian_d_pi_1d_matches_direct_quadrature(mp, sp, mq, sq, pi):
    def integrand(x):
        p, q = stats.norm.pdf(x, mp, sp), stats.norm.pdf(x, mq, sq)
        if p == 0 or q == 0:
            return 0.0
        m = pi * p + (1 - pi) * q
        return pi * p * math.log(p / m) + (1 - pi) * q * math.log(q / m)

    ref = integrate.quad(integrand, -40, 40, points=[mp, mq], epsabs=0, epsrel=1e-13, limit=500)[0]
    assert gaussian_d_pi(mp, sp**2, mq, sq**2, pi) == pytest.approx(ref / (pi * (1 - pi)), rel=1e-10)


@pytest.mark.parametrize("d", [2, 10])
@pytest.mark.parametrize("s", [0.7, 1.5])
def test_gaussian_d_pi_isotropic_matches_chi2_route(d, s):
    # N(0, I) vs N(0, s^2 I): the ratio depends on u = |x|^2 only, chi2(d) under P and s^2 chi2(d) under Q
    pis = np.array([0.1, 0.5, 0.9])
    ref = []
    for pi in pis:
        def integrand(u):
            lp, lq = stats.chi2.logpdf(u, d), stats.chi2.logpdf(u / s**2, d) - 2 * math.log(s)
            p, q = math.exp(lp), math.exp(lq)
            lm = math.log(pi * p + (1 - pi) * q)
            return pi * p * (lp - lm) + (1 - pi) * q * (lq - lm)

        hi = stats.chi2.isf(1e-30, d) * max(1.0, s**2)
        ref.append(integrate.quad(integrand, 0, hi, epsabs=0, epsrel=1e-12, limit=500)[0] / (pi * (1 - pi)))
    got = gaussian_d_pi(np.zeros(d), 1.0, np.zeros(d), s**2, pis)
    assert got == pytest.approx(ref, rel=1e-9)


def test_gaussian_d_pi_mean_and_scale_matches_noncentral_chi2_route():
    # P = N(m, c I), Q = N(0, I) with c != 1: ell depends on u = |x - b|^2, b = -m / (c - 1), which is
    # noncentral chi2 under both (a different one-dimensional reduction from the (t, s) quadrature)
    d, c = 3, 0.6
    m = np.array([0.8, 0.0, 0.0])
    b = -m / (c - 1)
    lam_q, lam_p = b @ b, (m - b) @ (m - b) / c
    for pi in (0.2, 0.5, 0.8):
        def integrand(u):
            lq = stats.ncx2.logpdf(u, d, lam_q)
            lp = stats.ncx2.logpdf(u / c, d, lam_p) - math.log(c)
            p, q = math.exp(lp), math.exp(lq)
            if p == 0 and q == 0:
                return 0.0
            lm = np.logaddexp(math.log(pi) + lp, math.log(1 - pi) + lq)
            return (pi * p * (lp - lm) if p else 0.0) + (1 - pi) * q * (lq - lm)

        ref = integrate.quad(integrand, 0, 200, points=[lam_q, lam_p], epsabs=0, epsrel=1e-11, limit=500)[0]
        assert gaussian_d_pi(m, c, np.zeros(d), 1.0, pi) == pytest.approx(ref / (pi * (1 - pi)), rel=1e-8)


@pytest.mark.parametrize(("mu", "c", "d"), [(0.7, 1.0, 10), (0.0, 2.25, 10), (2.0, 0.3, 64), (1.0, 0.05, 3)])
def test_gaussian_quadrature_reproduces_closed_form_kls(mu, c, d):
    # at pi -> 0 and 1 the quadrature integrand becomes the KL integrand: it must give the closed forms
    m = np.r_[mu, np.zeros(d - 1)]
    ends = gaussian_d_pi(m, c, np.zeros(d), 1.0, [1e-300, 1 - 2**-53])
    assert ends[0] == pytest.approx(gaussian_kl(m, c, np.zeros(d), 1.0), rel=1e-10)
    if mu > 0 and c == 1.0:  # equal covariances: d_pi converges fast, so 1 - 2^-53 is already the limit
        assert ends[1] == pytest.approx(gaussian_reverse_kl(m, c, np.zeros(d), 1.0), rel=1e-10)
    exact = gaussian_d_pi(m, c, np.zeros(d), 1.0, [0.0, 1.0])
    assert exact == pytest.approx([gaussian_kl(m, c, np.zeros(d), 1.0), gaussian_reverse_kl(m, c, np.zeros(d), 1.0)],
                                  rel=1e-15)


def test_gaussian_midpoint_is_4_js_and_js_scales():
    args = (np.zeros(2), 1.0, np.array([1.0, 0.0]), 2.0)
    assert gaussian_d_pi(*args, 0.5) == pytest.approx(4 * gaussian_js_pi(*args), rel=1e-14)
    assert gaussian_js_pi(*args, [0.0, 0.3, 1.0]) == pytest.approx(
        [0.0, 0.21 * gaussian_d_pi(*args, 0.3), 0.0], rel=1e-14)


def test_gaussian_d_pi_is_invariant_under_affine_maps():
    # f-divergences are invariant under invertible maps: transform both Gaussians by x -> A x + t
    rng = np.random.default_rng(8)
    a, t = rng.normal(size=(4, 4)) + 2 * np.eye(4), rng.normal(size=4)
    mp, mq = np.array([0.5, 0.2, 0.0, -0.3]), np.zeros(4)
    cov = 1.7 * a @ a.T
    before = gaussian_d_pi(mp, 1.7, mq, 1.0, [0.25, 0.5])
    after = gaussian_d_pi(a @ mp + t, cov, a @ mq + t, a @ a.T, [0.25, 0.5])
    assert after == pytest.approx(before, rel=1e-9)


def test_non_proportional_covariances_use_seeded_monte_carlo():
    # diag(1, 2) vs diag(2, 1) in d = 2: check the Monte Carlo route against a 2-D quadrature
    mp, cp, mq, cq = np.zeros(2), np.array([1.0, 2.0]), np.array([0.5, 0.0]), np.array([2.0, 1.0])
    pi = 0.5
    p = stats.multivariate_normal(mp, np.diag(cp))
    q = stats.multivariate_normal(mq, np.diag(cq))
    xs = np.linspace(-14, 14, 801)
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    lp, lq = p.logpdf(pts), q.logpdf(pts)
    lm = np.logaddexp(np.log(pi) + lp, np.log(1 - pi) + lq)
    integrand = pi * np.exp(lp) * (lp - lm) + (1 - pi) * np.exp(lq) * (lq - lm)
    ref = integrand.sum() * (xs[1] - xs[0]) ** 2 / (pi * (1 - pi))  # smooth, rapidly decaying: ~1e-12
    got = gaussian_d_pi(mp, cp, mq, cq, pi, n_mc=2**18, seed=3)
    assert got == pytest.approx(ref, rel=5e-3)
    assert gaussian_d_pi(mp, cp, mq, cq, pi, n_mc=2**18, seed=3) == got  # seeded
    assert gaussian_d_pi(mp, cp, mq, cq, [0.0, 1.0]) == pytest.approx(
        [gaussian_kl(mp, cp, mq, cq), gaussian_reverse_kl(mp, cp, mq, cq)], rel=1e-15)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(2), 1.0, np.zeros(3), 1.0), r"share one dimension d; got mean_p \(2,\)"),
        ((0.0, [[1.0, 2.0], [2.0, 1.0]], 0.0, 1.0), r"`cov_p` must be positive definite .* smallest eigenvalue is -1"),
        ((0.0, [[1.0, 0.5], [0.0, 1.0]], 0.0, 1.0), r"`cov_p` must be symmetric"),
        ((0.0, 1.0, [np.nan], 1.0), r"`mean_q` must be a finite scalar or 1-D array"),
    ],
)
def test_gaussian_bad_input(args, match):
    with pytest.raises(InputError, match=match):
        gaussian_kl(*args)
