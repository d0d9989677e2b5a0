"""k-NN manifold metrics: hand-counted sets, conventions, exactness, memo, peers (prdc, torch-fidelity)."""

import contextlib
import io

import numpy as np
import pytest

import metrics
from metrics import InputError, manifold
from peers import peer_or_skip

# ----------------------------------------------------------------------------- hand-counted sets
# Real: three copies of the group {0, 1, 2, 4}. With k = 2 the radii within a group are
#   0: neighbours at 1, 2, 4 -> r = 2, ball [-2, 2]      1: at 1, 1, 3 -> r = 1, ball [0, 2]
#   2: at 2, 1, 2 -> r = 2, ball [0, 4]                  4: at 4, 3, 2 -> r = 3, ball [1, 7]
# so the real balls are [-2,2] [0,2] [0,4] [1,7] | [8,12] [10,12] [10,14] [11,17] |
# [28,32] [30,32] [30,34] [31,37].
REAL_1D = np.array([0, 1, 2, 4, 10, 11, 12, 14, 30, 31, 32, 34], dtype=float)
# Generated: three tight triples and an outlier. With k = 2 their radii and balls are
#   3: 0.5, 1.5 -> [1.5, 4.5]   3.5: 0.5, 1 -> [2.5, 4.5]   4.5: 1, 1.5 -> [3, 6]
#   12: 0.5, 1 -> [11, 13]      12.5: 0.5, 0.5 -> [12, 13]  13: 0.5, 1 -> [12, 14]
#   29: 0.5, 1 -> [28, 30]      29.5: 0.5, 0.5 -> [29, 30]  30: 0.5, 1 -> [29, 31]
#   50: 20, 20.5 -> [29.5, 70.5]
GEN_1D = np.array([3, 3.5, 4.5, 12, 12.5, 13, 29, 29.5, 30, 50], dtype=float)
# precision: every generated point but 50 lies in a real ball                      -> 9/10
# recall: real 0, 1, 10 lie in no generated ball; 11 only on the edge of 12's
#   ball (|11 - 12| = 1 = r) and 14 only on the edge of 13's (|14 - 13| = 1 = r)  -> 9/12
# density, real balls holding each generated point:
#   3: {2, 4}  3.5: {2, 4}  4.5: {4}  12: {10 (edge), 11 (edge), 12, 14}  12.5: {12, 14}
#   13: {12, 14}  29: {30}  29.5: {30}  30: {30, 31 (edge), 32 (edge)}  50: {}
#   = 2+2+1+4+2+2+1+1+3+0 = 18 memberships                                       -> 18 / (2 * 10)
# coverage: real balls holding some generated point: all but those of 0, 1 and 34 -> 9/12
HAND = {"precision": 9 / 10, "recall": 9 / 12, "density": 18 / 20, "coverage": 9 / 12}


def _all(real, generated, k, **kw):
    p, r = metrics.precision_recall(real, generated, k=k, **kw)
    d, c = metrics.density_coverage(real, generated, k=k, **kw)
    return {"precision": p.value, "recall": r.value, "density": d.value, "coverage": c.value}


