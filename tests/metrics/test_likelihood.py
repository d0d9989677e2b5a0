"""Likelihood family: closed forms, hand-computed Parzen cases, peers (scipy, scikit-learn), Theis et al."""

import math
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.stats
from scipy.special import logsumexp

import metrics
from metrics import InputError, MetricWarning
from metrics.likelihood import (
    log_likelihood,
    log_likelihood_difference,
    log_likelihood_from_report,
    model_log_likelihood,
    parzen,
    parzen_log_likelihood,
)

LN2 = math.log(2.0)


def _gaussian(seed=0, n=400, d=3):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=d)
    a = rng.normal(size=(d, d))
    cov = a @ a.T + d * np.eye(d)
    x = rng.multivariate_normal(mean, cov, size=n)
    return x, mean, cov


# --------------------------------------------------------------------------------------------
# log_likelihood: closed forms
# --------------------------------------------------------------------------------------------


def test_gaussian_log_likelihood_matches_scipy():
    x, mean, cov = _gaussian()
    lp = scipy.stats.multivariate_normal(mean, cov).logpdf(x)
    r = log_likelihood(lp, n_dims=3)
    assert r.metric == "log_likelihood" and r.higher_is_better
    assert r.value == pytest.approx(lp.mean(), rel=1e-14)
    assert r.extras["nll"] == pytest.approx(-lp.mean(), rel=1e-14)
    assert r.extras["sum"] == pytest.approx(lp.sum(), rel=1e-14)
    assert r.extras["bits_per_dim"] == pytest.approx(-lp.mean() / (3 * LN2), rel=1e-14)
    assert r.extras["nats_per_dim"] == pytest.approx(-lp.mean() / 3, rel=1e-14)
    assert r.n == (400,)
    # the exact expectation: E[log N(x; mu, S)] = -(d/2) log(2 pi e) - (1/2) log det S
    expected = -1.5 * math.log(2 * math.pi * math.e) - 0.5 * np.linalg.slogdet(cov)[1]
    assert abs(r.value - expected) < 4 * r.extras["sem"]


def test_normal_interval_is_student_t():
    lp = np.random.default_rng(3).gumbel(-50.0, 4.0, size=37)
    r = log_likelihood(lp, level=0.9)
    low, high = scipy.stats.t.interval(0.9, df=36, loc=lp.mean(), scale=scipy.stats.sem(lp))
    assert (r.ci.low, r.ci.high) == pytest.approx((low, high), rel=1e-12)
    assert r.ci.method == "normal-t" and r.ci.level == 0.9
    assert r.extras["sem"] == pytest.approx(scipy.stats.sem(lp), rel=1e-12)
    assert r.extras["quantiles"]["0.5"] == pytest.approx(np.median(lp), rel=1e-14)


def test_bootstrap_interval_matches_scipy_bootstrap():
    lp = np.random.default_rng(4).normal(-10.0, 2.0, size=400)
    r = log_likelihood(lp, ci_method="bootstrap", n_bootstrap=4000, seed=1)
    ref = scipy.stats.bootstrap((lp,), np.mean, n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(99)).confidence_interval
    sem = scipy.stats.sem(lp)
    # two independent 4000-draw bootstraps: Monte Carlo error of a 2.5% quantile is ~0.04 sem
    assert r.ci.low == pytest.approx(ref.low, abs=0.2 * sem)
    assert r.ci.high == pytest.approx(ref.high, abs=0.2 * sem)
    assert r.ci.method == "bootstrap-percentile (4000 resamples)"
    assert log_likelihood(lp, ci_method="bootstrap", seed=1).ci == log_likelihood(lp, ci_method="bootstrap", seed=1).ci
    assert log_likelihood(lp, ci_method="bootstrap", seed=2).ci != log_likelihood(lp, ci_method="bootstrap", seed=1).ci


def test_base_two_converts_bits_to_nats():
    lp_nats = np.random.default_rng(5).normal(-30.0, 3.0, size=50)
    a = log_likelihood(lp_nats)
    b = log_likelihood(lp_nats / LN2, base="2")
    c = log_likelihood(lp_nats / math.log(10.0), base=10)
    assert b.value == pytest.approx(a.value, rel=1e-14) and c.value == pytest.approx(a.value, rel=1e-14)
    assert b.ci.low == pytest.approx(a.ci.low, rel=1e-13)


