"""The Gaussian-mixture log-ratio probe of the "auto" classifier (metrics._mixtures)."""

import numpy as np
from scipy import stats

from metrics._mixtures import MixtureRatio


def _ring(n, rng, modes=8, radius=4.0, scale=0.3):
    ang = 2 * np.pi * rng.integers(modes, size=n) / modes
    return radius * np.c_[np.cos(ang), np.sin(ang)] + scale * rng.normal(size=(n, 2))


def test_two_gaussians_give_their_exact_log_ratio():
    # one component a side by BIC, and log p - log q matches the closed form where the data are
    rng = np.random.default_rng(0)
    p, q = stats.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]]), stats.multivariate_normal([1, 0], np.eye(2))
    real, generated = p.rvs(5000, random_state=rng), q.rvs(5000, random_state=rng)
    model = MixtureRatio().fit(np.vstack([real, generated]), np.r_[np.ones(5000), np.zeros(5000)])
    assert model.real_.n_components == model.generated_.n_components == 1
    x = p.rvs(2000, random_state=rng)
    err = model.decision_function(x) - (p.logpdf(x) - q.logpdf(x))
    assert np.sqrt(np.mean(err**2)) < 0.08  # measured 0.053: about sqrt(parameters / n)


def test_a_ring_of_modes_against_a_gaussian():
    # BIC finds the 8 modes on one side and 1 component on the other; the log-ratio of the fitted
    # densities is the exact one up to estimation noise over the real rows
    rng = np.random.default_rng(1)
    real = _ring(4000, rng)
    cov = np.cov(real.T)
    q = stats.multivariate_normal(real.mean(0), cov)
    generated = q.rvs(4000, random_state=rng)
    model = MixtureRatio().fit(np.vstack([real, generated]), np.r_[np.ones(4000), np.zeros(4000)])
    assert (model.real_.n_components, model.generated_.n_components) == (8, 1)
    x = _ring(2000, rng)
    centres = 4.0 * np.c_[np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)]
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
    log_p = np.log(np.mean(np.exp(-0.5 * d2 / 0.09), axis=1) / (2 * np.pi * 0.09))
    err = model.decision_function(x) - (log_p - q.logpdf(x))
    assert abs(err.mean()) < 0.05 and err.std() < 0.2  # measured 0.005 and 0.12 (KL(P||Q) 2.4)


def test_few_rows_a_side_still_fit_one_component():
    z = np.random.default_rng(2).normal(size=(12, 2))
    model = MixtureRatio().fit(z, np.r_[np.ones(6), np.zeros(6)])
    assert model.real_.n_components == model.generated_.n_components == 1
    assert np.all(np.isfinite(model.decision_function(z)))


def test_round_modes_in_10d_are_found_with_diagonal_covariances(monkeypatch):
    # 6 round modes (+-2.5 on three axes, width 0.8) in 10-d, 1,600 rows a side (n = 2,000 after the inner
    # split). A full covariance costs 65 parameters a component: with full covariances only, BIC keeps one
    # component and the probe is the quadratic model again. Trying diagonal ones too, it keeps several,
    # and the fitted log-ratio follows the exact one on the real rows
    import math

    import metrics._mixtures as M
    from scipy.special import logsumexp

    rng = np.random.default_rng(4)
    means = np.zeros((6, 10))
    for i in range(6):
        means[i, i // 2] = 2.5 if i % 2 == 0 else -2.5
    real = means[rng.integers(6, size=1600)] + 0.8 * rng.normal(size=(1600, 10))
    cov = means.T @ means / 6 + 0.64 * np.eye(10)
    gauss = stats.multivariate_normal(np.zeros(10), cov)
    generated = gauss.rvs(1600, random_state=rng)
    x, y = np.vstack([real, generated]), np.r_[np.ones(1600), np.zeros(1600)]

    def exact(z):
        d2 = ((z[:, None, :] - means[None]) ** 2).sum(-1)
        log_p = logsumexp(-0.5 * d2 / 0.64, axis=1) - math.log(6) - 5 * math.log(2 * math.pi * 0.64)
        return log_p - gauss.logpdf(z)

    test = means[rng.integers(6, size=2000)] + 0.8 * rng.normal(size=(2000, 10))
    model = MixtureRatio().fit(x, y)
    assert model.real_.n_components > 1 and model.real_.covariance_type == "diag"
    assert model.generated_.n_components == 1
    good = np.sqrt(np.mean((model.decision_function(test) - exact(test)) ** 2))
    monkeypatch.setattr(M, "_COVARIANCES", ("full",))
    full = MixtureRatio().fit(x, y)
    assert full.real_.n_components == 1
    bad = np.sqrt(np.mean((full.decision_function(test) - exact(test)) ** 2))
    assert good < 0.5 and bad > 0.9  # measured: root mean square error 0.41 (8 components) and 1.04