def _brute(real, generated, k):
    """Reference by the definitions: full float64 distance matrices, closed balls."""
    real, generated = np.asarray(real, float), np.asarray(generated, float)
    real = real[:, None] if real.ndim == 1 else real
    generated = generated[:, None] if generated.ndim == 1 else generated
    def sq(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    drr, dgg, drg = sq(real, real), sq(generated, generated), sq(real, generated)
    np.fill_diagonal(drr, np.inf)
    np.fill_diagonal(dgg, np.inf)
    rr, ss = np.sort(drr, 1)[:, k - 1], np.sort(dgg, 1)[:, k - 1]
    inr, ing = drg <= rr[:, None], drg <= ss[None, :]
    return {"precision": inr.any(0).mean(), "recall": ing.any(1).mean(),
            "density": inr.sum(0).mean() / k, "coverage": inr.any(1).mean()}


def test_hand_counted_1d_sets():
    assert _all(REAL_1D, GEN_1D, 2) == pytest.approx(HAND, abs=1e-15)


@pytest.mark.parametrize("chunk_size", [1, 3, 5, 2048])
def test_hand_counted_sets_any_chunk(chunk_size):
    assert _all(REAL_1D, GEN_1D, 2, chunk_size=chunk_size) == pytest.approx(HAND, abs=1e-15)


def test_registered_metrics_match_public_functions():
    got = {name: metrics.get_metric(name).func(REAL_1D, GEN_1D, k=2).value for name in HAND}
    assert got == pytest.approx(HAND, abs=1e-15)
    r = metrics.get_metric("density").func(REAL_1D, GEN_1D, k=2)
    assert r.metric == "density" and r.n == (12, 10) and r.extras["ball_memberships"] == 18
    assert r.higher_is_better and r.ci is None


def test_strict_ball_convention_differs_only_on_the_edges():
    # prdc's strict "<" drops exactly the edge memberships counted above
    prdc = peer_or_skip("prdc")
    with contextlib.redirect_stdout(io.StringIO()):
        ref = prdc.compute_prdc(REAL_1D[:, None], GEN_1D[:, None], nearest_k=2)
    # recall loses 11 and 14; density loses the 4 edge memberships; coverage loses the balls of
    # 10, 11 (only 12 on their edge) and 31, 32 (only 30 on their edge)
    assert ref["recall"] == pytest.approx(7 / 12)
    assert ref["density"] == pytest.approx(14 / 20)
    assert ref["coverage"] == pytest.approx(5 / 12)
    assert ref["precision"] == pytest.approx(9 / 10)


# ----------------------------------------------------------------------------- conventions


def _clusters(rng, n_per, centres, scale=0.3):
    return np.vstack([c + scale * rng.normal(size=(n_per, len(c))) for c in centres])


def test_mode_collapse_pins_argument_order():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = _clusters(rng, 100, centres)
    # generated: a few copies (slightly jittered) of 20 points of the first real cluster only
    generated = np.repeat(real[:20], 5, axis=0) + 1e-3 * rng.normal(size=(100, 2))
    p, r = metrics.precision_recall(real, generated)
    d, c = metrics.density_coverage(real, generated)
    assert p.value == 1.0  # every generated point sits on a real one
    assert r.value <= 0.25  # only (part of) one of four modes is reached
    assert c.value <= 0.25
    p_swapped, r_swapped = metrics.precision_recall(generated, real)
    assert p_swapped.value <= 0.25 and r_swapped.value == 1.0


def test_identical_distinct_sets():
    x = np.random.default_rng(1).normal(size=(200, 5))
    for k in (1, 3, 5):
        v = _all(x, x.copy(), k)
        # each real ball holds its centre's copy and its k neighbours: density 1 + 1/k exactly
        assert v == pytest.approx({"precision": 1.0, "recall": 1.0, "density": 1 + 1 / k,
                                   "coverage": 1.0}, abs=1e-15)


def test_identical_sets_with_duplicates_give_one_not_zero():
    # every point three times: all radii (k = 2) are 0, and a zero ball still holds its copies
    x = np.repeat(np.random.default_rng(2).normal(size=(30, 3)), 3, axis=0)
    v = _all(x, x, 2)
    assert v == pytest.approx({"precision": 1.0, "recall": 1.0, "density": 3 / 2, "coverage": 1.0})
    prdc = peer_or_skip("prdc")
    with contextlib.redirect_stdout(io.StringIO()):
        ref = prdc.compute_prdc(x.astype(np.float32), x.astype(np.float32), nearest_k=2)
    assert ref["coverage"] == 0.0 and ref["precision"] == 0.0  # the documented difference


def test_k_at_least_n_is_rejected():
    x = np.random.default_rng(3).normal(size=(5, 2))
    y = np.random.default_rng(4).normal(size=(9, 2))
    with pytest.raises(InputError, match=r"`k` must be an int in \[1, 4\] .* smaller sample size 5\); got 5"):
        metrics.precision_recall(x, y, k=5)
    with pytest.raises(InputError, match=r"`k` must be an int in \[1, 4\].*got 0"):
        metrics.density_coverage(y, x, k=0)
    with pytest.raises(InputError, match=r"`k` must be an int .*got 2.5"):
        metrics.get_metric("recall").func(x, y, k=2.5)
    with pytest.raises(InputError, match=r"`k` must be an int .*got True"):
        metrics.get_metric("coverage").func(x, y, k=True)
    assert metrics.precision_recall(x, y, k=4).precision.extras["k"] == 4


def test_bad_chunk_and_shapes_rejected():
    x = np.zeros((6, 2)) + np.arange(6)[:, None]
    with pytest.raises(InputError, match=r"`chunk_size` must be an int >= 1; got 0"):
        metrics.precision_recall(x, x, chunk_size=0)
    with pytest.raises(InputError, match="same number of features"):
        metrics.density_coverage(x, np.zeros((6, 3)))
    with pytest.raises(InputError, match=r"`generated` contains non-finite values \(inf\) first at row 4"):
        metrics.get_metric("precision").func(x, np.where(np.arange(6)[:, None] == 4, np.inf, x))


# ----------------------------------------------------------------------------- exactness


def test_chunk_size_independence_and_brute_force():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(150, 6))
    generated = rng.normal(size=(130, 6)) * 1.2 + 0.3
    for k in (1, 3, 5):
        ref = _all(real, generated, k, chunk_size=4096)
        assert ref == pytest.approx(_brute(real, generated, k), abs=1e-15)
        for chunk_size in (7, 64, 149):
            assert _all(real, generated, k, chunk_size=chunk_size) == ref  # exactly


