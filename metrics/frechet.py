"""Frechet family: Gaussian statistics of feature sets and the Frechet distance between them (FID).

The Frechet (2-Wasserstein) distance between N(mu1, S1) and N(mu2, S2) is

    ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2).

Every peer computes the last trace through a general matrix square root (scipy.linalg.sqrtm) or the
eigenvalues of the non-symmetric S1 S2. Both are slower than needed and can return complex or
slightly negative values. Here the trace comes from symmetric algebra only: with S1 = L L^T
(Cholesky), S1 S2 is similar to the symmetric PSD matrix L^T S2 L, so

    tr (S1 S2)^(1/2) = sum_i sqrt(lambda_i(L^T S2 L)),

one Cholesky factorisation, two matrix products and one eigenvalue-only symmetric solve. When the
covariances come from fewer samples than dimensions, the same number is the nuclear norm of the
centred cross-Gram matrix A B^T / sqrt((n1 - 1)(n2 - 1)), which needs no d x d work at all.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.linalg.blas

from ._checks import as_matrix, check_finite, check_int, max_abs, power_of_two_scale
from .errors import InputError, MetricWarning
from .registry import metric
from .resampling import GROUPS, GroupReplicates, group_labels, jackknife_interval, pair_groups
from .result import MetricResult

__all__ = ["GaussianStats", "frechet_distance", "fid"]


class GaussianStats:
    """Streaming mean and covariance of a feature set, accumulated in float64.

    Batches are merged with the pairwise update of Chan et al. (1979), which is exact in exact
    arithmetic and stable in floating point (no sum-of-squares cancellation), so streaming over
    batches equals one pass over the concatenation, and two halves merge into the whole.

    Parameters
    ----------
    mu : array_like of shape (d,)
        Mean.
    sigma : array_like of shape (d, d)
        Covariance (``ddof=1``).
    n : int, optional
        Number of samples behind the statistics. Needed to merge or update further; statistics
        loaded from a pytorch-fid / clean-fid ``.npz`` often do not record it.

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import GaussianStats
    >>> x = np.random.default_rng(0).normal(size=(1000, 4))
    >>> stats = GaussianStats.empty(4)
    >>> for batch in np.array_split(x, 7):
    ...     _ = stats.update(batch)
    >>> bool(np.allclose(stats.cov, np.cov(x, rowvar=False)))
    True
    """

    def __init__(self, mu, sigma, n: int | None = None):
        mu = np.asarray(mu, dtype=np.float64)
        sigma = np.asarray(sigma, dtype=np.float64)
        _check_stats(mu, sigma, "stats")
        if n is not None:
            n = check_int(n, "n", low=0)
        self._n = n
        self._mu = mu.copy()
        # m2 = sum of centred outer products = sigma * (n - 1); kept so updates stay exact
        self._m2 = sigma * (n - 1) if n is not None and n > 1 else None
        self._sigma = sigma.copy()

    @classmethod
    def empty(cls, d: int) -> "GaussianStats":
        """Statistics of zero samples in ``d`` dimensions, ready for :meth:`update`."""
        d = check_int(d, "d", low=1)
        stats = cls(np.zeros(d), np.zeros((d, d)), n=0)
        stats._m2 = np.zeros((d, d))
        return stats

    @classmethod
    def from_features(cls, features, *, batch_size: int = 8192) -> "GaussianStats":
        """Statistics of an (n, d) feature matrix, accumulated in batches of ``batch_size`` rows."""
        x = as_matrix(features, "features", dtype=None)  # batches go to float64 one at a time
        batch_size = check_int(batch_size, "batch_size", low=1)
        stats = cls.empty(x.shape[1])
        for start in range(0, len(x), batch_size):
            stats.update(x[start:start + batch_size])
        return stats

    @property
    def n(self) -> int | None:
        """Number of samples accumulated (``None`` if unknown)."""
        return self._n

    @property
    def dim(self) -> int:
        return self._mu.shape[0]

    @property
    def mean(self) -> np.ndarray:
        """Mean vector, float64."""
        return self._mu.copy()

    @property
    def cov(self) -> np.ndarray:
        """Covariance matrix with ``ddof=1``, float64."""
        if self._m2 is None:
            return self._sigma.copy()
        if self._n is None or self._n < 2:
            raise InputError(f"a covariance needs at least 2 samples; these statistics hold {self._n}.")
        return self._m2 / (self._n - 1)

    def update(self, batch) -> "GaussianStats":
        """Add a batch of rows (shape (m, d)); returns ``self``."""
        x = as_matrix(batch, "batch", dtype=np.float64)
        if x.shape[1] != self.dim:
            raise InputError(f"`batch` must have {self.dim} features; got shape {x.shape}.")
        mu_b = x.mean(axis=0)
        xc = x - mu_b
        return self._merge_moments(len(x), mu_b, xc.T @ xc)

    def merge(self, other: "GaussianStats") -> "GaussianStats":
        """Statistics of the union of two sample sets (a new object; neither input changes)."""
        if not isinstance(other, GaussianStats):
            raise InputError(f"`other` must be GaussianStats; got {type(other).__name__}.")
        if other.dim != self.dim:
            raise InputError(f"cannot merge statistics of dimension {self.dim} and {other.dim}.")
        for s in (self, other):
            if s._m2 is None:
                raise InputError(
                    "cannot merge statistics whose sample count is unknown (loaded without `n`). "
                    "Recompute them from features, or save them with genbench to keep `n`."
                )
        out = GaussianStats.empty(self.dim)
        out._merge_moments(self._n, self._mu, self._m2)
        return out._merge_moments(other._n, other._mu, other._m2)

    def _merge_moments(self, n_b: int, mu_b: np.ndarray, m2_b: np.ndarray) -> "GaussianStats":
        if self._m2 is None:
            raise InputError("cannot update statistics whose sample count is unknown (loaded without `n`).")
        n_a = self._n
        n = n_a + n_b
        if n_b == 0:
            return self
        delta = mu_b - self._mu
        self._mu = self._mu + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (n_a * n_b / n)
        self._n = n
        return self

    def save(self, path) -> None:
        """Write ``mu``, ``sigma`` (and ``n``) to a ``.npz`` file, atomically.

        The ``mu``/``sigma`` keys are the layout pytorch-fid and clean-fid use, so either can read it.
        """
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent or ".")
        os.close(fd)
        try:
            extra = {} if self._n is None else {"n": np.int64(self._n)}
            np.savez(tmp, mu=self._mu, sigma=self.cov, **extra)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path) -> "GaussianStats":
        """Read a ``.npz`` with keys ``mu`` and ``sigma`` (and optionally ``n``)."""
        with np.load(path, allow_pickle=False) as data:
            if "mu" not in data or "sigma" not in data:
                raise InputError(
                    f"{path}: expected keys 'mu' and 'sigma' in saved statistics; found {sorted(data.files)}."
                )
            n = int(data["n"]) if "n" in data else None
            return cls(data["mu"], data["sigma"], n=n)

    def __repr__(self) -> str:
        return f"GaussianStats(dim={self.dim}, n={self._n})"


def _check_stats(mu: np.ndarray, sigma: np.ndarray, name: str) -> None:
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise InputError(
            f"`{name}`: mean must have shape (d,) and covariance (d, d); got {mu.shape} and {sigma.shape}."
        )
    check_finite(mu, f"{name} mean")
    check_finite(sigma, f"{name} covariance")


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr (S1 S2)^(1/2) for symmetric PSD S1, S2, from symmetric algebra only."""
    try:
        # S1 = L L^T, and S1 S2 = L (L^T S2 L) L^{-1} is similar to the symmetric L^T S2 L
        chol = scipy.linalg.cholesky(sigma1, lower=True, check_finite=False)
        # triangular products (BLAS trmm) cost half a general matrix product
        left = scipy.linalg.blas.dtrmm(1.0, chol, sigma2, side=0, lower=1, trans_a=1)
        inner = scipy.linalg.blas.dtrmm(1.0, chol, left, side=1, lower=1)
    except np.linalg.LinAlgError:
        # singular S1 (fewer samples than dimensions): S1^(1/2) from its eigendecomposition instead
        w, v = np.linalg.eigh(sigma1)
        root = v * np.sqrt(np.clip(w, 0.0, None))
        inner = root.T @ sigma2 @ root
    eig = scipy.linalg.eigvalsh(inner, check_finite=False, overwrite_a=True)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between two Gaussians given their means and covariances.

    Parameters
    ----------
    mu1, mu2 : array_like of shape (d,)
        Means.
    sigma1, sigma2 : array_like of shape (d, d)
        Symmetric positive semi-definite covariances.

    Returns
    -------
    float
        ``||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2)``, never negative (rounding below 0
        is clipped) and never complex.

    Notes
    -----
    The trace of the matrix square root is computed as the sum of square roots of the eigenvalues
    of the symmetric matrix ``L^T S2 L`` where ``S1 = L L^T``; no ``scipy.linalg.sqrtm``. All
    arithmetic is float64.

    Examples
    --------
    >>> from metrics import frechet_distance
    >>> frechet_distance([0.0], [[1.0]], [3.0], [[4.0]])  # N(0, 1) vs N(3, 2^2): 9 + 1 + 4 - 2*2
    10.0
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    _check_stats(mu1, sigma1, "mu1/sigma1")
    _check_stats(mu2, sigma2, "mu2/sigma2")
    if mu1.shape != mu2.shape:
        raise InputError(
            f"the two Gaussians must have the same dimension; got {mu1.shape[0]} and {mu2.shape[0]}."
        )
    top = max(max_abs(mu1), max_abs(mu2), np.sqrt(max_abs(sigma1)), np.sqrt(max_abs(sigma2)))
    scale = power_of_two_scale(top, _SAFE_MAGNITUDE)
    if scale != 1.0:  # the distance is homogeneous of degree 2: compute at unit scale, rescale exactly
        mu1, mu2, sigma1, sigma2 = mu1 / scale, mu2 / scale, sigma1 / scale**2, sigma2 / scale**2
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product(sigma1, sigma2)
    return _finite_fid(max(float(value), 0.0) * scale * scale, top)


