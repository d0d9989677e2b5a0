"""Result objects every metric returns.

A result is a frozen dataclass; :meth:`MetricResult.to_dict` is its JSON-friendly serialisation (every
field but the in-memory ``replicates``), so the harness can turn a list of them into a long DataFrame
without knowing which metric made which row.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConfidenceInterval:
    """An interval estimate and how it was made.

    Parameters
    ----------
    low, high : float
        Interval bounds.
    level : float
        Nominal coverage, e.g. ``0.95``.
    method : str
        How the interval was built, e.g. ``"normal"``, ``"bootstrap-percentile"``,
        ``"t over subsets"``. A spread over subsets is not a confidence interval unless the method
        says how it became one.
    """

    low: float
    high: float
    level: float = 0.95
    method: str = ""

    def __post_init__(self):
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"`level` must be in (0, 1); got {self.level}.")


@dataclass(frozen=True)
class MetricResult:
    """One number a metric produced, with enough context to rank and compare it.

    Parameters
    ----------
    metric : str
        Registry name of the metric that produced the value.
    value : float
        The estimate.
    higher_is_better : bool
        Direction used by leaderboards to rank models.
    ci : ConfidenceInterval, optional
        Interval estimate of ``value``; ``None`` when the metric has no honest way to make one.
    pvalue : float, optional
        Set only by hypothesis tests.
    n : tuple of int
        Sample sizes actually used (``(n_real, n_generated)`` for two-sample metrics).
    extras : dict
        Metric-specific details (bandwidth used, subset spread, null-distribution summary ...).
        Values should be JSON-friendly (numbers, strings, lists, dicts).
    bound : {None, "lower", "upper"}
        ``None`` when ``value`` is an estimate of the metric; ``"lower"`` (``"upper"``) when the
        estimator can only bound it from below (above), e.g. a classifier-estimated KL whose
        log-ratios saturate where one distribution has mass the other lacks. Leaderboards show
        such a value as "> value" and never rank it as a confident number.
    replicates : metrics.resampling.GroupReplicates or metrics.classifier.RowTerms, optional
        Leave-one-group-out values behind ``ci`` (or, for the classifier divergences, their per-row
        held-out terms), kept in memory only (never serialised, not part of equality) so the
        harness's paired model comparisons reuse them instead of recomputing.
    """

    metric: str
    value: float
    higher_is_better: bool
    ci: ConfidenceInterval | None = None
    pvalue: float | None = None
    n: tuple[int, ...] = ()
    extras: dict = field(default_factory=dict)
    bound: str | None = None
    replicates: object = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.bound not in (None, "lower", "upper"):
            raise ValueError(f"`bound` must be None, 'lower' or 'upper'; got {self.bound!r}.")

    def __float__(self) -> float:
        return float(self.value)

    def to_dict(self) -> dict:
        """Every field but ``replicates`` (arrays kept in memory for paired comparisons), as plain data.

        Examples
        --------
        >>> r = MetricResult("fid", 1.5, False, ci=ConfidenceInterval(1.0, 2.0, 0.95, "t"))
        >>> sorted(r.to_dict())[:4], r.to_dict()["ci"]["low"]
        (['bound', 'ci', 'extras', 'higher_is_better'], 1.0)
        """
        import copy
        import dataclasses

        out = {}
        for f in dataclasses.fields(self):
            if f.name == "replicates":
                continue
            value = getattr(self, f.name)
            out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else copy.deepcopy(value)
        return out