def test_exact_on_lattice_data_with_many_ties():
    # integer lattice points: distances tie everywhere, and float32 holds them exactly, so the
    # band logic (and its float64 / exact-scan fallbacks) decides every tie
    rng = np.random.default_rng(6)
    for trial in range(12):
        d = 1 + trial % 3
        real = rng.integers(-3, 4, size=(int(rng.integers(10, 60)), d)).astype(float)
        generated = rng.integers(-3, 4, size=(int(rng.integers(10, 60)), d)).astype(float)
        k = int(rng.integers(1, min(len(real), len(generated))))
        for chunk in (4, 2048):
            manifold._clear_memo()
            got = _all(real, generated, k, chunk_size=chunk)
            assert got == pytest.approx(_brute(real, generated, k), abs=1e-15), (trial, chunk)


def test_equidistant_points_exercise_every_fallback(monkeypatch):
    # a scaled simplex: all within-set distances tie, and every cross distance ties with a radius.
    # The float32 pass cannot prove any row's K nearest (the float64 pass and then the exact row
    # scan must), and the undecided cross pairs are many on few rows (the float64 Gram route).
    used = {"rows64": 0, "gram": 0}
    rows64, decided = manifold._knn_rows64, manifold._decided_sqdist

    def count_rows64(x, rows, *a):
        used["rows64"] += len(rows)
        return rows64(x, rows, *a)

    def count_decided(x, y, ii, jj, *a):
        if len(ii) >= 256 and len(np.unique(ii)) * len(np.unique(jj)) <= 32 * len(ii):
            used["gram"] += 1
        return decided(x, y, ii, jj, *a)

    monkeypatch.setattr(manifold, "_knn_rows64", count_rows64)
    monkeypatch.setattr(manifold, "_decided_sqdist", count_decided)
    manifold._clear_memo()
    real = 3.0 * np.eye(40)
    generated = np.vstack([3.0 * np.eye(40)[:25], 2.5 * np.eye(40)[25:35]])
    for k in (1, 3, 5):
        assert _all(real, generated, k) == pytest.approx(_brute(real, generated, k), abs=1e-14)
    # e.g. k = 5: every real ball (radius^2 18) holds all 25 copies plus 10 points at 3^2 + 2.5^2
    assert _all(real, generated, 5)["density"] == pytest.approx(40 * 35 / (5 * 35))
    assert used["rows64"] > 0 and used["gram"] > 0


def test_exact_with_large_offset_and_high_dimension():
    # a large common offset ruins a naive float32 Gram expansion; centring and the exact band
    # recomputation must still reproduce float64 brute force, also where distances concentrate
    rng = np.random.default_rng(7)
    real = (1000.0 + rng.random(size=(120, 300))).astype(np.float32)
    generated = (1000.0 + 1.02 * rng.random(size=(110, 300))).astype(np.float32)
    for k in (2, 5):
        assert _all(real, generated, k, chunk_size=50) == pytest.approx(_brute(real, generated, k), abs=1e-15)


def test_float32_input_uses_its_own_values():
    rng = np.random.default_rng(8)
    real = rng.normal(size=(100, 4)).astype(np.float32)
    generated = rng.normal(size=(90, 4)).astype(np.float32)
    assert _all(real, generated, 3) == _all(real.astype(np.float64), generated.astype(np.float64), 3)


