"""Curves over quantised features: PRD (precision-recall distributions) and divergence frontiers.

Both quantise the pooled real and generated features with k-means and compare the two cluster
histograms P (real) and Q (generated): PRD traces the precision-recall trade-off of Sajjadi et al.
(2018), the divergence frontier the MAUVE curve of Pillutla et al. (2021). The Vendi score
(Friedman and Dieng, 2023), a diversity measure of one set, lives here too.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._checks import check_int, check_pair, check_seed
from .errors import InputError, MetricWarning
from .registry import metric
from .result import MetricResult

#: Angle grid margin of Sajjadi et al.'s reference code (slopes tan(eps) ... tan(pi/2 - eps)).
_PRD_EPS = 1e-10
#: MAUVE's mixture-weight grid end points, linspace(1e-6, 1 - 1e-6, num_mixtures).
_MIX_EPS = 1e-6


# ------------------------------------------------------------------------------------------ PRD


@metric("prd", needs="features", higher_is_better=True, group="perceptual")
def prd(real, generated, *, num_clusters: int = 20, num_angles: int = 1001, num_runs: int = 10,
        seed: int = 0) -> MetricResult:
    """PRD precision-recall curve over k-means histograms, summarised by max F_1/8 (Sajjadi 2018).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Reference features (the "reference distribution" P).
    generated : array_like, shape (m, d)
        Features of the model's samples (the "evaluated distribution" Q).
    num_clusters : int, default 20
        Number of k-means clusters (histogram bins), at most ``n + m``.
    num_angles : int, default 1001
        Points on the curve: slopes ``lambda = tan(theta)`` on an even grid of angles in (0, pi/2).
    num_runs : int, default 10
        Independent clusterings (different k-means seeds); their curves are averaged.
    seed : int or numpy.random.Generator, default 0
        Seeds the k-means initialisations (``random_state`` of each run is drawn from it).

    Returns
    -------
    MetricResult
        ``value`` is max F_{1/8} over the averaged curve: precision-like (it weighs precision 8x
        more than recall), in [0, 1], higher is better. ``extras``: ``f_8`` (max F_8, the
        recall-like summary), ``f_1_8`` (= value), the curve as lists ``precision`` and ``recall``
        (one entry per angle), ``num_clusters``, ``num_runs``.

    Notes
    -----
    With cluster histograms P (real) and Q (generated) and slope :math:`\\lambda > 0`,

    .. math::

        \\alpha(\\lambda) = \\sum_i \\min(\\lambda P_i, Q_i), \\qquad
        \\beta(\\lambda) = \\alpha(\\lambda) / \\lambda,

    are the precision and recall of the PRD curve; :math:`F_\\beta = (1 + \\beta^2) \\alpha \\beta_R /
    (\\beta^2 \\alpha + \\beta_R)` (:math:`\\beta_R` the recall) is maximised over the curve for
    :math:`\\beta = 8` (recall) and :math:`\\beta = 1/8` (precision), as in the paper. Each run is one
    scikit-learn ``KMeans`` fit (k-means++ start, ``n_init=1``) on the pooled features, where the
    reference code used ``MiniBatchKMeans(n_init=10)``; the curves of the runs are averaged before
    the F-scores are taken. The reference code requires equal sample sizes because the larger set
    dominates the clustering; here unequal sizes are allowed and a :class:`MetricWarning` is issued
    when one set is more than twice the other. Depends on row order only through k-means.

    References
    ----------
    .. [1] M. S. M. Sajjadi, O. Bachem, M. Lucic, O. Bousquet, S. Gelly. "Assessing Generative
       Models via Precision and Recall". NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> real = np.repeat([[0.0], [10.0]], 50, axis=0)      # two modes
    >>> gen = np.full((100, 1), 10.0)                       # only the second
    >>> r = metrics.prd(real, gen, num_clusters=2, num_runs=1)
    >>> round(r.value, 3), round(r.extras["f_8"], 3)        # precise, half the recall
    (0.985, 0.504)
    """
    real, generated = check_pair(real, generated)
    num_clusters = _check_clusters(num_clusters, real, generated)
    num_angles = check_int(num_angles, "num_angles", low=3)
    num_runs = check_int(num_runs, "num_runs", low=1)
    rng = check_seed(seed)
    _balance_warning(real, generated, "prd")
    slopes = np.tan(np.linspace(_PRD_EPS, np.pi / 2 - _PRD_EPS, num_angles))
    precision = np.zeros(num_angles)
    recall = np.zeros(num_angles)
    for _ in range(num_runs):
        p, q = _kmeans_histograms(real, generated, num_clusters, rng, n_init=1, max_iter=300)
        a, b = _prd_curve(p, q, slopes)
        precision += a / num_runs
        recall += b / num_runs
    f8 = float(_f_beta(precision, recall, 8.0).max())
    f18 = float(_f_beta(precision, recall, 1.0 / 8.0).max())
    return MetricResult(
        "prd", f18, True, n=(len(real), len(generated)),
        extras={"f_8": f8, "f_1_8": f18, "precision": precision.tolist(), "recall": recall.tolist(),
                "num_clusters": num_clusters, "num_runs": num_runs},
    )


def _prd_curve(p, q, slopes):
    """PRD precision alpha = sum min(lambda P, Q) and recall alpha / lambda at each slope."""
    alpha = np.minimum(slopes[:, None] * p[None, :], q[None, :]).sum(axis=1)
    # the sums can exceed 1 by rounding; the reference code clips the same way
    return np.clip(alpha, 0.0, 1.0), np.clip(alpha / slopes, 0.0, 1.0)


def _f_beta(precision, recall, beta):
    den = beta ** 2 * precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (1 + beta ** 2) * precision * recall / den, 0.0)


# ---------------------------------------------------------------------------- divergence frontier


@metric("frontier", needs="features", higher_is_better=True, group="perceptual")
def divergence_frontier(real, generated, *, num_clusters: int | None = None, scaling: float = 5.0,
                        num_mixtures: int = 25, seed: int = 0) -> MetricResult:
    """Area under the divergence frontier of quantised features: the MAUVE score (Pillutla 2021).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Reference features (P).
    generated : array_like, shape (m, d)
        Features of the model's samples (Q).
    num_clusters : int, optional
        k-means clusters (histogram bins). Default as MAUVE: ``max(2, round(min(n, m) / 10))``.
    scaling : float, default 5.0
        The constant c in ``exp(-c KL)`` (MAUVE's ``mauve_scaling_factor``). Only relative
        comparisons at the same c are meaningful.
    num_mixtures : int, default 25
        Mixture weights on the curve, ``linspace(1e-6, 1 - 1e-6, num_mixtures)`` as in MAUVE.
    seed : int or numpy.random.Generator, default 0
        Seeds k-means (``random_state`` drawn from it).

    Returns
    -------
    MetricResult
        ``value`` is the area under the frontier, in (0, 1], 1 when the histograms are equal;
        higher is better. ``extras``: the curve ``x`` (= exp(-c KL(Q||R))), ``y``
        (= exp(-c KL(P||R))) and ``mixture_weights`` as lists (end points (1, 0) and (0, 1)
        included, weights NaN there), the histograms ``p_hist`` (real) and ``q_hist`` (generated),
        ``num_clusters``, ``scaling``.

    Notes
    -----
    The pooled features are quantised by one scikit-learn ``KMeans`` fit (5 k-means++ starts,
    at most 500 iterations, as MAUVE's defaults), giving histograms P and Q. For mixtures
    :math:`R_\\lambda = \\lambda P + (1 - \\lambda) Q` the curve is

    .. math::

        \\lambda \\mapsto \\big(e^{-c\\,KL(Q \\| R_\\lambda)},\\; e^{-c\\,KL(P \\| R_\\lambda)}\\big),

    closed by (1, 0) and (0, 1), and the score is the area under it (trapezoids along the curve;
    it is monotone, so this equals MAUVE's symmetrised ``auc`` whenever MAUVE's sort is
    unambiguous, and stays 1 for equal histograms where MAUVE's tie order is arbitrary).

    Link to the classifier divergences: :math:`\\lambda KL(P\\|R_\\lambda) + (1-\\lambda)
    KL(Q\\|R_\\lambda) = JS_\\lambda(P\\|Q)`, and :math:`R_\\lambda` minimises that weighted sum
    over all R. So the frontier point at weight :math:`\\lambda` is the point where the line
    :math:`\\lambda y + (1 - \\lambda) x = JS_\\lambda` touches the frontier in KL coordinates:
    each point is the :math:`JS_\\lambda` of the :math:`JS_\\pi` spectrum
    (:func:`metrics.divergences.js_pi`, :func:`metrics.divergence_spectrum`) at
    :math:`\\pi = \\lambda`, evaluated on the quantised distributions, split into its two KL terms.

    Differences from the ``mauve`` package: no PCA / L2-normalisation before clustering (those
    suit GPT-2 text features; apply them yourself if wanted), and scikit-learn k-means instead of
    faiss; on the same histograms the areas agree to rounding.

    References
    ----------
    .. [1] K. Pillutla, S. Swayamdipta, R. Zellers, J. Thickstun, S. Welleck, Y. Choi,
       Z. Harchaoui. "MAUVE: Measuring the Gap Between Neural Text and Human Text using
       Divergence Frontiers". NeurIPS 2021.
    .. [2] L. Liu, K. Pillutla, S. Welleck, S. Oh, Y. Choi, Z. Harchaoui. "Divergence Frontiers
       for Generative Models: Sample Complexity, Quantization Effects, and Frontier Integrals".
       NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> x = np.random.default_rng(0).normal(size=(200, 2))
    >>> round(metrics.divergence_frontier(x, x, num_clusters=5).value, 12)
    1.0
    """
    real, generated = check_pair(real, generated)
    if num_clusters is None:
        num_clusters = max(2, int(round(min(len(real), len(generated)) / 10)))
    num_clusters = _check_clusters(num_clusters, real, generated)
    scaling = _check_positive(scaling, "scaling")
    num_mixtures = check_int(num_mixtures, "num_mixtures", low=2)
    rng = check_seed(seed)
    p, q = _kmeans_histograms(real, generated, num_clusters, rng, n_init=5, max_iter=500)
    weights = np.linspace(_MIX_EPS, 1 - _MIX_EPS, num_mixtures)
    x, y, area = _frontier(p, q, weights, scaling)
    return MetricResult(
        "frontier", area, True, n=(len(real), len(generated)),
        extras={"x": x.tolist(), "y": y.tolist(),
                "mixture_weights": [None, *weights.tolist(), None],
                "p_hist": p.tolist(), "q_hist": q.tolist(), "num_clusters": num_clusters,
                "scaling": scaling},
    )


def _kl(a, b):
    """KL(a || b) in nats for histograms with b > 0 wherever a > 0."""
    mask = a > 0
    return float(np.sum(a[mask] * (np.log(a[mask]) - np.log(b[mask]))))


def _frontier(p, q, weights, scaling):
    """Frontier points (x, y) in mixture-weight order, closed by (1, 0) and (0, 1), and its area."""
    kl_q = np.array([_kl(q, w * p + (1 - w) * q) for w in weights])
    kl_p = np.array([_kl(p, w * p + (1 - w) * q) for w in weights])
    x = np.concatenate([[1.0], np.exp(-scaling * kl_q), [0.0]])
    y = np.concatenate([[0.0], np.exp(-scaling * kl_p), [1.0]])
    # x falls and y rises with the weight, so the path is monotone and these trapezoids are the area
    area = float(np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2.0))
    return x, y, area


# ------------------------------------------------------------------------------------------ Vendi


@metric("vendi", needs="features", higher_is_better=True, group="perceptual")
def vendi_score(real, generated) -> MetricResult:
    """Vendi score of the generated set: effective number of distinct samples (Friedman 2023).

    Parameters
    ----------
    real : array_like, shape (n, d)
        Reference features; only their own Vendi score is reported, in ``extras``, as the
        diversity a good model should reach.
    generated : array_like, shape (m, d)
        Features whose diversity is scored.

    Returns
    -------
    MetricResult
        ``value`` is the Vendi score of ``generated``, in [1, min(m, d)]: 1 when all samples are
        parallel, m when they are orthogonal. Higher means more diverse; it is "better" only up
        to the real set's score (``extras["real_vendi"]``; ``extras["ratio"]`` = value /
        real_vendi), since noise is diverse too.

    Notes
    -----
    With the cosine-similarity kernel :math:`K_{ij} = \\hat x_i \\cdot \\hat x_j`
    (:math:`\\hat x` the L2-normalised rows), the score is :math:`\\exp(-\\sum_k \\mu_k \\log
    \\mu_k)` over the eigenvalues :math:`\\mu_k` of :math:`K / m`: the exponential of the entropy
    of the kernel's spectrum (order q = 1). The nonzero eigenvalues of :math:`K/m = \\hat X
    \\hat X^T / m` equal those of the d x d matrix :math:`\\hat X^T \\hat X / m`, so the cost is
    O(m d^2 + d^3) (or O(m^2 d) when m < d), accumulated in float64. Rows of zeros have no
    direction and are rejected. To score a single set ``x``, call ``vendi_score(x, x)``.

    References
    ----------
    .. [1] D. Friedman, A. B. Dieng. "The Vendi Score: A Diversity Evaluation Metric for Machine
       Learning". TMLR 2023.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> round(metrics.vendi_score(np.eye(3), np.eye(3)).value, 6)      # three orthogonal samples
    3.0
    """
    real, generated = check_pair(real, generated)
    v_gen = _vendi(generated, "generated")
    v_real = _vendi(real, "real")
    return MetricResult("vendi", v_gen, True, n=(len(real), len(generated)),
                        extras={"real_vendi": v_real, "ratio": v_gen / v_real, "kernel": "cosine"})


def _vendi(x: np.ndarray, name: str) -> float:
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    zero = np.flatnonzero(norms == 0)
    if len(zero):
        raise InputError(f"`{name}` row {zero[0]} is all zeros; the cosine kernel of the Vendi score "
                         "needs a direction for every sample. Drop or perturb such rows.")
    m, d = x.shape
    if d <= m:
        # d x d second-moment matrix of the normalised rows, accumulated in row chunks (float64)
        gram = np.zeros((d, d))
        step = max(1, (1 << 22) // d)
        for s in range(0, m, step):
            xh = x[s:s + step] / norms[s:s + step, None]
            gram += xh.T @ xh
    else:
        xh = x / norms[:, None]
        gram = xh @ xh.T
    mu = np.linalg.eigvalsh(gram / m)
    mu = mu[mu > 0]
    return float(np.exp(-np.sum(mu * np.log(mu))))


# ---------------------------------------------------------------------------------------- shared


def _check_clusters(num_clusters, real, generated) -> int:
    total = len(real) + len(generated)
    return check_int(num_clusters, "num_clusters", low=2, high=total,
                     hint="It is the number of k-means clusters over the pooled real and generated rows.")


def _check_positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0 or isinstance(value, bool):
        raise InputError(f"`{name}` must be a positive finite number; got {value!r}.")
    return v


def _balance_warning(real, generated, name: str) -> None:
    big, small = max(len(real), len(generated)), min(len(real), len(generated))
    if big > 2 * small:
        warnings.warn(
            f"{name}: the sample sizes differ by more than a factor 2 (real {len(real)}, generated "
            f"{len(generated)}); the larger set dominates the k-means quantisation. Subsample to "
            "equal sizes for comparable curves.",
            MetricWarning, stacklevel=3,
        )


def _kmeans_histograms(real, generated, num_clusters, rng, *, n_init, max_iter):
    """Cluster the pooled rows once; return the real and generated cluster histograms (P, Q)."""
    from sklearn.cluster import KMeans

    from threadpoolctl import threadpool_limits

    pooled = np.vstack([generated, real])
    km = KMeans(n_clusters=num_clusters, n_init=n_init, max_iter=max_iter,
                random_state=int(rng.integers(2 ** 31 - 1)))
    # small problems run single-threaded: starting the OpenMP pool costs more than it saves
    threads = 1 if pooled.size * num_clusters < 2 ** 22 else None
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        # fewer distinct points than clusters: the empty clusters are simply empty bins
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        labels = km.fit(pooled).labels_
    q = np.bincount(labels[:len(generated)], minlength=num_clusters) / len(generated)
    p = np.bincount(labels[len(generated):], minlength=num_clusters) / len(real)
    return p, q
