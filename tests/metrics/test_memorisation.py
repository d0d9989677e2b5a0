"""Memorisation metrics: hand-counted sets, exact nearest neighbours, Meehan et al.'s toy, calibration."""

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, fisher_exact, mannwhitneyu, norm

import metrics
from metrics import InputError
from metrics.memorisation import _nearest


def col(*v):
    return np.array(v, dtype=np.float64)[:, None]


# ------------------------------------------------------------------------------------- authenticity


def test_authenticity_hand_counted():
    # training points and their nearest-other-point distances r: 0:1, 1:1, 6:1, 7:1, 14:7
    train = col(0, 1, 6, 7, 14)
    # 0.5: nearest 0/1 (tie) at 0.5 <= 1, not authentic; 10.5: tie 7 (r=1) and 14 (r=7) at 3.5: the tie
    # goes to the larger r, 3.5 <= 7, not authentic; 20: 14 at 6 <= 7, no; 22: 8 > 7 yes; -3: 3 > 1 yes;
    # 6: an exact copy (d = 0), no.
    gen = col(0.5, 10.5, 20, 22, -3, 6)
    # 3: 1 at 2 > 1 yes; 3.5: tie 1/6 at 2.5 > 1 yes; 9: 7 at 2 > 1 yes; 13: 14 at 1 <= 7 no.
    test = col(3, 3.5, 9, 13)
    r = metrics.authenticity(test, gen, train)
    assert r.value == pytest.approx(2 / 6, abs=1e-15)
    assert r.extras == {"test_authenticity": 0.75, "n_inauthentic": 4, "n_copies": 1}
    ci = binomtest(2, 6).proportion_ci(0.95, method="exact")
    assert (r.ci.low, r.ci.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert r.pvalue == pytest.approx(fisher_exact([[2, 4], [3, 1]], alternative="less")[1], rel=1e-12)
    assert r.n == (4, 6, 5)


def test_authenticity_copy_of_duplicated_training_point_is_not_authentic():
    train = col(0, 0, 5)  # r(0) = 0
    r = metrics.authenticity(col(2, 12), col(0, 12), train)  # 12: nearest 5 at 7 > r(5) = 5
    assert r.value == 0.5 and r.extras["n_copies"] == 1


def test_nearest_is_exact_and_chunk_independent():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=(300, 40)).astype(np.float32) * 50 + 1000  # far from the origin: the Gram route's worst case
    ref[150:170] = ref[0]  # many exact duplicates: more than the candidate list holds
    query = np.concatenate([ref[:30] + rng.normal(size=(30, 40)).astype(np.float32) * 1e-3, ref[:5],
                            rng.normal(size=(40, 40)).astype(np.float32) * 50 + 1000]).astype(np.float64)
    ref = ref.astype(np.float64)
    brute = ((query[:, None, :] - ref[None, :, :]) ** 2).sum(-1)
    for chunk in (7, 2048):
        d2, idx = _nearest(query, ref, chunk)
        np.testing.assert_allclose(d2, brute.min(axis=1), rtol=1e-12, atol=0)
        # ties go to the smallest index without `prefer`
        np.testing.assert_array_equal(idx, np.argmin(brute, axis=1))


def test_authenticity_chunk_and_order_invariant():
    rng = np.random.default_rng(2)
    train, test, gen = rng.normal(size=(400, 5)), rng.normal(size=(200, 5)), rng.normal(size=(300, 5))
    a = metrics.authenticity(test, gen, train)
    b = metrics.authenticity(test[::-1], gen[rng.permutation(300)], train[rng.permutation(400)], chunk_size=37)
    assert (a.value, a.pvalue, a.extras) == (b.value, b.pvalue, b.extras)


# ------------------------------------------------------------------------------------- data copying


def test_data_copying_one_cell_is_the_mann_whitney_z():
    train, test = col(0, 10, 20), col(1, 2, 3)            # test distances 1, 2, 3
    gen = col(0.5, 12.5, 24, 11)                           # generated distances 0.5, 2.5, 4, 1
    r = metrics.data_copying(test, gen, train, cells=1, min_generated=1)
    u = 0 + 2 + 3 + 0.5                                    # pairs with the generated distance larger; ties 1/2
    assert mannwhitneyu([0.5, 2.5, 4, 1], [1, 2, 3]).statistic == u
    z = (u - 4 * 3 / 2) / math.sqrt(4 * 3 * 8 / 12)
    assert r.value == pytest.approx(z, abs=1e-14)
    assert r.pvalue == pytest.approx(norm.cdf(z), rel=1e-12)
    assert r.extras["cells"] == [{"cell": 0, "n_train": 3, "n_test": 3, "n_generated": 4, "z_u": r.value,
                                  "used": True}]


