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

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import ConfidenceInterval, InputError

from .errors import SampleError

#: What a row's ``status`` can be: the metric ran (``ok``, always with a finite value), does not
#: apply to this model (``n/a``), or raised / produced a non-finite value (``failed``).
STATUSES = ("ok", "n/a", "failed")


def _finite_or_none(x):
    if isinstance(x, np.generic):
        x = x.item()
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def _json_safe(obj):
    """Extras made JSON-ready: numpy scalars and arrays unwrapped, non-finite floats -> None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


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
            "error": self.error, "extras": _json_safe(self.extras),
        }

    @classmethod
    def from_json(cls, record: dict, *, where: str = "record") -> "ResultRow":
        """A row from its JSON form, of any schema version (see :data:`RESULT_SCHEMA`).

        Older files lack ``status`` (derived from ``error``: ``failed`` when it is set), ``bound``,
        ``reference`` and the hashes; their ``n`` / ``extras`` may be JSON text; ``higher_is_better``
        may be the strings ``"true"`` / ``"false"``. An ``ok`` record without a finite value is
        loaded as ``failed`` with the reason, so an ``ok`` row always holds a number.

        Raises
        ------
        InputError
            ``model``/``metric`` missing, ``higher_is_better`` missing or not a boolean.
        """
        for key in ("model", "metric"):
            if record.get(key) in (None, ""):
                raise InputError(f"{where}: needs `{key}`; got keys {sorted(record)}.")
        value = _number(record.get("value"))
        error = _text(record.get("error"))
        status = record.get("status")
        if status not in STATUSES:
            status = "failed" if error else "ok"
        if status == "ok" and not math.isfinite(value):
            status, error = "failed", f"the value is not finite ({record.get('value')!r} in the results file)"
        return cls(
            model=str(record["model"]), metric=str(record["metric"]), value=value,
            higher_is_better=parse_bool(record.get("higher_is_better"),
                                        f"{where} (metric {record['metric']!r}): `higher_is_better`"),
            status=status, ci=_ci_from(record), pvalue=_optional_number(record.get("pvalue")),
            bound=record.get("bound") if record.get("bound") in ("lower", "upper") else None,
            n=tuple(int(v) for v in _structured(record.get("n"), [])), group=_text(record.get("group")),
            extractor=_text(record.get("extractor")), reference=_text(record.get("reference")),
            reference_hash=_text(record.get("reference_hash")), input_hash=_text(record.get("input_hash")),
            seed=_optional_int(record.get("seed")), error=error, extras=dict(_structured(record.get("extras"), {})),
        )


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
            "status": self.status, "error": self.error, "extras": _json_safe(self.extras),
        }

    @classmethod
    def from_json(cls, record: dict, *, where: str = "record") -> "Comparison":
        """A comparison from its JSON form (one line of ``comparisons.jsonl``).

        Raises
        ------
        InputError
            A required key is missing or ``higher_is_better`` is not a boolean.
        """
        for key in ("metric", "model_a", "model_b"):
            if record.get(key) in (None, ""):
                raise InputError(f"{where}: needs `{key}`; got keys {sorted(record)}.")
        return cls(
            metric=str(record["metric"]), model_a=str(record["model_a"]), model_b=str(record["model_b"]),
            difference=_number(record.get("difference")), pvalue=_number(record.get("pvalue")),
            higher_is_better=parse_bool(record.get("higher_is_better"), f"{where}: `higher_is_better`"),
            ci=_ci_from(record), pvalue_adjusted=_optional_number(record.get("pvalue_adjusted")),
            adjustment=_text(record.get("adjustment")), method=_text(record.get("method")),
            status=record.get("status") if record.get("status") in ("ok", "failed") else "ok",
            error=_text(record.get("error")), extras=dict(_structured(record.get("extras"), {})),
        )


# ---------------------------------------------------------------------------------------------
# reading values of any schema version
# ---------------------------------------------------------------------------------------------


def parse_bool(value, where: str) -> bool:
    """A boolean from a results file: JSON ``true``/``false``, 0/1, or the strings "true"/"false".

    Examples
    --------
    >>> parse_bool("false", "x"), parse_bool(True, "x"), parse_bool(1, "x")
    (False, True, True)
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(f"{where} must be true or false; got {value!r}. Fix the results file.")


def _number(x) -> float:
    if x is None or isinstance(x, (bool, np.bool_)):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _optional_number(x) -> float | None:
    v = _number(x)
    return v if math.isfinite(v) else None


