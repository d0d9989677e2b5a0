"""Kernel two-sample family: MMD and its permutation test, KID, energy distance and its test.

Everything here works on two feature sets ``real`` (n, d) and ``generated`` (m, d). The pooled
kernel matrix over the ``N = n + m`` rows is computed in square blocks of ``chunk_size`` rows (only
blocks on and above the diagonal: the matrix is symmetric), in float64, so memory is bounded by the
block size for the statistics and by one ``N x N`` matrix for the permutation tests, which keep it and
evaluate every permutation as quadratic forms of indicator vectors with that matrix (no kernel entry is
ever computed twice).

Conventions
-----------
Gaussian kernel ``k(x, y) = exp(-||x - y||^2 / (2 sigma^2))``, Laplace kernel
``k(x, y) = exp(-||x - y|| / sigma)``, polynomial kernel ``k(x, y) = (x . y / d + 1)^3`` (the KID
kernel of Binkowski et al., 2018). ``bandwidth`` is ``sigma``. The median heuristic sets ``sigma`` to
the median of the pooled pairwise Euclidean distances over pairs ``i < j`` (the zero diagonal is *not*
included), the convention of hyppo and of Gretton et al. (2012).
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings

import numpy as np

from ._checks import check_choice, check_int, check_pair, check_seed, max_abs, power_of_two_scale
from .errors import InputError, MetricWarning
from .registry import metric
from .resampling import GROUPS, GroupReplicates, group_labels, group_seed, jackknife_interval, pair_groups
from .result import ConfidenceInterval, MetricResult

_KERNELS = ("gaussian", "laplace", "polynomial")
_ESTIMATORS = ("unbiased", "biased", "linear")
_Z95 = 1.959963984540054  # standard normal 97.5% quantile; every interval here is a 95% one
#: Pooled points above which the median heuristic uses an evenly spaced subset of rows: the exact
#: median over N(N-1)/2 distances would need them all in memory at once.
_MEDIAN_MAX_POINTS = 4000
#: Permutation tests keep the pooled N x N float64 kernel matrix; above this it no longer fits a
#: typical machine (12.8 GB at 40,000 points).
_MAX_TEST_POINTS = 40_000
#: Floats held by one batch of permutation indicator rows (and by S @ K): 32 MB.
_PERM_BATCH_FLOATS = 1 << 22
#: Squared distances below this fraction of the largest squared norms are recomputed from differences.
_NEAR_DUPLICATE = 1e-6
#: Rows per slab when KID turns a Gram matrix into kernel sums: a slab stays in the L2 cache.
_KID_SLAB = 64
#: Largest |x . y| KID computes in float32 (float32 overflows at 3.4e38 = 2^128; margin for the sums).
_F32_GRAM_MAX = 2.0**120


# --------------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------------


class _Kernel:
    """A validated kernel choice: evaluates blocks ``k(a, b)`` of the pooled matrix in float64."""

    def __init__(self, name, bandwidths=None, func=None, dim=1):
        self.name = name  # "gaussian", "laplace", "polynomial", "callable" or "energy" (-distance)
        self.bandwidths = bandwidths  # tuple of floats for gaussian / laplace
        self.func = func
        self.dim = dim
        self.scale = 1.0  # the power of two the pooled rows were divided by (_pool); kernels stay in input units

    @property
    def translation_invariant(self):
        return self.name in ("gaussian", "laplace", "energy")

    def block(self, a, b, sq_a, sq_b, diagonal):
        """k(a_i, b_j) as an (len(a), len(b)) float64 array; ``diagonal``: a and b are the same rows."""
        if self.name == "callable":
            return _call_user_kernel(self.func, a, b)
        g = a @ b.T
        if self.name == "polynomial":
            g *= 1.0 / self.dim
            g += 1.0
            return g * g * g
        # squared distances by the Gram expansion (data were centred, which keeps the cancellation small);
        # its absolute error is ~1e-16 * (|a|^2 + |b|^2), so near-duplicate pairs are recomputed from
        # differences: sqrt would turn that error into ~1e-8 distances (energy of a set with itself != 0)
        g *= -2.0
        g += sq_a[:, None]
        g += sq_b[None, :]
        if self.name != "gaussian":  # exp(-d^2 / 2s^2) is insensitive to that error; skip the pass
            close = np.nonzero(g < _NEAR_DUPLICATE * (sq_a.max() + sq_b.max()))
            if len(close[0]):
                diff = a[close[0]] - b[close[1]]
                g[close] = np.einsum("ij,ij->i", diff, diff)
        np.maximum(g, 0.0, out=g)
        if diagonal:
            np.fill_diagonal(g, 0.0)  # exact zeros, so k(x, x) is exactly k(0)
        return self._from_sqdist(g)

    def paired(self, a, b):
        """k(a_i, b_i) for matched rows (the linear-time estimator)."""
        if self.name == "callable":
            return np.concatenate([np.diagonal(_call_user_kernel(self.func, a[i:i + 256], b[i:i + 256]))
                                   for i in range(0, len(a), 256)])
        if self.name == "polynomial":
            return (np.einsum("ij,ij->i", a, b) / self.dim + 1.0) ** 3
        diff = a - b
        return self._from_sqdist(np.einsum("ij,ij->i", diff, diff))

    def _from_sqdist(self, d2):
        if self.name == "energy":
            np.sqrt(d2, out=d2)
            np.multiply(d2, -self.scale, out=d2)  # -||x - y|| in the input's units
            return d2
        if self.name == "laplace":
            np.sqrt(d2, out=d2)
            scales = [-1.0 / s for s in self.bandwidths]
        else:
            scales = [-0.5 / (s * s) for s in self.bandwidths]
        if len(scales) == 1:
            d2 *= scales[0]
            return np.exp(d2, out=d2)
        out = np.zeros_like(d2)
        for c in scales:
            out += np.exp(d2 * c)
        return out


def _call_user_kernel(func, a, b):
    try:
        k = np.asarray(func(a, b), dtype=np.float64)
    except InputError:
        raise
    except Exception as exc:  # the user's function failed: say so, not numpy's traceback
        raise InputError(f"`kernel` callable raised {type(exc).__name__}: {exc}. It must accept two "
                         "(rows, d) float64 arrays and return their (rows_a, rows_b) kernel matrix.") from exc
    if k.shape != (len(a), len(b)):
        raise InputError(f"`kernel` callable returned shape {k.shape} for inputs of {len(a)} and {len(b)} rows; "
                         f"it must return the ({len(a)}, {len(b)}) kernel matrix k(a_i, b_j).")
    if not np.isfinite(k).all():
        raise InputError("`kernel` callable returned non-finite values. Return a finite kernel matrix.")
    return k


def _check_kernel(kernel, bandwidth, dim):
    """Validate ``kernel`` / ``bandwidth``; returns (_Kernel, needs_median)."""
    if callable(kernel):
        _only_default_bandwidth(bandwidth, "a callable")
        return _Kernel("callable", func=kernel, dim=dim), False
    if isinstance(kernel, (list, tuple, np.ndarray)):  # a list of bandwidths: sum of Gaussian kernels
        _only_default_bandwidth(bandwidth, "a list of bandwidths")
        return _Kernel("gaussian", _check_bandwidths(list(kernel), "kernel"), dim=dim), False
    check_choice(kernel, "kernel", _KERNELS)
    if kernel == "polynomial":
        _only_default_bandwidth(bandwidth, "'polynomial'")
        return _Kernel("polynomial", dim=dim), False
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise InputError(f"`bandwidth` must be 'median', a positive number or a list of them; got {bandwidth!r}.")
        return _Kernel(kernel, None, dim=dim), True
    values = list(bandwidth) if isinstance(bandwidth, (list, tuple, np.ndarray)) else [bandwidth]
    return _Kernel(kernel, _check_bandwidths(values, "bandwidth"), dim=dim), False


def _only_default_bandwidth(bandwidth, what):
    if not (isinstance(bandwidth, str) and bandwidth == "median"):
        raise InputError(f"`bandwidth` does not apply to kernel={what}; got bandwidth={bandwidth!r}. "
                         "Leave `bandwidth` at its default.")


def _check_bandwidths(values, name):
    if not values:
        raise InputError(f"`{name}` must hold at least one bandwidth; got an empty list.")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise InputError(f"`{name}` bandwidths must be positive finite numbers; got {v!r}.")
        out.append(float(v))
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# pooled-matrix passes
# --------------------------------------------------------------------------------------------------


def _pool(real, generated, kern):
    z = np.concatenate([real, generated])
    if kern.translation_invariant:
        _rescale(z, kern)
        z -= z.mean(axis=0)
    sq = np.einsum("ij,ij->i", z, z)
    return z, sq


#: Pooled rows whose largest magnitude lies outside [2^-200, 2^200] are rescaled first: their squared
#: distances would overflow float64 (features of 1e160 give inf - inf = NaN) or underflow to 0.
_SAFE_MAGNITUDE = 2.0**200


def _rescale(z, kern):
    """Divide ``z`` in place by a power of two when its magnitude is unsafe (:data:`_SAFE_MAGNITUDE`).

    Dividing by a power of two is exact, and distance kernels only see distances over bandwidths, so
    Gaussian / Laplace kernel values are bit-for-bit those of an overflow-free computation; explicit
    bandwidths are divided alike, and the energy kernel multiplies its distances back by the scale.
    """
    kern.scale = power_of_two_scale(max_abs(z), _SAFE_MAGNITUDE)
    if kern.scale == 1.0:
        return
    z /= kern.scale
    if kern.bandwidths is not None:
        kern.bandwidths = tuple(b / kern.scale for b in kern.bandwidths)


def _finite_value(value, what, kern, real, generated):
    """``value`` when finite, else an :class:`InputError` that names the cause (the feature scale)."""
    if math.isfinite(value):
        return value
    top = max(max_abs(real), max_abs(generated))
    grows = {"polynomial": "the polynomial kernel (x.y/d + 1)^3 grows as the 6th power of the feature scale",
             "energy": "the energy distance grows with the feature scale",
             "callable": "the `kernel` callable's values overflow"}.get(kern.name, "the kernel values overflow")
    raise InputError(f"{what} is not finite ({value}) for features of magnitude up to {top:.3g}: {grows}, beyond "
                     "the float64 range. Rescale the features (e.g. standardise each feature) first.")


def _blocks(n_total, chunk):
    """Square blocks (i0, i1, j0, j1) on and above the diagonal."""
    starts = range(0, n_total, chunk)
    for i0 in starts:
        for j0 in starts:
            if j0 >= i0:
                yield i0, min(i0 + chunk, n_total), j0, min(j0 + chunk, n_total)


def _median_distance(z, sq):
    """Median of the pairwise distances over pairs i < j (np.median convention for an even count)."""
    n_total = len(z)
    if n_total > _MEDIAN_MAX_POINTS:
        rows = np.unique(np.linspace(0, n_total - 1, _MEDIAN_MAX_POINTS).round().astype(np.int64))
        z, sq, n_total = z[rows], sq[rows], len(rows)
    d2 = np.empty(n_total * (n_total - 1) // 2)
    pos = 0
    for i0 in range(0, n_total - 1, 512):
        i1 = min(i0 + 512, n_total)
        block = z[i0:i1] @ z[i0:].T
        block *= -2.0
        block += sq[i0:i1, None]
        block += sq[None, i0:]
        for r in range(i1 - i0):  # row r of the block: pairs (i0 + r, j) with j > i0 + r
            tail = block[r, r + 1:]
            d2[pos: pos + len(tail)] = tail
            pos += len(tail)
    np.maximum(d2, 0.0, out=d2)
    half = (len(d2) - 1) // 2
    if len(d2) % 2:
        d2.partition(half)  # in place: no second copy of the N(N-1)/2 distances
        return float(np.sqrt(d2[half]))
    d2.partition((half, half + 1))
    return float((np.sqrt(d2[half]) + np.sqrt(d2[half + 1])) / 2.0)


def _resolve_bandwidth(kern, needs_median, z, sq):
    if needs_median:
        med = _median_distance(z, sq)
        if med <= 0.0:
            raise InputError("the median heuristic gave bandwidth 0: at least half of the pooled pairwise "
                             "distances are 0 (duplicated samples). Pass an explicit `bandwidth`.")
        kern.bandwidths = (med,)
    if kern.bandwidths is None:
        return None
    sigmas = [b * kern.scale for b in kern.bandwidths]  # reported in the input's units
    return sigmas[0] if len(sigmas) == 1 else sigmas


def _row_sums(z, sq, n, kern, chunk):
    """Per pooled row i: sum of k(z_i, real rows), sum of k(z_i, generated rows), and k(z_i, z_i)."""
    n_total = len(z)
    to_real, to_gen, diag = np.zeros(n_total), np.zeros(n_total), np.zeros(n_total)
    for i0, i1, j0, j1 in _blocks(n_total, chunk):
        k = kern.block(z[i0:i1], z[j0:j1], sq[i0:i1], sq[j0:j1], diagonal=i0 == j0)
        cut = min(max(n - j0, 0), j1 - j0)  # columns [j0, j0 + cut) are real rows
        to_real[i0:i1] += k[:, :cut].sum(axis=1)
        to_gen[i0:i1] += k[:, cut:].sum(axis=1)
        if i0 == j0:
            diag[i0:i1] = np.diagonal(k)
        else:  # the mirrored block k(z_J, z_I) = k.T
            cut = min(max(n - i0, 0), i1 - i0)
            to_real[j0:j1] += k[:cut].sum(axis=0)
            to_gen[j0:j1] += k[cut:].sum(axis=0)
    return to_real, to_gen, diag


def _full_matrix(z, sq, kern, chunk):
    n_total = len(z)
    K = np.empty((n_total, n_total))
    for i0, i1, j0, j1 in _blocks(n_total, chunk):
        k = kern.block(z[i0:i1], z[j0:j1], sq[i0:i1], sq[j0:j1], diagonal=i0 == j0)
        K[i0:i1, j0:j1] = k
        if i0 != j0:
            K[j0:j1, i0:i1] = k.T
    return K


def _mmd2_from_sums(s_xx, s_yy, s_xy, d_x, d_y, n, m, estimator):
    """MMD^2 from block sums (each including its diagonal) and the diagonal sums."""
    if estimator == "unbiased":
        return (s_xx - d_x) / (n * (n - 1)) + (s_yy - d_y) / (m * (m - 1)) - 2.0 * s_xy / (n * m)
    return s_xx / (n * n) + s_yy / (m * m) - 2.0 * s_xy / (n * m)


# --------------------------------------------------------------------------------------------------
# MMD
# --------------------------------------------------------------------------------------------------


def _check_chunk(chunk_size):
    return check_int(chunk_size, "chunk_size", low=1, hint="It is the edge of one kernel block, in rows.")


@metric("mmd", needs="features", higher_is_better=False, group="kernel")
def mmd(real, generated, *, kernel="gaussian", bandwidth="median", estimator="unbiased",
        chunk_size=1024) -> MetricResult:
    """Squared maximum mean discrepancy between two feature sets (Gretton et al., 2012).

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature sets; 1-D input is read as scalar samples. The statistic is symmetric in the two.
    kernel : {"gaussian", "laplace", "polynomial"}, list of float, or callable
        ``"gaussian"``: ``exp(-||x - y||^2 / (2 sigma^2))``; ``"laplace"``: ``exp(-||x - y|| / sigma)``;
        ``"polynomial"``: ``(x . y / d + 1)^3`` (the KID kernel). A list of bandwidths means the sum of
        Gaussian kernels with those ``sigma``. A callable ``kernel(a, b)`` gets two float64 arrays of
        rows and must return their ``(len(a), len(b))`` kernel matrix; it must be symmetric.
    bandwidth : "median", float or list of float
        ``sigma`` of the Gaussian / Laplace kernel; a list sums one kernel per value. ``"median"``: the
        median of the pooled pairwise distances over pairs ``i < j`` (diagonal excluded); with more than
        4000 pooled rows, over the pairs of 4000 evenly spaced rows.
    estimator : {"unbiased", "biased", "linear"}
        ``"unbiased"``: U-statistic (within-set diagonals dropped); ``"biased"``: V-statistic (all
        pairs); ``"linear"``: the linear-time estimator over ``min(n, m) // 2`` disjoint quadruples of
        consecutive rows (Gretton et al., 2012, Lemma 14) - rows should be in random order.
    chunk_size : int
        Edge of one kernel block, in rows; memory is about ``3 * chunk_size**2`` floats. The value
        does not depend on it beyond rounding.

    Returns
    -------
    MetricResult
        ``value``: MMD^2 (can be slightly negative for the unbiased and linear estimators);
        ``ci``: 95% normal interval for ``"unbiased"`` and ``"linear"`` (``None`` for the biased
        estimator, whose O(1/n) bias an interval around it would not cover); ``extras``: ``kernel``,
        ``bandwidth`` (sigma used, ``None`` for polynomial / callable kernels), ``estimator``, ``se``;
        ``replicates`` (unbiased and biased estimators, at least 20 rows per set): leave-one-group-out
        values from kernel block sums by group in the same pass, at the full sets' bandwidth, which
        the harness's model comparisons use (:mod:`metrics.resampling`).

    Notes
    -----
    With row sums of the pooled kernel matrix, ``MMD_u^2 = S_xx' / (n(n-1)) + S_yy' / (m(m-1))
    - 2 S_xy / (nm)`` (primes: diagonals removed). Its standard error is the first-order U-statistic
    one, ``sqrt(4 Var_P f / n + 4 Var_Q f / m)`` with the plug-in empirical witness
    ``f = mean_x k(., x) - mean_y k(., y)`` evaluated leave-one-out on each sample. When P = Q the
    first-order term vanishes but the plug-in does not (the witness's own noise keeps it positive, a
    slight overestimate), so the interval does not collapse near zero; there the null distribution is
    skewed and coverage is approximate (simulated coverage 92-95% for n, m in 50..300, d = 3, under
    both P = Q and shifts). The linear estimator's interval uses the sample standard deviation of its
    independent terms.

    References
    ----------
    Gretton, Borgwardt, Rasch, Schoelkopf, Smola (2012). A kernel two-sample test. JMLR 13.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.mmd(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 1.0)
    >>> r.value > r.ci.low > 0
    True
    """
    real, generated = check_pair(real, generated)
    kern, needs_median = _check_kernel(kernel, bandwidth, real.shape[1])
    check_choice(estimator, "estimator", _ESTIMATORS)
    chunk = _check_chunk(chunk_size)
    n, m = len(real), len(generated)
    z, sq = _pool(real, generated, kern)
    sigma = _resolve_bandwidth(kern, needs_median, z, sq)
    extras = {"kernel": kern.name, "bandwidth": sigma, "estimator": estimator}

    if estimator == "linear":
        pairs = min(n, m) // 2
        x, y = z[: 2 * pairs], z[n: n + 2 * pairs]
        h = (kern.paired(x[0::2], x[1::2]) + kern.paired(y[0::2], y[1::2])
             - kern.paired(x[0::2], y[1::2]) - kern.paired(x[1::2], y[0::2]))
        value = _finite_value(float(h.mean()), "mmd", kern, real, generated)
        se = float(h.std(ddof=1) / math.sqrt(pairs)) if pairs > 1 else None
        ci = (ConfidenceInterval(value - _Z95 * se, value + _Z95 * se, 0.95,
                                 "normal over the independent linear-time terms") if pairs > 1 else None)
        return MetricResult("mmd", value, False, ci=ci, n=(2 * pairs, 2 * pairs), extras={**extras, "se": se})

    to_real, to_gen, diag, reps = _group_row_sums(z, sq, n, kern, chunk, estimator)
    s_xx, s_yy, s_xy = to_real[:n].sum(), to_gen[n:].sum(), to_gen[:n].sum()
    value = float(_mmd2_from_sums(s_xx, s_yy, s_xy, diag[:n].sum(), diag[n:].sum(), n, m, estimator))
    value = _finite_value(value, "mmd", kern, real, generated)
    ci, se = None, None
    if estimator == "unbiased":
        # leave-one-out empirical witness on each sample (first-order Hoeffding projection)
        f_x = (to_real[:n] - diag[:n]) / (n - 1) - to_gen[:n] / m
        f_y = to_real[n:] / n - (to_gen[n:] - diag[n:]) / (m - 1)
        se = float(math.sqrt(4.0 * f_x.var(ddof=1) / n + 4.0 * f_y.var(ddof=1) / m))
        ci = ConfidenceInterval(value - _Z95 * se, value + _Z95 * se, 0.95,
                                "normal, first-order U-statistic variance from the leave-one-out "
                                "empirical witness")
    return MetricResult("mmd", value, False, ci=ci, n=(n, m), extras={**extras, "se": se}, replicates=reps)


# --------------------------------------------------------------------------------------------------
# permutation tests
# --------------------------------------------------------------------------------------------------


def _split_statistics(K, indicators, n, estimator, row_sums, diag, total, diag_total):
    """MMD^2 for a batch of splits; ``indicators`` (b, N) has a 1 on the rows called "real".

    With s the indicator, q = s'Ks, a = s'(K1), e = s'diag(K):
    S_xx = q, S_xy = a - q, S_yy = 1'K1 - 2a + q (each including diagonals).
    """
    m = K.shape[0] - n
    q = np.einsum("ij,ij->i", indicators @ K, indicators)
    a = indicators @ row_sums
    e = indicators @ diag
    return _mmd2_from_sums(q, total - 2.0 * a + q, a - q, e, diag_total - e, n, m, estimator)


def _permutation_test(K, n, *, n_permutations, rng, estimator):
    """Observed statistic, p-value and null summary from the pooled kernel matrix ``K``."""
    n_total = K.shape[0]
    row_sums, diag = K.sum(axis=1), np.diagonal(K).copy()
    total, diag_total = row_sums.sum(), diag.sum()
    stat = lambda s: _split_statistics(K, s, n, estimator, row_sums, diag, total, diag_total)  # noqa: E731

    observed = np.zeros((1, n_total))
    observed[0, :n] = 1.0
    t_obs = float(stat(observed)[0])
    # ties within rounding count as ties (scipy.stats.permutation_test does the same)
    tol = 1e-12 * (abs(t_obs) + float(np.abs(K).max()))
    batch = max(1, _PERM_BATCH_FLOATS // n_total)

    n_splits = math.comb(n_total, n)
    exact = n_splits <= n_permutations
    null = []
    if exact:
        combos = itertools.combinations(range(n_total), n)
        while True:
            chunk = list(itertools.islice(combos, batch))
            if not chunk:
                break
            s = np.zeros((len(chunk), n_total))
            np.put_along_axis(s, np.array(chunk), 1.0, axis=1)
            null.append(stat(s))
        null = np.concatenate(null)
        pvalue = float(np.count_nonzero(null >= t_obs - tol) / n_splits)
    else:
        for b0 in range(0, n_permutations, batch):
            b = min(batch, n_permutations - b0)
            # a uniform random n-subset: the rows holding the n smallest of N iid uniforms
            chosen = np.argpartition(rng.random((b, n_total)), n - 1, axis=1)[:, :n]
            s = np.zeros((b, n_total))
            np.put_along_axis(s, chosen, 1.0, axis=1)
            null.append(stat(s))
        null = np.concatenate(null)
        pvalue = float((1 + np.count_nonzero(null >= t_obs - tol)) / (1 + n_permutations))
    # statistics beyond ~1e154 (energy of features at 1e180) would overflow the std's squares
    spread = float(np.abs(null).max()) if np.abs(null).max() > 1e150 else 1.0
    summary = {
        "exact": bool(exact),
        "n_permutations": int(n_splits if exact else n_permutations),
        "null_mean": float(null.mean()),
        "null_std": float((null / spread).std() * spread) if spread != 1.0 else float(null.std()),
        "null_q95": float(np.quantile(null, 0.95)),
    }
    return t_obs, pvalue, summary


def _check_test_args(n_total, n_permutations, seed):
    b = check_int(n_permutations, "n_permutations", low=1,
                  hint="It is the number of random splits of the pooled sample.")
    rng = check_seed(seed)
    if n_total > _MAX_TEST_POINTS:
        gb = n_total * n_total * 8 / 1e9
        raise InputError(f"the permutation test keeps the pooled {n_total} x {n_total} kernel matrix ({gb:.1f} GB); "
                         f"the limit is {_MAX_TEST_POINTS} pooled rows. Subsample both sets, or use the "
                         "statistic alone (`mmd`, `energy_distance`), which works in bounded memory.")
    return b, rng


def _warn_few(n_total, n, b):
    if math.comb(n_total, n) > b and b < 99:
        warnings.warn(f"only {b} permutations: the smallest attainable p-value is 1/{b + 1} = {1 / (b + 1):.3g}. "
                      "Use n_permutations >= 999 for p-values near 0.01.", MetricWarning, stacklevel=3)


@metric("mmd_test", needs="features", higher_is_better=False, group="kernel")
def mmd_test(real, generated, *, n_permutations=1000, seed=0, kernel="gaussian", bandwidth="median",
             estimator="unbiased", chunk_size=1024) -> MetricResult:
    """MMD two-sample permutation test: the MMD^2 statistic with a permutation p-value.

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature sets.
    n_permutations : int
        Random splits of the pooled sample. When the number of distinct splits ``C(n + m, n)`` is at
        most this, every split is enumerated instead and the p-value is exact.
    seed : int or numpy.random.Generator
        Randomness of the splits.
    kernel, bandwidth, chunk_size
        As in :func:`mmd`. The median bandwidth is a function of the pooled sample, so every split is
        scored with the same kernel (the test stays exact).
    estimator : {"unbiased", "biased"}
        Statistic, as in :func:`mmd`.

    Returns
    -------
    MetricResult
        ``value``: observed MMD^2; ``pvalue``: ``(1 + #{T_b >= T_obs}) / (1 + B)`` for random splits,
        or the fraction of all splits (the observed one included) with ``T >= T_obs`` when enumerated;
        ``extras``: ``exact``, ``n_permutations`` (splits used), ``null_mean``, ``null_std``,
        ``null_q95``, ``kernel``, ``bandwidth``, ``estimator``.

    Notes
    -----
    The pooled ``N x N`` kernel matrix ``K`` is computed once (blocked, float64) and kept: about
    ``8 N^2`` bytes. For a split with indicator ``s`` of the rows labelled real,
    ``S_xx = s'Ks``, ``S_xy = s'K1 - s'Ks`` and ``S_yy = 1'K1 - 2 s'K1 + s'Ks``, so a batch of splits
    costs one matrix product ``S @ K`` and no kernel evaluations. Statistics equal to the observed one
    within ``1e-12`` relative count as ties (at least as extreme), as in ``scipy.stats.permutation_test``.

    References
    ----------
    Gretton et al. (2012). A kernel two-sample test. JMLR 13.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> metrics.mmd_test([[0.0], [0.1]], [[5.0], [5.1]]).pvalue  # 6 splits enumerated; 2 are as extreme
    0.3333333333333333
    """
    real, generated = check_pair(real, generated)
    kern, needs_median = _check_kernel(kernel, bandwidth, real.shape[1])
    check_choice(estimator, "estimator", ("unbiased", "biased"))
    chunk = _check_chunk(chunk_size)
    n, m = len(real), len(generated)
    b, rng = _check_test_args(n + m, n_permutations, seed)
    _warn_few(n + m, n, b)
    z, sq = _pool(real, generated, kern)
    sigma = _resolve_bandwidth(kern, needs_median, z, sq)
    K = _full_matrix(z, sq, kern, chunk)
    _finite_value(float(K.sum()), "mmd_test's kernel matrix", kern, real, generated)
    t_obs, pvalue, summary = _permutation_test(K, n, n_permutations=b, rng=rng, estimator=estimator)
    extras = {"kernel": kern.name, "bandwidth": sigma, "estimator": estimator, **summary}
    return MetricResult("mmd_test", t_obs, False, pvalue=pvalue, n=(n, m), extras=extras)


# --------------------------------------------------------------------------------------------------
# energy distance
# --------------------------------------------------------------------------------------------------


@metric("energy", needs="features", higher_is_better=False, group="kernel")
def energy_distance(real, generated, *, chunk_size=1024) -> MetricResult:
    """Squared energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| between two feature sets (V-statistic).

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature sets; 1-D input is read as scalar samples. Symmetric in the two.
    chunk_size : int
        Edge of one distance block, in rows; the value does not depend on it beyond rounding.

    Returns
    -------
    MetricResult
        ``value``: ``2/(nm) sum|x_i - y_j| - 1/n^2 sum|x_i - x_j| - 1/m^2 sum|y_i - y_j|`` (Euclidean
        norms; registry name ``"energy"``). With at least 20 rows per set, ``ci``: a 95% interval for
        the population value, grouped jackknife centred at the bias-corrected estimate
        ``extras["bias_corrected"]`` (which removes the V-statistic's O(1/n) bias exactly in
        expectation); ``replicates``: the leave-one-group-out values, from distance block sums by
        group in the same pass.

    Notes
    -----
    This is the plug-in (V-statistic) estimate of the *squared* energy distance of Szekely and Rizzo,
    which is also the biased MMD^2 with the distance-induced kernel ``k(x, y) = -||x - y||``. In 1-D,
    ``scipy.stats.energy_distance(u, v)`` returns the energy distance itself,
    ``sqrt(2 * int (F_u - F_v)^2) = sqrt(2E|X-Y| - E|X-X'| - E|Y-Y'|)`` over the empirical
    distributions, so ``scipy.stats.energy_distance(u, v) ** 2 == energy_distance(u, v).value``.

    References
    ----------
    Szekely, Rizzo (2013). Energy statistics: a class of statistics based on distances. J. Stat.
    Plann. Inference 143(8).

    Examples
    --------
    >>> import metrics
    >>> metrics.energy_distance([0.0, 1.0], [3.0]).value  # 2*(3+2)/2 - (0+1+1+0)/4 - 0
    4.5
    """
    real, generated = check_pair(real, generated, min_rows=1)
    chunk = _check_chunk(chunk_size)
    n, m = len(real), len(generated)
    kern = _Kernel("energy")
    z, sq = _pool(real, generated, kern)
    to_real, to_gen, diag, reps = _group_row_sums(z, sq, n, kern, chunk, "biased", centre="bias-corrected")
    value = float(_mmd2_from_sums(to_real[:n].sum(), to_gen[n:].sum(), to_gen[:n].sum(), 0.0, 0.0, n, m,
                                  "biased"))
    value = _finite_value(value, "energy", kern, real, generated)
    if reps is None:
        return MetricResult("energy", value, False, n=(n, m))
    ci, centre = jackknife_interval(value, reps)
    return MetricResult("energy", value, False, ci=ci, n=(n, m), extras={"bias_corrected": centre}, replicates=reps)


@metric("energy_test", needs="features", higher_is_better=False, group="kernel")
def energy_test(real, generated, *, n_permutations=1000, seed=0, chunk_size=1024) -> MetricResult:
    """Energy-distance two-sample permutation test: squared energy distance with a permutation p-value.

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature sets.
    n_permutations : int
        Random splits; all ``C(n + m, n)`` splits are enumerated when there are at most this many.
    seed : int or numpy.random.Generator
        Randomness of the splits.
    chunk_size : int
        Edge of one distance block, in rows.

    Returns
    -------
    MetricResult
        ``value``: the statistic of :func:`energy_distance`; ``pvalue`` and ``extras`` as in
        :func:`mmd_test`.

    Notes
    -----
    The squared energy distance is the biased MMD^2 with kernel ``-||x - y||``, so the test is
    :func:`mmd_test`'s machinery on the pooled distance matrix (kept in memory, ``8 N^2`` bytes).

    References
    ----------
    Szekely, Rizzo (2004). Testing for equal distributions in high dimension. InterStat 5.

    Examples
    --------
    >>> import metrics
    >>> metrics.energy_test([[0.0], [0.1], [0.2]], [[5.0], [5.1]]).pvalue  # 1 of 10 splits
    0.1
    """
    real, generated = check_pair(real, generated, min_rows=1)
    chunk = _check_chunk(chunk_size)
    n, m = len(real), len(generated)
    b, rng = _check_test_args(n + m, n_permutations, seed)
    _warn_few(n + m, n, b)
    kern = _Kernel("energy")
    z, sq = _pool(real, generated, kern)
    K = _full_matrix(z, sq, kern, chunk)
    _finite_value(float(K.sum()), "energy_test's distance matrix", kern, real, generated)
    t_obs, pvalue, summary = _permutation_test(K, n, n_permutations=b, rng=rng, estimator="biased")
    return MetricResult("energy_test", t_obs, False, pvalue=pvalue, n=(n, m), extras=summary)


# --------------------------------------------------------------------------------------------------
# KID
# --------------------------------------------------------------------------------------------------


def _kid_subset_values(real, generated, real_idx, gen_idx, *, strategy="auto", chunk=1024):
    """Unbiased polynomial-kernel MMD^2 of each subset pair ``(real[real_idx[t]], generated[gen_idx[t]])``.

    ``real`` and ``generated`` share one float dtype, the precision of the Gram products; kernel values
    and all sums are float64. Two exact routes, picked by their cost (``strategy="auto"``):

    * ``"subsets"``: one symmetric rank-k update (syrk) per subset pair, ``subsets * (2s)^2 / 2`` inner
      products in all - the cheaper route when the sets are much larger than the subsets;
    * ``"pooled"``: every inner product of the pooled rows computed once, ``(n + m)^2 / 2`` of them,
      and each subset's block sums read off as quadratic forms of its indicator vectors - the cheaper
      route when subsets overlap a lot (e.g. 100 subsets of 1000 from 5000 rows: 4x fewer products).
    """
    s = real_idx.shape[1]
    n_total, d = len(real) + len(generated), real.shape[1]
    subsets = len(real_idx)
    # cost in float32 multiply-adds: Gram products, plus the float64 indicator products (~2x each)
    per_subset = subsets * (2 * s) ** 2 / 2 * d
    pooled = n_total**2 / 2 * d + 3.0 * subsets * n_total**2
    if strategy == "auto":
        strategy = "pooled" if pooled < 0.8 * per_subset else "subsets"
    if strategy == "pooled":
        return _kid_pooled(real, generated, real_idx, gen_idx, chunk)
    return _kid_per_subset(real, generated, real_idx, gen_idx)


def _kid_per_subset(real, generated, real_idx, gen_idx):
    """One syrk per subset pair. Its lower part stays exactly 0, so those entries become
    k = (0 + 1)^3 = 1 exactly and are subtracted by count instead of being masked."""
    from scipy.linalg import blas  # imported here: only KID needs it

    dtype = real.dtype
    syrk = blas.dsyrk if dtype == np.float64 else blas.ssyrk
    s = real_idx.shape[1]
    n2, d = 2 * s, real.shape[1]
    inv_d = 1.0 / d
    z = np.empty((n2, d), dtype)
    gram = np.zeros((n2, n2), dtype, order="F")
    buf_u = np.empty(_KID_SLAB * n2)
    buf_k = np.empty(_KID_SLAB * n2)
    # row slabs of the lower triangle (the transposed upper one), never straddling the real/generated cut
    slabs = [(r0, min(r0 + _KID_SLAB, s)) for r0 in range(0, s, _KID_SLAB)]
    slabs += [(r0, min(r0 + _KID_SLAB, n2)) for r0 in range(s, n2, _KID_SLAB)]
    values = np.empty(len(real_idx))
    for t, (ir, ig) in enumerate(zip(real_idx, gen_idx)):
        np.take(real, ir, axis=0, out=z[:s])
        np.take(generated, ig, axis=0, out=z[s:])
        # z.T is Fortran-contiguous (d, 2s): C = z z' with no copy; only the upper triangle is written
        gram = syrk(1.0, z.T, trans=1, lower=0, c=gram, overwrite_c=1)
        low = gram.T  # C-contiguous, lower triangle incl. diagonal
        kd = (np.diagonal(low).astype(np.float64) * inv_d + 1.0) ** 3
        s_xx = s_yy = s_xy = 0.0
        for r0, r1 in slabs:
            rows = r1 - r0
            u = buf_u[: rows * r1].reshape(rows, r1)
            np.multiply(low[r0:r1, :r1], inv_d, out=u, dtype=np.float64)
            u += 1.0
            k = buf_k[: rows * r1].reshape(rows, r1)
            np.multiply(u, u, out=k)
            k *= u
            zeros = rows * (rows - 1) // 2  # strictly-upper entries of this slab's own square
            if r0 < s:
                s_xx += k.sum() - zeros
            else:
                s_xy += k[:, :s].sum()
                s_yy += k[:, s:].sum() - zeros
        s_xx = 2.0 * (s_xx - kd[:s].sum())  # both triangles, diagonal removed
        s_yy = 2.0 * (s_yy - kd[s:].sum())
        values[t] = (s_xx + s_yy) / (s * (s - 1)) - 2.0 * s_xy / (s * s)
    return values


def _kid_pooled(real, generated, real_idx, gen_idx, chunk):
    """Pooled Gram matrix in blocks on and above the diagonal, each entry once; per-subset sums
    ``a' K a`` (real-real), ``b' K b`` (generated-generated) and ``a' K b`` from indicator rows a, b."""
    n, d = len(real), real.shape[1]
    z = np.concatenate([real, generated])
    n_total, subsets, s = len(z), len(real_idx), real_idx.shape[1]
    ind_a = np.zeros((subsets, n_total))
    np.put_along_axis(ind_a, real_idx, 1.0, axis=1)
    ind_b = np.zeros((subsets, n_total))
    np.put_along_axis(ind_b, gen_idx + n, 1.0, axis=1)
    s_xx, s_yy, s_xy = np.zeros(subsets), np.zeros(subsets), np.zeros(subsets)
    diag = np.empty(n_total)
    inv_d = 1.0 / d
    for i0, i1, j0, j1 in _blocks(n_total, chunk):
        zi = z[i0:i1]
        g = np.matmul(zi, zi.T) if i0 == j0 else zi @ z[j0:j1].T  # numpy uses syrk for zi @ zi.T
        k = g.astype(np.float64)
        k *= inv_d
        k += 1.0
        k = k * k * k
        if i0 == j0:
            diag[i0:i1] = np.diagonal(k)
        mirror = 1.0 if i0 == j0 else 2.0  # an off-diagonal block stands for itself and its transpose
        a_i, b_i, a_j, b_j = ind_a[:, i0:i1], ind_b[:, i0:i1], ind_a[:, j0:j1], ind_b[:, j0:j1]
        if i0 < n:  # rows of this block include real rows
            pa = a_i @ k
            s_xx += mirror * np.einsum("ij,ij->i", pa, a_j)
            if j1 > n:
                s_xy += np.einsum("ij,ij->i", pa, b_j)
        if i1 > n:  # ... generated rows (real rows come first, so a real-generated pair (i, j) always
            # has i < j and lies on or above the diagonal: the pa-by-b_j term above counts it once)
            pb = b_i @ k
            s_yy += mirror * np.einsum("ij,ij->i", pb, b_j)
    s_xx -= ind_a @ diag
    s_yy -= ind_b @ diag
    return (s_xx + s_yy) / (s * (s - 1)) - 2.0 * s_xy / (s * s)


@metric("kid", needs="features", higher_is_better=False, group="kernel")
def kid(real, generated, *, subsets=100, subset_size=None, seed=0, dtype="float32") -> MetricResult:
    """Kernel Inception Distance: mean unbiased polynomial-kernel MMD^2 over random subsets (Binkowski et al., 2018).

    Parameters
    ----------
    real, generated : array_like, shape (n, d) and (m, d)
        Feature sets (Inception pool features for the classic KID).
    subsets : int
        Number of subset pairs.
    subset_size : int or None
        Rows per subset, drawn without replacement from each set; at most ``min(n, m)``. ``None``
        (default): ``min(1000, n, m)``, clean-fid's rule, so small sets work; ``extras`` then says
        ``subset_size_rule``.
    seed : int or numpy.random.Generator
        Randomness of the subsets: for each subset, ``rng.choice(n, subset_size, replace=False)`` for
        ``real`` then the same for ``generated``.
    dtype : {"float32", "float64"}
        Precision of the Gram products ``x . y`` (kernel values and all sums are float64); float64 is
        used instead of float32 when float32 products would overflow (features above ~1e18 / sqrt(d)),
        and ``extras["dtype_note"]`` says so. float32
        runs at twice float64's speed; on torch-fidelity's own subsets (n = 10,000, d = 2048, see
        benchmarks/bench_kernel.py) the float32 mean is within ~2e-7 relative of the float64 one,
        while torch-fidelity's float32 result is ~1e-4 off (it also sums in float32).

    Returns
    -------
    MetricResult
        ``value``: mean of the subset MMD^2 values; ``extras["subset_std"]``: their standard deviation
        (ddof=0, as torch-fidelity reports it); ``extras["subset_mean_ci"]``: the 95% t interval of the
        mean over subsets (Monte-Carlo error given the features only); ``ci``: a 95% interval for the
        population KID (grouped jackknife, see Notes; ``None`` for a single subset or fewer than 20
        rows per set); ``replicates``: its leave-one-group-out values (in memory only).

    Notes
    -----
    Kernel ``k(x, y) = (x . y / d + 1)^3``. Per subset, the unbiased MMD^2 is
    ``(S_xx' + S_yy') / (s(s-1)) - 2 S_xy / s^2`` (primes: diagonals removed). Two exact routes give
    the same numbers; the cheaper one is used. When the sets are much larger than the subsets, each
    subset pair gets one symmetric rank-k update (syrk: each inner product once, lower triangle left
    at 0 and accounted for by count). When subsets overlap a lot (``subsets * (2 s)^2`` above about
    ``(n + m)^2``, e.g. the default 100 x 1000 on 5000 samples per side), the pooled Gram matrix is
    computed once in blocks and every subset's sums are quadratic forms of its indicator vectors,
    which is 3-4x less work there. The interval is the
    Monte-Carlo error of averaging over random subsets *given the features*: subsets overlap, so it
    is not a confidence interval for the population KID, so it is only kept in
    ``extras["subset_mean_ci"]``. ``ci`` is one: given the features the subset mean averages to the
    full-sample unbiased MMD^2, so its variance is that U-statistic's variance (estimated by a
    grouped jackknife, :mod:`metrics.resampling`, from polynomial-kernel block sums per group in one
    extra pass over the pooled Gram matrix) plus the subset Monte-Carlo variance; t interval with
    9 degrees of freedom, centred at the (unbiased) value.

    References
    ----------
    Binkowski, Sutherland, Arbel, Gretton (2018). Demystifying MMD GANs. ICLR.

    Examples
    --------
    >>> import metrics
    >>> x, y = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]
    >>> metrics.kid(x, y, subsets=1, subset_size=3).value  # 1 + 17/3 - 2 * 27.75/9
    0.5
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = dtype
    check_choice(name, "dtype", ("float32", "float64"))
    # checked in the input's own dtype: a cast to float32 first would turn finite values above
    # 3.4e38 into inf and call them "non-finite"
    real, generated = check_pair(real, generated, dtype=None)
    n, m = len(real), len(generated)
    top, notes = max(max_abs(real), max_abs(generated)), {}
    if name == "float32" and top > math.sqrt(_F32_GRAM_MAX / real.shape[1]):
        name = "float64"
        notes["dtype_note"] = (f"float64 Gram products: features of magnitude {top:.3g} would overflow float32 "
                               "(x . y above 3.4e38)")
    np_dtype = np.dtype(name)
    real, generated = real.astype(np_dtype, copy=False), generated.astype(np_dtype, copy=False)
    n_sub = check_int(subsets, "subsets", low=1)
    if subset_size is None:
        subset_size = min(1000, n, m)
        notes["subset_size_rule"] = f"min(1000, n, m) = {subset_size} (clean-fid's rule; pass subset_size to change)"
    if isinstance(subset_size, bool) or not isinstance(subset_size, numbers.Integral):
        raise InputError(f"`subset_size` must be an int; got {subset_size!r}.")
    if not 2 <= subset_size <= min(n, m):
        raise InputError(
            f"`subset_size` must be an int in [2, {min(n, m)}] (2 <= it <= the smaller sample size: real has "
            f"{n} rows, generated {m}); got {subset_size}. Pass `subset_size={min(n, m)}` or smaller, or "
            "provide more samples.")
    s = int(subset_size)
    rng = check_seed(seed)
    real_idx, gen_idx = np.empty((n_sub, s), np.int64), np.empty((n_sub, s), np.int64)
    for t in range(n_sub):
        real_idx[t] = rng.choice(n, s, replace=False)
        gen_idx[t] = rng.choice(m, s, replace=False)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, naming its cause
        values = _kid_subset_values(real, generated, real_idx, gen_idx)
        spread = float(values.std())
    mean = _finite_value(float(values.mean()), "kid", _Kernel("polynomial"), real, generated)
    _finite_value(spread, "the spread of kid over subsets", _Kernel("polynomial"), real, generated)
    ci = None
    if n_sub > 1:
        from scipy import stats

        half = float(stats.t.ppf(0.975, n_sub - 1) * values.std(ddof=1) / math.sqrt(n_sub))
        ci = ConfidenceInterval(mean - half, mean + half, 0.95,
                                "t over subsets: Monte-Carlo error of the subset mean given the features, "
                                "not the sampling error of the features")
    extras = {"subset_std": float(values.std()), "subsets": n_sub, "subset_size": s, "dtype": name, **notes}
    reps = None
    if ci is not None:  # the Monte-Carlo error of the subset mean is kept, named as what it is
        extras["subset_mean_ci"] = [ci.low, ci.high]
        ci = None
    if min(n, m) >= 2 * GROUPS and n_sub > 1:
        # issue 13: the interval covers the population KID (the subset mean is unbiased for it): the
        # grouped-jackknife variance of the full-sample U-statistic plus the subset Monte-Carlo variance
        reps = _kid_replicates(real, generated, group_seed(seed), float(values.var(ddof=1) / n_sub))
        ci, _ = jackknife_interval(mean, reps)
    return MetricResult("kid", mean, False, ci=ci, n=(n, m), extras=extras, replicates=reps)


# --------------------------------------------------------------------------------------------------
# leave-one-group-out replicates (issue 13): kernel block sums per (set, group) label
# --------------------------------------------------------------------------------------------------


def _pooled_labels(n, m, groups, seed):
    """Label of each pooled row: its group for real rows, ``groups +`` its group for generated rows."""
    return np.concatenate([group_labels(n, groups, seed), groups + group_labels(m, groups, seed)])


def _group_mmd2(block_sums, diag_sums, counts, groups, estimator):
    """MMD^2 on all rows but group g of each set, for every g, and on all rows but groups g and
    g + 1 mod G (:func:`metrics.resampling.pair_groups`), from (2G x 2G) label block sums."""
    def without(drop):
        keep = np.ones(groups, dtype=bool)
        keep[list(drop)] = False
        r, q = np.flatnonzero(keep), groups + np.flatnonzero(keep)
        return _mmd2_from_sums(block_sums[np.ix_(r, r)].sum(), block_sums[np.ix_(q, q)].sum(),
                               block_sums[np.ix_(r, q)].sum(), diag_sums[r].sum(), diag_sums[q].sum(),
                               counts[r].sum(), counts[q].sum(), estimator)

    values = np.array([without((g,)) for g in range(groups)], dtype=np.float64)
    pairs = np.array([without(gh) for gh in pair_groups(groups)], dtype=np.float64)
    folds = None
    if estimator == "unbiased":  # each group alone (diagonal blocks): see metrics.resampling
        folds = np.array([_mmd2_from_sums(block_sums[g, g], block_sums[groups + g, groups + g],
                                          block_sums[g, groups + g], diag_sums[g], diag_sums[groups + g],
                                          counts[g], counts[groups + g], estimator) for g in range(groups)])
    return values, pairs, folds


def _group_row_sums(z, sq, n, kern, chunk, estimator, *, centre="plain", seed=0):
    """:func:`_row_sums` plus leave-one-group-out replicates of MMD^2, from the same kernel blocks.

    Each block is also reduced to per-row sums by label (``k @ onehot``, ``2G`` columns), so the label
    block sums cost ``O(N^2 G)`` on top of the kernel evaluations and no kernel entry is computed twice.
    Replicates keep the bandwidth of the full sets (a smooth, low-variance function of them).
    """
    n_total = len(z)
    m = n_total - n
    if min(n, m) < 2 * GROUPS:
        return (*_row_sums(z, sq, n, kern, chunk), None)
    labels = _pooled_labels(n, m, GROUPS, seed)
    onehot = np.zeros((n_total, 2 * GROUPS))
    onehot[np.arange(n_total), labels] = 1.0
    by_label = np.zeros((n_total, 2 * GROUPS))
    diag = np.zeros(n_total)
    for i0, i1, j0, j1 in _blocks(n_total, chunk):
        k = kern.block(z[i0:i1], z[j0:j1], sq[i0:i1], sq[j0:j1], diagonal=i0 == j0)
        by_label[i0:i1] += k @ onehot[j0:j1]
        if i0 == j0:
            diag[i0:i1] = np.diagonal(k)
        else:
            by_label[j0:j1] += k.T @ onehot[i0:i1]
    to_real, to_gen = by_label[:, :GROUPS].sum(axis=1), by_label[:, GROUPS:].sum(axis=1)
    sums, diag_sums = onehot.T @ by_label, onehot.T @ diag
    values, pairs, folds = _group_mmd2(sums, diag_sums, onehot.sum(axis=0), GROUPS, estimator)
    reps = GroupReplicates(values, seed, (n, m), centre, method="kernel block sums by group", pair_values=pairs,
                           fold_values=folds)
    return to_real, to_gen, diag, reps


def _kid_replicates(real, generated, seed, mc_variance, chunk=2048):
    """Leave-one-group-out unbiased polynomial-kernel MMD^2 over the full sets.

    The subset mean is an incomplete U-statistic whose conditional mean given the features is this
    full-sample U-statistic, so its variance is the U-statistic's (estimated by the jackknife of
    these replicates) plus the subset Monte-Carlo variance (``mc_variance``, carried as
    ``extra_variance``). Gram products in the input precision, kernel values and sums in float64.
    """
    n, m, d = len(real), len(generated), real.shape[1]
    z = np.concatenate([real, generated])
    n_total = len(z)
    labels = _pooled_labels(n, m, GROUPS, seed)
    onehot = np.zeros((n_total, 2 * GROUPS))
    onehot[np.arange(n_total), labels] = 1.0
    sums = np.zeros((2 * GROUPS, 2 * GROUPS))
    diag = np.zeros(n_total)
    for i0, i1, j0, j1 in _blocks(n_total, chunk):
        zi = z[i0:i1]
        g = np.matmul(zi, zi.T) if i0 == j0 else zi @ z[j0:j1].T
        k = g.astype(np.float64)
        k *= 1.0 / d
        k += 1.0
        k = k * k * k
        part = onehot[i0:i1].T @ k @ onehot[j0:j1]
        sums += part if i0 == j0 else part + part.T
        if i0 == j0:
            diag[i0:i1] = np.diagonal(k)
    diag_sums, counts = onehot.T @ diag, onehot.sum(axis=0)
    values, pairs, folds = _group_mmd2(sums, diag_sums, counts, GROUPS, "unbiased")
    r, q = slice(0, GROUPS), slice(GROUPS, 2 * GROUPS)
    full = _mmd2_from_sums(sums[r, r].sum(), sums[q, q].sum(), sums[r, q].sum(), diag_sums[r].sum(),
                           diag_sums[q].sum(), n, m, "unbiased")
    return GroupReplicates(values, seed, (n, m), "plain", extra_variance=mc_variance,
                           method="polynomial-kernel block sums by group (full-sample U-statistic)",
                           pair_values=pairs, full_value=float(full), fold_values=folds)