def test_bits_per_dim_of_uniform_bytes_is_eight():
    d = 3072
    # every 8-bit value equally likely: P(x) = 256^-D, i.e. exactly 8 bits per dimension
    r = log_likelihood(np.full(10, -d * math.log(256.0)), n_dims=d)
    assert r.extras["bits_per_dim"] == pytest.approx(8.0, rel=1e-14)


def test_dequantisation_log256_shift():
    # A density fitted to dequantised pixels rescaled to [0, 1] must be moved to the 0..256 scale
    # (log p_256 = log p_01 - D log 256) before bits/dim means anything.
    d = 16
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 256, size=(200, d))
    u = rng.random(size=pixels.shape)
    # uniform density on [0, 1]^D: log p_01 = 0 everywhere
    unshifted = log_likelihood(np.zeros(200), n_dims=d)
    shifted = log_likelihood(np.zeros(200) - d * math.log(256.0), n_dims=d)
    assert unshifted.extras["bits_per_dim"] == 0.0
    assert shifted.extras["bits_per_dim"] == pytest.approx(8.0, rel=1e-14)
    # the shift is the change of variables y = x / 256 for any density (here a Gaussian)
    p256, p01 = scipy.stats.norm(128.0, 40.0), scipy.stats.norm(0.5, 40.0 / 256.0)
    lp256 = p256.logpdf(pixels + u).sum(axis=1)
    lp01 = p01.logpdf((pixels + u) / 256.0).sum(axis=1)
    a = log_likelihood(lp256, n_dims=d).extras["bits_per_dim"]
    b = log_likelihood(lp01 - d * math.log(256.0), n_dims=d).extras["bits_per_dim"]
    assert b == pytest.approx(a, rel=1e-12)
    assert log_likelihood(lp01, n_dims=d).extras["bits_per_dim"] == pytest.approx(a - 8.0, rel=1e-12)
    # and the dequantised density lower-bounds the discrete mass: P(x) = prod_i (F(x_i + 1) - F(x_i))
    mass = np.log(p256.cdf(pixels + 1.0) - p256.cdf(pixels)).sum(axis=1)
    assert log_likelihood(mass, n_dims=d).extras["bits_per_dim"] < a


def test_single_example_has_no_interval():
    with pytest.warns(MetricWarning, match="no confidence interval"):
        r = log_likelihood([-3.5])
    assert r.value == -3.5 and r.ci is None


def test_column_vector_and_torch_tensor_accepted():
    torch = pytest.importorskip("torch")
    lp = np.linspace(-5.0, -1.0, 9)
    assert log_likelihood(lp[:, None]).value == pytest.approx(-3.0, rel=1e-15)
    assert log_likelihood(torch.tensor(lp)).value == pytest.approx(-3.0, rel=1e-15)


@pytest.mark.parametrize("method", ["normal", "bootstrap"])
def test_interval_coverage_cheap(method):
    # cheap calibration: skewed per-example log-probs (Gumbel), n = 60, 200 replications
    rng = np.random.default_rng(11)
    true_mean = -20.0 + 3.0 * np.euler_gamma
    hits = sum(
        (r := log_likelihood(rng.gumbel(-20.0, 3.0, size=60), ci_method=method, n_bootstrap=500, seed=i)).ci.low
        <= true_mean <= r.ci.high
        for i in range(200)
    )
    # binomial sd at 0.95 with 200 draws is 0.015; percentile bootstrap under-covers a little at n = 60
    assert 0.89 <= hits / 200 <= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("method", ["normal", "bootstrap"])
def test_interval_coverage(method):
    rng = np.random.default_rng(12)
    true_mean = -20.0 + 3.0 * np.euler_gamma
    reps = 2000
    hits = sum(
        (r := log_likelihood(rng.gumbel(-20.0, 3.0, size=100), ci_method=method, seed=i)).ci.low
        <= true_mean <= r.ci.high
        for i in range(reps)
    )
    # 3 binomial sd is 0.015; the percentile bootstrap sits ~0.01 low at n = 100 (measured 0.9375:
    # its spread is the plug-in sd, sqrt((n-1)/n) of the t interval's, and it has no t correction)
    low = 0.935 if method == "normal" else 0.925
    assert low < hits / reps < 0.965


# --------------------------------------------------------------------------------------------
# paired difference
# --------------------------------------------------------------------------------------------


