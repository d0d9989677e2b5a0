"""Is model A really better than model B on this metric? Paired tests of "equal expected metric value".

A leaderboard that says "A beats B on precision (p = 0.01)" is read as: with fresh samples, A would
again score better than B. So every test here is of

    H0: A and B have equal expected metric value at these sample sizes,

with the sampling of the reference included, and comes with an interval for the difference A - B.
:func:`compare` runs it for every pair of models on one metric; :func:`wants_test` says which metrics
a run tests (by default every metric of a generated set and every log-probability metric).

Methods, by what the metric offers (details and justification in :mod:`metrics.resampling`):

* **Leave-one-group-out replicates** (FID, KID, MMD, energy, precision, recall, density, coverage):
  the metric function itself returned :class:`metrics.resampling.GroupReplicates` with its result
  (fast paths: moment sums, kernel block sums by group, k-NN candidate lists), computed once per
  model and shared by all its pairs. Test: paired grouped-jackknife t with ``G - 1`` degrees of
  freedom, centred at the plain difference (unbiased for the difference of expectations at these
  sample sizes). KID and the unbiased MMD^2, whose expectation does not depend on the sample size,
  carry the statistic on each group alone as well (free from the same kernel block sums) and are
  tested by the mean of the ``G`` i.i.d. fold differences instead: exact where their difference is
  purely quadratic, where the jackknife t stays conservative (2/200 rejections at 0.05). So is a
  pair of FIDs that are both indistinguishable from 0 (a squared distance at its minimum has no
  first-order term: alternate construction 2 -> 10 of 200).
* **Per-row held-out terms** (the classifier divergences kl, reverse_kl, js, spectrum): each value is
  a mean of cross-fitted held-out terms, with the classifier's fit error at second order (interior
  pi) or carried as a variance (the ends), so the difference of two models is a mean of paired
  reference-row differences plus two independent generated-row means; normal test
  (:func:`metrics.classifier.paired_divergence_test`). A model whose ``"auto"`` classifier kept the
  constant model (value exactly 0: no difference seen) is tested by its best non-constant fit, carried in its
  terms (tested as 0 it was "significantly better" than an equal-quality model in 16 of 60 seeds).
  A value made by a boosting or k-NN fit carries no fit-error term (``RowTerms.seed_dependent``): its
  ends (KL, reverse KL) carry the KL functional's influence on the other side's rows instead (a
  consistent ratio fit's first-order fit error), and the model gets the re-run variance described
  for C2ST below. ``widen-4d`` construction (boosting wins every fit), n = 2,000, 100 seeds: KL 14
  false rejections with the re-runs alone, 6 with the influence terms (reverse KL 5); power, one
  mode dropped (4-d), n = 1,000, p < 0.01: KL 7/10, reverse KL 5/10.
  Disjoint folds would refit the classifier on a
  tenth of the rows, which estimates a different, smaller divergence (measured: 22% rejections
  between two equal-quality models).
* **C2ST** uses the same paired row terms (its accuracy is the mean of per-row held-out hits), plus
  what they miss: the row terms hold the two fitted classifiers fixed, but which rows the seed put in
  which fold moves the accuracy by about as much again (tilt construction below: row variance 0.6e-3
  of a true 1.26e-3). That part, E[Var(accuracy | rows)], is estimated per model from ``RERUNS`` = 3
  re-runs with other seeds on the same rows (shared by all the model's pairs); the test is t with
  Satterthwaite's degrees of freedom. Measured (n = 500, 200 seeds, default classifier, rejections at
  0.05, band 3..19): the disjoint-fold route gave tilt 23 and mirror 2 (a classifier fitted on 25 rows a
  side is not the full-size one); rows only, tilt 33, mirror 15, alternate 19; rows + re-runs, tilt 15,
  mirror 13, alternate 14 (with the rbf candidate in ``"auto"``: 14, 12, 11). The re-runs miss the
  part of the fit noise every split shares (a training row's influence on the other rows' hits), so
  the test leans liberal where it is large.
* **Every other metric of a generated set** (PRD, frontier, vendi, Parzen,
  Inception Score, plugins): treated as a black box that may randomise internally (folds, k-means
  starts), where a jackknife would inflate that noise ``G - 1`` times. The metric is re-run on ``G``
  disjoint folds of the reference and of each model (``G`` calls on ``1/G`` of the data per model,
  shared by all pairs); fold differences are i.i.d., and their variance over ``G`` estimates the
  full-size variance. Test: paired disjoint-fold t with ``G - 1`` degrees of freedom.
* **Per-example log-probabilities** (likelihood metrics): when both models were evaluated on the
  same test set (same length; row ``i`` of each ``log_probs.npy`` is the same test example), a
  paired **sign-flip permutation test** of the mean per-example difference, exact under a
  distribution of differences symmetric about zero (its null is already the right one), with a
  paired t interval. Test sets of different lengths get a label-permutation test and a Welch interval.

Multiplicity: the p-values of the pairs of one metric are adjusted by Holm's step-down procedure
(family-wise error over those pairs), reported in ``pvalue_adjusted`` with ``adjustment`` saying so.

The label-permutation test of "A and B generate the same distribution"
(:func:`generated_set_test`) is kept for callers who want that different question answered; it is
not a test of equal metric values (between two different models of equal quality it declared a
recall winner in 32% of seeds).
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from metrics import MetricResult
from metrics.classifier import RowTerms, paired_divergence_test
from metrics._checks import check_seed
from metrics.registry import MetricSpec
from metrics.resampling import (GROUPS, DifferenceTest, GroupReplicates, adjust_pvalues, fold_values,
                                paired_folds, paired_jackknife)

from .results import Comparison

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
        null = np.concatenate([signs @ d / len(d) for signs in _sign_blocks(len(d), n_resamples, seed)])
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


#: Sign matrices up to this many entries (128 MB as float64) are kept for the next pair.
_CACHED_SIGNS = 1 << 24


def _sign_blocks(n: int, n_resamples: int, seed):
    """The random sign matrices of the paired test, in blocks of at most ``_BLOCK_ELEMENTS``.

    Small ones are cached as float64, so every pair of a board (same test-set length and seed)
    reuses one draw and one conversion; the p-values are those of drawing them afresh.
    """
    if isinstance(seed, (int, np.integer)) and n * n_resamples <= _CACHED_SIGNS:
        return _cached_sign_blocks(n, n_resamples, int(seed))
    return _draw_sign_blocks(n, n_resamples, seed, np.int8)


@functools.lru_cache(maxsize=1)
def _cached_sign_blocks(n: int, n_resamples: int, seed: int) -> tuple:
    return tuple(_draw_sign_blocks(n, n_resamples, seed, np.float64))


def _draw_sign_blocks(n, n_resamples, seed, dtype):
    rng = np.random.default_rng(check_seed(seed))
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n_resamples, block):
        signs = rng.integers(0, 2, size=(min(n_resamples, start + block) - start, n), dtype=np.int8) * 2 - 1
        yield signs.astype(dtype, copy=False)


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
# the harness's entry points
# ---------------------------------------------------------------------------------------------

#: Multiplicity adjustment across the pairs of one metric (see :func:`metrics.adjust_pvalues`).
ADJUSTMENT = "holm"
#: Sign flips of the paired log-probability test.
LOG_PROB_RESAMPLES = 9999


def wants_test(spec: MetricSpec, significance) -> bool:
    """Whether a run with this ``significance`` setting compares models pairwise on ``spec``.

    Parameters
    ----------
    spec : MetricSpec
        The metric.
    significance : {"auto", "all", "none"} or tuple of str
        ``"auto"`` (the default of a run): every metric this module can test, i.e. every metric of a
        generated set (needs features, samples or class probabilities) and every metric of per-example
        log-probabilities; ``"all"``: the same; ``"none"``: no tests; a tuple of metric names: those.

    Returns
    -------
    bool

    Examples
    --------
    >>> import metrics
    >>> wants_test(metrics.get_metric("fid"), "auto"), wants_test(metrics.get_metric("fid"), "none")
    (True, False)
    >>> wants_test(metrics.get_metric("fid"), ("kid",))
    False
    """
    if isinstance(significance, str):
        if significance == "none":
            return False
        if significance in ("auto", "all"):
            return spec.needs in ("features", "samples", "probs", "log_probs")
        return spec.name == significance
    return spec.name in tuple(significance)


def _failed(spec, a, b, difference, error, method="") -> Comparison:
    return Comparison(spec.name, a, b, difference, math.nan, spec.higher_is_better, method=method,
                      status="failed", error=error)


def _from_test(spec, a, b, test: DifferenceTest, extras=None) -> Comparison:
    if not (math.isfinite(test.pvalue) and math.isfinite(test.se)):
        # e.g. a boosting / k-NN KL whose estimated density ratios overflow: its chi^2 influence term,
        # and so the difference's variance, is not finite; a nan p-value is no result
        return _failed(spec, a, b, test.difference, f"the difference's standard error is not finite "
                       f"(se = {test.se!r}): the test cannot be computed", test.method)
    return Comparison(spec.name, a, b, test.difference, test.pvalue, spec.higher_is_better, ci=test.ci,
                      method=test.method, extras={"se": test.se, **test.extras, **(extras or {})})


def _nats(log_probs, result: MetricResult) -> np.ndarray:
    """Per-example log-probs in the units of the result's value (the metric converted the base)."""
    x = np.asarray(log_probs, dtype=np.float64).ravel()
    mean = float(x.mean())
    scale = float(result.value) / mean if mean != 0.0 and math.isfinite(result.value) else 1.0
    return x * scale


