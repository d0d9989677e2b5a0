"""k-NN manifold metrics: improved precision/recall and density/coverage on feature sets.

Every metric here compares points against k-nearest-neighbour balls: the ball around a point of one
set has radius equal to the distance from that point to its k-th nearest neighbour *in its own set*
(the point itself excluded; duplicates count as neighbours at distance 0).

Exactness. All neighbour searches are exact. Squared distances are first computed in float32 blocks
with the Gram expansion ``|a|^2 + |b|^2 - 2 a.b`` (one BLAS matmul per block, on data centred at a
common mean), and every float32 value comes with a rigorous error bound (see ``_tau``). Only the
decisions the bound cannot settle - the neighbours near the k-th and the pairs whose distance lies
within the bound of a radius - are recomputed exactly in float64 as ``sum((x - y)**2)`` from the
input values. The results are therefore those of exact float64 distances, independent of the block
size; float32 only buys speed (2x the BLAS throughput, and half the memory of a float64 copy).

Memory. Distances are never held as an ``n x n`` matrix: they are produced in ``chunk_size x
chunk_size`` blocks and reduced at once (running top-L lists for the radii, counts for the
metrics), and the centred float32 rows are made per block too, so the extra memory is a few
blocks (about ``10 * chunk_size**2`` bytes) plus O(n k) lists, whatever n.

Intervals (issue 13). Each result carries a grouped-jackknife interval for its expectation at
these sample sizes (:mod:`metrics.resampling`). Replicate g drops group g of both sets and
recomputes every radius and ball membership on what is left: each row keeps its ``2K + 8`` nearest
neighbours (exact float64 distances), from which its k-th neighbour outside any group is read; the
real x generated pairs within the largest leave-out radius are collected in one float32 pass
(pairs near any replicate's radius recomputed exactly), and each replicate's four counts come from
those pairs. The same lists give the leave-two-groups-out values (groups g and g + 1 mod G) that
correct the jackknife variance for its second-order bias. Tests check the replicates equal
re-running the metric on the leave-out rows.

Sharing. The harness calls ``precision``, ``recall``, ``density`` and ``coverage`` one at a time on
the same arrays. A small LRU memo keyed by a SHA-256 fingerprint of each array's bytes (plus shape,
dtype, k and ``chunk_size``) keeps each set's k-NN radii and the real-x-generated counts, so the four
together cost one radii pass per set and one cross pass. The fingerprint hashes the full array
(about 0.05 s for 10,000 x 2048 float32), never a sample, so two arrays that differ anywhere never
share an entry; the memo holds derived numbers only (radii, counts), never the arrays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ._checks import check_int, check_pair
from .errors import InputError
from .registry import metric
from .resampling import GROUPS, GroupReplicates, group_labels, jackknife_interval, pair_groups
from .result import MetricResult

#: k values whose radii and counts are always computed together, so the default calls
#: ``precision_recall(k=3)`` and ``density_coverage(k=5)`` share one pass over the data.
_SHARED_KS = (3, 5)
#: Extra neighbours kept per row beyond K; they let the float32 pass prove that the exact K nearest
#: are among the kept candidates (otherwise that row falls back to an exact float64 scan).
_EXTRA_CANDIDATES = 8
#: Entries kept per memo (each holds derived numbers only, O(n * K)). A board scores every model on
#: precision, then on recall ...: with fewer entries than models + 1, each metric recomputed them all.
_MEMO_SIZE = 16
#: Pairs recomputed exactly per batch: small enough that the gathered rows stay in cache.
_EXACT_BATCH = 128
#: Candidate pairs whose float32 distances are checked against every replicate's radii at once.
_PAIR_BATCH = 1 << 14
_U32 = 2.0 ** -24  # unit roundoff of float32
_U64 = 2.0 ** -53  # unit roundoff of float64

_RADII_MEMO: OrderedDict = OrderedDict()
_CROSS_MEMO: OrderedDict = OrderedDict()
_GROUP_MEMO: OrderedDict = OrderedDict()


class PrecisionRecall(NamedTuple):
    """The two results of :func:`precision_recall`."""

    precision: MetricResult
    recall: MetricResult


class DensityCoverage(NamedTuple):
    """The two results of :func:`density_coverage`."""

    density: MetricResult
    coverage: MetricResult


# --------------------------------------------------------------------------------------------- API


def precision_recall(real, generated, *, k: int = 3, chunk_size: int = 2048) -> PrecisionRecall:
    """Improved precision and recall of a generated feature set (Kynkaanniemi et al., 2019).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Reference features.
    generated : array_like, shape (m, d)
        Features of the model's samples.
    k : int, default 3
        Neighbourhood size: each point's ball reaches its k-th nearest neighbour in its own set.
        Must be in ``[1, min(n, m) - 1]``.
    chunk_size : int, default 2048
        Rows per block of the distance matrix. Extra memory is about ``10 * chunk_size**2`` bytes
        (40 MB at the default) plus O(n k); results do not depend on it.

    Returns
    -------
    PrecisionRecall
        Named tuple ``(precision, recall)`` of :class:`~metrics.result.MetricResult`.
        ``precision`` is the fraction of generated points inside at least one real ball (sample
        quality); ``recall`` the fraction of real points inside at least one generated ball
        (coverage of the real distribution). Both in [0, 1], higher is better. With at least 20
        rows per set each carries a 95% ``ci`` for its expectation at these sample sizes (the
        estimand: k-NN metrics have no sample-size-free population value) from a grouped jackknife
        over 10 groups of both sets, clipped to [0, 1], and the leave-one-group-out values in
        ``replicates`` (in memory only).

    Notes
    -----
    With :math:`r_k(x)` the distance from :math:`x` to its k-th nearest neighbour in its own set,

    .. math::

        P = \\frac1m \\sum_j 1[\\exists i: \\|y_j - x_i\\| \\le r_k(x_i)], \\qquad
        R = \\frac1n \\sum_i 1[\\exists j: \\|x_i - y_j\\| \\le r_k(y_j)].

    The balls are closed (``<=``), as in torch-fidelity; prdc uses a strict ``<``, which only
    differs on exact ties (duplicated points, lattice data). Neighbour searches are exact (see the
    module notes); precision and recall are invariant to row order and to ``chunk_size``.

    References
    ----------
    .. [1] T. Kynkaanniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila. "Improved Precision and
       Recall Metric for Assessing Generative Models". NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> real = np.random.default_rng(0).normal(size=(500, 8))
    >>> p, r = metrics.precision_recall(real, real[:50] * 0.2)  # collapsed onto the centre
    >>> p.value, r.value
    (1.0, 0.0)
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    counts = _counts(real, generated, k, chunk_size)
    return PrecisionRecall(_with_ci(_precision_result(counts, k, real, generated), real, generated, k, chunk_size),
                           _with_ci(_recall_result(counts, k, real, generated), real, generated, k, chunk_size))