def test_data_copying_two_cells_weighted_by_test_share():
    train = col(0, 1, 2, 100, 101, 102)
    test = col(0.4, 1.6, 100.3, 101.2, 101.9)   # cell A distances 0.4, 0.4; cell B 0.3, 0.2, 0.1
    gen = col(0.1, 1.1, 2.05, 100.5, 101.5)     # A: 0.1, 0.1, 0.05 (all closer); B: 0.5, 0.5 (all farther)
    r = metrics.data_copying(test, gen, train, cells=2, min_generated=2)
    z_a = (0 - 3) / math.sqrt(3 * 2 * 6 / 12)
    z_b = (6 - 3) / math.sqrt(2 * 3 * 6 / 12)
    c_t = (0.4 * z_a + 0.6 * z_b) / 1.0
    assert r.value == pytest.approx(c_t, abs=1e-14)
    assert r.extras["z"] == pytest.approx(c_t / math.sqrt(0.4 ** 2 + 0.6 ** 2), abs=1e-14)
    assert sorted(c["z_u"] for c in r.extras["cells"]) == pytest.approx([z_a, z_b], abs=1e-14)
    # with min_generated = 3 only cell A (3 generated samples) counts
    r3 = metrics.data_copying(test, gen, train, cells=2, min_generated=3)
    assert r3.value == pytest.approx(z_a, abs=1e-14) and r3.extras["cells_used"] == 1


def _toy(seed, copy, d=2):
    rng = np.random.default_rng(seed)
    train, test = rng.normal(size=(1000, d)), rng.normal(size=(500, d))
    gen = (train[rng.choice(1000, 500, replace=False)] + rng.normal(scale=0.02, size=(500, d))) if copy \
        else rng.normal(size=(500, d))
    return test, gen, train


def test_meehan_toy_memoriser_vs_fresh():
    """Generated = training points + small noise: C_T strongly negative; fresh samples: C_T near 0."""
    test, copier, train = _toy(0, copy=True)
    r = metrics.data_copying(test, copier, train)
    assert r.value < -10 and r.pvalue < 1e-3
    a = metrics.authenticity(test, copier, train)
    assert a.value < 0.2 and a.pvalue < 1e-3 and a.extras["test_authenticity"] > 0.3
    test, fresh, train = _toy(0, copy=False)
    r = metrics.data_copying(test, fresh, train)
    assert abs(r.value) < 3 and r.pvalue > 1e-3
    assert metrics.authenticity(test, fresh, train).pvalue > 1e-3


def test_data_copying_order_and_chunk_invariant():
    test, gen, train = _toy(1, copy=False, d=3)
    rng = np.random.default_rng(9)
    a = metrics.data_copying(test, gen, train, seed=4)
    b = metrics.data_copying(test[rng.permutation(500)], gen[::-1], train[rng.permutation(1000)], seed=4,
                             chunk_size=50)
    assert a.value == pytest.approx(b.value, abs=1e-12) and a.pvalue == pytest.approx(b.pvalue, abs=1e-12)


def test_errors():
    x = np.zeros((30, 2))
    with pytest.raises(InputError, match=r"`train` must have the same number of features as `real` and `generated`; "
                                         r"got train \(30, 3\)"):
        metrics.data_copying(x, x, np.zeros((30, 3)))
    with pytest.raises(InputError, match=r"`cells` must be an int in \[1, 30\]; got 31"):
        metrics.data_copying(x, x, np.random.default_rng(0).normal(size=(30, 2)), cells=31)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match=r"no k-means cell holds both test samples and at least `min_generated` = 20 "
                                         r"generated samples \(generated: 10"):
        metrics.data_copying(rng.normal(size=(30, 2)), rng.normal(size=(10, 2)), rng.normal(size=(30, 2)))
    bad = rng.normal(size=(30, 2))
    bad[4, 1] = np.inf
    with pytest.raises(InputError, match="`train` contains non-finite values .* row 4"):
        metrics.authenticity(x, x, bad)


@pytest.mark.slow
def test_calibration_under_no_copying():
    """Fresh samples, 300 seeds: rejection rates at 5% within the 99% binomial band."""
    p_dc, p_au = [], []
    for seed in range(300):
        test, fresh, train = _toy(1000 + seed, copy=False, d=3)
        p_dc.append(metrics.data_copying(test, fresh, train, seed=seed).pvalue)
        p_au.append(metrics.authenticity(test, fresh, train).pvalue)
    lo, hi = binom.ppf(0.005, 300, 0.05), binom.ppf(0.995, 300, 0.05)
    k_dc = int((np.array(p_dc) < 0.05).sum())
    assert lo <= k_dc <= hi, k_dc
    # Fisher's exact test is conservative (discrete): only the upper side of the band applies
    k_au = int((np.array(p_au) < 0.05).sum())
    assert k_au <= hi, k_au
