"""PRD curves, divergence frontiers (MAUVE) and the Vendi score: hand values and peers."""

import warnings

import numpy as np
import pytest

import metrics
from metrics import InputError, MetricWarning, divergence_frontier, prd, vendi_score
from metrics import frontiers
from metrics.divergences import js_pi


# ------------------------------------------------------------------------------------------ PRD


def test_prd_curve_on_explicit_histograms():
    # reference P = [1/2, 1/2], evaluated Q = [1, 0]:
    # alpha(l) = min(l/2, 1) + min(l/2, 0) = min(l/2, 1), beta(l) = alpha / l = min(1/2, 1/l)
    p, q = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    alpha, beta = frontiers._prd_curve(p, q, np.array([0.5, 1.0, 2.0, 4.0]))
    assert alpha == pytest.approx([0.25, 0.5, 1.0, 1.0], abs=1e-15)
    assert beta == pytest.approx([0.5, 0.5, 0.5, 0.25], abs=1e-15)
    # an uneven pair: P = [0.2, 0.3, 0.5], Q = [0.5, 0.5, 0]; at l = 1: 0.2 + 0.3 + 0 = 0.5,
    # at l = 2: min(0.4, .5) + min(0.6, .5) + 0 = 0.9 (beta 0.45), at l = 1/2: 0.1 + 0.15 = 0.25
    alpha, beta = frontiers._prd_curve(np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.5, 0.0]),
                                       np.array([0.5, 1.0, 2.0]))
    assert alpha == pytest.approx([0.25, 0.5, 0.9], abs=1e-15)
    assert beta == pytest.approx([0.5, 0.5, 0.45], abs=1e-15)


def test_prd_two_modes_one_missed():
    # real: two far modes, half each; generated: all in the second. The k-means histograms are
    # exactly P = [1/2, 1/2], Q = [0, 1]. On the curve above (alpha = min(l/2, 1), recall
    # min(1/2, 1/l)) F_8 peaks at l = 2 with 65 * (1 * 1/2) / (64 * 1 + 1/2) = 32.5 / 64.5 and
    # F_1/8 = (65/64) * (1/2) / (1/64 + 1/2) = 65/66; the 1001-angle grid misses l = 2 by < 1e-3.
    real = np.repeat([[0.0, 0.0], [50.0, 50.0]], 60, axis=0)
    real += np.random.default_rng(0).normal(size=real.shape) * 0.1
    generated = np.array([50.0, 50.0]) + np.random.default_rng(1).normal(size=(120, 2)) * 0.1
    r = prd(real, generated, num_clusters=2, num_runs=3)
    assert r.value == pytest.approx(65 / 66, abs=1e-4)
    assert r.extras["f_1_8"] == r.value
    assert r.extras["f_8"] == pytest.approx(32.5 / 64.5, abs=1e-4)
    assert len(r.extras["precision"]) == len(r.extras["recall"]) == 1001
    # swapping the roles: the model covers a superset, so recall-like F_8 is the high one
    s = prd(generated, real, num_clusters=2, num_runs=3)
    assert s.extras["f_8"] == pytest.approx(65 / 66, abs=1e-4)
    assert s.value == pytest.approx(32.5 / 64.5, abs=1e-4)


def test_prd_identical_sets_reach_one():
    x = np.random.default_rng(2).normal(size=(200, 3))
    r = prd(x, x, num_clusters=10, num_runs=2)
    assert r.value == pytest.approx(1.0, abs=1e-12) and r.extras["f_8"] == pytest.approx(1.0, abs=1e-12)


def test_prd_seed_and_validation():
    rng = np.random.default_rng(3)
    real, generated = rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 0.5
    a = prd(real, generated, num_clusters=8, num_runs=2, seed=5)
    b = prd(real, generated, num_clusters=8, num_runs=2, seed=5)
    assert a.value == b.value and a.extras["precision"] == b.extras["precision"]
    with pytest.raises(InputError, match=r"`num_clusters` must be an int in \[2, 200\]; got 201"):
        prd(real, generated, num_clusters=201)
    with pytest.raises(InputError, match=r"`num_angles` must be an int >= 3; got 2"):
        prd(real, generated, num_angles=2)
    with pytest.raises(InputError, match=r"`num_runs` must be an int >= 1; got 0"):
        prd(real, generated, num_runs=0)
    with pytest.raises(InputError, match=r"`seed` must be a non-negative int"):
        prd(real, generated, seed=-1)
    with pytest.warns(MetricWarning, match=r"differ by more than a factor 2 \(real 100, generated 40\)"):
        prd(real, generated[:40], num_clusters=4, num_runs=1)