def test_float32_error_bound_holds():
    # the bound used to skip exact recomputation must cover the actual float32 errors
    rng = np.random.default_rng(9)
    x = (5.0 + rng.normal(size=(60, 2048))).astype(np.float32)
    y = (5.0 + 1.1 * rng.normal(size=(50, 2048))).astype(np.float32)
    centre = x.mean(0)
    cx, cy = manifold._Centred(x, centre), manifold._Centred(y, centre)
    d32 = manifold._sqdist32(cx, slice(None), cy, slice(None)).numpy()
    exact = ((x[:, None, :].astype(float) - y[None, :, :]) ** 2).sum(-1)
    bound = manifold._tau(2048) * (cx.norms[:, None] + cy.norms[None, :])
    err = np.abs(d32 - exact)
    assert (err <= bound).all()
    # a worst-case bound: real errors sit far inside it (about 1e-3 of it here), yet they exist,
    # so the float32 values alone would misplace pairs near a radius
    assert 0 < err.max() < bound.min()


# ----------------------------------------------------------------------------- shared work


def test_four_registered_metrics_share_one_knn_pass(monkeypatch):
    calls = {"radii": 0, "cross": 0}
    knn, cross = manifold._knn_sqdist, manifold._cross_counts

    def count_knn(*a, **kw):
        calls["radii"] += 1
        return knn(*a, **kw)

    def count_cross(*a, **kw):
        calls["cross"] += 1
        return cross(*a, **kw)

    monkeypatch.setattr(manifold, "_knn_sqdist", count_knn)
    monkeypatch.setattr(manifold, "_cross_counts", count_cross)
    manifold._clear_memo()
    rng = np.random.default_rng(10)
    real, generated = rng.normal(size=(80, 3)), rng.normal(size=(70, 3))
    # the harness's calls: defaults k = 3 for precision/recall and k = 5 for density/coverage
    values = {name: metrics.get_metric(name).func(real, generated).value
              for name in ("precision", "recall", "density", "coverage")}
    assert calls == {"radii": 2, "cross": 1}  # one radii pass per set, one cross pass
    manifold._clear_memo()
    assert values == pytest.approx({**{n: v for n, v in _brute(real, generated, 3).items()
                                       if n in ("precision", "recall")},
                                    **{n: v for n, v in _brute(real, generated, 5).items()
                                       if n in ("density", "coverage")}}, abs=1e-15)
    assert calls == {"radii": 2, "cross": 1}
    metrics.precision_recall(real, generated, k=7)  # a new k: radii and counts again
    assert calls == {"radii": 4, "cross": 2}
    changed = generated.copy()
    changed[-1, -1] += 1e-9  # one element anywhere changes the fingerprint
    metrics.density_coverage(real, changed, k=7)
    assert calls == {"radii": 5, "cross": 3}  # the real radii (k = 7) are reused


# ----------------------------------------------------------------------------- peers


@pytest.mark.parametrize("k", [3, 5])
def test_matches_prdc(k):
    prdc = peer_or_skip("prdc")
    rng = np.random.default_rng(11)
    real = rng.normal(size=(400, 16)).astype(np.float32)
    generated = (rng.normal(size=(350, 16)) * 1.1 + 0.2).astype(np.float32)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = prdc.compute_prdc(real, generated, nearest_k=k)
    # continuous data: no ties, so the strict and closed conventions agree exactly
    assert _all(real, generated, k, chunk_size=128) == pytest.approx(
        {key: float(v) for key, v in ref.items()}, abs=1e-15)


def test_matches_torch_fidelity_precision_recall():
    torch = pytest.importorskip("torch")
    prc = peer_or_skip("torch_fidelity.metric_prc")
    rng = np.random.default_rng(12)
    real = rng.normal(size=(300, 32)).astype(np.float32)
    generated = (rng.normal(size=(280, 32)) * 0.9 + 0.1).astype(np.float32)
    # torch-fidelity's order: features_1 = generated, features_2 = real
    tp, tr = prc.calculate_precision_recall_full(torch.from_numpy(generated), torch.from_numpy(real),
                                                 neighborhood=3, batch_size=100)
    p, r = metrics.precision_recall(real, generated, k=3)
    assert p.value == pytest.approx(tp, abs=1e-6)  # torch-fidelity returns float32 means
    assert r.value == pytest.approx(tr, abs=1e-6)
