"""Kernel two-sample family: MMD, MMD permutation test, KID, energy distance and its test.

Reference values come from hand computations written out below, closed forms for Gaussians, exact
enumeration of permutation splits, and peers (scipy.stats, hyppo, torch-fidelity) where installed.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist, pdist

import metrics
from metrics import InputError, MetricWarning, energy_distance, energy_test, kid, mmd, mmd_test
from metrics import kernel as kernel_module

E = math.exp


# ----------------------------------------------------------------------------------------------- MMD


def test_mmd_unbiased_and_biased_by_hand_unit_gaussian():
    # 1-D, sigma = 1: k(a, b) = exp(-(a - b)^2 / 2); X = {0, 1, 3}, Y = {0.5, 2}
    x, y = [0.0, 1.0, 3.0], [0.5, 2.0]
    k = lambda a, b: E(-((a - b) ** 2) / 2)  # noqa: E731
    off_xx = 2 * (k(0, 1) + k(0, 3) + k(1, 3))  # ordered pairs i != j
    off_yy = 2 * k(0.5, 2)
    xy = sum(k(a, b) for a in x for b in y)
    unbiased = off_xx / (3 * 2) + off_yy / (2 * 1) - 2 * xy / 6
    biased = (off_xx + 3) / 9 + (off_yy + 2) / 4 - 2 * xy / 6  # diagonals k(a, a) = 1 included
    assert mmd(x, y, bandwidth=1.0).value == pytest.approx(unbiased, rel=1e-13)
    assert mmd(x, y, bandwidth=1.0, estimator="biased").value == pytest.approx(biased, rel=1e-13)
    assert mmd(x, y, bandwidth=1.0).extras["bandwidth"] == 1.0


def test_mmd_laplace_and_linear_by_hand():
    x, y = [0.0, 1.0, 4.0, 6.0], [2.0, 3.0, 7.0, 9.0]
    # Laplace, sigma = 2: exp(-|a - b| / 2)
    k = lambda a, b: E(-abs(a - b) / 2)  # noqa: E731
    off_xx = sum(k(a, b) for a, b in itertools.permutations(x, 2))
    off_yy = sum(k(a, b) for a, b in itertools.permutations(y, 2))
    xy = sum(k(a, b) for a in x for b in y)
    expected = off_xx / 12 + off_yy / 12 - 2 * xy / 16
    assert mmd(x, y, kernel="laplace", bandwidth=2.0).value == pytest.approx(expected, rel=1e-13)
    # linear-time estimator: quadruples (x1, x2, y1, y2) = (0, 1, 2, 3) and (4, 6, 7, 9)
    g = lambda a, b: E(-((a - b) ** 2) / 2)  # noqa: E731
    h = [g(0, 1) + g(2, 3) - g(0, 3) - g(1, 2), g(4, 6) + g(7, 9) - g(4, 9) - g(6, 7)]
    res = mmd(x, y, bandwidth=1.0, estimator="linear")
    assert res.value == pytest.approx(np.mean(h), rel=1e-13)
    assert res.n == (4, 4)
    se = np.std(h, ddof=1) / math.sqrt(2)
    assert res.ci.high - res.ci.low == pytest.approx(2 * 1.959963984540054 * se, rel=1e-12)


def test_mmd_polynomial_is_the_kid_kernel_by_hand():
    x = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    y = [[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]
    # (x.y/2 + 1)^3: XX off-diagonal all 1 -> 1; YY pairs 8, 8, 1 -> 34/6; XY total 27.75 -> 2*27.75/9
    expected = 1.0 + 34.0 / 6.0 - 2 * 27.75 / 9.0
    assert expected == pytest.approx(0.5, rel=1e-15)
    res = mmd(x, y, kernel="polynomial")
    assert res.value == pytest.approx(0.5, rel=1e-14)
    assert res.extras["bandwidth"] is None


def test_median_heuristic_excludes_the_diagonal():
    # pooled 1-D points {0, 1} and {3}: distances 1, 3, 2 -> median 2 (with the zero diagonal: 1.5)
    assert mmd([0.0, 1.0], [3.0, 3.5]).extras["bandwidth"] == pytest.approx(np.median(pdist([[0], [1], [3], [3.5]])))
    assert mmd([0.0, 1.0], [3.0, 7.0]).extras["bandwidth"] == pytest.approx(3.5)  # 1,2,3,4,6,7 -> (3+4)/2
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(30, 5)) + 1
    assert mmd(x, y).extras["bandwidth"] == pytest.approx(np.median(pdist(np.vstack([x, y]))), rel=1e-12)


def test_median_heuristic_on_many_points_uses_evenly_spaced_rows(monkeypatch):
    monkeypatch.setattr(kernel_module, "_MEDIAN_MAX_POINTS", 50)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(80, 3)), rng.normal(size=(70, 3))
    rows = np.unique(np.linspace(0, 149, 50).round().astype(int))
    expected = np.median(pdist(np.vstack([x, y])[rows]))
    assert mmd(x, y).extras["bandwidth"] == pytest.approx(expected, rel=1e-12)


def test_bandwidth_list_is_the_sum_of_kernels():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 4)), rng.normal(size=(50, 4)) * 1.3
    parts = [mmd(x, y, bandwidth=s).value for s in (0.5, 1.0, 3.0)]
    summed = mmd(x, y, bandwidth=[0.5, 1.0, 3.0])
    assert summed.value == pytest.approx(sum(parts), rel=1e-12)
    assert summed.extras["bandwidth"] == [0.5, 1.0, 3.0]
    assert mmd(x, y, kernel=[0.5, 1.0, 3.0]).value == pytest.approx(sum(parts), rel=1e-12)


def test_callable_kernel_matches_builtin():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(70, 3)) + 5.0, rng.normal(size=(40, 3)) + 5.5
    rbf = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * 1.5**2))  # noqa: E731
    assert mmd(x, y, kernel=rbf, chunk_size=16).value == pytest.approx(mmd(x, y, bandwidth=1.5).value, rel=1e-10)
    t_user = mmd_test(x, y, kernel=rbf, n_permutations=200, seed=1)
    t_builtin = mmd_test(x, y, bandwidth=1.5, n_permutations=200, seed=1)
    assert t_user.pvalue == t_builtin.pvalue
    assert mmd(x, y, kernel=rbf, estimator="linear").value == pytest.approx(
        mmd(x, y, bandwidth=1.5, estimator="linear").value, rel=1e-10)


def test_population_mmd_between_gaussians_inside_the_ci():
    # X ~ N(0, I_2), Y ~ N(delta, 1.5^2 I_2), sigma = 1:
    # E k(X, X') = (1 + 2 s1^2/sigma^2)^(-d/2), E k(X, Y) = (1 + (s1^2 + s2^2)/sigma^2)^(-d/2)
    #   * exp(-|delta|^2 / (2 (sigma^2 + s1^2 + s2^2)))
    d, s1, s2, sigma, delta = 2, 1.0, 1.5, 1.0, np.array([1.0, 0.0])
    kxx = (1 + 2 * s1**2 / sigma**2) ** (-d / 2)
    kyy = (1 + 2 * s2**2 / sigma**2) ** (-d / 2)
    kxy = (1 + (s1**2 + s2**2) / sigma**2) ** (-d / 2) * math.exp(-delta @ delta / (2 * (sigma**2 + s1**2 + s2**2)))
    population = kxx + kyy - 2 * kxy
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(3000, d)), rng.normal(size=(2500, d)) * s2 + delta
    res = mmd(x, y, bandwidth=sigma, chunk_size=700)
    assert res.ci.low <= population <= res.ci.high
    assert res.ci.high - res.ci.low < 0.3 * population  # the interval is informative, not vacuous
    assert res.value == pytest.approx(population, rel=0.05)


def test_mmd_symmetric_and_zero_mean_under_identity():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(45, 3)) + 0.5
    for est in ("unbiased", "biased"):
        assert mmd(x, y, estimator=est).value == pytest.approx(mmd(y, x, estimator=est).value, rel=1e-12)
    # the biased estimate of a set against itself is exactly 0; the unbiased one is negative
    assert mmd(x, x, estimator="biased").value == pytest.approx(0.0, abs=1e-14)
    assert mmd(x, x).value < 0


def test_chunk_size_does_not_change_results():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(101, 4)), rng.normal(size=(77, 4)) + 0.3
    for fn, kw in [(mmd, {}), (mmd, {"kernel": "laplace"}), (mmd, {"kernel": "polynomial"}),
                   (mmd, {"estimator": "biased"}), (energy_distance, {})]:
        ref = fn(x, y, chunk_size=1024, **kw)
        for chunk in (1, 13, 64):
            res = fn(x, y, chunk_size=chunk, **kw)
            assert res.value == pytest.approx(ref.value, rel=1e-12)
            if ref.ci is not None:
                assert res.ci.low == pytest.approx(ref.ci.low, rel=1e-10)
    for fn in (mmd_test, energy_test):
        ref = fn(x, y, n_permutations=300, seed=2, chunk_size=1024)
        for chunk in (7, 50):
            res = fn(x, y, n_permutations=300, seed=2, chunk_size=chunk)
            assert res.value == pytest.approx(ref.value, rel=1e-12)
            assert res.pvalue == ref.pvalue


def test_float32_input_matches_float64():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(90, 5)), rng.normal(size=(80, 5)) * 1.1 + 0.2
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    x, y = x32.astype(np.float64), y32.astype(np.float64)  # identical numbers, different dtypes
    for fn, kw in [(mmd, {}), (mmd, {"estimator": "linear"}), (energy_distance, {}),
                   (mmd_test, {"n_permutations": 50}), (energy_test, {"n_permutations": 50}),
                   (kid, {"subsets": 5, "subset_size": 40, "dtype": "float64"}),
                   (kid, {"subsets": 5, "subset_size": 40})]:
        a, b = fn(x32, y32, **kw), fn(x, y, **kw)
        assert a.value == pytest.approx(b.value, rel=1e-6)
        assert a.pvalue == b.pvalue


# ------------------------------------------------------------------------------------- hyppo MMD


def test_statistic_matches_hyppo_mmd_through_its_exact_rescaling():
    """hyppo's MMD statistic is our unbiased MMD^2 times a factor of the pooled sample only (n = m).

    hyppo computes a U-centred distance correlation between D = 1 - K/max K and the label distances,
    times 2 n^2 m^2 / N^4. U-centring makes its covariance part 2 * sum_{x, y} of the U-centred D,
    which for n = m equals n^2 (n-1) / (2 (2n-1)) * MMD_u^2(K) / max K; the two norms depend only on
    the pooled K and the group sizes. So the ratio must be the same for every split.
    """
    hyppo_ksample = pytest.importorskip("hyppo.ksample")
    rng = np.random.default_rng(11)
    n, N = 20, 40
    z = np.vstack([rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + 0.4])
    sigma = np.median(pdist(z))
    K = np.exp(-cdist(z, z, "sqeuclidean") / (2 * sigma**2))

    def u_centre(a):
        c = a - a.sum(0)[None] / (N - 2) - a.sum(1)[:, None] / (N - 2) + a.sum() / ((N - 1) * (N - 2))
        np.fill_diagonal(c, 0.0)
        return c

    a_norm = np.sum(u_centre(1 - K / K.max()) ** 2)
    for split_seed in range(3):
        order = rng.permutation(N) if split_seed else np.arange(N)
        x, y = z[order[:n]], z[order[n:]]
        ours = mmd(x, y)
        assert ours.extras["bandwidth"] == pytest.approx(sigma, rel=1e-12)
        labels = np.isin(np.arange(N), order[:n])
        b_norm = np.sum(u_centre((labels[:, None] != labels[None]).astype(float)) ** 2)
        factor = (2 * n**4 / N**4) * (n**2 * (n - 1) / (2 * n - 1)) / (K.max() * math.sqrt(a_norm * b_norm))
        assert hyppo_ksample.MMD().statistic(x, y) == pytest.approx(factor * ours.value, rel=1e-10)


# ------------------------------------------------------------------------------- permutation tests


def test_two_versus_two_exact_pvalue_is_one_third():
    # 6 splits of {0, 0.1, 5, 5.1} into 2 + 2; the observed split and its mirror are the extreme ones
    for fn in (mmd_test, energy_test):
        res = fn([[0.0], [0.1]], [[5.0], [5.1]])
        assert res.pvalue == pytest.approx(1 / 3, rel=1e-15)
        assert res.extras["exact"] and res.extras["n_permutations"] == 6


def test_three_versus_two_exact_pvalue_is_one_tenth():
    for fn in (mmd_test, energy_test):
        res = fn([0.0, 0.1, 0.2], [5.0, 5.1])
        assert res.pvalue == pytest.approx(1 / 10, rel=1e-15)
        assert res.extras["n_permutations"] == 10


def test_exact_pvalue_is_hand_countable_on_interleaved_points():
    # X = {0, 2}, Y = {1, 3}: T = 2 * (1 + 3 + 1 + 1)/4 - (2 + 2)/4 - (2 + 2)/4 = 1. The other splits:
    # {1, 3}|{0, 2} -> 1, {0, 3}|{1, 2} and its mirror -> 1, {0, 1}|{2, 3} and its mirror -> 3.
    # So all 6 splits are at least as extreme (four of them exact ties): p = 1.
    pts = np.array([0.0, 2.0, 1.0, 3.0])

    def energy(xs, ys):
        dxy = np.abs(xs[:, None] - ys[None]).mean()
        return 2 * dxy - np.abs(xs[:, None] - xs[None]).mean() - np.abs(ys[:, None] - ys[None]).mean()

    obs = energy(pts[:2], pts[2:])
    values = [energy(pts[list(c)], pts[[i for i in range(4) if i not in c]])
              for c in itertools.combinations(range(4), 2)]
    expected = sum(v >= obs - 1e-12 for v in values) / 6
    assert obs == pytest.approx(1.0) and sorted(values) == pytest.approx([1, 1, 1, 1, 3, 3])
    assert expected == 1.0
    res = energy_test(pts[:2], pts[2:])
    assert res.value == pytest.approx(obs, rel=1e-14)
    assert res.pvalue == expected
    # 2-D points with three distinct values: the enumeration above, in the plane
    pts2 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    e2 = lambda a, b: (2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean())  # noqa: E731
    for first in itertools.combinations(range(4), 2):
        rest = [i for i in range(4) if i not in first]
        obs = e2(pts2[list(first)], pts2[rest])
        count = sum(e2(pts2[list(c)], pts2[[i for i in range(4) if i not in c]]) >= obs - 1e-12
                    for c in itertools.combinations(range(4), 2))
        assert energy_test(pts2[list(first)], pts2[rest]).pvalue == count / 6


def _mmd_stat_for_scipy(sigma, estimator="unbiased"):
    def statistic(x, y, axis=-1):
        x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
        k = lambda a, b: np.exp(-((a[..., :, None] - b[..., None, :]) ** 2) / (2 * sigma**2))  # noqa: E731
        n, m = x.shape[-1], y.shape[-1]
        kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
        if estimator == "biased":
            return kxx.mean((-2, -1)) + kyy.mean((-2, -1)) - 2 * kxy.mean((-2, -1))
        return ((kxx.sum((-2, -1)) - n) / (n * (n - 1)) + (kyy.sum((-2, -1)) - m) / (m * (m - 1))
                - 2 * kxy.mean((-2, -1)))

    return statistic


def test_exact_pvalue_matches_scipy_permutation_test():
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=6), rng.normal(size=5) + 0.8
    sigma = np.median(pdist(np.concatenate([x, y])[:, None]))
    for est in ("unbiased", "biased"):
        ref = stats.permutation_test((x, y), _mmd_stat_for_scipy(sigma, est), permutation_type="independent",
                                     alternative="greater", n_resamples=np.inf, vectorized=True)
        ours = mmd_test(x, y, estimator=est)  # C(11, 6) = 462 <= 1000 splits: enumerated
        assert ours.extras["exact"] and ours.extras["n_permutations"] == 462
        assert ours.value == pytest.approx(ref.statistic, rel=1e-12)
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_random_pvalue_formula_and_agreement_with_exact_scipy():
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=8), rng.normal(size=8) + 0.9
    sigma = np.median(pdist(np.concatenate([x, y])[:, None]))
    exact = stats.permutation_test((x, y), _mmd_stat_for_scipy(sigma), permutation_type="independent",
                                   alternative="greater", n_resamples=np.inf, vectorized=True).pvalue
    b = 4999  # < C(16, 8) = 12870: random splits
    res = mmd_test(x, y, n_permutations=b, seed=3)
    assert not res.extras["exact"]
    count = res.pvalue * (b + 1) - 1  # (1 + #{T_b >= T_obs}) / (1 + B)
    assert count == pytest.approx(round(count), abs=1e-9) and 0 <= round(count) <= b
    assert abs(res.pvalue - exact) < 4 * math.sqrt(exact * (1 - exact) / b) + 1 / (b + 1)


def test_permutation_batches_do_not_change_the_pvalue(monkeypatch):
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.3
    ref = mmd_test(x, y, n_permutations=500, seed=5)
    monkeypatch.setattr(kernel_module, "_PERM_BATCH_FLOATS", 55 * 7)  # batches of 7 splits
    res = mmd_test(x, y, n_permutations=500, seed=5)
    assert res.pvalue == ref.pvalue and res.extras["null_mean"] == pytest.approx(ref.extras["null_mean"], rel=1e-12)


def test_seeded_determinism():
    rng = np.random.default_rng(15)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 0.25
    for fn in (mmd_test, energy_test):
        a, b = fn(x, y, n_permutations=200, seed=9), fn(x, y, n_permutations=200, seed=9)
        assert (a.value, a.pvalue, a.extras) == (b.value, b.pvalue, b.extras)
        c = fn(x, y, n_permutations=200, seed=np.random.default_rng(9))
        assert c.pvalue == a.pvalue
        others = {fn(x, y, n_permutations=200, seed=s).pvalue for s in range(10, 16)}
        assert len(others) > 1  # the seed is actually used
    a = kid(x, y, subsets=4, subset_size=10, seed=1)
    assert a == kid(x, y, subsets=4, subset_size=10, seed=1)
    assert a.value != kid(x, y, subsets=4, subset_size=10, seed=2).value


def test_test_statistics_equal_the_plain_metrics():
    rng = np.random.default_rng(16)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(35, 3)) + 0.2
    assert mmd_test(x, y, n_permutations=20).value == pytest.approx(mmd(x, y).value, rel=1e-12)
    assert mmd_test(x, y, n_permutations=20, estimator="biased", kernel="laplace").value == pytest.approx(
        mmd(x, y, estimator="biased", kernel="laplace").value, rel=1e-12)
    assert energy_test(x, y, n_permutations=20).value == pytest.approx(energy_distance(x, y).value, rel=1e-12)


def _rejection_rate(fn, reps, n, shift, b, dim=1):
    rejected = 0
    for r in range(reps):
        rng = np.random.default_rng(1000 + r)
        x, y = rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + shift
        rejected += fn(x, y, n_permutations=b, seed=r).pvalue <= 0.05
    return rejected


@pytest.mark.parametrize("fn", [mmd_test, energy_test])
def test_calibration_under_h0_cheap(fn):
    # B = 99: under H0, P(p <= 0.05) = P(rank of T_obs among 100 in the top 5) = 0.05 exactly
    reps = 300
    lo, hi = stats.binom.interval(0.99, reps, 0.05)
    assert lo <= _rejection_rate(fn, reps, 10, 0.0, 99) <= hi


@pytest.mark.parametrize("fn", [mmd_test, energy_test])
def test_power_under_a_shift(fn):
    assert _rejection_rate(fn, 20, 25, 1.5, 99) == 20


@pytest.mark.slow
@pytest.mark.parametrize("fn", [mmd_test, energy_test])
def test_calibration_under_h0_slow(fn):
    reps = 2000
    lo, hi = stats.binom.interval(0.99, reps, 0.05)
    assert lo <= _rejection_rate(fn, reps, 40, 0.0, 199, dim=3) <= hi


@pytest.mark.slow
def test_mmd_ci_coverage_slow():
    # coverage of the unbiased estimator's 95% interval under a shift, against the closed form
    d, sigma = 3, 2.0
    kxx = (1 + 2 / sigma**2) ** (-d / 2)
    pop = 2 * kxx - 2 * (1 + 2 / sigma**2) ** (-d / 2) * math.exp(-0.27 / (2 * (sigma**2 + 2)))
    reps, covered = 1000, 0
    for r in range(reps):
        rng = np.random.default_rng(r)
        res = mmd(rng.normal(size=(150, d)), rng.normal(size=(150, d)) + 0.3, bandwidth=sigma)
        covered += res.ci.low <= pop <= res.ci.high
    assert 0.92 * reps <= covered <= 0.98 * reps


# ------------------------------------------------------------------------------------------- KID


def test_kid_three_point_case_by_hand():
    x = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    y = [[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]
    res = kid(x, y, subsets=1, subset_size=3)
    assert res.value == pytest.approx(0.5, rel=1e-14)  # see test_mmd_polynomial_is_the_kid_kernel_by_hand
    assert res.ci is None and res.n == (3, 3)
    # every subset is the whole set (in some order): the unbiased MMD^2 does not depend on the order
    res = kid(x, y, subsets=4, subset_size=3, dtype="float64")
    assert res.value == pytest.approx(0.5, rel=1e-14) and res.extras["subset_std"] == pytest.approx(0, abs=1e-14)
    assert res.extras["subset_mean_ci"] == pytest.approx([0.5, 0.5], rel=1e-12)
    assert res.ci is None  # fewer than 20 rows per set: no grouped-jackknife interval


def _draw_like_kid(seed, n, m, subsets, size):
    rng = np.random.default_rng(seed)
    idx = [(rng.choice(n, size, replace=False), rng.choice(m, size, replace=False)) for _ in range(subsets)]
    return idx


def test_kid_is_the_mean_of_polynomial_mmd_over_its_subsets():
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=(150, 8)), rng.normal(size=(120, 8)) + 0.2
    res = kid(x, y, subsets=6, subset_size=70, seed=4, dtype="float64")
    values = [mmd(x[i], y[j], kernel="polynomial").value for i, j in _draw_like_kid(4, 150, 120, 6, 70)]
    assert res.value == pytest.approx(np.mean(values), rel=1e-12)
    assert res.extras["subset_std"] == pytest.approx(np.std(values), rel=1e-10)
    half = stats.t.ppf(0.975, 5) * np.std(values, ddof=1) / math.sqrt(6)
    assert res.extras["subset_mean_ci"][0] == pytest.approx(np.mean(values) - half, rel=1e-10)
    # float32 Gram products, float64 kernels and sums: far inside 1e-5
    assert kid(x, y, subsets=6, subset_size=70, seed=4).value == pytest.approx(res.value, rel=1e-6)


@pytest.mark.parametrize("size", [2, 63, 64, 65, 130])  # slab edges of the Gram-to-sums pass
def test_kid_slab_boundaries(size):
    rng = np.random.default_rng(18)
    x, y = rng.normal(size=(140, 3)), rng.normal(size=(135, 3)) * 0.8
    res = kid(x, y, subsets=2, subset_size=size, seed=0, dtype="float64")
    values = [mmd(x[i], y[j], kernel="polynomial").value for i, j in _draw_like_kid(0, 140, 135, 2, size)]
    assert res.value == pytest.approx(np.mean(values), rel=1e-11, abs=1e-14)


def test_kid_matches_torch_fidelity_on_identical_subsets():
    peers = pytest.importorskip("peers")
    try:
        tf = peers.import_peer("torch_fidelity.metric_kid")
    except ImportError as exc:
        pytest.skip(f"torch-fidelity not importable: {exc}")
    import torch

    rng = np.random.default_rng(19)
    x = np.abs(rng.normal(size=(300, 64))).astype(np.float32)
    y = (np.abs(rng.normal(size=(260, 64))) * 1.05).astype(np.float32)
    subsets, size, seed = 7, 100, 123
    # torch-fidelity draws with a legacy RandomState: choice(n1) then choice(n2) per subset
    legacy = np.random.RandomState(seed)
    idx = [(legacy.choice(300, size, replace=False), legacy.choice(260, size, replace=False)) for _ in range(subsets)]
    real_idx, gen_idx = np.array([i for i, _ in idx]), np.array([j for _, j in idx])
    ref = tf.kid_features_to_metric(torch.from_numpy(x).double(), torch.from_numpy(y).double(), kid_subsets=subsets,
                                    kid_subset_size=size, rng_seed=seed, verbose=False)
    for strategy in ("subsets", "pooled"):
        ours64 = kernel_module._kid_subset_values(x.astype(np.float64), y.astype(np.float64), real_idx, gen_idx,
                                                  strategy=strategy, chunk=128)
        assert ours64.mean() == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-11)
        assert ours64.std() == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)
        ours32 = kernel_module._kid_subset_values(x, y, real_idx, gen_idx, strategy=strategy, chunk=128)
        assert ours32.mean() == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-5)


@pytest.mark.parametrize("chunk", [7, 64, 1024])
def test_kid_pooled_and_per_subset_routes_agree(chunk):
    rng = np.random.default_rng(24)
    x, y = np.abs(rng.normal(size=(90, 6))), np.abs(rng.normal(size=(70, 6))) * 1.2
    idx = _draw_like_kid(3, 90, 70, 8, 45)
    real_idx, gen_idx = np.array([i for i, _ in idx]), np.array([j for _, j in idx])
    per_subset = kernel_module._kid_subset_values(x, y, real_idx, gen_idx, strategy="subsets")
    pooled = kernel_module._kid_subset_values(x, y, real_idx, gen_idx, strategy="pooled", chunk=chunk)
    np.testing.assert_allclose(pooled, per_subset, rtol=1e-11)
    assert kid(x, y, subsets=8, subset_size=45, seed=3, dtype="float64").value == pytest.approx(per_subset.mean(),
                                                                                               rel=1e-11)


def test_kid_picks_the_pooled_route_when_subsets_overlap(monkeypatch):
    calls = []
    pooled = kernel_module._kid_pooled
    monkeypatch.setattr(kernel_module, "_kid_pooled", lambda *a: calls.append(1) or pooled(*a))
    rng = np.random.default_rng(25)
    x, y = rng.normal(size=(300, 256)), rng.normal(size=(300, 256))
    # 20 subset pairs of 2 x 200 rows: 20 * 400^2 / 2 = 1.6M products vs 600^2 / 2 = 0.18M pooled
    kid(x, y, subsets=20, subset_size=200)
    assert calls == [1]
    kid(x, y, subsets=2, subset_size=50)  # 2 * 100^2 / 2 = 10k products: per subset
    assert calls == [1]


def test_kid_subset_size_larger_than_a_set_says_both_sizes_and_the_fix():
    rng = np.random.default_rng(20)
    x, y = rng.normal(size=(500, 3)), rng.normal(size=(2000, 3))
    with pytest.raises(InputError, match=r"`subset_size` must be an int in \[2, 500\].*real has 500 rows, "
                                         r"generated 2000\); got 1000\. Pass `subset_size=500` or smaller"):
        kid(x, y, subset_size=1000)
    with pytest.raises(InputError, match=r"real has 2000 rows, generated 500"):
        kid(y, x, subset_size=1000)
    with pytest.raises(InputError, match=r"`subset_size` must be an int in \[2, 500\].*got 1"):
        kid(x, y, subset_size=1)
    with pytest.raises(InputError, match=r"`subset_size` must be an int; got 10.0"):
        kid(x, y, subset_size=10.0)
    with pytest.raises(InputError, match=r"`subsets` must be an int >= 1; got 0"):
        kid(x, y, subsets=0, subset_size=10)
    with pytest.raises(InputError, match=r"`dtype` must be one of \['float32', 'float64'\]; got 'float16'"):
        kid(x, y, subset_size=10, dtype="float16")


# ---------------------------------------------------------------------------------------- energy


def test_energy_by_hand_and_scipy_is_its_square_root():
    assert energy_distance([0.0, 1.0], [3.0]).value == pytest.approx(4.5, rel=1e-15)
    rng = np.random.default_rng(21)
    u, v = rng.normal(size=57), rng.exponential(size=43)
    ours = energy_distance(u, v).value
    assert stats.energy_distance(u, v) ** 2 == pytest.approx(ours, rel=1e-12)
    assert energy_distance(u, v).value == pytest.approx(energy_distance(v, u).value, rel=1e-12)


def test_energy_closed_form_for_two_normals():
    # X ~ N(0, 1), Y ~ N(mu, s^2): E|X-Y| = t sqrt(2/pi) exp(-mu^2/(2t^2)) + mu (1 - 2 Phi(-mu/t)),
    # t^2 = 1 + s^2; E|X-X'| = 2/sqrt(pi), E|Y-Y'| = 2 s/sqrt(pi)
    mu, s = 0.7, 1.6
    t = math.sqrt(1 + s**2)
    exy = t * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * t**2)) + mu * (1 - 2 * stats.norm.cdf(-mu / t))
    closed = 2 * exy - 2 / math.sqrt(math.pi) - 2 * s / math.sqrt(math.pi)
    # the same number from 2 * int (F - G)^2 (the identity behind scipy's definition)
    from scipy.integrate import quad

    integral = 2 * quad(lambda z: (stats.norm.cdf(z) - stats.norm.cdf(z, mu, s)) ** 2, -np.inf, np.inf)[0]
    assert closed == pytest.approx(integral, rel=1e-8)
    # quantile grids: their empirical CDFs are within 1/(2n) of the true ones, an O(1/n^2) error here
    n, m = 1500, 1200
    x = stats.norm.ppf((np.arange(n) + 0.5) / n)
    y = stats.norm.ppf((np.arange(m) + 0.5) / m, mu, s)
    assert energy_distance(x, y, chunk_size=500).value == pytest.approx(closed, rel=2e-4)


def test_energy_of_a_set_with_itself_is_zero_and_translation_invariant():
    rng = np.random.default_rng(22)
    x, y = rng.normal(size=(60, 4)), rng.normal(size=(50, 4)) + 0.3
    assert energy_distance(x, x).value == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(x + 1e4, y + 1e4).value == pytest.approx(energy_distance(x, y).value, rel=1e-8)


# ---------------------------------------------------------------------------------------- errors


def test_option_errors_are_pinned():
    x, y = np.zeros((5, 2)) + np.arange(5)[:, None], np.ones((6, 2)) * np.arange(6)[:, None]
    with pytest.raises(InputError, match=r"`kernel` must be one of \['gaussian', 'laplace', 'polynomial'\]; got 'rbf'"):
        mmd(x, y, kernel="rbf")
    with pytest.raises(InputError, match=r"`estimator` must be one of .*got 'mean'"):
        mmd(x, y, estimator="mean")
    with pytest.raises(InputError, match=r"`estimator` must be one of \['biased', 'unbiased'\]; got 'linear'"):
        mmd_test(x, y, estimator="linear")
    with pytest.raises(InputError, match=r"`bandwidth` does not apply to kernel='polynomial'; got bandwidth=2.0"):
        mmd(x, y, kernel="polynomial", bandwidth=2.0)
    with pytest.raises(InputError, match=r"`bandwidth` does not apply to kernel=a list of bandwidths"):
        mmd(x, y, kernel=[1.0, 2.0], bandwidth=1.0)
    with pytest.raises(InputError, match=r"`bandwidth` bandwidths must be positive finite numbers; got -1"):
        mmd(x, y, bandwidth=[1.0, -1])
    with pytest.raises(InputError, match=r"`bandwidth` must be 'median', a positive number or a list of them; "
                                         r"got 'mean'"):
        mmd(x, y, bandwidth="mean")
    with pytest.raises(InputError, match=r"`kernel` must hold at least one bandwidth"):
        mmd(x, y, kernel=[])
    with pytest.raises(InputError, match=r"`chunk_size` must be an int >= 1; got 0"):
        energy_distance(x, y, chunk_size=0)
    with pytest.raises(InputError, match=r"`n_permutations` must be an int >= 1; got 0"):
        mmd_test(x, y, n_permutations=0)
    with pytest.raises(InputError, match=r"`seed` must be a non-negative int"):
        energy_test(x, y, seed=-1)
    with pytest.raises(InputError, match=r"`real` needs at least 2 samples; got 1"):
        mmd([[1.0, 2.0]], y)


def test_callable_kernel_errors_are_pinned():
    x, y = np.arange(10.0).reshape(5, 2), np.arange(12.0).reshape(6, 2)
    with pytest.raises(InputError, match=r"`kernel` callable returned shape \(5,\) for inputs of 11 and 11 rows"):
        mmd(x, y, kernel=lambda a, b: np.ones(5))
    with pytest.raises(InputError, match=r"`kernel` callable raised ZeroDivisionError"):
        mmd(x, y, kernel=lambda a, b: 1 / 0)
    with pytest.raises(InputError, match=r"`kernel` callable returned non-finite values"):
        mmd(x, y, kernel=lambda a, b: np.full((len(a), len(b)), np.nan))
    with pytest.raises(InputError, match=r"`bandwidth` does not apply to kernel=a callable"):
        mmd(x, y, kernel=lambda a, b: a @ b.T, bandwidth=1.0)


def test_duplicated_samples_make_the_median_zero_error():
    with pytest.raises(InputError, match=r"median heuristic gave bandwidth 0.*Pass an explicit `bandwidth`"):
        mmd(np.zeros((5, 2)), np.r_[np.zeros((4, 2)), np.ones((1, 2))])


def test_too_large_for_a_permutation_test(monkeypatch):
    monkeypatch.setattr(kernel_module, "_MAX_TEST_POINTS", 10)
    with pytest.raises(InputError, match=r"pooled 11 x 11 kernel matrix .* limit is 10 pooled rows.*`mmd`"):
        mmd_test(np.arange(5.0), np.arange(6.0))


def test_few_permutations_warn():
    rng = np.random.default_rng(23)
    with pytest.warns(MetricWarning, match=r"only 19 permutations: the smallest attainable p-value is 1/20"):
        mmd_test(rng.normal(size=10), rng.normal(size=10), n_permutations=19)


def test_registered_declarations():
    specs = metrics.available_metrics()
    for name, func in [("mmd", mmd), ("mmd_test", mmd_test), ("kid", kid), ("energy", energy_distance),
                       ("energy_test", energy_test)]:
        spec = specs[name]
        assert spec.func is func and spec.group == "kernel" and spec.needs == "features"
        assert spec.higher_is_better is False
    assert [s.name for s in metrics.resolve_metrics("kernel")] == ["cmmd", "energy", "energy_test", "kid", "mmd",
                                                                    "mmd_test"]