# ---------------------------------------------------------------------------- divergence frontier


def test_frontier_points_and_area_by_hand():
    # P = [1, 0], Q = [1/2, 1/2], one mixture weight 1/2: R = [3/4, 1/4],
    # KL(Q||R) = 1/2 log(4/3), KL(P||R) = log(4/3); with c = 1 the point is (sqrt(3)/2, 3/4).
    x, y, area = frontiers._frontier(np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.array([0.5]), 1.0)
    s = np.sqrt(3) / 2
    assert x == pytest.approx([1.0, s, 0.0], abs=1e-15)
    assert y == pytest.approx([0.0, 0.75, 1.0], abs=1e-15)
    # trapezoids (1, 0) -> (s, 3/4) -> (0, 1)
    assert area == pytest.approx((1 - s) * 0.75 / 2 + s * 1.75 / 2, rel=1e-15)


def test_frontier_points_split_js_lambda():
    # each point, in KL coordinates, is the pair of terms of JS_lambda(P||Q) at pi = lambda
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    lam = np.linspace(1e-6, 1 - 1e-6, 25)
    c = 5.0
    x, y, _ = frontiers._frontier(p, q, lam, c)
    kl_q, kl_p = -np.log(x[1:-1]) / c, -np.log(y[1:-1]) / c
    assert lam * kl_p + (1 - lam) * kl_q == pytest.approx(js_pi(p, q, lam), rel=1e-10, abs=1e-15)
    assert (np.diff(x) <= 0).all() and (np.diff(y) >= 0).all()  # monotone path


def test_frontier_equal_sets_score_one_and_disjoint_near_zero():
    x = np.random.default_rng(5).normal(size=(300, 2))
    assert divergence_frontier(x, x, num_clusters=6).value == pytest.approx(1.0, abs=1e-15)
    far = x + 100.0
    # disjoint histograms: KL(Q||R) = -log(1 - l), KL(P||R) = -log l, so the curve is
    # x^(1/c) + y^(1/c) = 1 with area Gamma(1 + c)^2 / Gamma(1 + 2c) = 5!^2 / 10! = 1/252 at c = 5
    r = divergence_frontier(x, far, num_clusters=6, num_mixtures=2001)
    assert r.value == pytest.approx(1 / 252, rel=1e-5)  # 2001 trapezoids
    r = divergence_frontier(x, far, num_clusters=6)
    assert r.value == pytest.approx(1 / 252, rel=0.03)  # MAUVE's 25 points overestimate a little
    assert r.extras["num_clusters"] == 6 and len(r.extras["x"]) == 27


def test_frontier_default_clusters_and_validation():
    rng = np.random.default_rng(6)
    real, generated = rng.normal(size=(120, 3)), rng.normal(size=(100, 3))
    assert divergence_frontier(real, generated).extras["num_clusters"] == 10  # round(100 / 10)
    with pytest.raises(InputError, match=r"`scaling` must be a positive finite number; got 0"):
        divergence_frontier(real, generated, scaling=0)
    with pytest.raises(InputError, match=r"`num_mixtures` must be an int >= 2; got 1"):
        divergence_frontier(real, generated, num_mixtures=1)
    with pytest.raises(InputError, match=r"`num_clusters` must be an int in \[2, 220\]; got 1"):
        divergence_frontier(real, generated, num_clusters=1)


def _separated_clusters(rng, props, n):
    # four tight clusters in distinct directions: any k-means (and MAUVE's L2-normalise + PCA +
    # faiss pipeline) finds exactly these four cells
    centres = np.array([[10, 0, 0], [-10, 0, 0], [0, 10, 0], [0, -10, 0]], dtype=float)
    labels = np.repeat(np.arange(4), (np.asarray(props) * n).astype(int))
    return centres[labels] + 0.01 * rng.normal(size=(len(labels), 3))