def test_paired_difference_matches_ttest_rel():
    rng = np.random.default_rng(8)
    b = rng.normal(-100.0, 10.0, size=300)
    a = b + 0.3 + rng.normal(0.0, 1.0, size=300)
    r = log_likelihood_difference(a, b, n_dims=10)
    ref = scipy.stats.ttest_rel(a, b)
    assert r.value == pytest.approx((a - b).mean(), rel=1e-12)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = scipy.stats.t.interval(0.95, df=299, loc=(a - b).mean(), scale=scipy.stats.sem(a - b))
    assert (r.ci.low, r.ci.high) == pytest.approx((low, high), rel=1e-10)
    assert r.extras["frac_a_better"] == pytest.approx(np.mean(a > b))
    assert r.extras["bits_per_dim_difference"] == pytest.approx(-(a - b).mean() / (10 * LN2), rel=1e-12)
    # pairing: the difference is resolved although the two separate intervals overlap
    ra, rb = log_likelihood(a), log_likelihood(b)
    assert r.ci.low > 0 and ra.ci.low < rb.ci.high
    assert log_likelihood_difference(b, b).pvalue == 1.0


def test_paired_difference_length_mismatch():
    with pytest.raises(InputError, match=r"same test examples in the same order; got lengths 5 and 4"):
        log_likelihood_difference(np.zeros(5), np.zeros(4))


# --------------------------------------------------------------------------------------------
# reported numbers
# --------------------------------------------------------------------------------------------


def test_report_round_trip_with_log_likelihood():
    lp = np.random.default_rng(9).normal(-2200.0, 30.0, size=100)
    full = log_likelihood(lp, n_dims=784)
    for value, unit, quantity in [
        (full.extras["bits_per_dim"], "bits_per_dim", "nll"),
        (-full.extras["bits_per_dim"], "bits_per_dim", "log_likelihood"),
        (full.extras["nats_per_dim"], "nats_per_dim", "nll"),
        (full.value, "nats", "log_likelihood"),
        (full.extras["nll"], "nats", "nll"),
        (full.extras["nll"] / LN2, "bits", "nll"),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetricWarning)
            r = log_likelihood_from_report(value, unit=unit, quantity=quantity, n_dims=784, n=100)
        assert r.metric == "log_likelihood" and r.higher_is_better and r.ci is None
        assert r.value == pytest.approx(full.value, rel=1e-13), (unit, quantity)
        assert r.extras["bits_per_dim"] == pytest.approx(full.extras["bits_per_dim"], rel=1e-13)
        assert r.extras["source"] == "reported" and r.extras["reported"]["unit"] == unit
        assert r.n == (100,)


def test_report_known_numbers():
    # 3.0 bits/dim on CIFAR-10 (32x32x3) is an NLL of 3 * 3072 bits = 6388.04 nats per image
    r = log_likelihood_from_report(3.0, unit="bits_per_dim", quantity="nll", n_dims=3072)
    assert r.value == pytest.approx(-3.0 * 3072 * LN2, rel=1e-15)
    assert r.extras["nll"] == pytest.approx(6388.0446, rel=1e-7)
    assert r.n == ()
    # a per-example NLL in nats needs no n_dims
    r = log_likelihood_from_report(79.2, unit="nats", quantity="nll")
    assert r.value == -79.2 and "bits_per_dim" not in r.extras


def test_report_errors_and_sign_warning():
    with pytest.raises(InputError, match=r"`n_dims` is needed to turn bits_per_dim"):
        log_likelihood_from_report(3.0, unit="bits_per_dim", quantity="nll")
    with pytest.raises(InputError, match=r"`unit` must be one of \['bits', 'bits_per_dim'.*got 'bpd'"):
        log_likelihood_from_report(3.0, unit="bpd", quantity="nll", n_dims=3)
    with pytest.raises(InputError, match=r"`quantity` must be one of \['log_likelihood', 'nll'\]; got 'NLL'"):
        log_likelihood_from_report(3.0, unit="nats", quantity="NLL")
    with pytest.raises(InputError, match=r"`value` must be a finite number; got nan"):
        log_likelihood_from_report(float("nan"), unit="nats")
    with pytest.warns(MetricWarning, match="positive log-likelihood of 3.0 bits_per_dim"):
        log_likelihood_from_report(3.0, unit="bits_per_dim", n_dims=3072)


# --------------------------------------------------------------------------------------------
# model objects
# --------------------------------------------------------------------------------------------


