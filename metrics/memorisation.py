"""Memorisation: does a model copy its training set? Data-copying test and authenticity.

Both metrics take three feature sets: ``real``, a held-out *test* sample from the data distribution
(never seen in training); ``generated``, the model's samples; ``train``, the model's training set.
They compare how close generated samples come to training points with how close fresh data come.

Exactness. Every nearest-neighbour distance is exact, as in :mod:`metrics.manifold` (whose
machinery this module reuses): squared distances are computed in float32 blocks with the Gram
expansion and a rigorous error bound, each query keeps its few nearest candidates, and the
candidates within the bound of the nearest are recomputed exactly in float64 from the inputs (a
query whose candidate list cannot prove its nearest neighbour is rescanned exactly). Results are
those of exact float64 distances, independent of ``chunk_size``; memory is a few
``chunk_size x chunk_size`` blocks plus O(n) lists.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_matrix, check_int, check_pair, check_seed
from .errors import InputError
from .manifold import _Centred, _exact_sqdist, _knn_sqdist, _merge_topl, _sqdist32, _tau
from .registry import metric
from .result import ConfidenceInterval, MetricResult

#: Candidates kept per query row by the float32 pass (the nearest is proven among them, or the row
#: is rescanned exactly).
_CANDIDATES = 8


# ---------------------------------------------------------------------------------------- checks


def _check_three(real, generated, train, chunk_size):
    real, generated = check_pair(real, generated, min_rows=2)
    train = as_matrix(train, "train", min_rows=2)
    if train.shape[1] != real.shape[1]:
        raise InputError(
            f"`train` must have the same number of features as `real` and `generated`; got train {train.shape} "
            f"and real {real.shape}. Extract all three with the same feature extractor."
        )
    chunk_size = check_int(chunk_size, "chunk_size", low=1,
                           hint="It is the number of rows per block of the distance matrix.")
    return real, generated, train, chunk_size


# ---------------------------------------------------------------------------------------- numerics


def _nearest(query: np.ndarray, ref: np.ndarray, chunk: int, prefer: np.ndarray | None = None):
    """Exact squared distance from each query row to its nearest ``ref`` row, and that row's index.

    Among exactly tied nearest rows, the index with the largest ``prefer`` value is returned
    (the smallest index when ``prefer`` is None), so the answer does not depend on row order.
    """
    import torch

    nq, nr = len(query), len(ref)
    L = min(nr, _CANDIDATES)
    centre = ref.mean(axis=0)
    cq, cr = _Centred(query, centre), _Centred(ref, centre)
    best_v = torch.full((nq, L), math.inf, dtype=torch.float32)
    best_i = torch.zeros((nq, L), dtype=torch.int64)
    for s0 in range(0, nq, chunk):
        rows = slice(s0, min(nq, s0 + chunk))
        a = cq.rows(rows)
        for t0 in range(0, nr, chunk):
            block = _sqdist32(cq, rows, cr, slice(t0, min(nr, t0 + chunk)), a)
            _merge_topl(best_v, best_i, rows, block, t0, L)
    best_v, order = torch.sort(best_v, dim=1)
    best_i = torch.gather(best_i, 1, order).numpy()
    best_v = best_v.numpy().astype(np.float64)
    err = _tau(query.shape[1]) * (cq.norms + cr.norms.max())
    # a candidate more than 2 err above the smallest approximate value is surely farther than it
    band = best_v <= (best_v[:, 0] + 2.0 * err)[:, None]
    complete = np.ones(nq, dtype=bool) if L == nr else ~band[:, -1]
    r_, c_ = np.nonzero(band & complete[:, None])
    exact = np.full(best_v.shape, np.inf)
    exact[r_, c_] = _exact_sqdist(query, ref, r_, best_i[r_, c_])
    d2 = exact.min(axis=1)
    tie = exact == d2[:, None]
    score = (-best_i.astype(np.float64)) if prefer is None else prefer[best_i]
    idx = best_i[np.arange(nq), np.argmax(np.where(tie, score, -np.inf), axis=1)]
    for r in np.flatnonzero(~complete):  # more than L near-ties (duplicated rows): scan exactly
        row = _exact_sqdist(query, ref, np.full(nr, r), np.arange(nr))
        d2[r] = row.min()
        ties = np.flatnonzero(row == d2[r])
        idx[r] = ties[np.argmax(prefer[ties])] if prefer is not None else ties[0]
    return d2, idx


def _mann_whitney_z(gen_d: np.ndarray, test_d: np.ndarray) -> float:
    """Z-scored Mann-Whitney U of generated vs test distances: ``(U - mn/2) / sqrt(mn(m+n+1)/12)``.

    ``U`` counts pairs with the generated distance larger (ties count 1/2), so Z < 0 when
    generated samples lie closer to the training set than test samples do.
    """
    from scipy.stats import rankdata

    m, n = len(gen_d), len(test_d)
    ranks = rankdata(np.concatenate([gen_d, test_d]))  # mid-ranks for ties
    u = ranks[:m].sum() - m * (m + 1) / 2.0
    return float((u - m * n / 2.0) / math.sqrt(m * n * (m + n + 1) / 12.0))


def _sorted_rows(x: np.ndarray) -> np.ndarray:
    """Rows in lexicographic order: k-means on them does not depend on the input's row order."""
    return x[np.lexsort(x.T[::-1])]


