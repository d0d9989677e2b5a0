"""Acceptance of the default ("auto") classifier on worlds with exact densities (issue 12)."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

PIS = (0.0, 0.25, 0.5, 0.75, 1.0)


# --------------------------------------------------------------------------- worlds with exact densities


def _standard_grid(h, d, half_width=9.0):
    """A grid of step h on [-9, 9]^d with the standard normal density times h^d as weights.

    The trapezoid rule on a smooth integrand that decays like a Gaussian converges faster than any power
    of h: at h = 0.05 the d_pi of `true_d_pi` agree with h = 0.01 to 5e-6 of their value (Monte Carlo on
    2e5 draws, used before: 0.1-0.3% off).
    """
    g = np.arange(-half_width, half_width + h / 2, h)
    u = np.stack(np.meshgrid(*[g] * d, indexing="ij"), axis=-1).reshape(-1, d)
    return u, np.exp(-0.5 * (u * u).sum(1)) * (h / math.sqrt(2 * math.pi)) ** d


class Gaussian:
    def __init__(self, mean, cov):
        self.mean, self.cov = np.asarray(mean, float), np.atleast_2d(np.asarray(cov, float))
        self.dist = stats.multivariate_normal(self.mean, self.cov)

    def sample(self, n, rng):
        return rng.multivariate_normal(self.mean, self.cov, size=n, method="cholesky")

    def log_prob(self, x):
        return self.dist.logpdf(x)

    def quadrature(self, h):
        """(points, weights) integrating against this density: a grid in standardised coordinates."""
        u, w = _standard_grid(h, self.mean.size)
        return self.mean + u @ np.linalg.cholesky(self.cov).T, w


class Ring:
    """Equal-weight isotropic Gaussians (scale 0.3) at the given angles on a circle of radius 4."""

    def __init__(self, modes=range(8), n_modes=8, radius=4.0, scale=0.3):
        ang = 2 * np.pi * np.asarray(list(modes)) / n_modes
        self.means, self.scale = radius * np.c_[np.cos(ang), np.sin(ang)], scale

    def sample(self, n, rng):
        c = rng.integers(len(self.means), size=n)
        return self.means[c] + self.scale * rng.normal(size=(n, 2))

    def log_prob(self, x):
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        return (logsumexp(-0.5 * d2 / self.scale**2, axis=1) - math.log(len(self.means))
                - math.log(2 * math.pi * self.scale**2))

    def quadrature(self, h):
        u, w = _standard_grid(h, 2)
        return np.vstack([m + self.scale * u for m in self.means]), np.tile(w, len(self.means)) / len(self.means)

    def moments(self):
        # mixture mean 0; covariance = mean of the outer products of the means + scale^2 I
        return np.zeros(2), self.means.T @ self.means / len(self.means) + self.scale**2 * np.eye(2)


class Banana:
    """x1 ~ N(0, s^2), x2 = z + b (x1^2 - s^2), z ~ N(0, 1): a curved density with Jacobian 1, turned
    by ``turn`` radians about the origin (a rotation: Jacobian 1 too)."""

    def __init__(self, s=1.5, b=0.5, turn=0.0):
        self.s, self.b = s, b
        c, si = math.cos(turn), math.sin(turn)
        self.rotation = np.array([[c, -si], [si, c]])

    def sample(self, n, rng):
        x1 = self.s * rng.normal(size=n)
        return np.c_[x1, rng.normal(size=n) + self.b * (x1**2 - self.s**2)] @ self.rotation.T

    def log_prob(self, x):
        x = x @ self.rotation  # back to the upright banana
        return (stats.norm.logpdf(x[:, 0], scale=self.s)
                + stats.norm.logpdf(x[:, 1] - self.b * (x[:, 0] ** 2 - self.s**2)))

    def quadrature(self, h):
        # on (x1 / s, z): the map to x has Jacobian 1 in z
        u, w = _standard_grid(h, 2)
        x1 = self.s * u[:, 0]
        return np.c_[x1, u[:, 1] + self.b * (x1**2 - self.s**2)] @ self.rotation.T, w

    def moments(self):
        cov = np.diag([self.s**2, 1 + 2 * self.b**2 * self.s**4])
        return np.zeros(2), self.rotation @ cov @ self.rotation.T


class Box:
    """Uniform on [0, width] x [0, 1]."""

    def __init__(self, width):
        self.width = width

    def sample(self, n, rng):
        return rng.uniform(size=(n, 2)) * [self.width, 1.0]

    def log_prob(self, x):
        inside = (x[:, 0] >= 0) & (x[:, 0] <= self.width) & (x[:, 1] >= 0) & (x[:, 1] <= 1)
        return np.where(inside, -math.log(self.width), -np.inf)


def _corr(d, rho, pairs):
    cov = np.eye(d)
    for i in range(pairs):
        cov[2 * i, 2 * i + 1] = cov[2 * i + 1, 2 * i] = rho
    return cov


def world(name):
    """(P, Q) for a world name: P is the real data, Q the model."""
    if name == "same-10d":
        return Gaussian(np.zeros(10), np.eye(10)), Gaussian(np.zeros(10), np.eye(10))
    if name == "same-64d":
        return Gaussian(np.zeros(64), np.eye(64)), Gaussian(np.zeros(64), np.eye(64))
    if name == "shift-10d":
        return Gaussian(np.zeros(10), np.eye(10)), Gaussian(np.r_[1.0, np.zeros(9)], np.eye(10))
    if name == "scale-10d":
        return Gaussian(np.zeros(10), np.eye(10)), Gaussian(np.zeros(10), 1.3**2 * np.eye(10))
    if name == "corr-2d":
        return Gaussian(np.zeros(2), np.eye(2)), Gaussian(np.zeros(2), _corr(2, 0.6, 1))
    if name == "corr-10d":
        return Gaussian(np.zeros(10), np.eye(10)), Gaussian(np.zeros(10), _corr(10, 0.5, 5))
    if name == "ring-vs-ml-gaussian":
        p = Ring()
        return p, Gaussian(*p.moments())
    if name == "ring-vs-half-modes":
        return Ring(), Ring(modes=range(0, 8, 2))
    if name == "wide-ring7-vs-ml-gaussian":  # not an acceptance world: wider modes, closer together
        p = Ring(modes=range(7), n_modes=7, radius=3.0, scale=0.45)
        return p, Gaussian(*p.moments())
    if name == "wide-ring6-vs-ml-gaussian":  # not an acceptance world either
        p = Ring(modes=range(6), n_modes=6, radius=4.0, scale=0.6)
        return p, Gaussian(*p.moments())
    if name == "banana-vs-ml-gaussian":
        p = Banana()
        return p, Gaussian(*p.moments())
    if name == "turned-banana-vs-ml-gaussian":  # not an acceptance world: the banana turned by 0.7 rad
        p = Banana(turn=0.7)
        return p, Gaussian(*p.moments())
    if name == "support-mismatch":
        return Box(2.0), Box(1.0)
    raise KeyError(name)


WORLDS = ("same-10d", "shift-10d", "scale-10d", "corr-2d", "corr-10d", "ring-vs-ml-gaussian", "ring-vs-half-modes",
          "banana-vs-ml-gaussian", "support-mismatch")


def true_d_pi(name, pis=PIS, h=0.05):
    """Exact d_pi: closed forms where they exist, else quadrature over the exact log densities.

    The 2-D worlds integrate each side against its own density on a grid in its own coordinates
    (`_standard_grid`; Monte Carlo on 2e5 draws, used before, was off by 0.2% on the ring and 0.3% on
    the banana: comparable to the biases the coverage runs measure).
    """
    from metrics.divergences import d_pi, gaussian_d_pi

    if name.startswith("same"):
        return np.zeros(len(pis))
    if name == "support-mismatch":
        # two cells: [0,1]^2 (p = 1/2, q = 1) and (1,2] x [0,1] (p = 1/2, q = 0)
        return np.array([float(d_pi([0.5, 0.5], [1.0, 0.0], pi)) for pi in pis])
    p, q = world(name)
    if isinstance(p, Gaussian) and isinstance(q, Gaussian):
        # quadrature for proportional covariances, Monte Carlo on 2^20 draws otherwise
        return np.asarray(gaussian_d_pi(p.mean, p.cov, q.mean, q.cov, np.asarray(pis)), dtype=float)
    (xp, wp), (xq, wq) = p.quadrature(h), q.quadrature(h)
    lp_p, lq_p, lp_q, lq_q = p.log_prob(xp), q.log_prob(xp), p.log_prob(xq), q.log_prob(xq)
    out = []
    for pi in pis:
        if pi == 0.0:
            out.append(wp @ (lp_p - lq_p))
        elif pi == 1.0:
            out.append(wq @ (lq_q - lp_q))
        else:
            lm_p = np.logaddexp(np.log(pi) + lp_p, np.log1p(-pi) + lq_p)
            lm_q = np.logaddexp(np.log(pi) + lp_q, np.log1p(-pi) + lq_q)
            out.append(wp @ (lp_p - lm_p) / (1 - pi) + wq @ (lq_q - lm_q) / pi)
    return np.array(out)


def draw(name, n, seed):
    p, q = world(name)
    rng = np.random.default_rng([seed, 7])
    return p.sample(n, rng), q.sample(n, rng)


def _covered(spec, truth):
    lo, hi = np.array(spec.ci_low, float), np.array([math.inf if h is None else h for h in spec.ci_high], float)
    return (lo <= truth) & (truth <= hi)


def _bounded(spec):
    return np.array([b is None for b in spec.bound])


def _check_accuracy(est, truth, bounded):
    # within 10% of the truth, or 0.02 absolute where the truth is below 0.2 (issue 12). An end that is
    # only a lower bound (one side has mass the other lacks) is exempt; an interior value is held to it
    # even when flagged as a lower bound (a boosting fit's variational bound must still be close)
    tol = np.where(truth < 0.2, 0.02, 0.10 * truth)
    ok = np.abs(est - truth) <= tol
    end = np.isin(np.asarray(PIS), (0.0, 1.0))
    return ok | (~bounded & end)


# --------------------------------------------------------------------------- fast acceptance checks


def test_same_distribution_gives_exactly_zero_with_a_covering_interval():
    import metrics

    real, generated = draw("same-10d", 2000, seed=0)
    spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=200, seed=0)
    # the prior-only candidate wins every fold: log p/q = 0 exactly, the null model
    assert spec.extras["chosen"] == ["constant"] * 5
    assert spec.d_pi == (0.0,) * 5 and all(_covered(spec, np.zeros(5)))
    assert spec.bound == (None,) * 5
    # "no difference seen" is not "none": the interval runs from 0 to the upper end of the best
    # non-constant fit's interval (it was [0, 0])
    assert spec.ci_low == (0.0,) * 5 and all(0.01 < h < 0.1 for h in spec.ci_high)
    kl = metrics.get_metric("kl")(real, generated, n_bootstrap=200)
    assert kl.value == 0.0 and kl.ci.low == 0.0 and kl.ci.high == pytest.approx(spec.ci_high[0], rel=0.3)
    assert kl.ci.method.startswith("the constant model won")


def _small_shift(n, seed, shift=0.25):
    """(real, generated, exact d_pi at PIS): N(0, I) against N(shift e_1, I) in 10-D (KL = shift^2 / 2)."""
    from metrics.divergences import gaussian_d_pi

    p, q = Gaussian(np.zeros(10), np.eye(10)), Gaussian(np.r_[shift, np.zeros(9)], np.eye(10))
    rng = np.random.default_rng([2000 + seed, 7])
    truth = np.asarray(gaussian_d_pi(p.mean, p.cov, q.mean, q.cov, np.asarray(PIS)), dtype=float)
    return p.sample(n, rng), q.sample(n, rng), truth


def test_a_difference_the_constant_model_keeps_is_inside_its_interval():
    # a mean shift of 0.25 in 10-D (d_pi 0.031), n = 2,000: too small for any candidate to gain 3 nats per
    # fold, so the constant model wins and every d_pi is 0. Its interval was [0, 0], which excluded the
    # truth; it now reaches the upper end of the best non-constant fit's interval
    import metrics

    real, generated, truth = _small_shift(2000, seed=1)
    spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=300, seed=1)
    assert spec.extras["chosen"][0] == "constant" and spec.d_pi == (0.0,) * 5
    assert spec.ci_low == (0.0,) * 5 and all(_covered(spec, truth))


@pytest.mark.slow
def test_the_constant_models_interval_covers_a_small_difference_over_40_seeds():
    # measured: the constant won 34 of 40 draws and its interval covered the truth in all 34 (before: 0);
    # a shift of 0.15 (d_pi 0.011): 39 of 40, all covered
    import warnings

    import metrics

    hits = []
    for seed in range(40):
        real, generated, truth = _small_shift(2000, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)
            spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=300, seed=seed)
        if spec.extras["chosen"][0] == "constant":
            hits.append(_covered(spec, truth))
    assert len(hits) >= 20 and np.mean(hits, axis=0).min() >= 0.9, (len(hits), np.mean(hits, axis=0))


def test_support_mismatch_is_a_lower_bound_in_the_affected_direction_only():
    import metrics
    from metrics import MetricWarning

    real, generated = draw("support-mismatch", 1000, seed=0)  # real on [0,2]x[0,1], generated on [0,1]^2
    truth = true_d_pi("support-mismatch")
    with pytest.warns(MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound: \d+\.\d% of the real rows"):
        kl = metrics.get_metric("kl")(real, generated, n_bootstrap=100)
    assert kl.bound == "lower" and kl.extras["bound"] == "lower" and kl.ci is None
    assert kl.extras["ci_low_one_sided"] <= kl.value
    assert math.isinf(truth[0]) and kl.value < 10
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricWarning)  # KL(Q||P) = log 2 is finite: no warning, no bound
        rkl = metrics.get_metric("reverse_kl")(real, generated, n_bootstrap=100)
    # a step log-ratio at n = 1000: the estimate is rough (quartic 12% low, boosting 10% high on this
    # draw); test_accuracy_at_n_10000 holds it to 10% at n = 10,000
    assert rkl.bound is None and rkl.value == pytest.approx(math.log(2), rel=0.15)
    with pytest.warns(MetricWarning, match=r"KL\(P\|\|Q\)"):
        spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=100)
    assert spec.bound == ("lower", None, None, None, None)
    assert spec.rows()[0]["ci_high"] is None and spec.results[0].bound == "lower"
    with pytest.warns(MetricWarning, match=r"KL\(P\|\|Q\)"):
        r = metrics.get_metric("spectrum")(real, generated, n_bootstrap=100)
    # the registered value is the interior mean, bounded: an estimate with an interval (the quartic
    # model wins this draw; a boosting winner's interior would be a lower bound), while its pi = 0
    # row stays a lower bound
    assert r.bound is None and r.extras["spectrum"][0]["bound"] == "lower" and r.ci is not None
    assert r.value == pytest.approx(np.mean([row["d_pi"] for row in r.extras["spectrum"][1:-1]]), rel=1e-12)
    json.dumps(r.to_dict(), allow_nan=False)  # strict JSON: no inf anywhere
    assert r.extras["spectrum"][-1]["bound"] is None


def _disc_in_square_d_pi(pi):
    # P uniform on the unit disc (density 1/pi_), Q uniform on [-1, 1]^2 (density 1/4): inside the disc
    # m = pi / pi_ + (1 - pi) / 4; outside, p = 0 and q / m = 1 / (1 - pi)
    m = pi / math.pi + (1 - pi) / 4
    inside = math.pi / 4
    p_term = math.log((1 / math.pi) / m)
    q_term = inside * math.log(0.25 / m) + (1 - inside) * math.log(1 / (1 - pi))
    return p_term / (1 - pi) + q_term / pi


def test_a_fit_without_fit_error_terms_reports_the_interior_as_a_lower_bound():
    # a disc inside a square: a sharp, curved log-ratio boundary that boosting approximates by steps.
    # Its held-out JS_pi is a variational lower bound (any classifier's is); measured with the default
    # at n = 10,000 (boosting won): 20-23% low, with two-sided intervals that excluded the truth. (At
    # n = 2,000-3,000 the quartic or rbf model wins, 30-37% low, and the mass-deficit diagnostic, 0.91
    # for a true 0.785, does not flag it: a known gap, in the closing note of this change.)
    import metrics

    pis = (0.25, 0.5, 0.75)
    truth = np.array([_disc_in_square_d_pi(pi) for pi in pis])
    rng = np.random.default_rng(3)
    r, t = np.sqrt(rng.uniform(size=3000)), rng.uniform(0, 2 * np.pi, 3000)
    real, generated = np.c_[r * np.cos(t), r * np.sin(t)], rng.uniform(-1, 1, size=(3000, 2))
    with pytest.warns(metrics.MetricWarning, match=r"JS_pi\) is only a lower bound: a classifier without fit-error"):
        spec = metrics.divergence_spectrum(real, generated, pis=pis, classifier="gbdt", n_bootstrap=200, seed=0)
    assert spec.bound == ("lower",) * 3 and spec.extras["lower_bound_interior"]
    assert np.all(np.array(spec.d_pi) < truth) and np.all(np.array(spec.ci_low) < truth), (spec.d_pi, truth)
    assert spec.rows()[1]["ci_high"] is None
    with pytest.warns(metrics.MetricWarning, match="JS_pi.*a classifier without fit-error terms"):
        js = metrics.get_metric("spectrum")(real, generated, classifier="gbdt", n_bootstrap=100)
    assert js.bound == "lower" and js.ci is None and js.extras["ci_low_one_sided"] <= js.value
    # a logistic model carries its fit error: a two-sided interval (a Gaussian shift, which it contains)
    real, generated = draw("shift-10d", 1000, seed=0)
    spec = metrics.divergence_spectrum(real, generated, pis=pis, classifier="quadratic", n_bootstrap=100)
    assert spec.bound == (None,) * 3 and not spec.extras["lower_bound_interior"]


def _disc_and_square(seed=0, n=2000):
    """(real, generated): real uniform on the unit disc, generated uniform on [-1, 1]^2."""
    rng = np.random.default_rng([seed, 11])
    r, t = np.sqrt(rng.uniform(size=n)), rng.uniform(0, 2 * np.pi, n)
    return np.c_[r * np.cos(t), r * np.sin(t)], rng.uniform(-1, 1, size=(n, 2))


def test_a_disc_inside_a_square_flags_its_infinite_reverse_kl_from_the_tail_calibration(monkeypatch):
    # real on the unit disc, generated on [-1, 1]^2: KL(Q||P) is infinite (21.5% of the generated mass lies
    # outside the disc), KL(P||Q) = log(4 / pi). A smooth winner (here the quartic model, boosting left
    # out) spreads the edge out: no row saturates and the real rows' mean q/p is 0.892 (true 0.785), above
    # the mass-deficit threshold, so before the tail check this draw came back as a confident 0.44 (30
    # draws: interiors 33-36% low, coverage 0). Where the fit is surest a row is generated it expects 48.7
    # real rows; 22 are there (Poisson p 2e-5): the true ratio falls further, KL(Q||P) is under-stated
    import metrics
    from metrics import classifier as C

    real, generated = _disc_and_square()
    monkeypatch.setattr(C, "AUTO_CANDIDATES", tuple(c for c in C.AUTO_CANDIDATES if c != "gbdt"))
    C._AUTO_FITS.clear()
    with pytest.warns(metrics.MetricWarning) as caught:
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    messages = [str(w.message) for w in caught]
    assert any(re.match(r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* expects 48\.7 real rows and finds 22",
                        m) for m in messages)
    # and the quartic model, shown not to contain the log-ratio, gives the interior as a lower bound only:
    # 0.2262 at pi = .5 for a true 0.3244 (30% low), reported before as a two-sided estimate
    assert any(m.startswith("d_pi for 0 < pi < 1 (JS_pi) is only a lower bound: the quartic model's fitted "
                            "ratio is flatter") for m in messages)
    assert spec.extras["chosen"][0] == "quartic" and spec.bound == (None, "lower", "lower")
    assert spec.extras["lower_bound_interior"] and spec.d_pi[1] < 0.75 * _disc_in_square_d_pi(0.5)
    assert spec.extras["saturated_generated"] < 0.02 and spec.extras["inverse_ratio_mean_real"] > 0.89
    assert (spec.extras["tail_real_found"], round(spec.extras["tail_real_expected"], 1)) == (22, 48.7)
    # the other direction is finite and its tail holds more generated rows than expected: not flagged
    assert spec.extras["tail_generated_found"] > spec.extras["tail_generated_expected"]


def test_boosting_draws_a_round_support_edge_from_the_squared_norm(monkeypatch):
    # The same draw with the default candidates: boosting, given ||z||^2 as an input (`_RadialBoosting`),
    # draws the disc's edge as one split and wins. Its held-out ratio is sure of the corners: 0 real rows
    # where it expects 15.5, and 421 generated rows beyond every real row carry 134% of the plug-in, so the
    # infinite KL(Q||P) is flagged; the finite KL(P||Q) is not, 0.217 for log(4 / pi) = 0.242 (10% low).
    # On the coordinates alone boosting's staircase loses to the quartic model, whose smooth edge puts
    # KL(P||Q) at 0.190 (21% low)
    import metrics
    from metrics import classifier as C

    real, generated = _disc_and_square()
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == (None, "lower")
    assert (spec.extras["tail_real_found"], round(spec.extras["tail_real_expected"], 1)) == (0, 15.5)
    assert spec.extras["beyond_real_generated"] == 421 and spec.extras["beyond_generated_real"] == 0
    assert spec.d_pi[0] == pytest.approx(0.217, abs=5e-4) and abs(spec.d_pi[0] / math.log(4 / math.pi) - 1) < 0.11

    monkeypatch.setattr(C._RadialBoosting, "_inputs", staticmethod(lambda z: np.asarray(z, dtype=np.float32)))
    C._AUTO_FITS.clear()
    with pytest.warns(metrics.MetricWarning):
        flat = metrics.divergence_spectrum(real, generated, pis=(0.0, 1.0), n_bootstrap=0, seed=0)
    assert flat.extras["chosen"][0] == "quartic" and flat.d_pi[0] == pytest.approx(0.190, abs=5e-4)
    assert flat.d_pi[0] < 0.8 * math.log(4 / math.pi)


def _normal_without_its_upper_tail(n, seed, d=2, cut=1.645):
    """(real, generated): real standard normal in d dims, generated the same conditioned on x1 < cut.

    The generated side lacks the real mass beyond the cut (5% at 1.645): KL(P||Q) is infinite,
    KL(Q||P) = -log Phi(cut) (0.0513), finite."""
    rng = np.random.default_rng([seed, 13])
    real, pool = rng.normal(size=(n, d)), rng.normal(size=(2 * n, d))
    return real, pool[pool[:, 0] < cut][:n]


def test_a_small_region_one_side_lacks_is_found_in_the_finer_tails(monkeypatch):
    # 5% of the real mass lies where the generated side has none. Boosting wins at n = 10,000 and is only
    # moderately sure there: no real row saturates, the generated rows' mean ratio (about 0.95) is above
    # the mass-deficit threshold, and among the 20% of real rows it is surest of the generated rows are as
    # many as expected. So KL(P||Q) came back as a confident 0.11 for an infinite truth. Among the 2% it
    # is surest of, the fit expects 10.8 generated rows and there are none (Poisson p 2e-5; 8.1 before
    # boosting saw the squared norm)
    import metrics
    import metrics.classifier as C

    real, generated = _normal_without_its_upper_tail(10_000, seed=0)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound: .* \(its top 2%\) it "
                                                   r"expects 10\.8 generated rows and finds 0"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == ("lower", "lower", None)
    assert spec.extras["saturated_real"] < 0.02 and spec.extras["ratio_mean_generated"] > 0.9
    assert spec.extras["tail_generated_share"] == 0.02 and spec.extras["tail_generated_found"] == 0
    assert stats.poisson.cdf(0, spec.extras["tail_generated_expected"]) < 1e-3
    # the finite direction is not flagged, and it is right: -log Phi(1.645) = 0.0513
    assert spec.d_pi[2] == pytest.approx(-stats.norm.logcdf(1.645), abs=0.01)
    # the count of real rows beyond every generated row (_VOID_ROWS) flags it as well: 465 of them (and the
    # share of the plug-in they carry, _BEYOND_SHARE), and so does the count of real values past the
    # generated range (_OUTSIDE_FACTOR): 489, where the same tails would give 4
    assert spec.extras["beyond_generated_real"] == 465 and spec.extras["beyond_real_generated"] <= 1
    assert spec.extras["outside_generated_range_real"] == 489
    # with the coarsest tail alone (the check before) and without those counts, no check fires: a confident
    # finite KL(P||Q)
    monkeypatch.setattr(C, "_TAIL_SHARES", (0.2,))
    monkeypatch.setattr(C, "_VOID_ROWS", 10**9)
    monkeypatch.setattr(C, "_BEYOND_SHARE", 2.0)
    monkeypatch.setattr(C, "_OUTSIDE_MIN", 10**9)
    coarse = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert coarse.bound == (None, "lower", None) and coarse.d_pi[0] < 0.2


def test_a_gap_boosting_is_only_fairly_sure_of_is_flagged_at_p_below_1e_2(monkeypatch):
    # the mirror image: the real side lacks the generated mass beyond x1 = 1.645 (KL(Q||P) infinite,
    # KL(P||Q) = -log Phi(1.645) = 0.0513). On this draw boosting expects 5.8 real rows among the 2% of
    # generated rows it is surest of and finds 0: Poisson p 3e-3 (on the coordinates alone, before it saw
    # the squared norm: 28.5 among 5%, 14 found, p 2e-3), which the threshold of 1e-3 let through as a
    # confident KL(Q||P) of 0.12. No end of the tests' worlds that the other checks leave unflagged
    # had a tail p below 0.026 (n = 2,000, 30 draws each), so 1e-2 costs no flag there
    import metrics
    import metrics.classifier as C

    generated, real = _normal_without_its_upper_tail(10_000, seed=1)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* \(its top 2%\) it "
                                                   r"expects 5\.8 real rows and finds 0"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == (None, "lower", "lower")
    assert 1e-3 < stats.poisson.cdf(0, spec.extras["tail_real_expected"]) < 1e-2
    assert spec.d_pi[0] == pytest.approx(-stats.norm.logcdf(1.645), abs=0.01)  # the finite end: unflagged, right
    # 476 generated rows lie beyond every real row: that count (_VOID_ROWS) flags it too (and their share,
    # and the 499 generated values past the real range, _OUTSIDE_FACTOR)
    assert spec.extras["beyond_real_generated"] == 476 and spec.extras["beyond_generated_real"] == 0
    assert spec.extras["outside_real_range_generated"] == 499
    monkeypatch.setattr(C, "_TAIL_P", 1e-3)
    monkeypatch.setattr(C, "_VOID_ROWS", 10**9)
    monkeypatch.setattr(C, "_BEYOND_SHARE", 2.0)
    monkeypatch.setattr(C, "_OUTSIDE_MIN", 10**9)
    before = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert before.bound[2] is None and before.d_pi[2] < 0.2


def test_boostings_end_is_a_lower_bound_where_many_rows_lie_beyond_every_row_of_the_other_set(monkeypatch):
    # A 2-d Gamma(3) (real) against its ML Gaussian N(3, 3 I) (generated): 8.5% of the Gaussian's mass lies
    # below 0, where the Gamma has none, so KL(Q||P) is infinite; KL(P||Q) is finite. Where boosting wins
    # (before the additive spline model was a candidate; it is fitted up to 16-d), the Gamma's smooth edge
    # leaves it only fairly sure there: no generated row saturates, the real rows' mean ratio is 0.92 (not
    # 10% short), and its tail expects 1.9 real rows where it finds 0. It returned KL(Q||P) = 0.51 with no
    # flag. But 910 generated rows lie beyond every real row, where boosting's ratio is set by its leaf
    # regularisation, not by rows
    import metrics
    import metrics.classifier as C
    from scipy.special import digamma, gammaln

    rng = np.random.default_rng([0, 7])
    real, generated = rng.gamma(3.0, size=(10_000, 2)), 3.0 + math.sqrt(3.0) * rng.normal(size=(10_000, 2))
    # KL(Gamma(3) || N(3, 3)) per coordinate = -H(Gamma(3)) + log(2 pi e 3) / 2
    k = 3.0
    truth = 2 * (-(k + gammaln(k) + (1 - k) * digamma(k)) + 0.5 * math.log(2 * math.pi * math.e * k))
    assert truth == pytest.approx(0.2413, abs=1e-4)  # (Monte Carlo on the densities, 2e6 draws: 0.2408)
    # the default: the spline model wins, its KL(P||Q) within 2% and unflagged, KL(Q||P) flagged
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "spline" and spec.bound[0] is None and spec.bound[2] == "lower"
    assert spec.d_pi[0] == pytest.approx(truth, rel=0.02)
    # boosting, with the share of the plug-in those rows carry set aside (_BEYOND_SHARE): their count flags it
    monkeypatch.setattr(C, "AUTO_CANDIDATES", tuple(c for c in C.AUTO_CANDIDATES if c != "spline"))
    monkeypatch.setattr(C, "_BEYOND_SHARE", 2.0)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* \d{3} generated "
                                                   r"rows lie beyond every real row"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == ("lower", "lower", "lower")
    assert spec.extras["beyond_real_generated"] >= 300 and spec.extras["beyond_generated_real"] < 20
    assert spec.extras["inverse_ratio_mean_real"] > 0.9 and spec.extras["saturated_generated"] == 0.0
    # the finite direction is flagged too, by the count of values past the other set's range (the Gamma's
    # right tail is heavier than the Gaussian's, where boosting continues its ratio flat: 108 real values
    # past the Gaussian's range, 4 with the same tails), and it is below its closed form
    assert spec.extras["outside_generated_range_real"] == 108 and spec.d_pi[0] < truth
    # without the counts: a confident finite KL(Q||P)
    monkeypatch.setattr(C, "_VOID_ROWS", 10**9)
    monkeypatch.setattr(C, "_OUTSIDE_MIN", 10**9)
    before = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert before.bound[2] is None and before.d_pi[2] < 0.6


def test_boostings_end_is_a_lower_bound_where_its_side_reaches_past_the_other_sets_range(monkeypatch):
    # A 2-d Exponential(1) (real) against its ML Gaussian N(1, I) (generated). KL(P||Q) is finite, 2 (1/2 +
    # log(2 pi) / 2 - 1) = 0.838, but a tenth of it lies in the exponential tail past the Gaussian's largest
    # draw (beyond about 4.9), where log p/q = (x - 2)^2 / 2 - 3 / 2 + log(2 pi) / 2 keeps rising. Boosting wins
    # (the step at 0 is a split) and continues its ratio flat past the last generated row: 0.708, 16% low,
    # and no other check fires (the tail of its top 1% expects 2.4 generated rows and finds 1). The real
    # values past the generated range are counted: 84, where the same tails would give 4
    import metrics
    import metrics.classifier as C

    truth = 2 * (0.5 + 0.5 * math.log(2 * math.pi) - 1)
    rng = np.random.default_rng([0, 7])
    real, generated = rng.exponential(size=(10_000, 2)), rng.normal(1.0, 1.0, size=(10_000, 2))
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound: .* The real rows reach "
                                                   r"past the generated set's range 84 times \(over the coordinates; 4\.0 "
                                                   r"with the same tails\)"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == ("lower", "lower")  # KL(Q||P) is infinite
    assert spec.extras["tail_generated_found"] == 1 and spec.extras["beyond_generated_real"] < 100
    assert spec.d_pi[0] < 0.9 * truth
    # without the count: a confident KL(P||Q), 16% low
    monkeypatch.setattr(C, "_OUTSIDE_MIN", 10**9)
    before = metrics.divergence_spectrum(real, generated, pis=(0.0, 1.0), n_bootstrap=0, seed=0)
    assert before.bound == (None, "lower") and before.d_pi[0] < 0.9 * truth


def test_an_end_carried_by_rows_beyond_every_row_of_the_other_set_is_a_lower_bound(monkeypatch):
    # A 2-d Gamma(5) against its ML Gaussian N(5, 5 I): 2.5% of the Gaussian's mass lies below 0, where the
    # Gamma has none (KL(Q||P) infinite). The additive spline model wins and draws the Gamma's edge smoothly:
    # no generated row saturates, the mean ratio is 2.5% short, its tails hold as many real rows as it
    # expects, no rival: KL(Q||P) came back 0.45, confident. But the 397 generated rows beyond every real
    # row carry 86% of that plug-in: it is what the model's extrapolation says where no real row is
    import metrics
    import metrics.classifier as C

    rng = np.random.default_rng([0, 7])
    real, generated = rng.gamma(5.0, size=(10_000, 2)), 5.0 + math.sqrt(5.0) * rng.normal(size=(10_000, 2))
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* generated rows "
                                                   r"beyond every real row carry \d+% of the plug-in"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "spline" and spec.bound == (None, None, "lower")
    assert spec.extras["beyond_real_generated_share"] >= 0.7 > spec.extras["beyond_generated_real_share"]
    assert spec.extras["inverse_ratio_mean_real"] > 0.9 and spec.extras["rival_reverse_kl"] is None
    # those rows reach far: 29% of the plug-in lies above log n, so the eighth check flags it too
    assert spec.extras["unchecked_share_reverse_kl"] >= C._UNCHECKED_SHARE
    # without the two checks: a confident finite KL(Q||P)
    monkeypatch.setattr(C, "_BEYOND_SHARE", 2.0)
    monkeypatch.setattr(C, "_UNCHECKED_SHARE", 2.0)
    before = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert before.bound == (None, None, None) and before.d_pi[2] < 1.0


def test_an_end_that_a_model_fitting_as_well_puts_far_higher_is_a_lower_bound():
    # 7 wide modes against their ML Gaussian, n = 10,000: boosting wins, and its KL(Q||P) (true 4.24, finite:
    # the Gaussian fills the voids between the modes, where p is tiny) came back 2.17 with a confident
    # interval: no row saturates, the tail holds 3 real rows where the capped fit expects 8.1 (Poisson p 0.04,
    # the check asks 1e-3), and the real rows' mean q/p (0.8) sits within 3 standard errors of 0.9. The
    # mixture probe scores higher at pi = .5
    # and puts it at 4.12: the rows do not pin that end down, so it is reported as a lower bound. (Boosting
    # on the squared norm as well now puts it at 2.78; its tail expects 1.1 real rows and finds 0, p 0.33)
    import metrics

    truth = true_d_pi("wide-ring7-vs-ml-gaussian", pis=(0.0, 1.0))
    real, generated = draw("wide-ring7-vs-ml-gaussian", 10_000, seed=0)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* A model that fits "
                                                   r"the held-out rows at least as well \(mixture\) puts it at 4\.12 "
                                                   r"where the chosen one puts it at 2\.78"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == (None, "lower", "lower")
    assert spec.extras["saturated_generated"] < 0.02
    found, expected = spec.extras["tail_real_found"], spec.extras["tail_real_expected"]
    assert (found, round(expected, 1)) == (0, 1.1) and stats.poisson.cdf(found, expected) > 0.01
    rival = spec.extras["rival_reverse_kl"]
    assert rival["model"] == "mixture" and rival["value"] == pytest.approx(truth[1], rel=0.05)
    assert spec.d_pi[2] < 0.7 * truth[1]
    # the other end is pinned down: no rival, and within 10% of the truth (1.21)
    assert spec.extras["rival_kl"] is None and spec.d_pi[0] == pytest.approx(truth[0], rel=0.1)


class Modes:
    """Equal-weight isotropic Gaussians at the rows of ``means`` (any dimension)."""

    def __init__(self, means, scale):
        self.means, self.scale = np.asarray(means, float), scale

    def sample(self, n, rng):
        return self.means[rng.integers(len(self.means), size=n)] + self.scale * rng.normal(size=(n, self.means.shape[1]))

    def log_prob(self, x):
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        d = self.means.shape[1]
        return (logsumexp(-0.5 * d2 / self.scale**2, axis=1) - math.log(len(self.means))
                - 0.5 * d * math.log(2 * math.pi * self.scale**2))

    def moments(self):
        m = self.means.mean(0)
        return m, (self.means - m).T @ (self.means - m) / len(self.means) + self.scale**2 * np.eye(self.means.shape[1])


def test_a_boosting_end_that_a_mixture_puts_far_higher_is_a_lower_bound_above_3d(monkeypatch):
    # 4 modes (+-2.5 on the first two axes, width 0.7) in 4-D against their ML Gaussian, n = 10,000. Above
    # 3-D neither the bumps nor the quartic model are tried: boosting wins, and its KL(Q||P) (true 1.10: the
    # Gaussian fills the voids between the modes) came back 0.75 with an interval that excluded the truth
    # and no flag. The mixture probe, now fitted next to boosting up to 16-D, fits the held-out rows better
    # and puts that end near the truth: the end is reported as a lower bound. KL(P||Q) (0.64) is pinned down
    import metrics
    import metrics.classifier as C

    p = Modes([[2.5, 0, 0, 0], [-2.5, 0, 0, 0], [0, 2.5, 0, 0], [0, -2.5, 0, 0]], 0.7)
    q = Gaussian(*p.moments())
    x = q.sample(400_000, np.random.default_rng(99))  # Monte Carlo on the exact densities
    truth = float(np.mean(q.log_prob(x) - p.log_prob(x)))
    assert truth == pytest.approx(1.10, abs=0.01)
    rng = np.random.default_rng([0, 7])
    real, generated = p.sample(10_000, rng), q.sample(10_000, rng)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound: .* A model that fits "
                                                   r"the held-out rows at least as well \(mixture\) puts it at"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=200, seed=0)
    assert spec.extras["chosen"][0] == "gbdt" and spec.bound == (None, "lower", "lower")
    # a lower bound: its one-sided lower end holds, and nothing bounds it from above
    assert spec.d_pi[2] < 0.75 * truth and spec.ci_low[2] <= truth and spec.rows()[2]["ci_high"] is None
    assert spec.extras["rival_reverse_kl"]["value"] == pytest.approx(truth, rel=0.1)
    assert spec.extras["rival_kl"] is None
    # without the probe above 3-D: a confident end whose interval misses the truth
    monkeypatch.setattr(C, "_MIXTURE_MAX_DIM", 3)
    monkeypatch.setattr(C, "_OUTSIDE_MIN", 10**9)  # (the Gaussian's tails reach past the modes' range too)
    C._AUTO_FITS.clear()
    before = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=200, seed=0)
    assert before.bound[2] is None and before.ci_high[2] < truth


def test_a_flagged_end_is_not_above_its_truth_where_the_other_side_has_no_rows():
    # 6 modes (radius 3, width 0.5) against 3 of them: the generated side has no mass at half the real
    # modes, and the rbf fit extrapolates the log-ratio there far too steeply from the rows around them:
    # KL(P||Q) came back 8.89 (8.97, 9.13 on two other seeds) for a true 6.21, reported as a lower bound
    # (the leaderboard printed "> 8.89"). Capped at log(n_generated), the most a generated sample of
    # that size can check, it is 3.72
    import metrics

    p, q = Ring(range(6), 6, 3.0, 0.5), Ring(range(0, 6, 2), 6, 3.0, 0.5)
    x = p.sample(400_000, np.random.default_rng(99))  # Monte Carlo on the exact densities
    truth = float(np.mean(p.log_prob(x) - q.log_prob(x)))
    assert truth == pytest.approx(6.21, abs=0.02)
    rng = np.random.default_rng([0, 7])
    real, generated = p.sample(10_000, rng), q.sample(10_000, rng)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=200, seed=0)
    assert spec.extras["chosen"][0] == "rbf" and spec.bound == ("lower", None, None)
    assert spec.extras["saturated_real"] > 0.1  # the rows the cap binds on
    assert 0.5 * truth < spec.d_pi[0] < 0.7 * truth and spec.ci_low[0] < spec.d_pi[0]
    kl = metrics.get_metric("kl")(real, generated, n_bootstrap=200, seed=0)  # the registered metric agrees
    assert kl.bound == "lower" and kl.value == pytest.approx(spec.d_pi[0], rel=1e-12)


def test_a_flagged_end_is_not_above_its_truth_where_the_other_sides_rows_are_few():
    # 3 modes on a line (width 0.7, 3 apart) against one Gaussian (0.9) in the middle, n = 2,000: the
    # log-ratio at the outer modes is about 5, below the cap, and the quartic and rbf fits extrapolate it
    # too steeply there; KL(P||Q) (true 2.77) is flagged, and on these draws its plug-in was above the
    # truth in 10 of 10 (by up to 44%: benchmarks/lower_bounds.py), the capped plug-in in 8. The few
    # generated rows out there show the fitted ratio too large (their mean capped ratio above 1), and
    # the value is normalised by it
    import metrics

    p, q = Modes([[-3.0, 0.0], [0.0, 0.0], [3.0, 0.0]], 0.7), Modes([[0.0, 0.0]], 0.9)
    x = p.sample(400_000, np.random.default_rng(99))
    truth = float(np.mean(p.log_prob(x) - q.log_prob(x)))
    assert truth == pytest.approx(2.77, abs=0.01)
    values, lows = [], []
    for seed in range(10):
        rng = np.random.default_rng([seed, 7])
        real, generated = p.sample(2000, rng), q.sample(2000, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)
            spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=200, seed=seed)
        assert spec.bound[0] == "lower"
        values.append(spec.d_pi[0])
        lows.append(spec.ci_low[0])
    values = np.array(values)
    assert np.sum(values > truth) <= 2 and values.max() < 1.05 * truth, values.round(3)  # measured: 0 of 10
    assert np.all(np.array(lows) < truth) and np.median(values) > 0.7 * truth


def test_an_end_interval_spans_the_models_that_fit_the_rows_as_well():
    # 6 modes of width 0.6 against their ML Gaussian, n = 2,000: the rbf model wins and its KL(P||Q) runs a
    # few percent high (over 30 draws its interval covered the truth in 24). Models that fit the held-out
    # rows at least as well put it lower (the ends are plug-ins, so neither side is a bound), and the
    # interval's lower end now reaches theirs: on this draw it missed the truth (1.356) without them
    import metrics

    truth = true_d_pi("wide-ring6-vs-ml-gaussian", pis=(0.0,))[0]
    real, generated = draw("wide-ring6-vs-ml-gaussian", 2000, seed=1002)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=300, seed=2)
    below = spec.extras["approximation_gap_below"]
    assert spec.extras["chosen"][0] == "rbf" and spec.bound[0] is None and spec.d_pi[0] > 1.1 * truth
    assert below[0] > 0.1 and below[1] == 0.0  # the interior's lower end is never lowered
    assert spec.ci_low[0] + below[0] > truth and spec.ci_low[0] <= truth <= spec.ci_high[0]
    kl = metrics.get_metric("kl")(real, generated, n_bootstrap=300, seed=2)  # the registered metric agrees
    assert kl.ci.low == pytest.approx(spec.ci_low[0], rel=1e-12) and "lower end lowered" in kl.ci.method


def _laplace_vs_its_ml_gaussian_d_pi(d, pis, m=2**20):
    """d_pi of a product of Laplace(0, 1/sqrt 2) (unit variance) against N(0, I), Monte Carlo on m draws each."""
    b = 1 / math.sqrt(2)
    rng = np.random.default_rng(2024)
    xp, xq = rng.laplace(scale=b, size=(m, d)), rng.normal(size=(m, d))

    def log_ratio(x):  # log p/q of the product: a sum of one-coordinate terms
        return (stats.laplace.logpdf(x, scale=b) - stats.norm.logpdf(x)).sum(axis=1)

    lr_p, lr_q = log_ratio(xp), log_ratio(xq)
    out = []
    for pi in pis:
        if pi == 0.0:
            out.append(lr_p.mean())
        elif pi == 1.0:
            out.append(-lr_q.mean())
        else:  # log p/m = -log(pi + (1 - pi) q/p), log q/m = -log(pi p/q + 1 - pi)
            out.append(-np.logaddexp(math.log(pi), math.log1p(-pi) - lr_p).mean() / (1 - pi)
                       - np.logaddexp(math.log(pi) + lr_q, math.log1p(-pi)).mean() / pi)
    return np.array(out)


def test_moment_matched_coordinates_get_the_additive_spline_model(monkeypatch):
    # A 10-d product of unit-variance Laplace coordinates against its ML Gaussian: every first and second
    # moment matches, and the log-ratio sum_i (x_i^2 / 2 - sqrt(2) |x_i|) + const has a kink no polynomial
    # draws. Boosting won before and put KL(P||Q) 31% and KL(Q||P) 16% low, unflagged, with intervals that
    # missed. The additive model (quadratic features plus a cubic spline per coordinate) contains it nearly
    import metrics
    import metrics.classifier as C

    truth = _laplace_vs_its_ml_gaussian_d_pi(10, PIS)
    # the ends in closed form: 10 (log(2 pi e) / 2 - 1 - log(sqrt 2)) and 10 (2 / sqrt(pi) - log(2 pi e) / 2 + log(sqrt 2))
    assert truth[0] == pytest.approx(10 * (0.5 * math.log(2 * math.pi * math.e) - 1 - 0.5 * math.log(2)), rel=5e-3)
    assert truth[-1] == pytest.approx(10 * (2 / math.sqrt(math.pi) - 0.5 * math.log(2 * math.pi * math.e)
                                            + 0.5 * math.log(2)), rel=5e-3)
    rng = np.random.default_rng([0, 7])
    real, generated = rng.laplace(scale=1 / math.sqrt(2), size=(10_000, 10)), rng.normal(size=(10_000, 10))
    spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=200, seed=0)
    assert set(spec.extras["chosen"]) == {"spline"} and spec.bound == (None,) * 5
    for j, t in enumerate(truth):
        assert abs(spec.d_pi[j] - t) <= 0.1 * t, (PIS[j], spec.d_pi[j], t)
        assert spec.ci_low[j] <= t <= spec.ci_high[j], (PIS[j], spec.ci_low[j], spec.ci_high[j], t)
    # without it boosting wins, and its ends are far low. KL(P||Q) is flagged by the count of real values
    # past the Gaussian's range (456, where the same tails give 20: _OUTSIDE_FACTOR), since boosting
    # continues its ratio flat there; KL(Q||P) has nothing said about it
    monkeypatch.setattr(C, "AUTO_CANDIDATES", tuple(c for c in C.AUTO_CANDIDATES if c != "spline"))
    before = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=0, seed=0)
    assert before.extras["chosen"][0] == "gbdt" and before.bound[0] == "lower" and before.bound[-1] is None
    assert before.extras["outside_generated_range_real"] == 456
    assert before.d_pi[0] < 0.75 * truth[0] and before.d_pi[-1] < 0.9 * truth[-1]


def test_ring_interior_comes_from_a_logistic_model_with_its_fit_error():
    # the ring against its ML Gaussian: the "rbf" candidate (quadratic + Gaussian bumps) wins, so the
    # interior carries the fit-error terms. Measured before it existed: the k-NN ratio won, 7-10%
    # low, and the interval (evaluation noise only) missed the truth at every pi in every draw. Now,
    # on these six draws: 1-2% low in the median, the draw of seed 0 5-7% low (not covered)
    import metrics

    pis = (0.25, 0.5, 0.75)
    truth = true_d_pi("ring-vs-ml-gaussian", pis=pis)
    ratios, covered = [], []
    for seed in range(6):
        real, generated = draw("ring-vs-ml-gaussian", 2000, seed=seed)
        spec = metrics.divergence_spectrum(real, generated, pis=pis, n_bootstrap=300, seed=seed)
        assert set(spec.extras["chosen"]) == {"rbf"} and any(spec.extras["bias_correction"])
        ratios.append(np.array(spec.d_pi) / truth)
        covered.append(_covered(spec, truth))
    assert np.all(np.abs(np.median(ratios, axis=0) - 1.0) < 0.02), ratios
    assert np.all(np.sum(covered, axis=0) >= 5), covered


def exact_plug_in(name, real, generated, pis):
    """(value, standard error) per pi of the d_pi plug-in of these rows with the exact log-ratio.

    What a perfect classifier would return: an estimate's difference from it on the same rows is the
    estimator's own error, free of the draw's sampling noise (most of the spread: on the ring 1.7-2.4%
    of the truth at n = 2,000), and its interval's coverage says how lucky a block of draws is."""
    from metrics.classifier import _contributions

    p, q = world(name)
    with np.errstate(invalid="ignore"):  # support mismatch: infinite log-ratios
        a, b = _contributions(p.log_prob(real) - q.log_prob(real), p.log_prob(generated) - q.log_prob(generated),
                              np.asarray(pis, dtype=float))
        return a.mean(axis=1) + b.mean(axis=1), np.sqrt(a.var(axis=1) / a.shape[1] + b.var(axis=1) / b.shape[1])