def _optional_int(x) -> int | None:
    v = _number(x)
    return int(v) if math.isfinite(v) else None


def _text(x) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def _structured(x, default):
    """``n`` / ``extras`` / ``comparisons`` as objects; older files and frames hold them as JSON text."""
    if isinstance(x, str):
        try:
            x = json.loads(x) if x.strip() not in ("", "null") else default
        except ValueError:
            return default
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return default
    return x


def _ci_from(record: dict) -> ConfidenceInterval | None:
    ci = record.get("ci")
    if isinstance(ci, ConfidenceInterval):
        return ci
    low, high = _number(record.get("ci_low")), _number(record.get("ci_high"))
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    level = _number(record.get("ci_level"))
    return ConfidenceInterval(low, high, level if 0 < level < 1 else 0.95, _text(record.get("ci_method")))


# ---------------------------------------------------------------------------------------------
# the documented schema
# ---------------------------------------------------------------------------------------------

#: ``results.jsonl``: one JSON object per line, one line per (model, metric). Field -> (JSON type,
#: meaning). Older files lacking the later fields still load (:meth:`ResultRow.from_json`).
RESULT_SCHEMA = {
    "model": ("string", "model name"),
    "metric": ("string", "registry name of the metric"),
    "value": ("number or null", "the estimate; null unless status is ok"),
    "higher_is_better": ("boolean", "the metric's direction"),
    "status": ("string", "ok | n/a (does not apply to this model) | failed (see error)"),
    "ci_low": ("number or null", "interval for value, lower end"),
    "ci_high": ("number or null", "interval for value, upper end"),
    "ci_level": ("number or null", "nominal coverage of the interval, e.g. 0.95"),
    "ci_method": ("string", "how the interval was made"),
    "pvalue": ("number or null", "set by metrics that are tests (mmd_test, c2st)"),
    "bound": ("string or null", "lower | upper when value only bounds the metric"),
    "n": ("array of integers", "sample sizes the metric used"),
    "group": ("string", "metric family (likelihood, kernel, classifier, perceptual ...)"),
    "extractor": ("string", "feature extractor id (weights hash and preprocessing included)"),
    "reference": ("string", "name of the reference set"),
    "reference_hash": ("string", "content hash of the reference set (empty for in-memory arrays)"),
    "input_hash": ("string", "content hash of the model's sample set"),
    "seed": ("integer or null", "seed of the run"),
    "error": ("string", "why the row is n/a or failed; empty when ok"),
    "extras": ("object", "metric-specific details"),
}

#: ``comparisons.jsonl``: one JSON object per line, one line per (metric, pair of models).
COMPARISON_SCHEMA = {
    "metric": ("string", "registry name of the metric"),
    "model_a": ("string", "first model of the pair"),
    "model_b": ("string", "second model of the pair"),
    "difference": ("number or null", "value of A minus value of B"),
    "ci_low": ("number or null", "interval for the difference, lower end"),
    "ci_high": ("number or null", "interval for the difference, upper end"),
    "ci_level": ("number or null", "nominal coverage of that interval"),
    "ci_method": ("string", "how that interval was made"),
    "pvalue": ("number or null", "two-sided p-value of 'A and B have equal expected metric value'"),
    "pvalue_adjusted": ("number or null", "pvalue after the multiplicity adjustment"),
    "adjustment": ("string", "how and over which family the p-values were adjusted"),
    "method": ("string", "the test"),
    "higher_is_better": ("boolean", "the metric's direction"),
    "status": ("string", "ok | failed (see error)"),
    "error": ("string", "why the test could not run"),
    "extras": ("object", "method details"),
}


def schema_markdown() -> str:
    """Both schemas as Markdown tables (what ``docs``/the README show).

    Examples
    --------
    >>> schema_markdown().splitlines()[0]
    '### results.jsonl (one line per model and metric)'
    """
    out = []
    for title, schema in (("results.jsonl (one line per model and metric)", RESULT_SCHEMA),
                          ("comparisons.jsonl (one line per metric and pair of models)", COMPARISON_SCHEMA)):
        out += [f"### {title}", "", "| field | JSON type | meaning |", "| --- | --- | --- |"]
        out += [f"| `{k}` | {t} | {m} |" for k, (t, m) in schema.items()]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# DataFrames: structured fields stay objects
# ---------------------------------------------------------------------------------------------

