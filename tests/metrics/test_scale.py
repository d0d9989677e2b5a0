"""Large and tiny but finite features: kernel metrics and FID stay finite where the true value is
representable, and otherwise fail with a message that names the feature scale (issue 16, item 1).

Dividing by a power of two is exact in binary floating point, so every check of scale-equivariance
here is exact or within a few ulps: a wrong rescale (a missing factor, a bandwidth left unscaled)
is off by orders of magnitude.
"""

import math
import warnings

import numpy as np
import pytest

import metrics
from metrics import InputError


@pytest.fixture
def pair():
    rng = np.random.default_rng(4)
    return rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 0.5


@pytest.mark.parametrize("power", [600, -700])
def test_mmd_is_scale_free_at_magnitudes_whose_squares_leave_float64(pair, power):
    a, b = pair
    c = math.ldexp(1.0, power)  # 2^600 ~ 4e180: squared distances overflow; 2^-700: they underflow
    base, big = metrics.mmd(a, b), metrics.mmd(a * c, b * c)
    assert big.value == pytest.approx(base.value, rel=1e-14, abs=0)
    assert big.ci.low == pytest.approx(base.ci.low, rel=1e-12)
    assert big.extras["bandwidth"] == pytest.approx(base.extras["bandwidth"] * c, rel=1e-14)
    laplace = metrics.mmd(a * c, b * c, kernel="laplace", bandwidth=1.5 * c)
    assert laplace.value == pytest.approx(metrics.mmd(a, b, kernel="laplace", bandwidth=1.5).value, rel=1e-14)
    assert laplace.extras["bandwidth"] == 1.5 * c


@pytest.mark.parametrize("power", [600, -700])
def test_energy_scales_linearly_with_the_features(pair, power):
    a, b = pair
    c = math.ldexp(1.0, power)
    assert metrics.energy_distance(a * c, b * c).value == pytest.approx(metrics.energy_distance(a, b).value * c,
                                                                        rel=1e-14, abs=0)
    small = metrics.energy_test(a[:6], b[:5], n_permutations=99, seed=1)
    big = metrics.energy_test(a[:6] * c, b[:5] * c, n_permutations=99, seed=1)
    assert big.pvalue == small.pvalue
    assert big.value == pytest.approx(small.value * c, rel=1e-14)


def test_mmd_test_pvalue_is_unchanged_at_1e160(pair):
    a, b = pair
    small = metrics.mmd_test(a[:8], b[:8], n_permutations=199, seed=3)
    big = metrics.mmd_test(a[:8] * 1e160, b[:8] * 1e160, n_permutations=199, seed=3)
    assert big.pvalue == small.pvalue
    assert big.value == pytest.approx(small.value, rel=1e-12)


def test_fid_is_computed_at_unit_scale_and_rescaled_exactly(pair):
    a, b = pair
    c = math.ldexp(1.0, 300)  # covariance products reach scale^4 = 2^1200: LAPACK failed with "Internal Error"
    assert metrics.fid(a * c, b * c).value == pytest.approx(metrics.fid(a, b).value * c * c, rel=1e-12)
    s1, s2 = (metrics.GaussianStats.from_features(x * c) for x in (a, b))
    assert metrics.fid(s1, s2).value == pytest.approx(metrics.fid(a, b).value * c * c, rel=1e-12)


def test_fid_beyond_float64_names_the_feature_scale(pair):
    a, b = pair
    with pytest.raises(InputError, match=r"the Frechet distance is beyond the float64 range \(inf\) for features of "
                                         r"magnitude up to 3\.3e\+160: it grows as the square of the feature "
                                         r"scale\. Rescale the features"):
        metrics.fid(a * 1e160, b * 1e160)


def test_kid_at_1e20_switches_to_float64_and_says_so():
    rng = np.random.default_rng(4)  # the reproduction, in memory
    a = (rng.normal(size=(300, 8)) * 1e20).astype("f4")
    b = (rng.normal(size=(300, 8)) * 1e20 + 1e19).astype("f4")
    r = metrics.kid(a, b, subset_size=100)
    ref = metrics.kid(a.astype("f8"), b.astype("f8"), subset_size=100, dtype="float64")
    assert math.isfinite(r.value) and r.value == ref.value
    assert r.extras["dtype"] == "float64"
    assert r.extras["dtype_note"] == ("float64 Gram products: features of magnitude 4.06e+20 would overflow "
                                      "float32 (x . y above 3.4e38)")


def test_kid_of_finite_float64_above_float32_range_is_not_called_non_finite():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 2)) * 1e39, rng.normal(size=(40, 2)) * 1e39
    # the mean (~1e234) is finite, but the spread over subsets squares it: that is what overflows
    with pytest.raises(InputError, match=r"the spread of kid over subsets is not finite \(inf\) for features of "
                                         r"magnitude up to 2\.4e\+39: "
                                         r"the polynomial kernel \(x\.y/d \+ 1\)\^3 grows as the 6th power of the "
                                         r"feature scale, beyond the float64 range\. Rescale the features"):
        metrics.kid(a, b, subset_size=20, subsets=5)


def test_kid_default_subset_size_is_min_1000_n_like_clean_fid():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(250, 4)) + 0.3
    r = metrics.kid(a, b, subsets=20)
    assert r.extras["subset_size"] == 250
    assert r.extras["subset_size_rule"] == "min(1000, n, m) = 250 (clean-fid's rule; pass subset_size to change)"
    assert r.value == metrics.kid(a, b, subsets=20, subset_size=250).value
    assert "subset_size_rule" not in metrics.kid(a, b, subsets=20, subset_size=100).extras
    with pytest.raises(InputError, match=r"`subset_size` must be an int in \[2, 250\]"):
        metrics.kid(a, b, subset_size=1000)


@pytest.mark.parametrize("func", [metrics.fid, metrics.mmd, metrics.energy_distance])
def test_complex_input_is_refused_not_cut_to_its_real_part(func):
    x = np.ones((10, 2)) + 1j
    with pytest.raises(InputError, match=r"`real` is complex \(dtype complex128\); metrics need real-valued features\. "
                                         r"Pass the real part, the magnitude"):
        func(x, np.ones((10, 2)))


def test_no_runtime_warnings_on_large_features(pair):
    a, b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        metrics.mmd(a * 1e300, b * 1e300)
        metrics.energy_distance(a * 1e-300, b * 1e-300)
        with pytest.raises(InputError, match="kid is not finite"):
            metrics.kid(a * 1e60, b * 1e60, subset_size=20, subsets=3)
