"""The "rbf" candidate of the ``"auto"`` classifier: quadratic features plus Gaussian bumps, and the
penalised logistic regression fitted on them (scikit-learn estimators, used inside a pipeline)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from .classifier import _quadratic_features, _sigmoid


class BumpFeatures(TransformerMixin, BaseEstimator):
    """Quadratic features plus Gaussian bumps at k-means centres of the fit rows.

    A logistic regression on these is a log-ratio model that is quadratic in the tails (any two
    Gaussians, as the quadratic candidate) and has a bump wherever the data cluster: the log-ratio of
    a ring of narrow modes against a Gaussian, or of a model that keeps some of the modes. The bumps
    are ``width`` times as wide as the median distance between neighbouring centres. Measured on the
    ring against its ML Gaussian (n = 2,000 a side): bumps as wide as that distance smoothed the
    narrow modes away (the k-NN ratio won, interiors 7-10% low); half of it left them 1-2% low, and
    64 centres did no better than 32.

    Parameters
    ----------
    n_centres : int
        Number of centres (at most one per 20 fit rows).
    width : float
        Bump scale as a share of the median nearest-centre distance.
    """

    def __init__(self, n_centres=32, width=0.5):
        self.n_centres = n_centres
        self.width = width

    def fit(self, z, y=None):
        from sklearn.cluster import kmeans_plusplus

        z = np.asarray(z, dtype=np.float64)
        k = max(2, min(self.n_centres, len(z) // 20))
        centres, _ = kmeans_plusplus(z, k, random_state=0)
        for _ in range(20):  # Lloyd's iterations (scikit-learn's KMeans costs ~10x more at this size)
            nearest = np.argmin((centres**2).sum(1) - 2.0 * z @ centres.T, axis=1)
            counts = np.bincount(nearest, minlength=k)
            sums = np.stack([np.bincount(nearest, weights=z[:, j], minlength=k) for j in range(z.shape[1])], 1)
            moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
            if np.allclose(moved, centres):
                break
            centres = moved
        # data with few distinct rows (discrete values) give coinciding centres: keep one of each
        centres = np.unique(centres, axis=0)
        self.centres_ = centres
        d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d2, np.inf)
        gaps = d2.min(axis=1)  # squared distance from each centre to its nearest other centre
        gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
        # one distinct centre: a bump as wide as the (standardised) data
        self.width2_ = self.width**2 * (float(np.median(gaps)) if len(gaps) else 1.0)
        return self

    def transform(self, z):
        z = np.asarray(z, dtype=np.float64)
        d2 = np.maximum((z**2).sum(1)[:, None] - 2.0 * z @ self.centres_.T + (self.centres_**2).sum(1), 0.0)
        # the quadratic candidate's features (every x_i x_j in the few dimensions rbf runs in), plus the bumps
        return np.hstack([_quadratic_features(z), np.exp(-0.5 * d2 / self.width2_)])


class NewtonLogistic(ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression by damped Newton steps.

    The objective of scikit-learn's ``LogisticRegression(C=C)`` (unpenalised intercept), with the
    same ``coef_``, ``intercept_`` and ``C``: on the ill-conditioned design of overlapping bumps
    L-BFGS takes hundreds of iterations where Newton's method takes about ten.
    """

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, x, y):
        phi = np.hstack([np.ones((len(x), 1)), np.asarray(x, dtype=np.float64)])
        t = np.asarray(y, dtype=np.float64)
        ridge = np.full(phi.shape[1], 1.0 / self.C)
        ridge[0] = 0.0

        def objective(theta):
            z = phi @ theta
            return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * ridge @ theta**2)

        theta = np.zeros(phi.shape[1])
        value = objective(theta)
        for _ in range(100):
            p = _sigmoid(phi @ theta)
            grad = phi.T @ (p - t) + ridge * theta
            hess = phi.T @ ((p * (1.0 - p))[:, None] * phi)
            hess[np.diag_indices_from(hess)] += ridge + 1e-12
            step = np.linalg.solve(hess, grad)
            scale = 1.0
            while scale > 1e-6 and objective(theta - scale * step) > value:  # never uphill
                scale *= 0.5
            theta = theta - scale * step
            value = objective(theta)
            if np.max(np.abs(scale * step)) < 1e-10:
                break
        self.classes_ = np.array([0, 1])
        self.intercept_, self.coef_ = theta[:1], theta[None, 1:]
        return self

    def decision_function(self, x):
        return np.asarray(x, dtype=np.float64) @ self.coef_[0] + self.intercept_[0]