def test_the_interval_carries_the_approximation_gap_another_candidate_shows():
    # 8 modes against 4 of them: the additive spline model wins (the quartic did before it was a candidate)
    # but does not contain the ratio (flat over the shared modes, high over the others); the Gaussian-mixture
    # probe scores higher on the same held-out rows, so the winner's interior is short by at least that much
    # and the interval's upper end is raised by it. On this draw the spline's interior is 4-5% low, its
    # bootstrap interval alone reaches the truth by 0.3-1.1%, and the gap adds 2-3% of it (the quartic
    # winner of the draw, before, missed the truth at every interior pi without it)
    import metrics

    pis = (0.0, 0.25, 0.5, 0.75, 1.0)
    truth = true_d_pi("ring-vs-half-modes", pis=pis)
    real, generated = draw("ring-vs-half-modes", 2000, seed=1)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=pis, n_bootstrap=300, seed=1)
    gap, lo, hi = (np.array(v, dtype=float) for v in (spec.extras["approximation_gap"], spec.ci_low, spec.ci_high))
    assert spec.extras["chosen"][0] == "spline" and spec.bound == ("lower", None, None, None, None)
    # the ends are plug-ins, not bounds: their intervals span the models that fit the rows as well (here
    # the mixture's reverse KL, 0.010 above the spline's, and another model's 0.001 below)
    assert spec.extras["approximation_gap_from"][-1] == "mixture" and 0.008 < gap[-1] < 0.012
    assert 0.0005 < spec.extras["approximation_gap_below"][-1] < 0.002 and lo[-1] <= truth[-1] <= hi[-1]
    inner = slice(1, 4)
    assert np.all(gap[inner] > 0.01 * truth[inner])
    assert np.all(hi[inner] - gap[inner] < 1.012 * truth[inner]) and np.all(((lo <= truth) & (truth <= hi))[inner])
    js = metrics.get_metric("js")(real, generated, n_bootstrap=300, seed=1)  # the registered metric: d_0.5 / 4
    assert js.extras["approximation_gap"] == pytest.approx(gap[2] / 4, rel=1e-9)
    assert js.ci.high == pytest.approx(spec.ci_high[2] / 4, rel=0.05) and "approximation gap" in js.ci.method
    # the ring of narrow modes against their ML Gaussian: the rbf model wins, 1.1-1.6% below the
    # exact-ratio plug-in of the same rows; the logistic probes show at most 0.2% of the truth, the
    # Gaussian-mixture probe (a density model per side, which contains this log-ratio) the rest
    truth = true_d_pi("ring-vs-ml-gaussian", pis=pis)
    real, generated = draw("ring-vs-ml-gaussian", 2000, seed=0)
    exact = exact_plug_in("ring-vs-ml-gaussian", real, generated, pis)[0]
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=pis, n_bootstrap=0, seed=0)
    gap = np.array(spec.extras["approximation_gap"], dtype=float)
    assert spec.extras["chosen"][0] == "rbf" and spec.extras["approximation_gap_below"][0] > 0.0
    # KL(P||Q) (2.2499 for a true 2.4191) is spanned up to the less-ridge refit's (+0.124), down to the mixture's
    assert spec.extras["approximation_gap_from"][:4] == ["rbf@C10 refit", "mixture", "mixture", "mixture"]
    assert 0.1 < gap[0] < 0.15
    shortfall = (exact - np.array(spec.d_pi))[inner]
    # on this draw 0.7 / 0.8 / 1.1% of the truth short, and shown as 1.2 / 1.2 / 1.6% (a maximum over noisy
    # differences overshoots a little: it only raises the interval's upper end)
    assert np.all(shortfall > 0.005 * truth[inner])
    assert np.all((shortfall <= gap[inner]) & (gap[inner] < 0.02 * truth[inner]))


