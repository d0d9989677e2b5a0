"""Inception Score: closed forms, a hand case, split convention, peers (torch-fidelity, torchmetrics)."""

import math

import numpy as np
import pytest

import metrics
from metrics import InputError, inception_score
from peers import peer_or_skip


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_one_hot_rows_score_the_number_of_classes():
    # every split holds each of the 7 classes equally often: p(y) uniform, KL = log 7 per row
    probs = np.eye(7)[np.tile(np.arange(7), 30)]
    r = inception_score(probs, splits=10)
    assert r.value == pytest.approx(7.0, rel=1e-14)
    assert r.extras["split_std"] == pytest.approx(0.0, abs=1e-13)
    assert r.extras["split_scores"] == pytest.approx([7.0] * 10, rel=1e-14)
    assert r.n == (210,) and r.ci is None and r.metric == "inception_score"


def test_uniform_rows_score_one():
    assert inception_score(np.full((50, 12), 1 / 12), splits=5).value == pytest.approx(1.0, abs=1e-15)


def test_identical_confident_rows_score_one():
    # confident but all the same class: no diversity, p(y|x) = p(y)
    assert inception_score(np.tile([0.9, 0.05, 0.05], (40, 1)), splits=4).value == pytest.approx(1.0, abs=1e-15)


def test_small_hand_case():
    # rows [1, 0] and [1/2, 1/2]: p(y) = [3/4, 1/4];
    # KL1 = log(4/3), KL2 = 1/2 log(2/3) + 1/2 log 2 = 1/2 log(4/3); IS = exp(3/4 log(4/3))
    assert inception_score([[1.0, 0.0], [0.5, 0.5]], splits=1).value == pytest.approx(
        (4 / 3) ** 0.75, rel=1e-15)


def test_split_boundaries_are_floor_i_n_over_splits():
    rng = np.random.default_rng(0)
    p = _softmax(rng.normal(size=(10, 4)) * 2)
    r = inception_score(p, splits=3)  # blocks [0:3], [3:6], [6:10]
    expected = [inception_score(p[a:b], splits=1).value for a, b in ((0, 3), (3, 6), (6, 10))]
    assert r.extras["split_scores"] == pytest.approx(expected, rel=1e-15)
    assert r.value == pytest.approx(np.mean(expected), rel=1e-15)
    assert r.extras["split_std"] == pytest.approx(np.std(expected), rel=1e-12)


def test_float32_rows_and_rounding_tolerance():
    rng = np.random.default_rng(1)
    p = _softmax(rng.normal(size=(100, 10)))
    v64 = inception_score(p, splits=5).value
    assert inception_score(p.astype(np.float32), splits=5).value == pytest.approx(v64, rel=1e-6)
    # rows summing to 1 +- 1e-4 (e.g. float16 softmax) are accepted and renormalised
    assert inception_score(p * (1 + 1e-4), splits=5).value == pytest.approx(v64, rel=1e-12)


def test_bad_inputs_are_rejected():
    p = np.full((20, 4), 0.25)
    with pytest.raises(InputError, match=r"`splits` must be an int in \[1, 20\]; got 21"):
        inception_score(p, splits=21)
    with pytest.raises(InputError, match=r"`splits` must be an int in \[1, 20\]; got 0"):
        inception_score(p, splits=0)
    bad = p.copy()
    bad[3] = [0.5, 0.6, -0.1, 0.0]
    with pytest.raises(InputError, match=r"non-negative; row 3 has -0.1. Pass softmax probabilities, not logits"):
        inception_score(bad)
    bad = p.copy()
    bad[2] = [0.5, 0.5, 0.5, 0.5]
    with pytest.raises(InputError, match=r"rows must sum to 1 \(within 0.001\); row 2 sums to 2"):
        inception_score(bad)
    with pytest.raises(InputError, match=r"at least 2 classes"):
        inception_score(np.ones((5, 1)))
    bad = p.copy()
    bad[7, 1] = np.nan
    with pytest.raises(InputError, match=r"`probs` contains non-finite values \(nan\) first at row 7"):
        inception_score(bad)


def test_matches_torch_fidelity_including_uneven_splits():
    torch = pytest.importorskip("torch")
    isc = peer_or_skip("torch_fidelity.metric_isc")
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(203, 10)) * 3
    p = _softmax(logits)
    ref = isc.isc_features_to_metric(torch.from_numpy(logits), splits=7, shuffle=False)
    r = inception_score(p, splits=7)
    assert r.value == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert r.extras["split_std"] == pytest.approx(ref["inception_score_std"], rel=1e-10)


@pytest.mark.filterwarnings("ignore:Metric `InceptionScore` will save")
def test_matches_torchmetrics_with_its_permutation():
    torch = pytest.importorskip("torch")
    tm = peer_or_skip("torchmetrics.image.inception")
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(120, 6)) * 2
    p = _softmax(logits)
    m = tm.InceptionScore(feature=torch.nn.Identity(), splits=4)
    m.update(torch.from_numpy(logits))
    # torchmetrics shuffles with the global torch RNG: replay the same permutation on our side
    torch.manual_seed(1234)
    perm = torch.randperm(120).numpy()
    torch.manual_seed(1234)
    mean, std = m.compute()
    r = inception_score(p[perm], splits=4)  # 4 divides 120: torch.chunk boundaries are ours
    assert r.value == pytest.approx(float(mean), rel=1e-12)
    # torchmetrics reports the sample standard deviation (ddof=1)
    assert np.std(r.extras["split_scores"], ddof=1) == pytest.approx(float(std), rel=1e-10)


def test_registered_declaration():
    spec = metrics.get_metric("inception_score")
    assert spec.needs == "probs" and spec.group == "perceptual" and spec.higher_is_better
    assert spec.options == ("splits",)
    assert math.isclose(spec.func(np.eye(3)[[0, 1, 2] * 2], splits=2).value, 3.0, rel_tol=1e-14)