def test_frontier_matches_mauve_end_to_end():
    mauve = pytest.importorskip("mauve")
    rng = np.random.default_rng(7)
    real = _separated_clusters(rng, [0.4, 0.3, 0.2, 0.1], 200)
    generated = _separated_clusters(rng, [0.25, 0.25, 0.25, 0.25], 200)
    out = mauve.compute_mauve(p_features=real, q_features=generated, num_buckets=4, verbose=False)
    r = divergence_frontier(real, generated, num_clusters=4)
    assert sorted(r.extras["p_hist"]) == pytest.approx(sorted(out.p_hist), abs=1e-15)
    assert r.value == pytest.approx(out.mauve, rel=1e-12)


def test_frontier_area_matches_mauve_on_its_histograms():
    mauve = pytest.importorskip("mauve")
    rng = np.random.default_rng(8)
    real, generated = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) * 1.3 + 0.4
    out = mauve.compute_mauve(p_features=real, q_features=generated, num_buckets=12, verbose=False)
    weights = np.linspace(1e-6, 1 - 1e-6, 25)
    x, y, area = frontiers._frontier(np.asarray(out.p_hist), np.asarray(out.q_hist), weights, 5.0)
    assert area == pytest.approx(out.mauve, rel=1e-12)
    assert np.c_[x, y] == pytest.approx(out.divergence_curve, abs=1e-15)


# ------------------------------------------------------------------------------------------ Vendi


def test_vendi_closed_forms():
    assert vendi_score(np.eye(4), np.eye(4)).value == pytest.approx(4.0, rel=1e-12)
    same = np.tile([[1.0, 2.0, 3.0]], (10, 1))
    assert vendi_score(np.eye(3), same).value == pytest.approx(1.0, rel=1e-12)
    # two unit vectors at angle t: K/2 has eigenvalues (1 +- cos t)/2, VS = exp(entropy)
    t = 0.7
    pair = np.array([[1.0, 0.0], [np.cos(t), np.sin(t)]])
    mu = np.array([(1 + np.cos(t)) / 2, (1 - np.cos(t)) / 2])
    r = vendi_score(np.eye(2), pair * [[3.0], [0.5]])  # row scale is ignored (cosine kernel)
    assert r.value == pytest.approx(np.exp(-(mu * np.log(mu)).sum()), rel=1e-12)
    assert r.extras["real_vendi"] == pytest.approx(2.0, rel=1e-12)
    assert r.extras["ratio"] == pytest.approx(r.value / 2.0, rel=1e-15)


def test_vendi_gram_routes_agree_and_zero_rows_rejected():
    rng = np.random.default_rng(9)
    wide, tall = rng.normal(size=(5, 40)), rng.normal(size=(40, 5))
    # m < d uses the m x m Gram, m > d the d x d one: check each against the other route
    xh = wide / np.linalg.norm(wide, axis=1, keepdims=True)
    mu = np.linalg.eigvalsh(xh.T @ xh / 5)
    mu = mu[mu > 1e-15]
    assert vendi_score(wide, wide).value == pytest.approx(np.exp(-(mu * np.log(mu)).sum()), rel=1e-10)
    th = tall / np.linalg.norm(tall, axis=1, keepdims=True)
    mu = np.linalg.eigvalsh(th @ th.T / 40)
    mu = mu[mu > 1e-15]
    assert vendi_score(tall, tall).value == pytest.approx(np.exp(-(mu * np.log(mu)).sum()), rel=1e-10)
    bad = tall.copy()
    bad[3] = 0.0
    with pytest.raises(InputError, match=r"`generated` row 3 is all zeros"):
        vendi_score(tall, bad)


def test_registered_declarations():
    for name, func in (("prd", prd), ("frontier", divergence_frontier), ("vendi", vendi_score)):
        spec = metrics.get_metric(name)
        assert spec.func is func and spec.needs == "features" and spec.group == "perceptual"
        assert spec.higher_is_better
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal sizes: no balance warning
        prd(np.eye(6), np.eye(6)[::-1], num_clusters=3, num_runs=1)