def test_a_turned_banana_is_fitted_by_the_quartic_model_with_less_ridge(monkeypatch):
    # The banana turned by 0.7 rad has the same exactly quartic log-ratio and the same d_pi as the upright
    # one, but the quartic model's ridge acts on standardised monomials of the turned coordinates and
    # costs it the fit: boosting won, and every d_pi came back a flagged lower bound, KL(P||Q) 21% low.
    # The same model with a tenth of the ridge is a candidate that must gain materially over its twin
    # (`_less_ridge_pays`): here 0.0184 nats per validation row (se 0.0013), 16% of the twin's own gain.
    # Boosting's lower bounds were 21% low at KL(P||Q); the quartic model's are 5-12% low
    import metrics
    from metrics import classifier as C

    truth = true_d_pi("turned-banana-vs-ml-gaussian")
    assert truth == pytest.approx(true_d_pi("banana-vs-ml-gaussian"), rel=1e-12)  # a turn changes no d_pi
    real, generated = draw("turned-banana-vs-ml-gaussian", 10_000, seed=0)
    with pytest.warns(metrics.MetricWarning) as caught:
        spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=200, seed=0)
    assert spec.extras["chosen"] == ["quartic@C10"] * 5
    # the interior is 4.5-4.7% low and (the less-ridge model's tails still flatter than the rows say) only a
    # lower bound; the reverse KL is one too, as for the upright banana. KL(P||Q) came back 5.5% high and
    # covered, but 17% of its plug-in lay above log-ratio log n, where no generated row checks the fit
    # (the exact ratio puts 5% there): it is the capped lower bound, 12% low
    assert spec.bound == ("lower",) * 5
    errors = np.array(spec.d_pi) / truth - 1
    assert errors[0] == pytest.approx(-0.119, abs=0.002) and spec.ci_low[0] <= truth[0]
    assert spec.extras["unchecked_share_kl"] == pytest.approx(0.165, abs=0.001)
    assert np.all((errors[1:4] > -0.05) & (errors[1:4] < -0.04))
    assert any(str(w.message).startswith("KL(P||Q)") and "17% of the plug-in lies above log-ratio 9.2" in str(w.message)
               for w in caught)

    monkeypatch.setattr(C, "AUTO_CANDIDATES", tuple(c for c in C.AUTO_CANDIDATES if c != "quartic@C10"))
    C._AUTO_FITS.clear()
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound"):
        before = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=0, seed=0)
    assert before.extras["chosen"][0] == "gbdt" and before.bound == ("lower",) * 5
    assert before.d_pi[0] == pytest.approx(0.7867 * truth[0], rel=0.01)


