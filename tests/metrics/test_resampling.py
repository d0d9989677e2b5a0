"""Grouped jackknife, disjoint folds and multiplicity adjustment (metrics.resampling)."""

import math

import warnings

import numpy as np
import pytest
from scipy import stats

import metrics
from metrics import InputError
from metrics.resampling import (GroupReplicates, adjust_pvalues, fold_values, group_labels, jackknife_interval,
                                jackknife_values, paired_folds, paired_jackknife)


def test_group_labels_balanced_and_deterministic():
    labels = group_labels(103, 10, seed=3)
    assert sorted(np.bincount(labels).tolist()) == [10] * 7 + [11] * 3
    assert (labels == group_labels(103, 10, seed=3)).all()
    assert not (labels == group_labels(103, 10, seed=4)).all()


def test_group_labels_errors():
    with pytest.raises(InputError, match=r"`groups` must be <= the number of rows \(5\); got 10"):
        group_labels(5, 10)
    with pytest.raises(InputError, match="`groups` must be"):
        group_labels(50, 1)


def test_jackknife_of_the_mean_is_the_classical_standard_error():
    # for the mean, the grouped jackknife with equal groups reproduces s^2/n of the group means exactly
    x = np.arange(20.0) ** 1.5
    reps = GroupReplicates(jackknife_values(np.mean, x, groups=4), 0, (20,))
    labels = group_labels(20, 4)
    group_means = np.array([x[labels == g].mean() for g in range(4)])
    ci, centre = jackknife_interval(x.mean(), reps)
    se = group_means.std(ddof=1) / 2.0
    half = stats.t.ppf(0.975, 3) * se
    assert centre == x.mean()
    assert ci.low == pytest.approx(x.mean() - half, rel=1e-12) and ci.high == pytest.approx(x.mean() + half, rel=1e-12)


def test_bias_corrected_centre_removes_the_variance_bias():
    # the plug-in variance (ddof=0) is a V-statistic with bias -sigma^2/n; G T - (G - 1) mean T_(-g)
    # is unbiased (exactly, in expectation), while the plain value is not
    rng = np.random.default_rng(0)
    plain, corrected = [], []
    for _ in range(4000):
        x = rng.normal(size=40)
        reps = GroupReplicates(jackknife_values(np.var, x, groups=8), 0, (40,), "bias-corrected")
        _, centre = jackknife_interval(np.var(x), reps)
        assert centre == pytest.approx(8 * np.var(x) - 7 * reps.values.mean(), rel=1e-12)
        plain.append(np.var(x))
        corrected.append(centre)
    se = np.std(corrected) / math.sqrt(4000)  # about 0.0036
    assert abs(np.mean(corrected) - 1.0) < 3 * se
    assert np.mean(plain) == pytest.approx(39 / 40, abs=3 * se)


def _corrected_variance(full, values, pair_values):
    """The second-order corrected jackknife variance, written out from the formulas (module notes)."""
    g = len(values)
    v = (g - 1) / g * ((values - values.mean()) ** 2).sum()
    q = np.array([g * full - (g - 1) * (values[k] + values[(k + 1) % g]) + (g - 2) * pair_values[k]
                  for k in range(g)])
    kappa = 1 + 2 * (g - 2) / (g - 1) ** 2 + 2 * (g - 3) / ((g - 1) ** 2 * (g - 2))
    sigma_b2 = g ** 2 * np.mean(q ** 2) / kappa
    excess = ((g - 2) / (g * (g - 1) ** 2) - (g - 1) / (2 * g ** 3)) * sigma_b2
    return max(v - excess, v / (2 * g ** 2 * (g - 2) / (g - 1) ** 3))