def density_coverage(real, generated, *, k: int = 5, chunk_size: int = 2048) -> DensityCoverage:
    """Density and coverage of a generated feature set (Naeem et al., 2020).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Reference features; the balls are built around these only.
    generated : array_like, shape (m, d)
        Features of the model's samples.
    k : int, default 5
        Neighbourhood size of the real balls. Must be in ``[1, min(n, m) - 1]``.
    chunk_size : int, default 2048
        Rows per block of the distance matrix; results do not depend on it.

    Returns
    -------
    DensityCoverage
        Named tuple ``(density, coverage)`` of :class:`~metrics.result.MetricResult`.
        ``density`` is the mean number of real balls holding a generated point, divided by k
        (about 1 when the two sets are independent samples of one distribution; can exceed 1);
        ``coverage`` the fraction of real points whose ball holds at least one generated point.
        Intervals and ``replicates`` as in :func:`precision_recall`.

    Notes
    -----
    .. math::

        D = \\frac{1}{km} \\sum_j \\sum_i 1[\\|y_j - x_i\\| \\le r_k(x_i)], \\qquad
        C = \\frac1n \\sum_i 1[\\min_j \\|x_i - y_j\\| \\le r_k(x_i)].

    Tie convention: closed balls (``<=``). With identical real and generated sets every real point
    holds its own copy, so coverage is exactly 1 and density is :math:`1 + 1/k` for distinct
    points (each ball holds its centre's copy plus its k neighbours; with independent samples the
    expectation is 1). prdc's strict ``<`` gives density exactly 1 on identical distinct sets but
    0 for everything once a set holds duplicates (zero radii contain nothing); here a zero-radius
    ball still holds copies of its centre, so coverage stays 1.

    References
    ----------
    .. [1] M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo. "Reliable Fidelity and Diversity Metrics
       for Generative Models". ICML 2020.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> x = np.random.default_rng(0).normal(size=(300, 4))
    >>> d, c = metrics.density_coverage(x, x)
    >>> round(d.value, 6), c.value
    (1.2, 1.0)
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    counts = _counts(real, generated, k, chunk_size)
    return DensityCoverage(_with_ci(_density_result(counts, k, real, generated), real, generated, k, chunk_size),
                           _with_ci(_coverage_result(counts, k, real, generated), real, generated, k, chunk_size))


@metric("precision", needs="features", higher_is_better=True, group="perceptual")
def precision(real, generated, *, k: int = 3, chunk_size: int = 2048) -> MetricResult:
    """Improved precision: fraction of generated points inside a real k-NN ball (Kynkaanniemi 2019).

    The precision half of :func:`precision_recall`; see there for parameters and conventions.
    Calls on the same arrays share their k-NN work through the module memo.
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    return _with_ci(_precision_result(_counts(real, generated, k, chunk_size), k, real, generated), real, generated, k,
                    chunk_size)


@metric("recall", needs="features", higher_is_better=True, group="perceptual")
def recall(real, generated, *, k: int = 3, chunk_size: int = 2048) -> MetricResult:
    """Improved recall: fraction of real points inside a generated k-NN ball (Kynkaanniemi 2019).

    The recall half of :func:`precision_recall`; see there for parameters and conventions.
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    return _with_ci(_recall_result(_counts(real, generated, k, chunk_size), k, real, generated), real, generated, k,
                    chunk_size)


@metric("density", needs="features", higher_is_better=True, group="perceptual")
def density(real, generated, *, k: int = 5, chunk_size: int = 2048) -> MetricResult:
    """Density: mean count of real k-NN balls holding a generated point, over k (Naeem 2020).

    The density half of :func:`density_coverage`; see there for parameters and conventions.
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    return _with_ci(_density_result(_counts(real, generated, k, chunk_size), k, real, generated), real, generated, k,
                    chunk_size)


