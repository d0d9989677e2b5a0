"""The contract every registered metric keeps, parametrised over the live registry.

A metric that registers is in this suite automatically; ``test_builtins_all_registered`` catches a
family whose module failed to import. Per-metric options below only shrink defaults to the small
data used here (they are not special cases of the contract).
"""

import math

import numpy as np
import pytest

import metrics
from metrics import InputError, MetricResult

# Every built-in registry name; a family that fails to import drops out of the registry and fails here.
BUILTINS = {
    "fid",
    "mmd", "mmd_test", "kid", "energy", "energy_test",
    "c2st", "kl", "reverse_kl", "js", "spectrum",
    "log_likelihood", "parzen",
    "precision", "recall", "density", "coverage",
    "inception_score",
    "prd", "frontier",
    "cmmd", "data_copying", "authenticity",
}

# Options that make defaults fit n=120 / 100 rows of 3 features (or 150 log-probs, 200 prob rows).
OPTIONS = {
    # kernel family
    "kid": {"subsets": 10, "subset_size": 50},
    "mmd_test": {"n_permutations": 99},
    "energy_test": {"n_permutations": 99},
    # classifier family
    # likelihood family
    # perceptual family
    "inception_score": {"splits": 2},
    "prd": {"num_clusters": 5, "num_runs": 2},
}

# Metrics that resample or split by row index (cross-validation folds, subsets, k-means starts):
# their value changes with row order by design, so the exact order-invariance check skips them.
ORDER_DEPENDENT = {"kid", "mmd_test", "energy_test", "c2st", "kl", "reverse_kl", "js", "spectrum",
                   "prd", "frontier", "parzen", "inception_score"}

# float32 input must give the float64 answer to this relative tolerance unless listed.
FLOAT32_RTOL = {}

SPECS = metrics.available_metrics()


def _data(needs, dtype=np.float64):
    rng = np.random.default_rng(12345)
    if needs in ("features", "samples"):
        real = rng.normal(size=(120, 3))
        generated = rng.normal(size=(100, 3)) * 1.2 + 0.4
        return (real.astype(dtype), generated.astype(dtype))
    if needs == "train":  # held-out test set, generated set, training set
        real = rng.normal(size=(120, 3))
        generated = rng.normal(size=(100, 3)) * 1.2 + 0.4
        return (real.astype(dtype), generated.astype(dtype), rng.normal(size=(150, 3)).astype(dtype))
    if needs == "log_probs":
        return (rng.normal(size=150).astype(dtype) - 3.0,)
    if needs == "probs":
        logits = rng.normal(size=(200, 10)) * 2
        p = np.exp(logits - logits.max(1, keepdims=True))
        return ((p / p.sum(1, keepdims=True)).astype(dtype),)
    raise AssertionError(needs)


def _call(spec, *arrays):
    return spec.func(*arrays, **OPTIONS.get(spec.name, {}))


def test_builtins_all_registered():
    missing = BUILTINS - set(SPECS)
    assert not missing, f"built-in metrics missing from the registry: {sorted(missing)}"


@pytest.fixture(params=sorted(SPECS), ids=sorted(SPECS))
def spec(request):
    return SPECS[request.param]


def test_declaration(spec):
    assert spec.needs in metrics.registry.NEEDS
    assert spec.group in metrics.registry.GROUPS
    assert spec.summary, f"{spec.name} has no docstring summary"
    # house style: options keyword-only, never **kwargs
    import inspect

    kinds = {p.kind for p in inspect.signature(spec.func).parameters.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds


def test_result_object(spec):
    result = _call(spec, *_data(spec.needs))
    assert isinstance(result, MetricResult)
    assert result.metric == spec.name
    assert result.higher_is_better == spec.higher_is_better
    assert math.isfinite(result.value)
    if result.ci is not None:
        assert result.ci.low <= result.ci.high
    if result.pvalue is not None:
        assert 0.0 < result.pvalue <= 1.0


def test_deterministic(spec):
    a = _call(spec, *_data(spec.needs))
    b = _call(spec, *_data(spec.needs))
    assert a.value == b.value
    assert a.pvalue == b.pvalue


def test_float32_matches_float64(spec):
    v64 = _call(spec, *_data(spec.needs, np.float64)).value
    v32 = _call(spec, *_data(spec.needs, np.float32)).value
    # float32 inputs are exactly representable in float64, so the arrays differ only by rounding
    rtol = FLOAT32_RTOL.get(spec.name, 1e-6)
    assert v32 == pytest.approx(v64, rel=rtol, abs=1e-9)


def test_order_invariant(spec):
    if spec.name in ORDER_DEPENDENT:
        pytest.skip("resamples by row index by design")
    arrays = _data(spec.needs)
    rng = np.random.default_rng(7)
    shuffled = [a[rng.permutation(len(a))] for a in arrays]
    assert _call(spec, *shuffled).value == pytest.approx(_call(spec, *arrays).value, rel=1e-9, abs=1e-12)


def test_nan_rejected_with_row(spec):
    arrays = [a.copy() for a in _data(spec.needs)]
    arrays[-1][7] = np.nan
    with pytest.raises(InputError, match="row 7"):
        _call(spec, *arrays)


def test_dimension_mismatch_rejected(spec):
    if spec.needs not in ("features", "samples"):
        pytest.skip("one-array metric")
    real, generated = _data(spec.needs)
    with pytest.raises(InputError, match="same number of features"):
        _call(spec, real, np.hstack([generated, generated[:, :1]]))
