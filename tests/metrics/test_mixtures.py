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