def test_the_interval_carries_the_shrinkage_a_less_ridge_refit_shows():
    # the banana against its ML Gaussian: the quartic model contains the log-ratio but its ridge shrinks
    # the tails, 2.5-2.9% low at the interior. The same model refitted with a tenth of the ridge, compared
    # on bias-corrected values, shows most of that; on this draw the interval missed the truth at every
    # interior pi without it
    import metrics

    pis = (0.0, 0.25, 0.5, 0.75, 1.0)
    inner = slice(1, 4)
    truth = true_d_pi("banana-vs-ml-gaussian", pis=pis)
    real, generated = draw("banana-vs-ml-gaussian", 2000, seed=1002)
    exact = exact_plug_in("banana-vs-ml-gaussian", real, generated, pis)[0]
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=pis, n_bootstrap=300, seed=2)
    gap, lo, hi = (np.array(v, dtype=float) for v in (spec.extras["approximation_gap"], spec.ci_low, spec.ci_high))
    assert spec.extras["chosen"][0] == "quartic"
    assert spec.extras["approximation_gap_from"] == ["quartic@C10 refit"] * 5
    shortfall = (exact - np.array(spec.d_pi))[inner]
    assert np.all(shortfall > 0.04 * truth[inner]) and np.all((0.5 * shortfall < gap[inner]) & (gap[inner] < shortfall))
    assert np.all(hi[inner] - gap[inner] < truth[inner]) and np.all(((lo <= truth) & (truth <= hi))[inner])