#: Features (or means, or square roots of covariance entries) whose magnitude lies outside
#: [2^-100, 2^100] are divided by a power of two first: the trace term works with fourth powers of
#: the scale (L^T S2 L), which overflow float64 near 1e77 (LAPACK then fails with "Internal Error").
_SAFE_MAGNITUDE = 2.0**100


def _finite_fid(value: float, top: float) -> float:
    if not math.isfinite(value):
        raise InputError(f"the Frechet distance is beyond the float64 range ({value}) for features of magnitude up to "
                         f"{top:.3g}: it grows as the square of the feature scale. Rescale the features (e.g. "
                         "standardise each feature) first.")
    return value


def _frechet_from_features(real: np.ndarray, generated: np.ndarray) -> tuple[float, str]:
    n1, n2 = len(real), len(generated)
    a = real - real.mean(axis=0)
    b = generated - generated.mean(axis=0)
    diff = real.mean(axis=0) - generated.mean(axis=0)
    if max(n1, n2) < real.shape[1]:
        # n < d: S1 = A^T A/(n1-1), S2 = B^T B/(n2-1), and the nonzero eigenvalues of S1 S2 are the
        # squared singular values of A B^T / sqrt((n1-1)(n2-1)); no d x d matrix is ever formed.
        cross = a @ b.T
        trace_sqrt = scipy.linalg.svdvals(cross, check_finite=False).sum() / np.sqrt((n1 - 1) * (n2 - 1))
        tr1 = np.einsum("ij,ij->", a, a) / (n1 - 1)
        tr2 = np.einsum("ij,ij->", b, b) / (n2 - 1)
        value = diff @ diff + tr1 + tr2 - 2.0 * trace_sqrt
        return max(float(value), 0.0), "cross-gram"
    # numpy turns x.T @ x into a symmetric rank-k update (half the flops of a general product)
    sigma1 = (a.T @ a) / (n1 - 1)
    sigma2 = (b.T @ b) / (n2 - 1)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0), "covariance"