def test_model_log_likelihood_torch_distribution_matches_scipy():
    torch = pytest.importorskip("torch")
    x, mean, cov = _gaussian(n=250)
    dist = torch.distributions.MultivariateNormal(torch.tensor(mean), torch.tensor(cov))
    calls = []
    r = model_log_likelihood(dist, x, batch_size=100, n_dims=3,
                             progress=lambda done, total: calls.append((done, total)))
    ref = log_likelihood(scipy.stats.multivariate_normal(mean, cov).logpdf(x), n_dims=3)
    assert r.value == pytest.approx(ref.value, rel=1e-12)
    assert r.ci.low == pytest.approx(ref.ci.low, rel=1e-12)
    assert r.extras["bits_per_dim"] == pytest.approx(ref.extras["bits_per_dim"], rel=1e-12)
    assert calls == [(100, 250), (200, 250), (250, 250)]
    # float32 distribution, numpy float64 data: data are cast to the model's dtype
    dist32 = torch.distributions.MultivariateNormal(torch.tensor(mean, dtype=torch.float32),
                                                    torch.tensor(cov, dtype=torch.float32))
    assert model_log_likelihood(dist32, x).value == pytest.approx(ref.value, rel=1e-5)


def test_model_log_likelihood_factorised_torch_needs_independent():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(20, 4))
    normal = torch.distributions.Normal(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))
    with pytest.raises(InputError, match=r"returned shape \(20, 4\) for a batch of 20.*Independent"):
        model_log_likelihood(normal, x)
    r = model_log_likelihood(torch.distributions.Independent(normal, 1), x, batch_size=7)
    assert r.value == pytest.approx(scipy.stats.norm.logpdf(x).sum(axis=1).mean(), rel=1e-12)


def test_model_log_likelihood_sklearn_and_batch_independence():
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import KernelDensity

    x, _, _ = _gaussian(n=300, d=2)
    gm = GaussianMixture(2, random_state=0).fit(x)
    values = {bs: model_log_likelihood(gm, x, batch_size=bs).value for bs in (1, 64, 1000)}
    assert values[1] == pytest.approx(gm.score(x), rel=1e-12)
    assert values[64] == pytest.approx(values[1], rel=1e-12) and values[1000] == pytest.approx(values[1], rel=1e-12)
    kde = KernelDensity(bandwidth=0.7).fit(x)
    assert model_log_likelihood(kde, x[:50]).value == pytest.approx(kde.score_samples(x[:50]).mean(), rel=1e-12)


def test_model_log_likelihood_module_and_function():
    torch = pytest.importorskip("torch")

    class Flow(torch.nn.Module):  # a 1-D affine "flow": x = 2 z + 1, z ~ N(0, 1)
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor([2.0]))
            self.shift = torch.nn.Parameter(torch.tensor([1.0]))

        def log_prob(self, x):
            z = (x - self.shift) / self.scale
            return (torch.distributions.Normal(0.0, 1.0).log_prob(z) - torch.log(self.scale)).sum(dim=1)

    x = np.random.default_rng(1).normal(1.0, 2.0, size=(64, 1))
    ref = scipy.stats.norm(1.0, 2.0).logpdf(x[:, 0]).mean()
    flow = Flow()
    with pytest.warns(MetricWarning, match=r"training mode.*model.eval\(\)"):
        r = model_log_likelihood(flow, x)
    assert r.value == pytest.approx(ref, rel=1e-6)  # float32 weights
    assert flow.training  # the function does not change the mode
    flow.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricWarning)
        model_log_likelihood(flow, torch.tensor(x, dtype=torch.float32))
    fn = lambda b: scipy.stats.norm(1.0, 2.0).logpdf(b[:, 0])  # noqa: E731
    assert model_log_likelihood(fn, x, batch_size=5).value == pytest.approx(ref, rel=1e-14)


def test_model_log_likelihood_errors():
    x = np.zeros((10, 2))
    with pytest.raises(InputError, match=r"`model` must have a `log_prob\(x\)` method .* got object"):
        model_log_likelihood(object(), x)
    bad = lambda b: np.where(np.arange(len(b)) == 1, np.nan, 0.0)  # noqa: E731
    with pytest.raises(InputError, match=r"`log_probs` contains non-finite values \(nan\) first at row 1"):
        model_log_likelihood(bad, x, batch_size=4)  # row 1 of the first batch
    x[3, 1] = np.inf
    with pytest.raises(InputError, match=r"`data` contains non-finite values \(inf\) first at row 3"):
        model_log_likelihood(lambda b: np.zeros(len(b)), x)
    with pytest.raises(InputError, match=r"`batch_size` must be an int >= 1; got 0"):
        model_log_likelihood(lambda b: np.zeros(len(b)), np.zeros((3, 2)), batch_size=0)
    with pytest.raises(InputError, match=r"`progress` must be a callable"):
        model_log_likelihood(lambda b: np.zeros(len(b)), np.zeros((3, 2)), progress=True)


