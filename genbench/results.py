"""The two tables a scoring run produces, each defined once: result rows and pairwise comparisons.

A scoring run yields

* one :class:`ResultRow` per (model, metric): the metric's value, its interval, its status;
* one :class:`Comparison` per (metric, pair of models): the paired test of "A and B have equal
  expected metric value", with the difference, its interval and the p-value before and after the
  multiplicity adjustment.

Both are frozen dataclasses. In memory, structured fields stay objects (``ci`` is a
:class:`~metrics.ConfidenceInterval`, ``n`` a tuple, ``extras`` a dict); they become JSON only at the
file boundary, through :meth:`ResultRow.to_json` / :meth:`Comparison.to_json`. Nothing is written
back into a finished row: the comparisons are their own table, handed to the leaderboard beside
the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from metrics import ConfidenceInterval

#: What a row's ``status`` can be: the metric ran (``ok``, always with a finite value), does not
#: apply to this model (``n/a``), or raised / produced a non-finite value (``failed``).
STATUSES = ("ok", "n/a", "failed")


def _finite_or_none(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


@dataclass(frozen=True)
class ResultRow:
    """One metric on one model against one reference.

    Attributes
    ----------
    model, metric : str
        Who was scored, with what (registry name).
    value : float
        The estimate; NaN unless ``status == "ok"``. An ``ok`` row always has a finite value.
    higher_is_better : bool
        The metric's declared direction.
    status : {"ok", "n/a", "failed"}
        See :data:`STATUSES`.
    ci : ConfidenceInterval or None
        Interval for the metric's value, saying how it was made.
    pvalue : float or None
        Set by metrics that are tests (``mmd_test``, ``c2st``).
    bound : {None, "lower", "upper"}
        Set when ``value`` only bounds the metric (:attr:`metrics.MetricResult.bound`).
    n : tuple of int
        Sample sizes the metric used.
    group : str
        Metric family (``likelihood``, ``kernel``, ``classifier``, ``perceptual`` ...).
    extractor : str
        Feature extractor id (with its weights hash and preprocessing).
    reference : str
        Name of the reference set the model was scored against.
    reference_hash, input_hash : str
        Content hashes of the reference and of the model's inputs ("" for in-memory arrays).
    seed : int or None
        Seed of the run.
    error : str
        Why a row is ``n/a`` or ``failed``; empty when ``ok``.
    extras : dict
        Metric-specific details (JSON-friendly).
    """

    model: str
    metric: str
    value: float
    higher_is_better: bool
    status: str = "ok"
    ci: ConfidenceInterval | None = None
    pvalue: float | None = None
    bound: str | None = None
    n: tuple[int, ...] = ()
    group: str = ""
    extractor: str = ""
    reference: str = ""
    reference_hash: str = ""
    input_hash: str = ""
    seed: int | None = None
    error: str = ""
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"`status` must be one of {STATUSES}; got {self.status!r}.")
        if self.status == "ok" and not math.isfinite(self.value):
            raise ValueError(f"an 'ok' row needs a finite value; {self.model!r} {self.metric!r} has {self.value}.")

    def to_json(self) -> dict:
        """The row's JSON form (one line of ``results.jsonl``): NaN and inf become ``null``."""
        ci = self.ci
        return {
            "model": self.model, "metric": self.metric, "value": _finite_or_none(float(self.value)),
            "higher_is_better": bool(self.higher_is_better), "status": self.status,
            "ci_low": _finite_or_none(ci.low) if ci else None, "ci_high": _finite_or_none(ci.high) if ci else None,
            "ci_level": ci.level if ci else None, "ci_method": ci.method if ci else "",
            "pvalue": _finite_or_none(self.pvalue), "bound": self.bound, "n": list(self.n),
            "group": self.group, "extractor": self.extractor, "reference": self.reference,
            "reference_hash": self.reference_hash, "input_hash": self.input_hash, "seed": self.seed,
            "error": self.error, "extras": self.extras,
        }


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two models on one metric, against the same reference.

    Attributes
    ----------
    metric : str
        Registry name.
    model_a, model_b : str
        The pair; ``difference`` is A's value minus B's, in the metric's own direction.
    difference : float
        Estimated difference of expected metric values (A - B).
    ci : ConfidenceInterval or None
        Interval for the difference.
    pvalue : float
        Two-sided p-value of H0: "A and B have equal expected metric value at these sample sizes"
        (for log-likelihoods: equal expected per-example log-likelihood on the test set).
    pvalue_adjusted : float
        ``pvalue`` after the multiplicity adjustment named in ``adjustment``.
    adjustment : str
        How p-values were adjusted and over which family, e.g. ``"holm over 55 pairs of kid"``.
    method : str
        The test, e.g. ``"grouped jackknife t (20 groups)"`` or ``"paired sign-flip permutation (9999)"``.
    higher_is_better : bool
        The metric's direction, so ``better`` can be read without the registry.
    status : {"ok", "failed"}
        ``failed`` when the test could not run; ``error`` says why.
    error : str
    extras : dict
        Method details (number of groups, degrees of freedom, ...).
    """

    metric: str
    model_a: str
    model_b: str
    difference: float
    pvalue: float
    higher_is_better: bool
    ci: ConfidenceInterval | None = None
    pvalue_adjusted: float | None = None
    adjustment: str = ""
    method: str = ""
    status: str = "ok"
    error: str = ""
    extras: dict = field(default_factory=dict)

    def better(self, alpha: float = 0.05) -> str | None:
        """The model that is better at level ``alpha`` (adjusted p-value), or ``None`` for a tie."""
        p = self.pvalue if self.pvalue_adjusted is None else self.pvalue_adjusted
        if self.status != "ok" or p is None or not p < alpha or self.difference == 0:
            return None
        a_higher = self.difference > 0
        return self.model_a if a_higher == self.higher_is_better else self.model_b

    def to_json(self) -> dict:
        """The comparison's JSON form (one line of ``comparisons.jsonl``)."""
        ci = self.ci
        return {
            "metric": self.metric, "model_a": self.model_a, "model_b": self.model_b,
            "difference": _finite_or_none(float(self.difference)),
            "ci_low": _finite_or_none(ci.low) if ci else None, "ci_high": _finite_or_none(ci.high) if ci else None,
            "ci_level": ci.level if ci else None, "ci_method": ci.method if ci else "",
            "pvalue": _finite_or_none(self.pvalue), "pvalue_adjusted": _finite_or_none(self.pvalue_adjusted),
            "adjustment": self.adjustment, "method": self.method, "higher_is_better": bool(self.higher_is_better),
            "status": self.status, "error": self.error, "extras": self.extras,
        }