def _fid_replicates(real: np.ndarray, generated: np.ndarray, groups: int, seed: int = 0, *,
                    pairs: bool = False, full: float | None = None) -> GroupReplicates:
    """Leave-one- and leave-two-groups-out FIDs (the same groups dropped from both sets) from group moment sums.

    With rows centred at the set's mean c, the sums over the rows outside the dropped groups D are
    ``-sum_{g in D} s_g`` and ``M - sum_{g in D} M_g`` (``s_g``, ``M_g``: group g's sum and scatter),
    so each replicate's mean and covariance cost no pass over the set: every group scatter is formed
    once (``M_g`` is kept for the pair ``(g, g + 1)`` and ``M_0`` for the last pair ``(G - 1, 0)``).
    The pair values (:func:`metrics.resampling.pair_groups`) feed the second-order correction of the
    jackknife variance; each replicate costs one trace-square-root solve. They are off by default
    (``pairs=False``): measured over 200 seeds of two equal-quality constructions the correction did
    not move FID's rejection counts (2 -> 2 and 11 -> 11 of 200) and doubled the cost at d = 2048
    (21 solves instead of 11). When the value uses the n < d cross-Gram route, replicates are
    re-evaluated on the leave-out rows with that route.

    Where the model's FID is indistinguishable from 0 (the bias-corrected value's 95% jackknife
    interval reaches 0) the FID of each group alone is carried too (``fold_values``: ``G`` more
    solves, on ``n / G`` rows each): see :func:`_indistinguishable_from_zero`. ``full``: the FID
    on all rows, when the caller has it.
    """
    labels = [group_labels(len(x), groups, seed) for x in (real, generated)]
    sizes = (len(real), len(generated))
    if max(sizes) < real.shape[1]:
        def leave_out(drop):
            return _frechet_from_features(*(x[~np.isin(lab, drop)] for x, lab in zip((real, generated), labels)))[0]

        values = np.array([leave_out([g]) for g in range(groups)])
        pair_values = np.array([leave_out(list(gh)) for gh in pair_groups(groups)]) if pairs else None
        return GroupReplicates(values, seed, sizes, "bias-corrected", method="re-evaluated (cross-Gram route)",
                               pair_values=pair_values)
    moments = []
    for x, lab in zip((real, generated), labels):
        centre = x.mean(axis=0)
        xc = x - centre
        moments.append((centre, xc, xc.T @ xc, lab))

    def group_moments(g):
        out = []
        for centre, xc, _, lab in moments:
            xg = xc[lab == g]
            out.append((len(xg), xg.sum(axis=0), xg.T @ xg))
        return out

    def leave_out(parts):
        """FID without the groups whose (count, sum, scatter) per set are in ``parts``."""
        stats = []
        for t, (centre, xc, scatter, _) in enumerate(moments):
            rest = len(xc) - sum(p[t][0] for p in parts)
            s = -sum(p[t][1] for p in parts)  # sum of the centred rows outside (all centred rows sum to 0)
            cov = (scatter - sum(p[t][2] for p in parts) - np.outer(s, s) / rest) / (rest - 1)
            stats.append((centre + s / rest, cov))
        (mu1, s1), (mu2, s2) = stats
        diff = mu1 - mu2
        return max(float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * _trace_sqrt_product(s1, s2)), 0.0)

    values, pair_values = np.empty(groups), (np.empty(groups) if pairs else None)
    first = current = group_moments(0)
    for g in range(groups):
        values[g] = leave_out([current])
        following = first if g + 1 == groups else group_moments(g + 1)
        if pairs:
            pair_values[g] = leave_out([current, following])
        current = following
    full = leave_out([]) if full is None else float(full)
    fold_values = None
    if _indistinguishable_from_zero(full, values):
        # FID is a squared distance: at 0 its gradient vanishes, and two such models' difference is a
        # degenerate quadratic, where the jackknife t is conservative (module notes of
        # metrics.resampling); the i.i.d. fold values then test the same null exactly. From the rows:
        # a group of n / G rows below d dimensions takes the cheap cross-Gram route
        fold_values = np.array([_frechet_from_features(real[labels[0] == g], generated[labels[1] == g])[0]
                                for g in range(groups)])
    return GroupReplicates(values, seed, sizes, "bias-corrected", method="group moment sums",
                           pair_values=pair_values, fold_values=fold_values)