# --------------------------------------------------------------------------------------------
# log_likelihood: bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_log_probs_named_with_row(bad, shown):
    lp = np.full(20, -3.0)
    lp[13] = bad
    with pytest.raises(InputError, match=rf"`log_probs` contains non-finite values \({shown}\) first at row 13"):
        log_likelihood(lp)


def test_log_likelihood_bad_input():
    with pytest.raises(InputError, match=r"must be a 1-D array .* got shape \(10, 3\).*sum them per example"):
        log_likelihood(np.zeros((10, 3)))
    with pytest.raises(InputError, match=r"`log_probs` is empty"):
        log_likelihood([])
    with pytest.raises(InputError, match=r"got shape \(\)"):
        log_likelihood(np.float64(-1.0))
    with pytest.raises(InputError, match=r"`log_probs` must be a real numeric array; got dtype <U1"):
        log_likelihood(["a", "b"])
    with pytest.raises(InputError, match=r"`n_dims` must be an int >= 1; got 0"):
        log_likelihood(np.zeros(3), n_dims=0)
    with pytest.raises(InputError, match=r"`base` must be one of \['10', '2', 'e'\]; got 'bits'"):
        log_likelihood(np.zeros(3), base="bits")
    with pytest.raises(InputError, match=r"`ci_method` must be one of \['bootstrap', 'normal'\]; got 't'"):
        log_likelihood(np.zeros(3), ci_method="t")
    with pytest.raises(InputError, match=r"`level` must be a float in \(0, 1\); got 95"):
        log_likelihood(np.zeros(3), level=95)
    with pytest.raises(InputError, match=r"`n_bootstrap` must be an int >= 100; got 10"):
        log_likelihood(np.zeros(3), ci_method="bootstrap", n_bootstrap=10)


# --------------------------------------------------------------------------------------------
# Parzen: hand-computed cases and peers
# --------------------------------------------------------------------------------------------


def test_parzen_hand_computed_1d():
    # samples {0, 1}, bandwidth 1: p(x) = (phi(x) + phi(x - 1)) / 2
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    test = np.array([[0.0], [2.0], [-0.5]])
    expected = [math.log((phi(x) + phi(x - 1.0)) / 2) for x in (0.0, 2.0, -0.5)]
    r = parzen_log_likelihood(test, np.array([[0.0], [1.0]]), bandwidth=1.0)
    assert r.value == pytest.approx(np.mean(expected), rel=1e-14)
    assert r.extras["bandwidth"] == 1.0 and r.extras["bandwidth_method"] == "fixed"
    assert r.n == (3, 2)
    assert r.extras["sem"] == pytest.approx(np.std(expected, ddof=1) / math.sqrt(3), rel=1e-12)