def test_second_order_correction_removes_the_quadratic_bias():
    # S = mean(x)^2 on 10 groups of 50: at mu = 0 S is purely quadratic, and the plain jackknife variance
    # overstates Var S by r_10 = 2.19; the corrected one (floor included) is much closer. At mu = 0.3 the
    # linear term dominates and the correction changes little.
    rng = np.random.default_rng(0)
    for mu, plain_ratio, corrected_ratio in ((0.0, (1.9, 2.5), (1.0, 1.75)), (0.3, (0.9, 1.12), (0.9, 1.12))):
        full, plain, corrected = [], [], []
        for _ in range(400):
            x = rng.normal(size=500) + mu
            values, pairs = jackknife_values(lambda r: r.mean() ** 2, x, pairs=True)
            reps = GroupReplicates(values, 0, (500,), pair_values=pairs)
            ci, _ = jackknife_interval(x.mean() ** 2, reps)
            se = (ci.high - ci.low) / 2 / stats.t.ppf(0.975, 9)
            assert se ** 2 == pytest.approx(_corrected_variance(x.mean() ** 2, values, pairs), rel=1e-9)
            full.append(x.mean() ** 2)
            plain.append(9 / 10 * ((values - values.mean()) ** 2).sum())
            corrected.append(se ** 2)
        truth = (2 + 4 * mu ** 2 * 500) / 500 ** 2  # Var of mean(x)^2: 2 s^4 + 4 mu^2 s^2, s^2 = 1/500
        assert plain_ratio[0] < np.mean(plain) / truth < plain_ratio[1]
        assert corrected_ratio[0] < np.mean(corrected) / truth < corrected_ratio[1]
        assert "second-order corrected variance" in ci.method


def test_paired_jackknife_corrected_by_hand():
    rng = np.random.default_rng(3)
    va, vb, pa, pb = (rng.normal(size=10) * 0.01 + 1.0 for _ in range(4))
    a = GroupReplicates(va, 0, (40, 40), pair_values=pa)
    b = GroupReplicates(vb, 0, (40, 40), pair_values=pb, extra_variance=1e-6)
    t = paired_jackknife(1.0, a, 0.99, b)
    var = _corrected_variance(0.01, va - vb, pa - pb)
    assert t.se == pytest.approx(math.sqrt(var + 1e-6), rel=1e-12)
    assert t.method == "paired grouped jackknife t (10 groups, 9 df, second-order corrected variance)"
    assert t.extras["jackknife_variance"] == pytest.approx(0.9 * ((va - vb - (va - vb).mean()) ** 2).sum())
    assert t.extras["variance"].startswith("second-order corrected jackknife")
    # one side without pair values: the plain jackknife variance, and the method says so
    plain = paired_jackknife(1.0, a, 0.99, GroupReplicates(vb, 0, (40, 40)))
    assert plain.method == "paired grouped jackknife t (10 groups, 9 df)" and plain.extras["variance"] == "jackknife"
    assert plain.se == pytest.approx(math.sqrt(0.9 * ((va - vb - (va - vb).mean()) ** 2).sum()), rel=1e-12)


def test_bias_corrected_interval_second_order_is_opt_in():
    rng = np.random.default_rng(5)
    values, pairs = rng.normal(size=10) * 0.01 + 1.0, rng.normal(size=10) * 0.01 + 0.98
    reps = GroupReplicates(values, 0, (40, 40), "bias-corrected", pair_values=pairs)
    t = stats.t.ppf(0.975, 9)
    v = 0.9 * ((values - values.mean()) ** 2).sum()
    ci, centre = jackknife_interval(1.0, reps)
    assert (ci.high - ci.low) / 2 == pytest.approx(t * math.sqrt(v), rel=1e-12)
    assert "second-order" not in ci.method
    ci, _ = jackknife_interval(1.0, reps, second_order=True)
    # the bias-corrected estimator's quadratic part has variance s_b^2 / (2 G (G - 1))
    q = np.array([10 * 1.0 - 9 * (values[k] + values[(k + 1) % 10]) + 8 * pairs[k] for k in range(10)])
    kappa = 1 + 2 * 8 / 81 + 2 * 7 / (81 * 8)
    sigma_b2 = 100 * np.mean(q ** 2) / kappa
    expected = max(v - (8 / 810 - 1 / 180) * sigma_b2, v * 9 / 16)
    assert (ci.high - ci.low) / 2 == pytest.approx(t * math.sqrt(expected), rel=1e-12)
    assert "second-order corrected variance" in ci.method


def test_pair_values_by_re_evaluation():
    x = np.arange(20.0)
    values, pairs = jackknife_values(np.sum, x, groups=4, pairs=True)
    labels = group_labels(20, 4)
    sums = np.array([x[labels == g].sum() for g in range(4)])
    assert pairs.tolist() == [x.sum() - sums[g] - sums[(g + 1) % 4] for g in range(4)]
    assert values.tolist() == (x.sum() - sums).tolist()


def test_interval_clipped_to_range():
    reps = GroupReplicates(np.array([0.9, 1.0, 1.0, 1.0]), 0, (40, 40))
    ci, _ = jackknife_interval(1.0, reps, high=1.0)
    assert ci.high == 1.0 and ci.low < 1.0