# ---------------------------------------------------------------------------------------- metrics


@metric("data_copying", needs="train", higher_is_better=True, group="memorisation")
def data_copying(real, generated, train, *, cells: int = 3, min_generated: int = 20, seed: int = 0,
                 chunk_size: int = 2048) -> MetricResult:
    """Data-copying test statistic C_T of generated samples against the training set (Meehan et al., 2020).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Held-out test sample of the data distribution (not used in training).
    generated : array_like, shape (m, d)
        The model's samples.
    train : array_like, shape (l, d)
        The model's training set.
    cells : int, default 3
        Cells of the partition: k-means with this many clusters, fitted on ``train`` (the default of
        dgm-eval's implementation; the paper uses more on larger sets).
    min_generated : int, default 20
        A cell enters the statistic only if it holds at least this many generated samples (the
        paper's ``Pi_tau`` with ``tau = min_generated / m``, the reference code's choice).
    seed : int
        Seed of the k-means initialisations.
    chunk_size : int, default 2048
        Rows per block of the distance matrix; the result does not depend on it.

    Returns
    -------
    MetricResult
        ``value``: C_T. About 0 when generated samples are as far from the training set as fresh
        data; negative (often far below -3) when the model copies training points; positive when
        it underfits (its samples lie farther from the training data than test data do).
        ``pvalue``: one-sided, small when generated samples are closer to the training set than the
        test sample is (copying). ``extras``: ``z`` (the standardised C_T the p-value comes from),
        ``cells`` (per cell: ``z_u``, ``n_test``, ``n_generated``, ``n_train``, ``used``),
        ``cells_used``.

    Notes
    -----
    k-means (``cells`` clusters, 10 starts) partitions the space, fitted on ``train``. In each cell
    ``pi``, ``L(x)`` is the distance from ``x`` to its nearest training point *in that cell*, and

    .. math::

        Z_U(\\pi) = \\frac{U - m_\\pi n_\\pi / 2}{\\sqrt{m_\\pi n_\\pi (m_\\pi + n_\\pi + 1) / 12}},

    with ``U`` the Mann-Whitney count of (generated, test) pairs where the generated sample's ``L``
    is larger (ties 1/2). Over the cells ``Pi_tau`` holding at least ``min_generated`` generated
    samples, weighted by the test sample's share ``P_n(pi)``,

    .. math::

        C_T = \\frac{\\sum_{\\pi \\in \\Pi_\\tau} P_n(\\pi) Z_U(\\pi)}{\\sum_{\\pi \\in \\Pi_\\tau} P_n(\\pi)}.

    Without copying (generated and test samples drawn independently of the training set from the
    same distribution), each ``Z_U`` is approximately standard normal and independent given the
    cell counts, so ``z = C_T * sum P_n / sqrt(sum P_n^2)`` is approximately N(0, 1) and
    ``pvalue = Phi(z)``. The p-value is ours, not the paper's (which reads C_T against thresholds).
    The reference code subtracts a 0.5 continuity correction from the mean of U; the paper's
    formula, used here, does not. Training rows are sorted before k-means so the partition, and the
    result, do not depend on row order.

    References
    ----------
    .. [1] C. Meehan, K. Chaudhuri, S. Dasgupta. "A Non-Parametric Test to Detect Data-Copying in
       Generative Models". AISTATS 2020.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.normal(size=(1000, 2)), rng.normal(size=(500, 2))
    >>> copier = train[:500] + rng.normal(scale=0.01, size=(500, 2))
    >>> r = metrics.data_copying(test, copier, train)
    >>> r.value < -10, r.pvalue < 1e-6
    (True, True)
    """
    from scipy.stats import norm
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    real, generated, train, chunk = _check_three(real, generated, train, chunk_size)
    cells = check_int(cells, "cells", low=1, high=len(train),
                      hint="It is the number of k-means cells, at most the training set size.")
    min_generated = check_int(min_generated, "min_generated", low=1)
    rng = check_seed(seed)
    km = KMeans(n_clusters=cells, n_init=10, random_state=int(rng.integers(2**31 - 1)))
    # one OpenMP thread: a few cells gain nothing from more, and busy-waiting threads on a loaded
    # machine made the fit ~80x slower (16 s vs 0.2 s for 2000 x 8 on 2 busy cores)
    with threadpool_limits(limits=1, user_api="openmp"):
        km.fit(_sorted_rows(train))
        lab_t, lab_p, lab_q = (km.predict(x) for x in (train, real, generated))
    n, m = len(real), len(generated)
    per_cell, num, w_sum, w_sq = [], 0.0, 0.0, 0.0
    for c in range(cells):
        t_c, p_c, q_c = train[lab_t == c], real[lab_p == c], generated[lab_q == c]
        info = {"cell": c, "n_train": len(t_c), "n_test": len(p_c), "n_generated": len(q_c), "z_u": None,
                "used": False}
        if len(q_c) >= min_generated and len(p_c) > 0 and len(t_c) > 0:
            d2, _ = _nearest(np.concatenate([q_c, p_c]), t_c, chunk)
            z_u = _mann_whitney_z(d2[:len(q_c)], d2[len(q_c):])  # squared distances: same ranks
            w = len(p_c) / n
            num, w_sum, w_sq = num + w * z_u, w_sum + w, w_sq + w * w
            info.update(z_u=z_u, used=True)
        per_cell.append(info)
    if w_sum == 0.0:
        raise InputError(
            f"no k-means cell holds both test samples and at least `min_generated` = {min_generated} generated "
            f"samples (generated: {m}, cells: {cells}). Pass fewer `cells`, a smaller `min_generated`, or more samples."
        )
    value = num / w_sum
    z = num / math.sqrt(w_sq)
    return MetricResult("data_copying", float(value), True, pvalue=float(norm.cdf(z)), n=(n, m, len(train)),
                        extras={"z": float(z), "cells": per_cell, "cells_used": sum(c["used"] for c in per_cell),
                                "min_generated": min_generated})