def test_a_student_t_against_its_ml_gaussian_is_flagged_in_the_direction_whose_ratio_no_sample_checks():
    # t(5) in 2-d against the Gaussian of its first two moments: log p/q rises like |x|^2 / (2 var) along
    # every direction, so chi^2(P||Q) is infinite and 23% of KL(P||Q) lies above log-ratio log n at
    # n = 10,000 (exact ratio); KL(Q||P) has no such tail. The rbf model's plug-in of KL(P||Q) came back
    # 6% high (0.116), but with 22.5% of it above log n (the fitted and true log-ratios of the outermost
    # real rows unrelated: 127 for a true 6, 43 for 92): flagged. Its capped value, normalised by M = 2.0 +- 1.0 (one
    # generated row fitted at log-ratio 30, true 4.5), would be -0.60: it is reported as 0
    import metrics

    scale, df = np.eye(2), 5.0
    p, q = stats.multivariate_t(np.zeros(2), scale, df=df), stats.multivariate_normal(np.zeros(2), scale * df / (df - 2))
    rng = np.random.default_rng([0, 7])
    real = rng.normal(size=(10_000, 2)) / np.sqrt(rng.chisquare(df, size=(10_000, 1)) / df)
    generated = rng.multivariate_normal(np.zeros(2), scale * df / (df - 2), size=10_000, method="cholesky")
    mc = np.random.default_rng(1)  # truths by Monte Carlo on 10^6 draws of the exact densities
    xp, xq = p.rvs(size=1_000_000, random_state=mc), q.rvs(size=1_000_000, random_state=mc)
    kl, reverse_kl = np.mean(p.logpdf(xp) - q.logpdf(xp)), np.mean(q.logpdf(xq) - p.logpdf(xq))
    assert kl == pytest.approx(0.109, abs=0.002) and reverse_kl == pytest.approx(0.058, abs=0.001)
    with pytest.warns(metrics.MetricWarning, match=r"KL\(P\|\|Q\) \(pi = 0\) is only a lower bound: .* 23% of the "
                      r"plug-in lies above log-ratio 9.2") as caught:
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 1.0), n_bootstrap=200, seed=0)
    assert not any(str(w.message).startswith("KL(Q||P)") for w in caught)
    assert spec.extras["chosen"] == ["rbf"] * 5 and spec.bound == ("lower", None)
    assert spec.d_pi[0] == 0.0 and spec.ci_low[0] <= 0.0
    assert spec.d_pi[1] == pytest.approx(reverse_kl, rel=0.1) and spec.ci_low[1] <= reverse_kl <= spec.ci_high[1]