def test_parzen_hand_computed_2d():
    # samples (0, 0) and (3, 4), bandwidth 2; test points (0, 0) and (3, 0)
    # squared distances: (0, 25) and (9, 16); normaliser in 2-D: 2 pi s^2 = 8 pi
    s2 = 4.0
    lp0 = math.log((math.exp(0.0) + math.exp(-25 / (2 * s2))) / 2) - math.log(2 * math.pi * s2)
    lp1 = math.log((math.exp(-9 / (2 * s2)) + math.exp(-16 / (2 * s2))) / 2) - math.log(2 * math.pi * s2)
    r = parzen_log_likelihood([[0.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [3.0, 4.0]], bandwidth=2.0)
    assert r.value == pytest.approx((lp0 + lp1) / 2, rel=1e-14)


def test_parzen_far_points_do_not_underflow():
    # a test point 1000 bandwidths from every sample: exp underflows, the log-sum-exp must not
    r = parzen_log_likelihood([[1000.0], [-1000.0]], [[0.0], [1.0]], bandwidth=1.0)
    expected = [logsumexp([-1000.0**2 / 2, -999.0**2 / 2]), logsumexp([-1000.0**2 / 2, -1001.0**2 / 2])]
    expected = np.array(expected) - math.log(2) - 0.5 * math.log(2 * math.pi)
    assert r.value == pytest.approx(expected.mean(), rel=1e-14)
    assert r.extras["max"] == pytest.approx(expected[0], rel=1e-14)


def test_parzen_matches_sklearn_kernel_density():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(2)
    samples, test = rng.normal(size=(300, 5)), rng.normal(size=(200, 5))
    for s in (0.5, 1.0, 3.0):
        ref = KernelDensity(bandwidth=s, kernel="gaussian").fit(samples).score_samples(test)
        r = parzen_log_likelihood(test, samples, bandwidth=s, chunk_size=64)
        assert r.value == pytest.approx(ref.mean(), rel=1e-11)
        assert r.extras["std"] == pytest.approx(ref.std(ddof=1), rel=1e-9)


def test_parzen_matches_brute_force_in_the_tails():
    # Small bandwidth, test points in the tails: scikit-learn's tree KDE is off by up to ~1 nat per
    # row here (its node bounds are approximate, scikit-learn issues #25799 / #27186), so the
    # reference is the formula itself on the full distance matrix.
    rng = np.random.default_rng(2)
    samples, test, s = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) * 1.3, 0.2
    sq = ((test[:, None, :] - samples[None]) ** 2).sum(-1)
    lp = logsumexp(-sq / (2 * s * s), axis=1) - math.log(300) - 5 * math.log(s * math.sqrt(2 * math.pi))
    r = parzen_log_likelihood(test, samples, bandwidth=s, chunk_size=64)
    assert r.value == pytest.approx(lp.mean(), rel=1e-13)
    assert r.extras["min"] == pytest.approx(lp.min(), rel=1e-13)


def test_parzen_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(3)
    # 1-D: gaussian_kde's kernel variance is var(samples, ddof=1) * factor^2; pick factor for s
    samples, test, s = rng.normal(size=500), rng.normal(size=300), 0.3
    kde = scipy.stats.gaussian_kde(samples, bw_method=s / samples.std(ddof=1))
    assert parzen_log_likelihood(test, samples, bandwidth=s).value == pytest.approx(kde.logpdf(test).mean(), rel=1e-12)
    # d-D: gaussian_kde uses kernel covariance factor^2 * Sigma; whitening x -> L^-1 x (Sigma = L L^T)
    # makes it isotropic with s = factor, and the log-Jacobian is -log det L
    samples, test = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)), rng.normal(size=(250, 4))
    kde = scipy.stats.gaussian_kde(samples.T, bw_method=0.45)
    chol = np.linalg.cholesky(np.cov(samples.T))
    w = np.linalg.inv(chol)
    ours = parzen_log_likelihood(test @ w.T, samples @ w.T, bandwidth=0.45).value - np.log(np.diag(chol)).sum()
    assert ours == pytest.approx(kde.logpdf(test.T).mean(), rel=1e-12)


@pytest.mark.parametrize("bandwidth", [0.5, "cv"])
def test_parzen_chunk_size_independent(bandwidth):
    rng = np.random.default_rng(4)
    test, samples, val = rng.normal(size=(230, 6)), rng.normal(size=(170, 6)), rng.normal(size=(90, 6))
    kw = {"validation": val} if bandwidth == "cv" else {}
    ref = parzen_log_likelihood(test, samples, bandwidth=bandwidth, chunk_size=100_000, **kw)
    for chunk in ((1, 7, 64, 169, 170) if bandwidth == 0.5 else (5, 64, 169)):
        r = parzen_log_likelihood(test, samples, bandwidth=bandwidth, chunk_size=chunk, **kw)
        assert r.value == pytest.approx(ref.value, rel=1e-13)
        assert r.extras["bandwidth"] == ref.extras["bandwidth"]


def test_parzen_far_from_origin_keeps_precision():
    # ||x||^2 + ||s||^2 - 2 x.s cancels badly at |x| ~ 1e6 unless the data are centred first
    rng = np.random.default_rng(5)
    test, samples = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    a = parzen_log_likelihood(test, samples, bandwidth=0.3).value
    b = parzen_log_likelihood(test + 1e6, samples + 1e6, bandwidth=0.3).value
    assert b == pytest.approx(a, rel=1e-8)


def test_parzen_memory_bounded_by_chunk():
    rng = np.random.default_rng(6)
    test, samples = rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4))
    tracemalloc.start()
    try:
        parzen_log_likelihood(test, samples, bandwidth=0.5, chunk_size=128)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the full distance matrix would be 72 MB; chunks of 128 x 128 need well under 2 MB
    assert peak < 2_000_000