def test_paired_jackknife_by_hand():
    a = GroupReplicates(np.array([2.0, 2.5, 1.5, 2.0]), 0, (40, 40))
    b = GroupReplicates(np.array([1.0, 1.0, 1.0, 1.5]), 0, (40, 40))
    t = paired_jackknife(2.0, a, 1.0, b)
    d = np.array([1.0, 1.5, 0.5, 0.5])
    se = math.sqrt(3 / 4 * ((d - d.mean()) ** 2).sum())
    assert t.se == pytest.approx(se, rel=1e-14) and t.df == 3 and t.difference == 1.0
    assert t.pvalue == pytest.approx(2 * stats.t.sf(1.0 / se, 3), rel=1e-12)
    assert t.ci.high - t.ci.low == pytest.approx(2 * stats.t.ppf(0.975, 3) * se, rel=1e-12)


def test_paired_jackknife_extra_variance_adds():
    a = GroupReplicates(np.array([2.0, 2.5, 1.5, 2.0]), 0, (40, 40), extra_variance=0.1)
    b = GroupReplicates(np.array([1.0, 1.0, 1.0, 1.5]), 0, (40, 40), extra_variance=0.2)
    d = np.array([1.0, 1.5, 0.5, 0.5])
    assert paired_jackknife(2.0, a, 1.0, b).se == pytest.approx(math.sqrt(0.75 * ((d - d.mean()) ** 2).sum() + 0.3))


def test_paired_jackknife_rejects_unpaired_replicates():
    a = GroupReplicates(np.zeros(4), 0, (40, 40))
    b = GroupReplicates(np.zeros(4), 1, (40, 40))
    with pytest.raises(InputError, match="dropped different reference groups"):
        paired_jackknife(0.0, a, 0.0, b)


def test_paired_folds_by_hand():
    t = paired_folds(0.9, [0.9, 0.8, 1.0, 0.9], 0.5, [0.5, 0.6, 0.4, 0.5])
    d = np.array([0.4, 0.2, 0.6, 0.4])
    assert t.se == pytest.approx(d.std(ddof=1) / 2.0, rel=1e-12) and t.difference == pytest.approx(0.4)
    assert t.pvalue == pytest.approx(2 * stats.t.sf(0.4 / t.se, 3), rel=1e-12)
    with pytest.raises(InputError, match="at least 2 folds"):
        paired_folds(0.0, [1.0], 0.0, [1.0])


def test_fold_values_use_disjoint_folds():
    x = np.arange(30.0)
    sums = fold_values(np.sum, x, groups=3)
    assert sums.sum() == x.sum()
    assert fold_values(lambda r, g: len(r) + 100 * len(g), x, x[:12], groups=3).tolist() == [410.0] * 3


def test_holm_and_bh_match_hand_values():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.03, 0.06, max(0.06, 0.04) = 0.06
    assert adjust_pvalues(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: m p / rank = 0.02, 0.02, 0.04, 0.04 -> step-up minima
    assert adjust_pvalues(p, "bh").tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    out = adjust_pvalues([0.01, np.nan, 0.02])
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.02])
    with pytest.raises(InputError, match="`method`"):
        adjust_pvalues(p, "bonferroni")


def test_lazy_names():
    assert metrics.adjust_pvalues is adjust_pvalues and metrics.group_labels is group_labels


# ---- fast paths: every metric's replicates equal re-running it on the leave-one-group-out rows ----


