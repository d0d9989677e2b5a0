"""The "mixture" probe of the ``"auto"`` classifier: a log-ratio from two Gaussian mixture densities.

A discriminative model (logistic regression on fixed features, boosting) approximates log p/q from
the outside; this one models each side's density and takes the difference, log p_hat - log q_hat. When
both sides are close to finite Gaussian mixtures (multimodal data against a Gaussian model, a model that
keeps some of the modes, two Gaussians) it contains the log-ratio where the features of the
discriminative candidates only approximate it. It is a probe, never chosen (see
``metrics.classifier._PROBES`` and ``_MIXTURE_MAX_DIM``): fitted next to the bumps up to 3-d and next to
boosting above, up to 16-d, its held-out d_pi and ends only show how much the winner misses.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

#: numbers of components tried per side, in order; the search stops after two rises of BIC
_COMPONENTS = (1, 2, 4, 8, 16)
#: rows per component at least (a floor only: BIC decides; a full covariance has 10 parameters a
#: component in 3-d, 65 with its mean in 10-d). Full covariances only: diagonal ones as well (lower BIC
#: kept) found 6 round modes in 10-d at n = 2,000 where full ones kept 1 component, but a Gaussian side
#: then became 2 diagonal components, fewer parameters than the quadratic winner's 65, whose held-out
#: score the interior intervals took as a gap: 17-25% wider on the Gaussian worlds in 10-d
_ROWS_PER_COMPONENT = 10


class MixtureRatio(ClassifierMixin, BaseEstimator):
    """log p_hat(z) - log q_hat(z) from a Gaussian mixture fitted to each class, components by BIC.

    Parameters
    ----------
    random_state : int
        Seed of the mixtures' k-means initialisation.

    Notes
    -----
    Full covariances with ``reg_covar`` 1e-3 on standardised inputs (a component cannot collapse on a
    few coinciding rows). ``decision_function`` is a raw logit: the caller calibrates it (Platt), which
    also absorbs the class prior and the two fits' unequal shrinkage.
    """

    def __init__(self, random_state=0):
        self.random_state = random_state

    def _fit_side(self, z):
        from sklearn.mixture import GaussianMixture

        best, best_bic, rises = None, np.inf, 0
        for k in _COMPONENTS:
            if best is not None and k * _ROWS_PER_COMPONENT > len(z):
                break
            mixture = GaussianMixture(k, covariance_type="full", reg_covar=1e-3, max_iter=200,
                                      random_state=self.random_state).fit(z)
            bic = mixture.bic(z)
            if bic < best_bic:
                best, best_bic, rises = mixture, bic, 0
            else:
                rises += 1
                if rises == 2:
                    break
        return best

    def fit(self, z, y):
        z = np.asarray(z, dtype=np.float64)
        y = np.asarray(y)
        self.classes_ = np.array([0, 1])
        self.real_, self.generated_ = self._fit_side(z[y == 1]), self._fit_side(z[y == 0])
        return self

    def decision_function(self, z):
        z = np.asarray(z, dtype=np.float64)
        return self.real_.score_samples(z) - self.generated_.score_samples(z)