# --------------------------------------------------------------------------------------------
# Parzen: bandwidth by cross-validation
# --------------------------------------------------------------------------------------------


def test_cv_curve_is_fixed_bandwidth_evaluation():
    rng = np.random.default_rng(7)
    test, samples, val = rng.normal(size=(100, 2)), rng.normal(size=(200, 2)), rng.normal(size=(150, 2))
    grid = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
    r = parzen_log_likelihood(test, samples, validation=val, grid=grid)
    curve = [parzen_log_likelihood(val, samples, bandwidth=s).value for s in grid]
    assert r.extras["cv_log_likelihood"] == pytest.approx(curve, rel=1e-13)
    best = grid[int(np.argmax(curve))]
    assert r.extras["bandwidth"] == best and r.extras["grid"] == grid
    assert r.value == pytest.approx(parzen_log_likelihood(test, samples, bandwidth=best).value, rel=1e-13)
    assert r.n == (100, 200) and r.extras["validation"] == "given"


def test_cv_picks_bandwidth_near_the_best():
    rng = np.random.default_rng(8)
    # a two-cluster mixture in 3-D; large test set so its curve stands in for the truth
    def draw(n):
        centre = rng.integers(0, 2, size=n)[:, None] * 4.0
        return rng.normal(size=(n, 3)) + centre

    samples, val, test = draw(400), draw(400), draw(3000)
    r = parzen_log_likelihood(test, samples, validation=val)
    grid = np.array(r.extras["grid"])
    assert len(grid) == 26
    assert np.allclose(np.diff(np.log10(grid)), 0.1)
    truth = parzen_log_likelihood(test, samples, validation=test, grid=grid).extras["cv_log_likelihood"]
    best = int(np.argmax(truth))
    chosen = int(np.argmin(abs(grid - r.extras["bandwidth"])))
    assert abs(chosen - best) <= 2  # within a factor 10^0.2 of the test-optimal bandwidth
    assert truth[chosen] > max(truth) - 0.02
    assert 0 < best < len(grid) - 1  # the default grid brackets the optimum


def test_registered_parzen_splits_real_for_validation():
    rng = np.random.default_rng(9)
    real, generated = rng.normal(size=(120, 3)), rng.normal(size=(100, 3)) * 1.2 + 0.4
    r = parzen(real, generated, seed=3)
    assert r.metric == "parzen" and r.n == (60, 100)
    assert r.extras["n_validation"] == 60 and "seeded split of `real`" in r.extras["validation"]
    # the documented split: a permutation from `seed`, first `validation_fraction` rows validate
    perm = np.random.default_rng(3).permutation(120)
    val, test = real[np.sort(perm[:60])], real[np.sort(perm[60:])]
    ref = parzen_log_likelihood(test, generated, validation=val)
    assert r.value == pytest.approx(ref.value, rel=1e-13)
    assert r.extras["bandwidth"] == ref.extras["bandwidth"]
    assert parzen_log_likelihood(real, generated, seed=3).value == pytest.approx(r.value, rel=1e-13)
    assert parzen(real, generated, seed=4).value != r.value
    r30 = parzen(real, generated, validation_fraction=0.25)
    assert r30.n == (90, 100)
    fixed = parzen(real, generated, bandwidth=0.5)
    assert fixed.n == (120, 100) and "grid" not in fixed.extras


def test_cv_grid_edge_warns():
    rng = np.random.default_rng(10)
    test, samples, val = rng.normal(size=(50, 2)), rng.normal(size=(80, 2)), rng.normal(size=(50, 2))
    with pytest.warns(MetricWarning, match=r"chosen by 'cv' \(0.001\) is at the high end of the grid"):
        parzen_log_likelihood(test, samples, validation=val, grid=[1e-4, 1e-3])


# --------------------------------------------------------------------------------------------
# Theis, van den Oord & Bethge (2016): the Parzen estimate ranks models the wrong way round
# --------------------------------------------------------------------------------------------


