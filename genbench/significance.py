"""Is model A really better than model B on this metric? Paired tests of a difference.

A leaderboard that says "A beats B on NLL while B beats A on precision" must also say whether each
difference is larger than what sampling noise would give. Two tests, chosen for what can be done
honestly with the information a run has:

* **Per-example log-probabilities** (likelihood metrics): when both models were evaluated on the
  same test set (same length; row ``i`` of each ``log_probs.npy`` is the same test example), a
  paired **sign-flip permutation test** of the mean per-example difference. Under the null of a
  distribution of differences symmetric about zero it is exact. Test sets of different lengths
  cannot be paired; they get a two-sample label-permutation test of the difference of means.
* **Metrics of a generated set against a fixed reference** (KID, MMD, C2ST, FID, precision ...):
  a **label-permutation test** of the null "A and B generate the same distribution". The
  generated items of both models are pooled and re-split at random into sets of the original
  sizes; the statistic is ``metric(reference, A') - metric(reference, B')``. Under that null the
  labels are exchangeable, so the test is exact for any metric, with no assumption about the
  metric's sampling distribution. It is not a test of "equal expected metric value" for two
  different distributions; it answers whether the observed gap could come from sampling alone.
  Each permutation calls the metric twice, so sets are first subsampled (once, at random, without
  replacement) to at most ``max_n`` items per model; the test stays exact on that subsample.

Bootstrap resampling *with* replacement is deliberately not used for generated sets: duplicated
points bias k-NN radii (precision/recall), leak between the train and test halves of a classifier
two-sample test, and break U-statistics (unbiased MMD/KID).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from metrics._checks import check_seed

#: Largest block of sign-flip resamples held in memory at once (rows x examples floats).
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class PairedTest:
    """Result of comparing two models on one metric.

    Attributes
    ----------
    pvalue : float
        Two-sided p-value, ``(1 + #{|T*| >= |T|}) / (B + 1)``; never below ``1 / (B + 1)``.
    statistic : float
        The observed test statistic ``T`` (difference of means of log-probs, or of metric values).
    method : str
        Which test, e.g. ``"paired sign-flip permutation (9999)"``.
    n_resamples : int
        ``B``, the number of permutations.
    n : tuple of int
        Sizes actually used for ``a`` and ``b``.
    """

    pvalue: float
    statistic: float
    method: str
    n_resamples: int
    n: tuple[int, int]


def _pvalue(null: np.ndarray, observed: float) -> float:
    # the tiny slack keeps ties that differ only by floating-point rounding counted as ties
    extreme = np.abs(null) >= abs(observed) - 1e-12 * max(1.0, abs(observed))
    return float((1 + int(extreme.sum())) / (len(null) + 1))


def log_prob_test(log_probs_a, log_probs_b, *, n_resamples: int = 9999, seed: int = 0) -> PairedTest:
    """Test whether two models' mean test log-probabilities differ.

    Parameters
    ----------
    log_probs_a, log_probs_b : array_like of shape (m,) and (k,)
        Per-example test log-probabilities of the two models. With ``m == k`` the rows are taken to
        be the same test examples in the same order (paired test).
    n_resamples : int
        Number of random sign flips (paired) or label permutations (unpaired).
    seed : int
        Seed of the resampling.

    Returns
    -------
    PairedTest
        ``statistic`` is ``mean(a) - mean(b)`` in the units of the inputs.

    Notes
    -----
    Paired: the statistic is the mean of ``d_i = a_i - b_i``; each resample multiplies every
    ``d_i`` by an independent random sign. Unpaired: the pooled values are re-split at random
    into groups of sizes ``m`` and ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> b = rng.normal(size=500)
    >>> log_prob_test(b + 0.3, b, n_resamples=999).pvalue
    0.001
    """
    a = np.asarray(log_probs_a, dtype=np.float64).ravel()
    b = np.asarray(log_probs_b, dtype=np.float64).ravel()
    rng = np.random.default_rng(check_seed(seed))
    if len(a) == len(b):
        d = a - b
        observed = float(d.mean())
        null = np.empty(n_resamples)
        block = max(1, _BLOCK_ELEMENTS // max(len(d), 1))
        for start in range(0, n_resamples, block):
            stop = min(n_resamples, start + block)
            signs = rng.integers(0, 2, size=(stop - start, len(d)), dtype=np.int8) * 2 - 1
            null[start:stop] = signs @ d / len(d)
        method = f"paired sign-flip permutation ({n_resamples})"
    else:
        pooled = np.concatenate([a, b])
        observed = float(a.mean() - b.mean())
        null = np.empty(n_resamples)
        total = pooled.sum()
        for i in range(n_resamples):
            idx = rng.permutation(len(pooled))[: len(a)]
            sa = pooled[idx].sum()
            null[i] = sa / len(a) - (total - sa) / len(b)
        method = f"unpaired label permutation ({n_resamples}; test sets differ in length)"
    return PairedTest(_pvalue(null, observed), observed, method, n_resamples, (len(a), len(b)))


def _subsample(x: np.ndarray, max_n: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_n is None or len(x) <= max_n:
        return x
    return x[np.sort(rng.choice(len(x), size=max_n, replace=False))]


def generated_set_test(
    func: Callable[[np.ndarray, np.ndarray], float],
    generated_a,
    generated_b,
    *,
    n_permutations: int = 199,
    max_n: int | None = 1000,
    seed: int = 0,
) -> PairedTest:
    """Permutation test of ``func(A) - func(B)`` under the null that A and B share a distribution.

    Parameters
    ----------
    func : callable
        Maps one generated set (rows of an array) to the metric value, with the reference set and
        the metric's options already bound, e.g. ``lambda g: metrics.mmd(real, g).value``.
    generated_a, generated_b : ndarray of shape (n_a, ...) and (n_b, ...)
        The two models' generated items (features, samples or class-probability rows).
    n_permutations : int
        Number of random re-splits ``B``; the smallest possible p-value is ``1 / (B + 1)``.
    max_n : int or None
        Each set is first subsampled to at most this many rows (``None``: use everything).
    seed : int
        Seed of the subsampling and the permutations.

    Returns
    -------
    PairedTest
        ``statistic`` is ``func(A) - func(B)`` on the (subsampled) sets.

    Notes
    -----
    Warnings the metric raises inside the permutations (small samples and the like) are
    silenced; they were already shown for the real run.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mean_gap = lambda g: abs(float(g.mean()))
    >>> a, b = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0
    >>> generated_set_test(mean_gap, a, b, n_permutations=99).pvalue
    0.01
    """
    rng = np.random.default_rng(check_seed(seed))
    a = _subsample(np.asarray(generated_a), max_n, rng)
    b = _subsample(np.asarray(generated_b), max_n, rng)
    pooled = np.concatenate([a, b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        observed = float(func(a)) - float(func(b))
        null = np.empty(n_permutations)
        for i in range(n_permutations):
            perm = rng.permutation(len(pooled))
            null[i] = float(func(pooled[perm[: len(a)]])) - float(func(pooled[perm[len(a):]]))
    finite = null[np.isfinite(null)]
    if not math.isfinite(observed) or len(finite) < len(null):
        return PairedTest(math.nan, observed, "label permutation (metric was not finite)", n_permutations,
                          (len(a), len(b)))
    cap = "" if max_n is None else f", at most {max_n} per model"
    return PairedTest(_pvalue(null, observed), observed, f"label permutation ({n_permutations}{cap})",
                      n_permutations, (len(a), len(b)))


# ---------------------------------------------------------------------------------------------
# the runner's entry points (interface shared with the runner; see the module docstring)
# ---------------------------------------------------------------------------------------------

#: Label permutations per pair for metrics of generated sets, and the subsample cap they run on.
_PERMUTATIONS, _MAX_N = 99, 250


def wants_test(spec, significance) -> bool:
    """Whether the runner should compare models pairwise on ``spec``'s metric.

    Parameters
    ----------
    spec : metrics.registry.MetricSpec
    significance : {"auto", "all", "none"} or tuple of metric names
        ``"auto"`` tests the metrics of per-example log-probabilities here (a label-permutation
        test of a generated-set metric reruns it ``2 x 99`` times per pair); ``"all"`` every metric.

    Examples
    --------
    >>> from metrics import available_metrics
    >>> wants_test(available_metrics()["log_likelihood"], "auto"), wants_test(available_metrics()["fid"], ("fid",))
    (True, True)
    """
    if significance == "none":
        return False
    if significance == "all":
        return True
    if significance == "auto":
        return spec.needs == "log_probs"
    return spec.name in significance


def _holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment (strong family-wise control); NaN p-values are left out."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if math.isfinite(p))
    m, running, out = len(order), 0.0, [math.nan] * len(pvalues)
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def compare(spec, args: dict, results: dict, *, options: dict, seed: int, level: float = 0.95) -> list:
    """Every pair (in the given order) of the models in ``results`` on one metric, Holm-adjusted.

    Parameters
    ----------
    spec : metrics.registry.MetricSpec
    args : dict of model -> tuple
        The positional arguments the runner passed to ``spec.func`` for that model.
    results : dict of model -> metrics.MetricResult
        The model's result (only models with an ``ok`` row).
    options : dict
        Keyword options of the metric (with the run's ``seed`` when the metric takes one).
    seed : int
    level : float
        Unused by these tests (they give no interval for the difference).

    Returns
    -------
    list of genbench.results.Comparison
    """
    import itertools

    from .results import Comparison

    names = [m for m in results if m in args]
    raw = []
    for a, b in itertools.combinations(names, 2):
        diff = float(results[a].value) - float(results[b].value)
        try:
            if spec.needs == "log_probs":
                test = log_prob_test(args[a][0], args[b][0], n_resamples=9999, seed=seed)
            else:
                ref_side = args[a][0] if spec.needs != "probs" else None

                def func(g):
                    return (spec.func(g, **options) if ref_side is None else spec.func(ref_side, g, **options)).value

                test = generated_set_test(func, args[a][-1], args[b][-1], n_permutations=_PERMUTATIONS,
                                          max_n=_MAX_N, seed=seed)
        except Exception as exc:  # a test that cannot run must not lose the scores
            raw.append((a, b, diff, None, f"{type(exc).__name__}: {exc}"))
            continue
        raw.append((a, b, diff, test, ""))
    adjusted = _holm([t.pvalue if t is not None else math.nan for _, _, _, t, _ in raw])
    family = f"holm over {len(raw)} pair{'s' if len(raw) != 1 else ''} of {spec.name}"
    out = []
    for (a, b, diff, test, error), p_adj in zip(raw, adjusted):
        if test is None or not math.isfinite(test.pvalue):
            out.append(Comparison(spec.name, a, b, diff, math.nan, spec.higher_is_better, adjustment=family,
                                  method=test.method if test else "", status="failed",
                                  error=error or "the metric was not finite on a permuted split"))
            continue
        out.append(Comparison(spec.name, a, b, diff, test.pvalue, spec.higher_is_better, pvalue_adjusted=p_adj,
                              adjustment=family, method=test.method,
                              extras={"n_resamples": test.n_resamples, "n": list(test.n)}))
    return out