def _log_prob_comparison(spec, a, b, x_a, x_b, seed, level) -> Comparison:
    from scipy import stats

    from metrics.result import ConfidenceInterval

    test = log_prob_test(x_a, x_b, n_resamples=LOG_PROB_RESAMPLES, seed=seed)
    if len(x_a) == len(x_b):
        d = x_a - x_b
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
        df = len(d) - 1
        what = "paired t"
    else:
        va, vb = x_a.var(ddof=1) / len(x_a), x_b.var(ddof=1) / len(x_b)
        se = float(math.sqrt(va + vb))
        df = (va + vb) ** 2 / (va ** 2 / (len(x_a) - 1) + vb ** 2 / (len(x_b) - 1)) if va + vb > 0 else 1
        what = "Welch t"
    half = float(stats.t.ppf(0.5 + level / 2.0, max(df, 1)) * se) if math.isfinite(se) else math.nan
    diff = float(x_a.mean() - x_b.mean())
    ci = ConfidenceInterval(diff - half, diff + half, level, f"{what} interval of the mean per-example difference")
    return Comparison(spec.name, a, b, diff, test.pvalue, spec.higher_is_better, ci=ci, method=test.method,
                      extras={"se": se, "n": list(test.n), "n_resamples": test.n_resamples})


def _replicates(results: dict) -> dict | None:
    """Every model's replicates, when all have them and all dropped the same reference groups."""
    reps = {m: r.replicates for m, r in results.items()}
    if not reps or not all(isinstance(r, GroupReplicates) for r in reps.values()):
        return None
    first = next(iter(reps.values()))
    return reps if all(first.compatible(r) for r in reps.values()) else None