def test_theis_kmeans_beats_true_samples_under_parzen_only():
    from sklearn.cluster import KMeans

    d, k = 16, 100
    rng = np.random.default_rng(0)
    train, val, test = rng.normal(size=(5000, d)), rng.normal(size=(500, d)), rng.normal(size=(1000, d))
    fresh = rng.normal(size=(k, d))  # k exact samples of the data distribution N(0, I)
    km = KMeans(k, n_init=1, random_state=0).fit(train)
    centres = km.cluster_centers_  # a "model" whose samples are k-means centroids

    pz_centres = parzen_log_likelihood(test, centres, validation=val)
    pz_fresh = parzen_log_likelihood(test, fresh, validation=val)
    # Parzen prefers the centroids, by many standard errors
    assert pz_centres.ci.low > pz_fresh.ci.high

    # exact log-likelihoods: the true density vs the k-means model as an isotropic Gaussian mixture
    # on the centroids with its maximum-likelihood variance
    var = ((train - centres[km.labels_]) ** 2).mean()
    sq = ((test[:, None, :] - centres[None]) ** 2).sum(-1)
    lp_kmeans = logsumexp(-sq / (2 * var), axis=1) - math.log(k) - 0.5 * d * math.log(2 * math.pi * var)
    lp_true = scipy.stats.multivariate_normal(np.zeros(d), np.eye(d)).logpdf(test)
    diff = log_likelihood_difference(lp_true, lp_kmeans)
    assert diff.ci.low > 0  # the exact likelihood says the opposite
    # and the Parzen estimate of exact samples is far below the true log-likelihood it is meant to estimate
    assert pz_fresh.value < log_likelihood(lp_true).value - 1.0


# --------------------------------------------------------------------------------------------
# Parzen: bad input
# --------------------------------------------------------------------------------------------


def test_parzen_bad_input():
    x = np.zeros((10, 2))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match=r"`bandwidth` must be a positive finite float or 'cv'; got"):
            parzen_log_likelihood(x, x, bandwidth=bad)
    with pytest.raises(InputError, match=r"`bandwidth` must be a positive float or 'cv'; got 'scott'"):
        parzen_log_likelihood(x, x, bandwidth="scott")
    with pytest.raises(InputError, match=r"`test` and `samples` must have the same number of features; "
                                         r"got test \(10, 2\) and samples \(10, 3\)"):
        parzen_log_likelihood(x, np.zeros((10, 3)), bandwidth=1.0)
    with pytest.raises(InputError, match=r"`test` and `validation` must have the same number of features"):
        parzen_log_likelihood(x, x, validation=np.zeros((5, 1)))
    with pytest.raises(InputError, match=r"`real` and `generated` must have the same number of features"):
        parzen(x, np.zeros((10, 3)))
    with pytest.raises(InputError, match=r"`grid` must be a non-empty 1-D array of positive finite bandwidths"):
        parzen_log_likelihood(x, x, grid=[0.1, -0.2])
    with pytest.raises(InputError, match=r"`grid` is only used with bandwidth='cv'"):
        parzen_log_likelihood(x, x, bandwidth=0.1, grid=[0.1, 0.2])
    with pytest.raises(InputError, match=r"`validation` is only used with bandwidth='cv'"):
        parzen_log_likelihood(x, x, bandwidth=0.1, validation=x)
    with pytest.raises(InputError, match=r"`validation_fraction` must be a float in \(0, 1\); got 1.0"):
        parzen(x, x, validation_fraction=1.0)
    with pytest.raises(InputError, match=r"`chunk_size` must be an int >= 1; got 0"):
        parzen(x, x, chunk_size=0)
    with pytest.raises(InputError, match=r"every sample and validation point is identical"):
        parzen(x, x)
    with pytest.raises(InputError, match=r"`test` needs at least 2 rows to split"):
        parzen_log_likelihood(x[:1], x)
    bad = np.ones((10, 2))
    bad[4, 0] = np.nan
    with pytest.raises(InputError, match=r"`samples` contains non-finite values \(nan\) first at row 4"):
        parzen_log_likelihood(x, bad, bandwidth=1.0)
    with pytest.raises(InputError, match=r"`real` contains non-finite values \(nan\) first at row 4"):
        parzen(bad, x)


def test_public_names_exported():
    for name in ("log_likelihood", "model_log_likelihood", "parzen_log_likelihood", "parzen",
                 "log_likelihood_difference", "log_likelihood_from_report"):
        assert getattr(metrics, name) is getattr(metrics.likelihood, name)
    specs = metrics.available_metrics()
    assert specs["log_likelihood"].needs == "log_probs" and specs["parzen"].needs == "samples"
    assert specs["log_likelihood"].group == specs["parzen"].group == "likelihood"
    assert specs["parzen"].higher_is_better and specs["log_likelihood"].higher_is_better