@metric("authenticity", needs="train", higher_is_better=True, group="memorisation")
def authenticity(real, generated, train, *, chunk_size: int = 2048) -> MetricResult:
    """Share of generated samples farther from their nearest training point than that point's own nearest neighbour (Alaa et al., 2022).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Held-out test sample of the data distribution: its own authenticity is the baseline the
        p-value compares against.
    generated : array_like, shape (m, d)
        The model's samples.
    train : array_like, shape (l, d)
        The model's training set (at least 2 rows).
    chunk_size : int, default 2048
        Rows per block of the distance matrix; the result does not depend on it.

    Returns
    -------
    MetricResult
        ``value``: share of authentic generated samples, in [0, 1] (higher: less copying).
        ``ci``: 95% Clopper-Pearson interval, given the training set. ``pvalue``: one-sided Fisher
        exact test that generated samples are authentic less often than the test sample's points
        (small: the model copies). ``extras``: ``test_authenticity`` (the same share for ``real``),
        ``n_inauthentic``, ``n_copies`` (generated samples equal to a training point).

    Notes
    -----
    For a generated sample ``g`` with nearest training point ``x*`` (exact distances; among exact
    ties the one with the largest ``r``), and ``r(x)`` the distance from a training point to its
    nearest other training point, ``g`` is authentic when ``||g - x*|| > r(x*)``: it is not closer
    to ``x*`` than ``x*``'s own nearest training neighbour (Alaa et al.'s nearest-neighbour rule,
    as in their and dgm-eval's code: ``r(x*) < d`` means authentic). An exact copy of a training
    point is never authentic, even when that point is duplicated in ``train`` (``r = 0``).

    Fresh samples are not all authentic: a test point falls inside its nearest training point's
    neighbour ball with a probability that depends on the data (about 1/2 for a smooth density in
    low dimension). So the value means little alone; the p-value compares it with the test sample's.
    Given ``train``, generated and test samples drawn independently from the data distribution are
    i.i.d. authentic with one probability, which makes Fisher's exact test on the 2 x 2 table valid.

    References
    ----------
    .. [1] A. M. Alaa, B. van Breugel, E. Saveliev, M. van der Schaar. "How Faithful is your
       Synthetic Data? Sample-level Metrics for Evaluating and Auditing Generative Models".
       ICML 2022.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> train, test = rng.normal(size=(1000, 2)), rng.normal(size=(500, 2))
    >>> copier = train[:500] + rng.normal(scale=0.001, size=(500, 2))
    >>> r = metrics.authenticity(test, copier, train)
    >>> r.value < 0.1 < r.extras["test_authenticity"], r.pvalue < 1e-6
    (True, True)
    """
    from scipy.stats import binomtest, fisher_exact

    real, generated, train, chunk = _check_three(real, generated, train, chunk_size)
    r2 = _knn_sqdist(train, (1,), chunk)[:, 0]

    def authentic(x):
        d2, idx = _nearest(x, train, chunk, prefer=r2)
        return d2 > r2[idx], d2

    auth_g, d2_g = authentic(generated)
    auth_t, _ = authentic(real)
    m, n = len(generated), len(real)
    k_g, k_t = int(auth_g.sum()), int(auth_t.sum())
    ci = binomtest(k_g, m).proportion_ci(confidence_level=0.95, method="exact")
    _, p = fisher_exact([[k_g, m - k_g], [k_t, n - k_t]], alternative="less")
    return MetricResult(
        "authenticity", k_g / m, True,
        ci=ConfidenceInterval(float(ci.low), float(ci.high), 0.95,
                              "Clopper-Pearson over generated samples, given the training set"),
        pvalue=float(min(1.0, p)), n=(n, m, len(train)),
        extras={"test_authenticity": k_t / n, "n_inauthentic": m - k_g, "n_copies": int((d2_g == 0.0).sum())},
    )