def _row_terms(results: dict) -> dict | None:
    """Every model's per-row classifier terms, when all have them against the same reference rows."""
    terms = {m: r.replicates for m, r in results.items()}
    if not terms or not all(isinstance(t, RowTerms) for t in terms.values()):
        return None
    first = next(iter(terms.values()))
    return terms if all(t.reference == first.reference for t in terms.values()) else None


#: Options that only shape a metric's own interval, never its value: fold calls turn them off.
_INTERVAL_ONLY = {"n_bootstrap": 0}


def _interval_only(spec) -> dict:
    return {k: v for k, v in _INTERVAL_ONLY.items() if k in spec.options}


#: Re-runs with other seeds per model for row terms whose value depends on the seed's split (C2ST).
RERUNS = 3


def _rerun_variance(spec, args: tuple, options: dict, result: MetricResult, seed: int) -> float:
    """Variance of one model's value over its run and ``RERUNS`` re-runs with other seeds, same rows.

    Estimates E[Var(value | rows)]: what the seed's split of the rows into folds (which rows train
    which classifier) adds to the row terms' variance, which holds the classifiers fixed.
    """
    base = options.get("seed", seed)
    base = base if isinstance(base, (int, np.integer)) else seed
    values = [float(result.value)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the run's own warnings were already shown for these rows
        for r in range(RERUNS):
            other = int(np.random.SeedSequence([int(base), 7919, r]).generate_state(1)[0])
            values.append(float(spec.func(*args, **{**options, **_interval_only(spec), "seed": other}).value))
    if not np.isfinite(values).all():
        raise ValueError("the metric was not finite on a re-run with another seed")
    return float(np.var(values, ddof=1))


def _folds(spec, args: tuple, options: dict, seed: int) -> np.ndarray:
    options = {**options, **_interval_only(spec)}
    if spec.needs == "probs":
        return fold_values(lambda g: spec.func(g, **options).value, args[0], groups=GROUPS, seed=seed)
    reference, generated = args
    if not all(isinstance(x, np.ndarray) or hasattr(x, "__array__") for x in args) or np.ndim(reference) < 1:
        raise TypeError("inputs are not arrays (saved statistics carry no per-row information)")
    return fold_values(lambda r, g: spec.func(r, g, **options).value, reference, generated,
                       groups=GROUPS, seed=seed)


def compare(spec: MetricSpec, args: dict, results: dict, *, options: dict, seed: int,
            level: float = 0.95) -> list[Comparison]:
    """Every pair of models on one metric: paired tests of equal expected value, intervals, Holm.

    Parameters
    ----------
    spec : MetricSpec
        The metric.
    args : dict of str -> tuple
        Per model, the positional arguments the run passed to ``spec.func``:
        ``(reference_features, model_features)`` for ``needs="features"`` / ``"samples"``,
        ``(model_class_probs,)`` for ``"probs"``, ``(per_example_log_probs,)`` for ``"log_probs"``.
    results : dict of str -> MetricResult
        Per model (only models whose row is ``ok``), its result; the order of this dict is the
        order of the pairs (``a`` before ``b``).
    options : dict
        The metric's keyword options as the run used them (``seed`` included when it takes one).
    seed : int
        Seed of the fold assignment and of the sign flips.
    level : float
        Level of the intervals for the differences.

    Returns
    -------
    list of Comparison
        One per pair ``(a, b)``, ``difference = value_a - value_b``; ``pvalue_adjusted`` by Holm over
        this metric's pairs that could be tested, ``adjustment`` says so. A pair whose test could not
        run has ``status="failed"`` and the reason in ``error``.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=(400, 2))
    >>> sets = {"good": rng.normal(size=(400, 2)), "bad": rng.normal(size=(400, 2)) + 1.0}
    >>> spec = metrics.get_metric("fid")
    >>> results = {m: spec.func(ref, x) for m, x in sets.items()}
    >>> (c,) = compare(spec, {m: (ref, x) for m, x in sets.items()}, results, options={}, seed=0)
    >>> c.model_a, c.model_b, c.better(), c.pvalue_adjusted < 0.001
    ('good', 'bad', 'good', True)
    """
    names = list(results)
    options = dict(options or {})
    pairs = list(itertools.combinations(names, 2))
    out: list[Comparison] = []
    if spec.needs == "log_probs":
        x = {m: _nats(args[m][0], results[m]) for m in names if m in args}
        for a, b in pairs:
            if a not in x or b not in x:
                out.append(_failed(spec, a, b, results[a].value - results[b].value,
                                   "no per-example log-probabilities (a reported number carries no per-example data)"))
                continue
            out.append(_log_prob_comparison(spec, a, b, x[a], x[b], seed, level))
        return _adjust(spec, out)
    terms = _row_terms(results)
    reps = None if terms else _replicates(results)
    folds, errors, rerun_var = {}, {}, {}
    if terms is not None:
        for m in (m for m in names if terms[m].seed_dependent):
            try:
                rerun_var[m] = _rerun_variance(spec, args[m], options, results[m], seed)
            except Exception as exc:  # one model's re-runs failing must not lose the other pairs
                errors[m] = f"{type(exc).__name__}: {exc}"
    if reps is None and terms is None:
        for m in names:
            try:
                folds[m] = _folds(spec, args[m], options, seed)
                if not np.isfinite(folds[m]).all():
                    raise ValueError("the metric was not finite on some fold")
            except Exception as exc:  # one model's folds failing must not lose the other pairs
                errors[m] = f"{type(exc).__name__}: {exc}"
    for a, b in pairs:
        ra, rb = results[a], results[b]
        diff = float(ra.value) - float(rb.value)
        extras = {"bound": [ra.bound, rb.bound]} if ra.bound or rb.bound else {}
        if ra.bound == "lower" and rb.bound == "lower":
            # two "at least" values (the divergences may both be infinite): their difference estimates
            # nothing, so there is no test of it (measured: 31% rejections between two mode-dropping
            # models of equal quality when it was tested)
            out.append(_failed(spec, a, b, diff, "both values are lower bounds (e.g. infinite divergences): "
                               "their difference is not an estimate, so it is not tested"))
            continue
        if terms is not None and (a in errors or b in errors):
            out.append(_failed(spec, a, b, diff, f"re-runs of {a if a in errors else b}: {errors.get(a) or errors[b]}",
                               "paired row terms"))
        elif terms is not None:
            rerun = [rerun_var[m] for m in (a, b) if m in rerun_var]
            extra = {"extra_variance": sum(rerun), "extra_df": RERUNS * len(rerun)} if rerun else {}
            out.append(_from_test(spec, a, b, paired_divergence_test(ra.value, terms[a], rb.value, terms[b],
                                                                     level=level, **extra), extras))
        elif reps is not None:
            out.append(_from_test(spec, a, b, paired_jackknife(ra.value, reps[a], rb.value, reps[b], level=level),
                                  {"replicates": reps[a].method, **extras}))
        elif a in errors or b in errors:
            out.append(_failed(spec, a, b, diff, f"folds of {a if a in errors else b}: {errors.get(a) or errors[b]}",
                               "paired disjoint-fold t"))
        else:
            out.append(_from_test(spec, a, b, paired_folds(ra.value, folds[a], rb.value, folds[b], level=level),
                                  extras))
    return _adjust(spec, out)


def _adjust(spec: MetricSpec, comparisons: list) -> list[Comparison]:
    import dataclasses

    ok = [i for i, c in enumerate(comparisons) if c.status == "ok" and math.isfinite(c.pvalue)]
    adjusted = adjust_pvalues([comparisons[i].pvalue for i in ok], ADJUSTMENT)
    label = f"{ADJUSTMENT} over {len(ok)} pair{'s' if len(ok) != 1 else ''} of {spec.name}"
    out = list(comparisons)
    for i, p in zip(ok, adjusted):
        out[i] = dataclasses.replace(out[i], pvalue_adjusted=float(p), adjustment=label)
    return out