#: Columns of the long results frame. ``n`` holds tuples and ``extras`` dicts (objects, never JSON
#: text); the interval is spread over the four ``ci_*`` columns so it can be sorted and plotted.
ROW_COLUMNS = ["model", "metric", "value", "ci_low", "ci_high", "ci_level", "ci_method", "pvalue", "bound", "n",
               "higher_is_better", "group", "extractor", "reference", "reference_hash", "input_hash", "seed",
               "status", "error", "extras"]
#: Columns of the comparisons frame.
COMPARISON_COLUMNS = ["metric", "model_a", "model_b", "difference", "ci_low", "ci_high", "ci_level", "ci_method",
                      "pvalue", "pvalue_adjusted", "adjustment", "method", "higher_is_better", "status", "error",
                      "extras"]


def rows_to_frame(rows) -> pd.DataFrame:
    """Result rows as the long frame (:data:`ROW_COLUMNS`).

    Examples
    --------
    >>> df = rows_to_frame([ResultRow("a", "fid", 2.0, False, n=(10, 10))])
    >>> df.loc[0, "n"], df.loc[0, "extras"], bool(df.loc[0, "higher_is_better"])
    ((10, 10), {}, False)
    """
    nan = math.nan
    data = [(r.model, r.metric, float(r.value), r.ci.low if r.ci else nan, r.ci.high if r.ci else nan,
             r.ci.level if r.ci else nan, r.ci.method if r.ci else "", nan if r.pvalue is None else r.pvalue,
             r.bound, tuple(r.n), bool(r.higher_is_better), r.group, r.extractor, r.reference, r.reference_hash,
             r.input_hash, r.seed, r.status, r.error, r.extras) for r in rows]
    df = pd.DataFrame(data, columns=ROW_COLUMNS)
    return df.astype({c: float for c in ("value", "ci_low", "ci_high", "ci_level", "pvalue")})


def frame_to_rows(df: pd.DataFrame) -> list[ResultRow]:
    """Result rows from a long frame of any schema version (older frames hold JSON text).

    Raises
    ------
    InputError
        A frame without ``model``/``metric`` columns or ``higher_is_better``.
    """
    for col in ("model", "metric", "higher_is_better"):
        if col not in df.columns:
            raise InputError(f"results need a `{col}` column; got columns {list(df.columns)}.")
    return [ResultRow.from_json(rec, where=f"row {i}") for i, rec in enumerate(df.to_dict(orient="records"))]


def comparisons_to_frame(comparisons) -> pd.DataFrame:
    """Comparisons as a frame (:data:`COMPARISON_COLUMNS`)."""
    nan = math.nan
    data = [(c.metric, c.model_a, c.model_b, float(c.difference), c.ci.low if c.ci else nan,
             c.ci.high if c.ci else nan, c.ci.level if c.ci else nan, c.ci.method if c.ci else "",
             nan if c.pvalue is None else float(c.pvalue),
             nan if c.pvalue_adjusted is None else float(c.pvalue_adjusted), c.adjustment, c.method,
             bool(c.higher_is_better), c.status, c.error, c.extras) for c in comparisons]
    return pd.DataFrame(data, columns=COMPARISON_COLUMNS)


def frame_to_comparisons(df: pd.DataFrame) -> list[Comparison]:
    """Comparisons from a frame with :data:`COMPARISON_COLUMNS`."""
    return [Comparison.from_json(rec, where=f"comparison {i}") for i, rec in enumerate(df.to_dict(orient="records"))]


#: ``adjustment`` of comparisons read from the per-row ``comparisons`` field of older files.
LEGACY_ADJUSTMENT = "none (read from a results file written before p-values were adjusted)"