def _pair(n=120, m=100, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 1.2 + 0.3


@pytest.mark.parametrize("shape", [(120, 100, 3), (30, 25, 40)])  # covariance and cross-Gram routes
def test_fid_replicates_are_leave_one_group_out_values(shape):
    x, y = _pair(*shape)
    with pytest.warns(metrics.MetricWarning) if shape[2] > 30 else _nothing():
        r = metrics.fid(x, y)
    from metrics.frechet import _fid_replicates, _frechet_from_features

    bb, two = jackknife_values(lambda a, b: _frechet_from_features(a, b)[0], x, y, pairs=True)
    assert r.replicates.values == pytest.approx(bb, rel=1e-9, abs=1e-12)
    assert r.replicates.pair_values is None  # off by default for FID (no level gain, twice the cost)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)
        assert _fid_replicates(x, y, 10, pairs=True).pair_values == pytest.approx(two, rel=1e-9, abs=1e-12)
    assert r.replicates.centre == "bias-corrected"
    centre = 10 * r.value - 9 * bb.mean()
    assert r.extras["bias_corrected"] == pytest.approx(centre, rel=1e-9)
    assert r.ci.method.startswith("grouped jackknife t (10 groups, 9 df), centred at the bias-corrected")


def test_fid_carries_each_groups_own_fid_only_near_zero():
    # the same distribution: FID indistinguishable from 0, so the fold values (each group's own FID,
    # from its rows and the plain formula) come along; a shifted model's FID is clearly above 0
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    r = metrics.fid(x, y)
    labels = group_labels(300, 10, 0)
    by_hand = [metrics.frechet_distance(x[labels == g].mean(0), np.cov(x[labels == g].T),
                                        y[labels == g].mean(0), np.cov(y[labels == g].T)) for g in range(10)]
    assert r.extras["bias_corrected"] - stats.t.ppf(0.975, 9) * math.sqrt(
        9 / 10 * np.sum((r.replicates.values - r.replicates.values.mean()) ** 2)) <= 0
    assert r.replicates.fold_values == pytest.approx(by_hand, rel=1e-9)
    assert metrics.fid(x, y + 1.0).replicates.fold_values is None


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_kernel_replicates_are_leave_one_group_out_values():
    x, y = _pair()
    r = metrics.mmd(x, y)
    bb, two = jackknife_values(lambda a, b: metrics.mmd(a, b, bandwidth=r.extras["bandwidth"]).value, x, y,
                               pairs=True)
    assert r.replicates.values == pytest.approx(bb, rel=1e-10)
    assert r.replicates.pair_values == pytest.approx(two, rel=1e-10)
    r = metrics.energy_distance(x, y)
    bb, two = jackknife_values(lambda a, b: metrics.energy_distance(a, b).value, x, y, pairs=True)
    assert r.replicates.values == pytest.approx(bb, rel=1e-10)
    assert r.replicates.pair_values == pytest.approx(two, rel=1e-10)
    assert r.ci.low <= r.extras["bias_corrected"] <= r.ci.high


def test_kid_interval_is_for_the_population_value():
    x, y = _pair()
    r = metrics.kid(x, y, subsets=20, subset_size=50, dtype="float64", seed=3)
    bb, two = jackknife_values(lambda a, b: metrics.mmd(a, b, kernel="polynomial").value, x, y, seed=3, pairs=True)
    assert r.replicates.values == pytest.approx(bb, rel=1e-10)
    assert r.replicates.pair_values == pytest.approx(two, rel=1e-10)
    subset_values_var = (r.extras["subset_std"] ** 2) * 20 / 19 / 20
    assert r.replicates.extra_variance == pytest.approx(subset_values_var, rel=1e-10)
    full = metrics.mmd(x, y, kernel="polynomial").value
    assert r.replicates.full_value == pytest.approx(full, rel=1e-12)
    se = math.sqrt(_corrected_variance(full, bb, two) + subset_values_var)
    assert r.ci.high - r.value == pytest.approx(stats.t.ppf(0.975, 9) * se, rel=1e-10)
    assert "subset Monte-Carlo" in r.ci.method and "second-order corrected" in r.ci.method


@pytest.mark.parametrize("name", ["precision", "recall", "density", "coverage"])
def test_knn_replicates_are_leave_one_group_out_values(name):
    from metrics import manifold

    x, y = _pair(150, 130, 3, seed=4)
    y[:10] = y[0]  # duplicated rows: zero radii, ties at the ball edge
    y[10:20] *= 6.0  # far points: large generated balls
    manifold._clear_memo()
    f = getattr(manifold, name)
    r = f(x, y)
    bb, two = jackknife_values(lambda a, b: f(a, b).value, x, y, pairs=True)
    assert r.replicates.values == pytest.approx(bb, rel=1e-12, abs=1e-15)
    if name == "recall":  # uncorrected: its double deletions read radius jitter as a quadratic part
        assert r.replicates.pair_values is None
        assert manifold._group_values(x, y, 3, 2048)["recall"][10:] == pytest.approx(two, rel=1e-12, abs=1e-15)
    else:
        assert r.replicates.pair_values == pytest.approx(two, rel=1e-12, abs=1e-15)
    assert 0.0 <= r.ci.low <= r.value <= r.ci.high
    assert name == "density" or r.ci.high <= 1.0
