"""CMMD: the paper's formula evaluated directly, its scale, its interval and its estimators."""

import numpy as np
import pytest

import metrics
from metrics import InputError


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _direct(x, y, sigma=10.0, unbiased=True):
    """Jayasumana et al. (2024), eq. for MMD^2 with k(x, y) = exp(-||x - y||^2 / (2 sigma^2)), times 1000."""
    def k(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2.0 * sigma ** 2))

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    n, m = len(x), len(y)
    if unbiased:
        return 1000.0 * ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                         - 2.0 * kxy.mean())
    return 1000.0 * (kxx.mean() + kyy.mean() - 2.0 * kxy.mean())  # the reference code's jnp.mean


@pytest.mark.parametrize("unit, d, scale", [(True, 768, 1.0), (False, 16, 3.0)])
def test_equals_direct_formula(unit, d, scale):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, d)) * scale
    y = rng.normal(size=(150, d)) * scale + 0.3
    if unit:  # CLIP ViT-L/14 embeddings are 768-d and unit-normalised
        x, y = _unit(x), _unit(y)
    r = metrics.cmmd(x, y)
    assert r.value == pytest.approx(_direct(x, y), abs=1e-10, rel=0)
    b = metrics.cmmd(x, y, estimator="biased")
    assert b.value == pytest.approx(_direct(x, y, unbiased=False), abs=1e-10, rel=0)
    assert r.metric == "cmmd" and r.extras["sigma"] == 10.0 and r.extras["scale"] == 1000.0
    assert b.ci is None


def test_scaled_mmd_and_interval():
    rng = np.random.default_rng(0)
    x, y = _unit(rng.normal(size=(300, 8))), _unit(rng.normal(size=(300, 8)) + 0.5)
    r = metrics.cmmd(x, y, chunk_size=64)
    base = metrics.mmd(x, y, bandwidth=10.0)
    assert r.value == pytest.approx(1000.0 * base.value, rel=1e-12)
    assert (r.ci.low, r.ci.high) == pytest.approx((1000.0 * base.ci.low, 1000.0 * base.ci.high), rel=1e-12)
    assert r.extras["se"] == pytest.approx(1000.0 * base.extras["se"], rel=1e-12)
    assert r.ci.low > 0  # a real shift is detected
    assert metrics.cmmd(x, y).value == pytest.approx(r.value, rel=1e-12)  # chunk size does not matter


def test_identical_sets_biased_vs_unbiased():
    x = _unit(np.random.default_rng(1).normal(size=(50, 4)))
    assert metrics.cmmd(x, x, estimator="biased").value == pytest.approx(0.0, abs=1e-12)
    # unbiased on identical sets: 2 * (mean off-diagonal k - mean all k) * 1000 < 0
    assert metrics.cmmd(x, x).value < 0


def test_bad_estimator():
    x = np.zeros((5, 2))
    with pytest.raises(InputError, match=r"`estimator` must be one of \['biased', 'unbiased'\]; got 'linear'"):
        metrics.cmmd(x, x + 1, estimator="linear")