def legacy_comparisons(records, rows) -> list[Comparison]:
    """Comparisons stored inside rows by older files (a ``comparisons`` field per row), one per pair."""
    direction = {(r.model, r.metric): r.higher_is_better for r in rows}
    seen, out = set(), []
    for rec in records:
        found = _structured(rec.get("comparisons"), {})
        if not isinstance(found, dict):
            continue
        model, metric = str(rec.get("model")), str(rec.get("metric"))
        for other, test in found.items():
            key = (metric, frozenset((model, str(other))))
            if key in seen or not isinstance(test, dict):
                continue
            seen.add(key)
            hib = direction.get((model, metric), True)
            if "error" in test:
                out.append(Comparison(metric, model, str(other), math.nan, math.nan, hib, status="failed",
                                      error=str(test["error"]), adjustment=LEGACY_ADJUSTMENT))
                continue
            out.append(Comparison(metric, model, str(other), _number(test.get("diff")), _number(test.get("pvalue")),
                                  hib, adjustment=LEGACY_ADJUSTMENT, method=_text(test.get("method")),
                                  extras={k: v for k, v in test.items() if k not in ("diff", "pvalue", "method")}))
    return out


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def comparisons_path(results_path) -> Path:
    """Where the comparisons of a results file live: ``comparisons.jsonl`` beside ``results.jsonl``,
    ``STEM.comparisons.jsonl`` beside any other ``STEM.jsonl``.

    Examples
    --------
    >>> comparisons_path("board/results.jsonl").name, comparisons_path("runs/cifar.jsonl").name
    ('comparisons.jsonl', 'cifar.comparisons.jsonl')
    """
    path = Path(results_path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name("comparisons.jsonl" if stem == "results" else f"{stem}.comparisons.jsonl")


def jsonl_text(objects) -> str:
    """Objects with ``to_json`` as JSON lines (NaN is never written: it becomes null)."""
    encode = json.JSONEncoder(allow_nan=False).encode  # one encoder for every line
    return "".join([encode(o.to_json()) + "\n" for o in objects])


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise SampleError(f"results file {str(path)!r}: no such file. Check the path.")
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{lineno}: not a JSON object ({exc}). Is this a results.jsonl file?") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object per line; got {type(rec).__name__}.")
        records.append((lineno, rec))
    return records


@dataclass(frozen=True)
class ResultSet:
    """Result rows and the comparisons table that belong with them.

    Attributes
    ----------
    rows : tuple of ResultRow
    comparisons : tuple of Comparison
    """

    rows: tuple
    comparisons: tuple = ()

    def frame(self) -> pd.DataFrame:
        """The long results frame (:func:`rows_to_frame`)."""
        return rows_to_frame(self.rows)

    def comparisons_frame(self) -> pd.DataFrame:
        """The comparisons frame (:func:`comparisons_to_frame`)."""
        return comparisons_to_frame(self.comparisons)


def load_results(paths) -> ResultSet:
    """Load ``results.jsonl`` files (any schema version) and the comparisons that go with them.

    Comparisons come from the file beside each results file (:func:`comparisons_path`) or, for
    files written before that file existed, from each row's ``comparisons`` field.

    Parameters
    ----------
    paths : str, Path or sequence of them

    Raises
    ------
    InputError
        A missing or unparsable file (naming the file and line), a bad field, or the same
        (model, metric) in more than one file.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows, comparisons = [], []
    for path in map(Path, paths):
        records = _read_jsonl(path)
        if not records:
            raise InputError(f"{path}: holds no results.")
        these = [ResultRow.from_json(rec, where=f"{path}:{lineno}") for lineno, rec in records]
        rows += these
        side = comparisons_path(path)
        if side.is_file():
            comparisons += [Comparison.from_json(rec, where=f"{side}:{lineno}") for lineno, rec in _read_jsonl(side)]
        else:
            comparisons += legacy_comparisons([rec for _, rec in records], these)
    seen = set()
    for r in rows:
        if (r.model, r.metric) in seen:
            raise InputError(
                f"model {r.model!r} has more than one {r.metric!r} result across the results files; "
                "rename one of the models (NAME=PATH) or drop a file."
            )
        seen.add((r.model, r.metric))
    return ResultSet(tuple(rows), tuple(comparisons))


def read_results(paths) -> pd.DataFrame:
    """The long results frame of one or more ``results.jsonl`` files (see :func:`load_results`)."""
    return load_results(paths).frame()


def write_results(results, path, comparisons=()) -> None:
    """Write rows to ``path`` and their comparisons beside it (:func:`comparisons_path`), each atomically.

    Parameters
    ----------
    results : ResultSet, sequence of ResultRow, or the long frame
    path : str or Path
    comparisons : sequence of Comparison
        Ignored when ``results`` is a :class:`ResultSet` (it carries its own). The comparisons file is
        always written, empty when there are none, so no stale one is left beside new results.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "results.jsonl")
    >>> write_results([ResultRow("a", "fid", 1.5, False)], p)
    >>> read_results(p).loc[0, "value"], os.path.exists(comparisons_path(p))
    (np.float64(1.5), True)
    """
    from .runner import atomic_write_text

    if isinstance(results, ResultSet):
        rows, comparisons = results.rows, results.comparisons
    elif isinstance(results, pd.DataFrame):
        rows = frame_to_rows(results)
    else:
        rows = list(results)
    atomic_write_text(path, jsonl_text(rows))
    atomic_write_text(comparisons_path(path), jsonl_text(comparisons))