def _indistinguishable_from_zero(value: float, values: np.ndarray) -> bool:
    """Whether the bias-corrected FID's 95% jackknife interval reaches 0 (population FID possibly 0).

    Near 0 the Frechet distance, a squared distance, has no first-order term: the difference of two
    such models is a degenerate quadratic, whose expectation at any size m is its bias difference
    c / m, so "equal expected FID" holds at the fold size n / G exactly when it holds at n, and the
    disjoint-fold means test it exactly. Away from 0 the linear part dominates and the jackknife is
    kept (fold means would test the fold size's biases). Measured in the ``alternate`` construction
    (both models match the reference's mean and covariance): see :mod:`metrics.resampling`.
    """
    from scipy import stats

    from .resampling import _jackknife_variance

    g = len(values)
    centre = g * value - (g - 1) * float(values.mean())
    half = float(stats.t.ppf(0.975, g - 1)) * math.sqrt(_jackknife_variance(values))
    return bool(math.isfinite(centre) and math.isfinite(half) and centre - half <= 0.0)


def _as_stats_or_features(x, name: str):
    if isinstance(x, GaussianStats):
        return x
    return as_matrix(x, name, dtype=np.float64, min_rows=2)


@metric("fid", needs="features", higher_is_better=False, group="perceptual")
def fid(real, generated) -> MetricResult:
    """Frechet distance between Gaussian fits of two feature sets (FID, Heusel et al. 2017).

    Parameters
    ----------
    real, generated : array_like of shape (n, d), or GaussianStats
        Feature matrices (any float dtype; computed in float64), or precomputed statistics, e.g.
        ``GaussianStats.load("cifar10_train.npz")`` from a pytorch-fid / clean-fid stats file.
        The distance is symmetric; the names only label the result.

    Returns
    -------
    MetricResult
        ``value`` is the Frechet distance (lower is better); ``n`` the sample counts (0 when
        unknown, for loaded statistics); ``extras["route"]`` says which exact algebra was used:
        ``"covariance"`` (d x d covariances), ``"cross-gram"`` (n < d: nuclear norm of the centred
        cross-Gram matrix) or ``"statistics"``. From feature arrays of at least 20 rows each, ``ci`` is
        a 95% interval for the *population* FID (n -> infinity): grouped jackknife over 10 groups of
        both sets (:mod:`metrics.resampling`), centred at the jackknife bias-corrected estimate
        ``extras["bias_corrected"]`` and clipped at 0. The plug-in ``value`` is biased upward by
        O(1/n), so at small n it can lie above the interval. ``replicates`` holds the
        leave-one-group-out values (in memory only; the harness's model comparisons reuse them).
        Saved statistics carry no per-row information: no interval.

    Warns
    -----
    MetricWarning
        When a set has no more samples than dimensions: its covariance is rank-deficient and FID is
        strongly biased upward at small n (the value is still exact for the sample covariances).

    Notes
    -----
    Covariances use ``ddof=1``, the convention of pytorch-fid, clean-fid and torch-fidelity, so
    values agree with them on the same features. FID has a large positive bias at small n
    (Chong & Forsyth 2020); compare models only at equal n. The replicates come from per-group
    moment sums (one group scatter per group, no second pass over the data) and cost one extra
    trace-square-root solve each; so do the ten leave-two-groups-out values that correct the
    jackknife variance for its second-order bias.

    References
    ----------
    Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(5000, 2)), rng.normal(size=(5000, 2)) + [3.0, 0.0]
    >>> round(metrics.fid(x, y).value, 1)  # the population value is 3^2 = 9; these 5000-sample fits give 8.9
    8.9
    """
    real = _as_stats_or_features(real, "real")
    generated = _as_stats_or_features(generated, "generated")
    dims = [x.dim if isinstance(x, GaussianStats) else x.shape[1] for x in (real, generated)]
    if dims[0] != dims[1]:
        shape = [f"statistics of dimension {x.dim}" if isinstance(x, GaussianStats) else str(x.shape)
                 for x in (real, generated)]
        raise InputError(
            f"`real` and `generated` must have the same number of features; got real {shape[0]} and "
            f"generated {shape[1]}. Extract both with the same feature extractor."
        )
    counts = tuple(
        (x.n or 0) if isinstance(x, GaussianStats) else len(x) for x in (real, generated)
    )
    for name, count in zip(("real", "generated"), counts):
        if 0 < count <= dims[0]:
            warnings.warn(
                f"`{name}` has {count} samples for {dims[0]} features: its covariance is rank-deficient "
                "and FID is biased upward. Use more samples than feature dimensions.",
                MetricWarning,
                stacklevel=2,
            )
    if isinstance(real, np.ndarray) and isinstance(generated, np.ndarray):
        top = max(max_abs(real), max_abs(generated))
        scale = power_of_two_scale(top, _SAFE_MAGNITUDE)  # powers of two: exact; the value scales with its square
        if scale != 1.0:
            real, generated = real / scale, generated / scale
        raw, route = _frechet_from_features(real, generated)
        value = _finite_fid(raw * scale * scale, top)
        # intervals (issue 13): leave-one-group-out FIDs, also reused by the harness's model comparisons
        if min(counts) >= 2 * GROUPS:
            reps = _fid_replicates(real, generated, GROUPS, full=raw)
            if scale != 1.0:
                folds = None if reps.fold_values is None else reps.fold_values * (scale * scale)
                reps = dataclasses.replace(reps, values=reps.values * (scale * scale), fold_values=folds)
            ci, centre = jackknife_interval(value, reps, low=0.0)
            return MetricResult("fid", value, higher_is_better=False, ci=ci, n=counts, replicates=reps,
                                extras={"route": route, "bias_corrected": centre})
    else:
        s1, s2 = (x if isinstance(x, GaussianStats) else GaussianStats.from_features(x)
                  for x in (real, generated))
        value, route = frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov), "statistics"
    return MetricResult("fid", value, higher_is_better=False, n=counts, extras={"route": route})
