"""Inception Score from class-probability rows (Salimans et al., 2016).

The module is named ``inception`` rather than ``inception_score`` so that ``metrics.inception_score``
stays the function (a submodule of the same name would shadow it on the package).
"""

from __future__ import annotations

import numpy as np

from ._checks import as_matrix, check_int
from .errors import InputError
from .registry import metric
from .result import MetricResult

#: A row is accepted as a probability vector when it sums to 1 within this tolerance (float16
#: softmax outputs over 1000 classes sum to 1 only to ~1e-3); accepted rows are renormalised.
_SUM_TOL = 1e-3


@metric("inception_score", needs="probs", higher_is_better=True, group="perceptual")
def inception_score(probs, *, splits: int = 10) -> MetricResult:
    """Inception Score exp(E_x KL(p(y|x) || p(y))) of class-probability rows, mean over splits.

    Parameters
    ----------
    probs : array_like, shape (n, classes)
        Class probabilities p(y|x) of the generated samples, one row per sample (softmax outputs of
        the classifier, not logits). Rows must be non-negative and sum to 1 (within 1e-3; they are
        renormalised in float64).
    splits : int, default 10
        Number of consecutive row blocks scored separately; must be in ``[1, n]``.

    Returns
    -------
    MetricResult
        ``value`` is the mean of the per-split scores, in ``[1, classes]``; higher is better.
        ``extras``: ``split_std`` (population standard deviation of the per-split scores, ddof=0,
        as torch-fidelity and the original code report it; it is a spread over splits, not a
        confidence interval, and ``ci`` is ``None``), ``split_scores``, ``splits``, ``classes``.

    Notes
    -----
    For each split :math:`S` with marginal :math:`\\hat p_S(y) = |S|^{-1} \\sum_{x \\in S} p(y|x)`,

    .. math::

        IS_S = \\exp\\Big(\\frac{1}{|S|} \\sum_{x \\in S} \\sum_y p(y|x)
               \\log \\frac{p(y|x)}{\\hat p_S(y)}\\Big),

    with :math:`0 \\log 0 = 0`, computed in float64. Splits are consecutive row blocks with the
    torch-fidelity boundaries ``floor(i n / splits)``; rows are not shuffled, so shuffle them first
    if their order is not random (torch-fidelity shuffles with a fixed seed, torchmetrics with the
    global RNG; torchmetrics' ``torch.chunk`` boundaries equal these whenever ``splits`` divides
    ``n``). One-hot rows spread evenly over C classes score C; identical rows score 1.

    The score only sees the generated set: it rewards confident and class-balanced predictions and
    is blind to what the real data look like (Barratt and Sharma, 2018).

    References
    ----------
    .. [1] T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen. "Improved
       Techniques for Training GANs". NeurIPS 2016.
    .. [2] S. Barratt, R. Sharma. "A Note on the Inception Score". arXiv:1801.01973, 2018.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> metrics.inception_score(np.eye(4)[[0, 1, 2, 3] * 5], splits=5).value
    4.0
    >>> metrics.inception_score(np.full((10, 4), 0.25), splits=2).value
    1.0
    """
    p = _check_probs(probs)
    n = len(p)
    splits = check_int(splits, "splits", low=1, high=n,
                       hint="Each split needs at least one row; pass fewer splits or more samples.")
    scores = np.empty(splits)
    for s in range(splits):
        block = p[s * n // splits:(s + 1) * n // splits]
        marginal = block.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(block > 0, block * (np.log(block) - np.log(marginal)), 0.0)
        scores[s] = np.exp(terms.sum(axis=1).mean())
    return MetricResult(
        "inception_score", float(scores.mean()), True, n=(n,),
        extras={"split_std": float(scores.std()), "split_scores": scores.tolist(), "splits": splits,
                "classes": p.shape[1]},
    )


def _check_probs(probs) -> np.ndarray:
    p = as_matrix(probs, "probs", dtype=np.float64)
    if p.shape[1] < 2:
        raise InputError(f"`probs` needs at least 2 classes (columns); got shape {p.shape}. "
                         "Pass one row of class probabilities per sample.")
    neg = np.flatnonzero((p < 0).any(axis=1))
    if len(neg):
        raise InputError(f"`probs` must be non-negative; row {neg[0]} has {p[neg[0]].min():g}. "
                         "Pass softmax probabilities, not logits.")
    sums = p.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOL)
    if len(bad):
        raise InputError(f"`probs` rows must sum to 1 (within {_SUM_TOL:g}); row {bad[0]} sums to "
                         f"{sums[bad[0]]:.6g}. Pass softmax probabilities, e.g. `softmax(logits, axis=1)`.")
    return p / sums[:, None]
