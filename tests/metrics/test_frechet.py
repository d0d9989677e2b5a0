import numpy as np
import pytest
import scipy.linalg

import metrics
from metrics import GaussianStats, InputError, MetricWarning, fid, frechet_distance


def _reference_frechet(mu1, s1, mu2, s2):
    """Independent route: the general matrix square root of the product."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _random_spd(rng, d, scale=1.0):
    a = rng.normal(size=(d, d)) * scale
    return a @ a.T + 0.1 * np.eye(d)


def test_one_dimensional_closed_form():
    # N(0, 1) vs N(3, 2^2): (0-3)^2 + 1 + 4 - 2*sqrt(1*4) = 10
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0, rel=1e-14)


def test_non_commuting_covariances_match_sqrtm_route():
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d, 2.0)
    assert not np.allclose(s1 @ s2, s2 @ s1)  # the case where tr sqrt(S1 S2) != tr sqrt(S1) sqrt(S2)
    expected = _reference_frechet(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_two_commuting_diagonal_gaussians_by_hand():
    # diag covariances: sum_i (sqrt(a_i) - sqrt(b_i))^2 plus the mean term
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()  # means differ by 1 in one coordinate
    assert frechet_distance([1.0, 0, 0], np.diag(a), [0.0, 0, 0], np.diag(b)) == pytest.approx(expected, rel=1e-13)


def test_hand_countable_four_point_case():
    # real: four points of a square of side 2 centred at 0 -> mean 0, cov = (4/3) I (ddof=1)
    real = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    # generated: the same square shifted by (1, 0) and scaled by 2 -> mean (1, 0), cov = (16/3) I
    generated = real * 2 + [1.0, 0.0]
    # 1 + tr(4/3 I) + tr(16/3 I) - 2 tr(sqrt(64/9) I) = 1 + 8/3 + 32/3 - 2*2*(8/3) = 1 + 8/3
    expected = 1.0 + 8.0 / 3.0
    assert fid(real, generated).value == pytest.approx(expected, rel=1e-13)
    with pytest.warns(MetricWarning, match="rank-deficient"):  # 2 samples in 2 dimensions
        fid(real[:2], generated)


def test_symmetric_order_invariant_and_zero_on_identical():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) * 1.5 + 0.2
    v = fid(x, y).value
    assert fid(y, x).value == pytest.approx(v, rel=1e-12)
    assert fid(x[::-1], y[rng.permutation(200)]).value == pytest.approx(v, rel=1e-12)
    assert fid(x, x).value == pytest.approx(0.0, abs=1e-12)


def test_fid_matches_statistics_route_and_peer_formula():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(500, 8)) @ _random_spd(rng, 8) * 0.3 + 1.0
    expected = _reference_frechet(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    result = fid(x, y)
    assert result.value == pytest.approx(expected, rel=1e-10)
    assert result.n == (400, 500) and result.extras["route"] == "covariance"
    stats = fid(GaussianStats.from_features(x), GaussianStats.from_features(y))
    assert stats.value == pytest.approx(expected, rel=1e-10) and stats.extras["route"] == "statistics"


def test_n_less_than_d_route_equals_covariance_route():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 100)), rng.normal(size=(30, 100)) * 0.8 + 0.1
    with pytest.warns(MetricWarning):
        fast = fid(x, y)
    assert fast.extras["route"] == "cross-gram"
    slow = frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    # the d x d route carries sqrt(rounding) from the ~d - n zero eigenvalues; the cross-Gram route does not
    assert fast.value == pytest.approx(slow, rel=1e-7)
    expected = _reference_frechet(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert fast.value == pytest.approx(expected, rel=1e-6)


def test_never_negative_never_complex():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 80))  # rank-deficient covariance
    s = np.cov(x, rowvar=False)
    value = frechet_distance(x.mean(0), s, x.mean(0), s)
    assert isinstance(value, float) and value >= 0.0 and value < 1e-6


def test_float32_input_equals_float64():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(300, 16)).astype(np.float32), (rng.normal(size=(300, 16)) + 0.3).astype(np.float32)
    assert fid(x, y).value == pytest.approx(fid(x.astype(np.float64), y.astype(np.float64)).value, rel=1e-12)


def test_streaming_equals_one_shot_and_merge_equals_concatenation():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1001, 7)) * 3 + 100.0  # large offset: a naive sum-of-squares would lose digits
    streamed = GaussianStats.empty(7)
    for batch in np.array_split(x, 13):
        streamed.update(batch)
    np.testing.assert_allclose(streamed.mean, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(streamed.cov, np.cov(x, rowvar=False), rtol=1e-10)
    assert streamed.n == 1001
    merged = GaussianStats.from_features(x[:400]).merge(GaussianStats.from_features(x[400:]))
    np.testing.assert_allclose(merged.cov, np.cov(x, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(merged.mean, x.mean(0), rtol=1e-13)
    one_shot = GaussianStats.from_features(x, batch_size=37)
    np.testing.assert_allclose(one_shot.cov, streamed.cov, rtol=1e-12)


def test_save_load_roundtrip_in_peer_layout(tmp_path):
    rng = np.random.default_rng(7)
    stats = GaussianStats.from_features(rng.normal(size=(100, 3)))
    path = tmp_path / "stats.npz"
    stats.save(path)
    with np.load(path) as data:  # the pytorch-fid / clean-fid layout
        np.testing.assert_array_equal(data["mu"], stats.mean)
        np.testing.assert_array_equal(data["sigma"], stats.cov)
    loaded = GaussianStats.load(path)
    assert loaded.n == 100
    np.testing.assert_array_equal(loaded.cov, stats.cov)
    # a peer-written file has no `n`: usable for FID, not for merging
    np.savez(tmp_path / "peer.npz", mu=stats.mean, sigma=stats.cov)
    peer = GaussianStats.load(tmp_path / "peer.npz")
    assert peer.n is None
    assert fid(peer, stats).value == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="sample count is unknown"):
        peer.merge(stats)


def test_errors_are_clear():
    with pytest.raises(InputError, match=r"same number of features; got real \(10, 3\) and generated \(10, 4\)"):
        metrics.fid(np.zeros((10, 3)), np.ones((10, 4)))
    with pytest.raises(InputError, match="same dimension; got 2 and 3"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(InputError, match=r"`generated` contains non-finite values \(inf\) first at row 4"):
        x = np.ones((10, 2))
        y = x.copy()
        y[4, 1] = np.inf
        fid(x, y)
    with pytest.raises(InputError, match="at least 2 samples; got 1"):
        fid(np.ones((1, 2)), np.ones((5, 2)))
    with pytest.raises(InputError, match=r"mean must have shape \(d,\) and covariance \(d, d\)"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_cross_check_pytorch_fid():
    from peers import peer_or_skip

    pytorch_fid = peer_or_skip("pytorch_fid.fid_score")
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(600, 20)), rng.normal(size=(500, 20)) * 1.3 + 0.5
    m1, s1 = x.mean(0), np.cov(x, rowvar=False)
    m2, s2 = y.mean(0), np.cov(y, rowvar=False)
    # pytorch-fid uses scipy sqrtm on S1 S2: agreement to 1e-6 relative is what float64 rounding allows
    assert fid(x, y).value == pytest.approx(pytorch_fid.calculate_frechet_distance(m1, s1, m2, s2), rel=1e-6)


def test_cross_check_torch_fidelity_and_torchmetrics():
    from peers import peer_or_skip

    tfid = peer_or_skip("torch_fidelity.metric_fid")
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(600, 20)), rng.normal(size=(500, 20)) * 0.7 - 0.2
    stat = lambda a: {"mu": a.mean(0), "sigma": np.cov(a, rowvar=False)}  # noqa: E731
    expected = tfid.fid_statistics_to_metric(stat(x), stat(y), False)["frechet_inception_distance"]
    assert fid(x, y).value == pytest.approx(expected, rel=1e-6)
    import torch

    tm = peer_or_skip("torchmetrics.image.fid")
    s = [torch.from_numpy(v) for v in (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))]
    assert fid(x, y).value == pytest.approx(float(tm._compute_fid(*s)), rel=1e-6)
