"""Gaussian mixtures with exact densities: the worlds and the models of the ``mixture`` suite."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp


@dataclass
class GaussianMixture:
    """A mixture of full-covariance Gaussians in d dimensions with an exact log-density.

    Attributes
    ----------
    weights : ndarray of shape (k,)
    means : ndarray of shape (k, d)
    covs : ndarray of shape (k, d, d)
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.weights = self.weights / self.weights.sum()
        self.means = np.atleast_2d(np.asarray(self.means, dtype=np.float64))
        self.covs = np.asarray(self.covs, dtype=np.float64).reshape(len(self.means), self.dim, self.dim)
        self._chol = np.linalg.cholesky(self.covs)
        self._log_det = 2 * np.log(np.diagonal(self._chol, axis1=1, axis2=2)).sum(1)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @classmethod
    def isotropic(cls, weights, means, scale: float) -> "GaussianMixture":
        means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        covs = np.broadcast_to(np.eye(means.shape[1]) * scale**2, (len(means), means.shape[1], means.shape[1]))
        return cls(weights, means, covs.copy())

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.dim))
        return self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], z)

    def log_prob(self, x: np.ndarray, *, block: int = 2**22) -> np.ndarray:
        """Exact log-density at each row of ``x``.

        The Mahalanobis terms are one matrix product: with precision L_c,
        (x - m_c)' L_c (x - m_c) = x'L_c x - 2 m_c' L_c x + m_c' L_c m_c is linear in the monomials
        (x_i x_j, x_i, 1). Components go in groups of at most ~``block`` (component, point) pairs,
        so memory stays bounded for a memoriser with thousands of components.
        """
        x = np.asarray(x, dtype=np.float64)
        k, d = self.means.shape
        prec = np.linalg.inv(self.covs)
        iu = np.triu_indices(d)
        scale = np.where(iu[0] == iu[1], 1.0, 2.0)  # off-diagonal monomials appear twice
        quad = prec[:, iu[0], iu[1]] * scale  # (k, d(d+1)/2)
        lin = -2 * np.einsum("kij,kj->ki", prec, self.means)
        cst = np.einsum("ki,kij,kj->k", self.means, prec, self.means)
        coef = np.concatenate([quad, lin, cst[:, None]], axis=1)  # (k, m)
        log_norm = -0.5 * d * np.log(2 * np.pi) - 0.5 * self._log_det + np.log(self.weights)
        out = np.full(len(x), -np.inf)
        rows = max(1, block // max(1, k))
        for start in range(0, len(x), rows):
            xb = x[start:start + rows]
            feats = np.concatenate([xb[:, iu[0]] * xb[:, iu[1]], xb, np.ones((len(xb), 1))], axis=1)
            maha = np.maximum(feats @ coef.T, 0.0)  # (n, k); rounding can dip just below 0
            out[start:start + rows] = logsumexp(log_norm[None, :] - 0.5 * maha, axis=1)
        return out


def mixture_of(components: list[tuple[float, GaussianMixture]]) -> GaussianMixture:
    """A weighted mixture of mixtures, flattened into one :class:`GaussianMixture`."""
    w = np.concatenate([wt * m.weights for wt, m in components])
    return GaussianMixture(w, np.concatenate([m.means for _, m in components]),
                           np.concatenate([m.covs for _, m in components]))