def test_ring_against_its_ml_gaussian_is_seen():
    # the paper's case: the first two moments match, so a quadratic logit sees nothing; the default does
    import metrics

    real, generated = draw("ring-vs-ml-gaussian", 2000, seed=0)
    truth = true_d_pi("ring-vs-ml-gaussian", pis=(0.0, 0.5))
    with pytest.warns(metrics.MetricWarning, match=r"KL\(Q\|\|P\) \(pi = 1\) is only a lower bound"):
        spec = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5, 1.0), n_bootstrap=0)
    assert spec.d_pi[:2] == pytest.approx(truth, rel=0.15)
    assert spec.bound == (None, None, "lower") and spec.d_pi[2] < 21.0
    assert metrics.c2st(real, generated).pvalue < 1e-10
    quadratic = metrics.divergence_spectrum(real, generated, pis=(0.0, 0.5), classifier="quadratic", n_bootstrap=0)
    assert max(quadratic.d_pi) < 0.1  # what the old default reported


# --------------------------------------------------------------------------- slow: the acceptance numbers


def _known_gap(name, reason):
    """A world whose acceptance check fails today, with what was measured (xfail: shown by -rA)."""
    return pytest.param(name, marks=pytest.mark.xfail(reason=reason))


@pytest.mark.slow
@pytest.mark.parametrize("name", WORLDS)
def test_accuracy_at_n_10000(name):
    import warnings

    import metrics

    real, generated = draw(name, 10_000, seed=0)
    truth = true_d_pi(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", metrics.MetricWarning)
        spec = metrics.divergence_spectrum(real, generated, pis=PIS, n_bootstrap=300, seed=0)
    bounded = _bounded(spec)
    covered = _covered(spec, truth)
    for j, pi in enumerate(PIS):  # shown with -rA: the table of the closing notes
        print(f"{name} pi={pi:<4} truth {truth[j]:.4f} estimate {spec.d_pi[j]:.4f}"
              f"{'' if bounded[j] else ' (lower bound)'} CI [{spec.ci_low[j]:.4f}, {spec.ci_high[j]}] "
              f"covered {bool(covered[j])}")
    assert np.all(_check_accuracy(np.array(spec.d_pi), truth, bounded)), (spec.d_pi, truth)
    # an infinite truth is never reported as a confident number
    assert not np.any(np.isinf(truth) & bounded)
    flagged = [str(w.message).split(" is only")[0] for w in caught if issubclass(w.category, metrics.MetricWarning)]
    names = {0: "KL(P||Q) (pi = 0)", len(PIS) - 1: "KL(Q||P) (pi = 1)"}
    assert sorted(set(flagged)) == sorted({names.get(i, "d_pi for 0 < pi < 1 (JS_pi)") for i in np.flatnonzero(~bounded)})


def coverage_runs(name, seeds=50, n=2000, classifier="auto"):
    """Per seed of the coverage runs: (spectrum, per pi whether its 95% interval covers the truth, the
    exact-ratio plug-in of the same rows as (value, standard error): see `exact_plug_in`).

    A lower bound reports only the lower end of its interval: it covers when that end is at or below
    the truth. ``benchmarks/calibrate_classifier.py`` reads the same runs.
    """
    import warnings

    import metrics

    truth = true_d_pi(name)
    for seed in range(seeds):
        real, generated = draw(name, n, seed=1000 + seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)
            spec = metrics.divergence_spectrum(real, generated, pis=PIS, classifier=classifier, n_bootstrap=300,
                                               seed=seed)
        yield (spec, np.where(_bounded(spec), _covered(spec, truth), np.array(spec.ci_low) <= truth),
               exact_plug_in(name, real, generated, PIS))


def coverage(name, seeds=50, n=2000):
    """Share of seeds whose 95% interval covers the truth, per pi (see `coverage_runs`)."""
    return np.mean([hit for _, hit, _ in coverage_runs(name, seeds, n)], axis=0)


# One side has mass the other lacks in these two, so issue 12's coverage criterion (bounded ratios) does
# not cover them; their interior d_pi are bounded, though, and measured here all the same. Their ends are
# lower bounds (KL(P||Q) infinite), covered by their one-sided intervals. 8 modes against 4 (quartic wins
# every draw, 3.1-3.3% below the exact-ratio plug-in): 0.70 / 0.78 / 0.80 at the interior before the
# approximation gap, 0.96 / 0.96 / 0.96 with it
_SUPPORT_COVERAGE = _known_gap("support-mismatch",
    "measured (50 seeds): 1.00 / 0.74 / 0.86 / 0.90 / 0.98 (0.60 / 0.70 / 0.78 at the interior without the "
    "approximation gap). A step log-ratio (log 1/2 on the shared square): rbf wins 37 draws, quartic 5, "
    "boosting 8 (those flagged as lower bounds); the interior is 5.5-5.9% below the exact-ratio plug-in of "
    "the same rows (spread 1.5%), and the probes show only 1.4-1.5% of that")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["same-10d", "same-64d", "shift-10d", "scale-10d", "corr-2d", "corr-10d",
                                  "ring-vs-ml-gaussian", "ring-vs-half-modes", "banana-vs-ml-gaussian",
                                  _SUPPORT_COVERAGE])