@metric("coverage", needs="features", higher_is_better=True, group="perceptual")
def coverage(real, generated, *, k: int = 5, chunk_size: int = 2048) -> MetricResult:
    """Coverage: fraction of real k-NN balls holding at least one generated point (Naeem 2020).

    The coverage half of :func:`density_coverage`; see there for parameters and conventions.
    """
    real, generated, k, chunk_size = _check_knn(real, generated, k, chunk_size)
    return _with_ci(_coverage_result(_counts(real, generated, k, chunk_size), k, real, generated), real, generated, k,
                    chunk_size)


# ---------------------------------------------------------------------------------------- results

_BALL = "closed: distance <= k-th neighbour distance"


def _precision_result(c, k, real, generated):
    return MetricResult("precision", float(c["precision"] / len(generated)), True,
                        n=(len(real), len(generated)),
                        extras={"k": k, "inside": int(c["precision"]), "ball": _BALL})


def _recall_result(c, k, real, generated):
    return MetricResult("recall", float(c["recall"] / len(real)), True,
                        n=(len(real), len(generated)),
                        extras={"k": k, "inside": int(c["recall"]), "ball": _BALL})


def _density_result(c, k, real, generated):
    return MetricResult("density", float(c["density"] / (k * len(generated))), True,
                        n=(len(real), len(generated)),
                        extras={"k": k, "ball_memberships": int(c["density"]), "ball": _BALL})


def _coverage_result(c, k, real, generated):
    return MetricResult("coverage", float(c["coverage"] / len(real)), True,
                        n=(len(real), len(generated)),
                        extras={"k": k, "covered": int(c["coverage"]), "ball": _BALL})


# ---------------------------------------------------------------------------------------- checks


def _check_knn(real, generated, k, chunk_size):
    # float32 input stays float32 (half the memory at n = 50,000); anything else becomes float64.
    real, generated = check_pair(real, generated, dtype=None, min_rows=2)
    if real.dtype != generated.dtype or real.dtype not in (np.float32, np.float64):
        real = np.ascontiguousarray(real, dtype=np.float64)
        generated = np.ascontiguousarray(generated, dtype=np.float64)
    n_min = min(len(real), len(generated))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_min - 1:
        raise InputError(
            f"`k` must be an int in [1, {n_min - 1}] (the k-th nearest neighbour excludes the point "
            f"itself, so k < the smaller sample size {n_min}); got {k!r}. "
            "Pass a smaller `k` or more samples."
        )
    chunk_size = check_int(chunk_size, "chunk_size", low=1,
                           hint="It is the number of rows per block of the distance matrix.")
    return real, generated, int(k), chunk_size


# ---------------------------------------------------------------------------------------- memo


def _fingerprint(x: np.ndarray) -> tuple:
    return (hashlib.sha256(memoryview(x).cast("B")).hexdigest(), x.shape, x.dtype.str)


def _memo_get(memo: OrderedDict, key):
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    return None


def _memo_put(memo: OrderedDict, key, value) -> None:
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > _MEMO_SIZE:
        memo.popitem(last=False)


def _clear_memo() -> None:
    """Forget all memoised radii and counts (tests use it; memory is O(n k) per entry anyway)."""
    _RADII_MEMO.clear()
    _CROSS_MEMO.clear()
    _GROUP_MEMO.clear()


def _counts(real, generated, k, chunk_size) -> dict:
    """The four counts at ``k``, sharing radii and the cross pass with earlier calls when possible."""
    n_min = min(len(real), len(generated))
    ks = tuple(sorted({k, *(s for s in _SHARED_KS if s < n_min)}))
    fp_r, fp_g = _fingerprint(real), _fingerprint(generated)
    key = (fp_r, fp_g, ks, chunk_size)
    cross = _memo_get(_CROSS_MEMO, key)
    if cross is None:
        # one centre (and one pass for the norms) per set, shared by the radii and cross passes
        centre = real.mean(axis=0)
        cr, cg = _Centred(real, centre), _Centred(generated, centre)
        r2 = _radii(real, fp_r, ks, chunk_size, cr)
        s2 = _radii(generated, fp_g, ks, chunk_size, cg)
        cross = _cross_counts(real, generated, r2, s2, ks, chunk_size, cr, cg)
        _memo_put(_CROSS_MEMO, key, cross)
    return cross[k]


def _radii(x, fp, ks, chunk_size, centred=None) -> np.ndarray:
    """Memoised exact squared k-NN distances, shape (n, len(ks)), one column per k in ``ks``."""
    for key in reversed(_RADII_MEMO):
        fp_c, chunk_c, ks_c = key
        if fp_c == fp and chunk_c == chunk_size and set(ks) <= set(ks_c):
            _RADII_MEMO.move_to_end(key)
            return _RADII_MEMO[key][:, [ks_c.index(k) for k in ks]]
    value = _knn_sqdist(x, ks, chunk_size, centred)
    _memo_put(_RADII_MEMO, (fp, chunk_size, ks), value)
    return value


# --------------------------------------------------------------------------------------- numerics


def _tau(d: int, u: float = _U32) -> float:
    """Relative error bound of a Gram-expansion squared distance: ``|D - d2| <= tau (|a|^2 + |b|^2)``.

    Terms (u the unit roundoff of the working precision, a and b the centred rows in that
    precision, their norms taken in float64): the matmul dot product errs by at most
    ``gamma_d |a||b| <= gamma_d (|a|^2+|b|^2)/2`` for any summation order (Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2002, eq. 3.5), counted twice; rounding the centred data
    moves the distance by at most ``4u (|a|^2+|b|^2)``; rounding both norms and the two additions
    add at most ``6u (|a|^2+|b|^2)``. So ``(d + 10) u`` up to O(u^2); we use twice that, and the
    factor 2 also absorbs the float64 rounding of the tests made against the bound.
    """
    return 2.0 * (d + 10) * u


class _Centred:
    """Float32 rows of ``x - centre``, made block by block, and their float64 squared norms.

    No centred copy of the whole set is kept: a block's rows are centred and rounded when the
    block is needed (O(chunk d) work against the block's O(chunk^2 d) matmul), so the extra
    memory of the k-NN passes does not grow with n beyond O(n K) candidate lists.
    """

    def __init__(self, x: np.ndarray, centre: np.ndarray):
        import torch

        self.x, self.centre = x, centre
        self.norms = np.empty(len(x))
        step = max(1, (1 << 22) // x.shape[1])
        for s in range(0, len(x), step):
            a = self.rows(slice(s, s + step)).numpy()
            self.norms[s:s + step] = np.einsum("ij,ij->i", a, a, dtype=np.float64)
        self.norms32 = torch.from_numpy(self.norms.astype(np.float32))

    def rows(self, sl):
        import torch

        return torch.from_numpy((self.x[sl] - self.centre).astype(np.float32))


def _sqdist32(c1: _Centred, rows, c2: _Centred, cols, a=None):
    """Float32 block of squared distances ``|a|^2 + |b|^2 - 2 a b^T`` (one matmul).

    ``a`` optionally passes the already centred rows ``c1.rows(rows)``.
    """
    import torch

    a = c1.rows(rows) if a is None else a
    out = torch.addmm(c2.norms32[cols][None, :], a, c2.rows(cols).T, beta=1.0, alpha=-2.0)
    out += c1.norms32[rows][:, None]
    return out


def _exact_sqdist(x, y, ii, jj) -> np.ndarray:
    """Exact float64 ``sum((x[i] - y[j])**2)`` for the index pairs, in small cache-sized batches."""
    out = np.empty(len(ii), dtype=np.float64)
    if not len(ii):
        return out
    buf = np.empty((min(len(ii), _EXACT_BATCH), x.shape[1]), dtype=np.float64)
    for s in range(0, len(ii), _EXACT_BATCH):
        e = min(len(ii), s + _EXACT_BATCH) - s
        # the difference of two float32 (or float64) inputs is formed in float64
        np.subtract(x[ii[s:s + e]], y[jj[s:s + e]], out=buf[:e], dtype=np.float64)
        out[s:s + e] = np.einsum("ij,ij->i", buf[:e], buf[:e])
    return out


def _decided_sqdist(x, y, ii, jj, thresholds, centre) -> np.ndarray:
    """Squared distances of the pairs, exact enough that ``d2 <= t`` is right for every threshold.

    Few pairs: exact values directly. Many pairs on few distinct rows/columns: one float64 Gram
    block over those rows and columns (a matmul is ~100x cheaper per pair than gathering rows),
    whose error bound (``_tau`` with float64 roundoff, ~1e-12 relative) leaves only genuine
    near-ties to recompute exactly.
    """
    ui, inv_i = np.unique(ii, return_inverse=True)
    uj, inv_j = np.unique(jj, return_inverse=True)
    if len(ii) < 256 or len(ui) * len(uj) > 32 * len(ii):
        return _exact_sqdist(x, y, ii, jj)
    xa = x[ui] - centre
    yb = y[uj] - centre
    na, nb = np.einsum("ij,ij->i", xa, xa), np.einsum("ij,ij->i", yb, yb)
    gram = xa @ yb.T
    d2 = na[inv_i] + nb[inv_j] - 2.0 * gram[inv_i, inv_j]
    err = _tau(x.shape[1], _U64) * (na.max() + nb.max())
    close = (np.abs(d2[:, None] - thresholds) <= err).any(axis=1)
    d2[close] = _exact_sqdist(x, y, ii[close], jj[close])
    return d2


def _up32(x: np.ndarray) -> np.ndarray:
    """Smallest float32 >= x (elementwise): a threshold that can only widen a candidate test."""
    y = x.astype(np.float32)
    return np.where(y < x, np.nextafter(y, np.float32(np.inf)), y)


def _merge_topl(best_v, best_i, rows, block, col0: int, L: int) -> None:
    """Fold the L smallest entries of each row of ``block`` into the running lists of ``rows``."""
    import torch

    l_blk = min(L, block.shape[1])
    v, i = torch.topk(block, l_blk, dim=1, largest=False, sorted=False)
    v = torch.cat([best_v[rows], v], dim=1)
    i = torch.cat([best_i[rows], i + col0], dim=1)
    v, pos = torch.topk(v, L, dim=1, largest=False, sorted=False)
    best_v[rows] = v
    best_i[rows] = torch.gather(i, 1, pos)


def _merge_sparse(best_v, best_i, owner, vals, idx, L: int) -> None:
    """Fold candidate entries ``(owner row, value, column index)`` into the running top-L lists.

    After the diagonal blocks every row has a threshold (its current L-th value), and an
    off-diagonal block holds only a few entries below it (about L per row at first, fewer later);
    merging just those is much cheaper than a top-L over the whole block, twice (rows, columns).
    Plain numpy: these arrays are small, and single-threaded code does not wait on a busy pool.
    """
    if not len(owner):
        return
    order = np.argsort(owner, kind="stable")
    owner, vals, idx = owner[order], vals[order], idx[order]
    rows, first, counts = np.unique(owner, return_index=True, return_counts=True)
    slot = np.repeat(np.arange(len(rows)), counts)
    pos = np.arange(len(owner)) - np.repeat(first, counts)
    width = int(counts.max())
    v = np.full((len(rows), L + width), np.inf, dtype=best_v.dtype)
    i = np.zeros((len(rows), L + width), dtype=best_i.dtype)
    v[:, :L], i[:, :L] = best_v[rows], best_i[rows]
    v[slot, L + pos], i[slot, L + pos] = vals, idx
    pick = np.argpartition(v, L - 1, axis=1)[:, :L]
    best_v[rows] = np.take_along_axis(v, pick, axis=1)
    best_i[rows] = np.take_along_axis(i, pick, axis=1)


def _knn_sqdist(x: np.ndarray, ks, chunk: int, centred=None) -> np.ndarray:
    """Exact squared distance from each row to its k-th nearest other row, for each k in ``ks``.

    A float32 pass keeps the ``L = 2K + 8`` smallest candidates per row: first each diagonal
    block (a top-L per row), then the blocks above the diagonal, each feeding both its rows and
    its columns (the distance matrix is symmetric) with only the entries below the current L-th
    value. Rows whose candidates provably hold their K nearest are finished by recomputing
    exactly the candidates within twice the error bound of each k-th value; the rest (near-ties
    around the K-th neighbour) are redone with a float64 pass, and rows still tied by an exact
    scan. ``centred`` optionally passes the set's :class:`_Centred` view.
    Returns shape (n, len(ks)), float64.
    """
    import torch

    n, d = x.shape
    K = max(ks)
    L = min(n - 1, 2 * K + _EXTRA_CANDIDATES)
    cx = _Centred(x, x.mean(axis=0)) if centred is None else centred
    best_v = torch.full((n, L), math.inf, dtype=torch.float32)
    best_i = torch.zeros((n, L), dtype=torch.int64)
    bv, bi = best_v.numpy(), best_i.numpy()  # shared memory: numpy for the small merges
    starts = range(0, n, chunk)
    for s0 in starts:
        rows = slice(s0, min(n, s0 + chunk))
        block = _sqdist32(cx, rows, cx, rows)
        block.fill_diagonal_(math.inf)  # a point is not its own neighbour
        v, i = torch.topk(block, min(L, block.shape[1]), dim=1, largest=False, sorted=False)
        bv[rows, :v.shape[1]], bi[rows, :v.shape[1]] = v.numpy(), i.numpy() + s0
    for s0 in starts:
        rows = slice(s0, min(n, s0 + chunk))
        a = cx.rows(rows)
        for t0 in range(s0 + chunk, n, chunk):
            cols = slice(t0, min(n, t0 + chunk))
            block = _sqdist32(cx, rows, cx, cols, a)
            thr_r, thr_c = bv[rows].max(axis=1), bv[cols].max(axis=1)
            hit = block < torch.from_numpy(thr_r)[:, None]
            hit |= block < torch.from_numpy(thr_c)[None, :]
            r, c = (t.numpy() for t in torch.nonzero(hit, as_tuple=True))
            v = block.numpy()[r, c]
            for_row, for_col = v < thr_r[r], v < thr_c[c]
            _merge_sparse(bv, bi, r[for_row] + s0, v[for_row], c[for_row] + t0, L)
            _merge_sparse(bv, bi, c[for_col] + t0, v[for_col], r[for_col] + s0, L)
    del block
    best_v, order = torch.sort(best_v, dim=1)
    best_i = torch.gather(best_i, 1, order).numpy()
    best_v = best_v.numpy().astype(np.float64)
    err = _tau(d) * (cx.norms + cx.norms.max())
    out, done = _radii_from_candidates(x, np.arange(n), best_v, best_i, err, ks, L == n - 1)
    todo = np.flatnonzero(~done)
    for s in range(0, len(todo), chunk):
        rows = todo[s:s + chunk]
        out[rows] = _knn_rows64(x, rows, ks, L, chunk, cx.centre)
    return out


def _radii_from_candidates(x, rows, best_v, best_i, err, ks, all_kept):
    """Exact k-th distances from sorted approximate candidate lists with error bound ``err``.

    For each k, candidates more than ``2 err`` below the approximate k-th value are surely nearer
    than the true k-th neighbour and candidates more than ``2 err`` above are surely farther, so
    the true k-th value is the ``(k - #below)``-th smallest exact value inside that band. Returns
    the values and which rows are complete (their K nearest provably among the candidates).
    """
    m, L = best_v.shape
    K = max(ks)
    if all_kept:
        complete = np.ones(m, dtype=bool)
    else:
        complete = best_v[:, L - 1] > best_v[:, K - 1] + 2.0 * err
    bands, need = [], np.zeros(best_v.shape, dtype=bool)
    for k in ks:
        lo = best_v[:, k - 1] - 2.0 * err
        band = (best_v >= lo[:, None]) & (best_v <= (best_v[:, k - 1] + 2.0 * err)[:, None])
        bands.append((band, (best_v < lo[:, None]).sum(axis=1)))
        need |= band
    need &= complete[:, None]
    r_, c_ = np.nonzero(need)
    exact = np.full(best_v.shape, np.inf)
    exact[r_, c_] = _exact_sqdist(x, x, rows[r_], best_i[r_, c_])
    out = np.full((m, len(ks)), np.inf)
    for t, (k, (band, below)) in enumerate(zip(ks, bands)):
        vals = np.sort(np.where(band, exact, np.inf), axis=1)
        out[:, t] = vals[np.arange(m), np.clip(k - below - 1, 0, L - 1)]
    return out, complete


def _knn_rows64(x, rows, ks, L, chunk, centre) -> np.ndarray:
    """Exact k-NN distances for a few rows by a float64 Gram pass (then exact scans on ties)."""
    import torch

    n, d = x.shape
    xr = x[rows] - centre
    nr = np.einsum("ij,ij->i", xr, xr)
    best_v = torch.full((len(rows), L), math.inf, dtype=torch.float64)
    best_i = torch.zeros((len(rows), L), dtype=torch.int64)
    n_max = 0.0
    for t0 in range(0, n, chunk):
        xc = x[t0:t0 + chunk] - centre
        nc = np.einsum("ij,ij->i", xc, xc)
        n_max = max(n_max, nc.max())
        block = torch.from_numpy(nr[:, None] + nc[None, :] - 2.0 * (xr @ xc.T))
        own = (rows >= t0) & (rows < t0 + len(xc))
        block[np.flatnonzero(own), rows[own] - t0] = math.inf
        _merge_topl(best_v, best_i, slice(None), block, t0, L)
    best_v, order = torch.sort(best_v, dim=1)
    best_i = torch.gather(best_i, 1, order).numpy()
    err = _tau(d, _U64) * (nr + n_max)
    out, done = _radii_from_candidates(x, rows, best_v.numpy(), best_i, err, ks, L == n - 1)
    for r in np.flatnonzero(~done):  # exact ties around the K-th neighbour: scan the row exactly
        others = np.delete(np.arange(n), rows[r])
        d2 = np.sort(_exact_sqdist(x, x, np.full(n - 1, rows[r]), others))
        out[r] = d2[[k - 1 for k in ks]]
    return out


def _cross_counts(real, generated, r2, s2, ks, chunk, cr=None, cg=None) -> dict:
    """One pass over real x generated blocks: precision/recall/density/coverage counts for each k.

    ``r2``/``s2`` (one column per k) are the exact squared radii of real/generated points. Ball
    memberships are sparse (about k per point when the sets match), so each float32 block is
    reduced to the pairs that might lie in a ball of the largest k (a superset for every smaller
    k). Among those, a pair within the error bound of a radius is decided exactly - every such
    pair of a real ball (density counts them all), and a generated-ball pair only while its real
    point is not yet known to be inside some generated ball (recall is an "any").
    Memory per block is O(chunk**2) at worst (every pair a candidate), typically O(k * chunk).
    """
    import torch

    n, d = real.shape
    m = len(generated)
    nk = len(ks)
    if cr is None:
        cr = _Centred(real, real.mean(axis=0))
    if cg is None or cg.centre is not cr.centre:
        cg = _Centred(generated, cr.centre)  # both sets must share one centre here
    centre, na, nb = cr.centre, cr.norms, cg.norms
    tau = _tau(d)
    dens = np.zeros((nk, m), dtype=np.int64)
    cov = np.zeros((n, nk), dtype=bool)
    rec = np.zeros((n, nk), dtype=bool)
    for s0 in range(0, n, chunk):
        rows = slice(s0, min(n, s0 + chunk))
        a = cr.rows(rows)
        for t0 in range(0, m, chunk):
            cols = slice(t0, min(m, t0 + chunk))
            block = _sqdist32(cr, rows, cg, cols, a)
            err = tau * (na[rows].max() + nb[cols].max())
            rr, ss = r2[rows], s2[cols]
            cand = block <= torch.from_numpy(_up32(rr[:, -1] + err))[:, None]
            cand |= block <= torch.from_numpy(_up32(ss[:, -1] + err))[None, :]
            pi, pj = (t.numpy() for t in torch.nonzero(cand, as_tuple=True))
            dv = block.numpy()[pi, pj].astype(np.float64)[:, None]
            rr_p, ss_p = rr[pi], ss[pj]
            in_real, in_gen = dv <= rr_p, dv <= ss_p
            unsure_r = np.abs(dv - rr_p) <= err
            unsure_g = np.abs(dv - ss_p) <= err
            sure_row = np.zeros((rows.stop - s0, nk), dtype=bool)
            for t in range(nk):
                sure_row[pi[in_gen[:, t] & ~unsure_g[:, t]], t] = True
            decided = rec[s0 + pi] | sure_row[pi]
            need = (unsure_r | (unsure_g & ~decided)).any(axis=1)
            if need.any():
                thr = np.concatenate([rr_p[need], ss_p[need]], axis=1)
                d2 = _decided_sqdist(real, generated, pi[need] + s0, pj[need] + t0, thr, centre)
                in_real[need] = d2[:, None] <= rr_p[need]
                in_gen[need] = d2[:, None] <= ss_p[need]
            for t in range(nk):
                dens[t, cols] += np.bincount(pj[in_real[:, t]], minlength=cols.stop - t0)
                cov[s0 + pi[in_real[:, t]], t] = True
                rec[s0 + pi[in_gen[:, t]], t] = True
    return {k: {"precision": int((dens[t] > 0).sum()), "density": int(dens[t].sum()),
                "coverage": int(cov[:, t].sum()), "recall": int(rec[:, t].sum())}
            for t, k in enumerate(ks)}


# ------------------------------------------------------------- leave-one-group-out replicates (issue 13)

#: Range of each metric, to clip its interval.
_RANGES = {"precision": (0.0, 1.0), "recall": (0.0, 1.0), "coverage": (0.0, 1.0), "density": (0.0, None)}


def _with_ci(result: MetricResult, real, generated, k: int, chunk_size: int) -> MetricResult:
    """The result with its grouped-jackknife interval and replicates (sets of at least 20 rows)."""
    values = _group_values(real, generated, k, chunk_size)
    if values is None:
        return result
    both = values[result.metric]
    # recall goes without the second-order correction: its difference is mostly linear, and the
    # jitter of recomputed radii in its double deletions reads as a quadratic part (measured: the
    # corrected variance 0.7x the true one, 20 of 200 rejections against 5 uncorrected)
    pairs = None if result.metric == "recall" else both[GROUPS:]
    reps = GroupReplicates(both[:GROUPS], 0, (len(real), len(generated)), "plain",
                           method="k-NN candidate lists by group", pair_values=pairs)
    low, high = _RANGES[result.metric]
    ci, _ = jackknife_interval(result.value, reps, low=low, high=high)
    return dataclasses.replace(result, ci=ci, replicates=reps)


def _group_values(real, generated, k, chunk_size):
    """Leave-one- and leave-two-groups-out precision/recall/density/coverage at ``k``, or None for small sets.

    Replicate g drops group g of the real and of the generated rows (:func:`metrics.resampling.group_labels`
    with seed 0), pair replicate g drops groups g and g + 1 mod G, and each recomputes every k-NN
    radius and ball membership on what is left. Memoised like the counts, and computed for the
    shared k values together, so the four metrics cost one pass. Each metric gets ``2 G`` values:
    the ``G`` single, then the ``G`` pair values.
    """
    n, m = len(real), len(generated)
    left = min(n - 2 * -(-n // GROUPS), m - 2 * -(-m // GROUPS))  # rows left by the two largest groups
    if min(n, m) < 2 * GROUPS or k > left - 1:
        return None
    ks = tuple(sorted({k, *(s for s in _SHARED_KS if s <= left - 1)}))
    key = (_fingerprint(real), _fingerprint(generated), ks, chunk_size)
    found = _memo_get(_GROUP_MEMO, key)
    if found is None:
        found = _group_counts(real, generated, ks, chunk_size)
        _memo_put(_GROUP_MEMO, key, found)
    return found[k]


def _neighbour_lists(x, cx: "_Centred", L: int, chunk: int):
    """The L nearest other rows of each row: exact float64 squared distances (sorted) and indices.

    Candidates come from a float32 Gram pass keeping ``L + _EXTRA_CANDIDATES`` per row; they are then
    re-ranked by exact float64 distances. A float32 near-tie at the edge of the kept list is the only
    way a list can differ from the exact one; replicates only feed a variance, where that is harmless.
    """
    import torch

    n = len(x)
    keep = min(n - 1, L + _EXTRA_CANDIDATES)
    best_v = torch.full((n, keep), math.inf, dtype=torch.float32)
    best_i = torch.zeros((n, keep), dtype=torch.int64)
    for s0 in range(0, n, chunk):
        rows = slice(s0, min(n, s0 + chunk))
        a = cx.rows(rows)
        for t0 in range(0, n, chunk):
            cols = slice(t0, min(n, t0 + chunk))
            block = _sqdist32(cx, rows, cx, cols, a)
            if t0 == s0:
                block.fill_diagonal_(math.inf)
            _merge_topl(best_v, best_i, rows, block, t0, keep)
    idx = best_i.numpy()
    rows = np.repeat(np.arange(n), keep)
    d2 = _exact_sqdist(x, x, rows, idx.ravel()).reshape(n, keep)
    order = np.argsort(d2, axis=1, kind="stable")[:, :L]
    return np.take_along_axis(d2, order, axis=1), np.take_along_axis(idx, order, axis=1)


def _leave_out_radii(x, d2, idx, labels, ks, drops):
    """Squared k-NN radii with the groups ``drops[j]`` removed, shape (len(drops), n, len(ks)).

    Rows of a removed group get inf.
    """
    n = len(x)
    out = np.full((len(drops), n, len(ks)), np.inf)
    for j, drop in enumerate(drops):
        outside = ~np.isin(labels[idx], drop)
        cnt = np.cumsum(outside, axis=1)
        own = ~np.isin(labels, drop)
        for t, k in enumerate(ks):
            enough = cnt[:, -1] >= k
            pos = np.argmax(cnt >= k, axis=1)
            out[j, :, t] = np.where(enough & own, d2[np.arange(n), pos], np.inf)
            for r in np.flatnonzero(~enough & own):  # too many of the nearest dropped: scan the row
                others = np.flatnonzero(own & (np.arange(n) != r))
                out[j, r, t] = np.sort(_exact_sqdist(x, x, np.full(len(others), r), others))[k - 1]
    return out


def _group_counts(real, generated, ks, chunk) -> dict:
    """For each k in ``ks``: ``{metric: ndarray (2 GROUPS,)}``: the ``GROUPS`` leave-one-group-out
    values, then the ``GROUPS`` leave-two-groups-out values over :func:`metrics.resampling.pair_groups`."""
    import torch

    n, d = real.shape
    m = len(generated)
    lab_r, lab_g = group_labels(n, GROUPS, 0), group_labels(m, GROUPS, 0)
    drops = [[g] for g in range(GROUPS)] + [list(gh) for gh in pair_groups(GROUPS)]
    centre = real.mean(axis=0)
    cr, cg = _Centred(real, centre), _Centred(generated, centre)
    L = 2 * max(ks) + _EXTRA_CANDIDATES
    rr = _leave_out_radii(real, *_neighbour_lists(real, cr, min(L, n - 1), chunk), lab_r, ks, drops)
    ss = _leave_out_radii(generated, *_neighbour_lists(generated, cg, min(L, m - 1), chunk), lab_g, ks, drops)
    # a pair can matter to some replicate only within the largest leave-out radius of either end
    r_max = np.where(np.isfinite(rr), rr, -np.inf).max(axis=(0, 2))
    s_max = np.where(np.isfinite(ss), ss, -np.inf).max(axis=(0, 2))
    tau = _tau(d)
    pi_all, pj_all, d2_all = [], [], []
    for s0 in range(0, n, chunk):
        rows = slice(s0, min(n, s0 + chunk))
        a = cr.rows(rows)
        for t0 in range(0, m, chunk):
            cols = slice(t0, min(m, t0 + chunk))
            block = _sqdist32(cr, rows, cg, cols, a)
            err = tau * (cr.norms[rows].max() + cg.norms[cols].max())
            cand = block <= torch.from_numpy(_up32(r_max[rows] + err))[:, None]
            cand |= block <= torch.from_numpy(_up32(s_max[cols] + err))[None, :]
            pi, pj = (t.numpy() for t in torch.nonzero(cand, as_tuple=True))
            pi, pj = pi + s0, pj + t0
            dv = block.numpy()[pi - s0, pj - t0].astype(np.float64)
            # exact distances only where some replicate's radius lies within the float32 error bound
            unsure = np.zeros(len(pi), dtype=bool)
            for p0 in range(0, len(pi), _PAIR_BATCH):  # bounded memory when balls hold many pairs
                sl = slice(p0, p0 + _PAIR_BATCH)
                near = lambda radii, idx: (np.abs(dv[sl, None, None] - radii[:, idx].transpose(1, 0, 2))  # noqa: E731
                                           <= err).any(axis=(1, 2))
                unsure[sl] = near(rr, pi[sl]) | near(ss, pj[sl])
            dv[unsure] = _exact_sqdist(real, generated, pi[unsure], pj[unsure])
            pi_all.append(pi)
            pj_all.append(pj)
            d2_all.append(dv)
    pi, pj, dv = (np.concatenate(v) for v in (pi_all, pj_all, d2_all))
    out = {k: {name: np.empty(len(drops)) for name in ("precision", "recall", "density", "coverage")} for k in ks}
    for j, drop in enumerate(drops):
        kept_r, kept_g = ~np.isin(lab_r, drop), ~np.isin(lab_g, drop)
        alive = kept_r[pi] & kept_g[pj]
        n_g, m_g = int(kept_r.sum()), int(kept_g.sum())
        for t, k in enumerate(ks):
            in_real = alive & (dv <= rr[j, pi, t])
            in_gen = alive & (dv <= ss[j, pj, t])
            res = out[k]
            res["density"][j] = in_real.sum() / (k * m_g)
            res["precision"][j] = len(np.unique(pj[in_real])) / m_g
            res["coverage"][j] = len(np.unique(pi[in_real])) / n_g
            res["recall"][j] = len(np.unique(pi[in_gen])) / n_g
    return out