def test_coverage_over_50_seeds_at_n_2000(name):
    rates = coverage(name)
    print(name, "coverage at pi = 0, .25, .5, .75, 1:", rates)  # shown with -rA: the closing notes quote it
    assert rates.min() >= 0.90, rates


@pytest.mark.slow
@pytest.mark.parametrize("name", [w for w in WORLDS if not w.startswith("same")])
def test_c2st_power_at_n_2000(name):
    import metrics

    real, generated = draw(name, 2000, seed=0)
    assert metrics.c2st(real, generated).pvalue < 0.01


def test_the_range_count_expects_what_two_samples_with_the_same_tails_give():
    # `_outside` counts a side's values past the other set's range, summed over the coordinates, and
    # expects 2 d n / (m + 1) of them when both sets share their marginals (each of a side value's m + 1
    # order positions among the other set's values is equally likely, and 2 of them lie outside). Checked
    # by simulation (2,000 draws each: 6.05 for 5.97, 1.37 for 1.33, 23.9 for 23.8) for equal and unequal
    # sizes, normal, Cauchy and exponential tails; and the threshold of the check (4 x that, at least 30)
    # was reached in none of those draws
    from metrics.classifier import _OUTSIDE_FACTOR, _OUTSIDE_MIN, _outside

    rng = np.random.default_rng(5)
    for n, m, d, draw in ((200, 200, 3, rng.standard_normal), (100, 300, 2, rng.standard_cauchy),
                          (300, 100, 4, rng.exponential)):
        found = []
        for _ in range(2000):
            counts = _outside(draw(size=(n, d)), draw(size=(m, d)))
            found.append(counts[0])
        found = np.array(found)
        expected = counts[1]
        assert expected == pytest.approx(2 * d * n / (m + 1))
        assert abs(found.mean() - expected) < 4 * found.std() / math.sqrt(len(found)), (n, m, d, found.mean(), expected)
        assert np.mean(found >= max(_OUTSIDE_MIN, _OUTSIDE_FACTOR * expected)) < 0.01
