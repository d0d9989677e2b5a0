"""Score sample sets with registered metrics into one long-format DataFrame.

Data flows one way: paths -> :class:`~genbench.features.FeatureSet` (extracted once per set) ->
every requested metric on every model -> one row per (model, metric). A metric that fails on one
model becomes a row with its error; the rest still run.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from metrics import GaussianStats, InputError, MetricResult, resolve_metrics
from metrics.registry import MetricSpec

from .features import FeatureSet, load_features

#: Columns of the long results table, in order.
COLUMNS = [
    "model", "metric", "value", "ci_low", "ci_high", "ci_level", "ci_method", "pvalue", "n",
    "higher_is_better", "group", "extractor", "seed", "error", "extras",
]


def _model_items(models) -> list[tuple[str, str]]:
    """Normalise models to (name, path) pairs; ``name=path`` strings and dicts name themselves."""
    if isinstance(models, (str, Path)):
        models = [models]
    items = list(models.items()) if isinstance(models, dict) else []
    if not items:
        for m in models:
            m = str(m)
            name, sep, path = m.partition("=")
            items.append((name, path) if sep else (Path(m).stem if Path(m).suffix else Path(m).name, m))
    names = [n for n, _ in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"duplicate model names {dupes}; name models explicitly with NAME=PATH."
        )
    return [(str(n), str(p)) for n, p in items]


def _check_dims(reference: FeatureSet, model: FeatureSet) -> None:
    if reference.dim != model.dim:
        raise InputError(
            f"model {model.name!r} ({model.path}) has {model.dim} features but the reference "
            f"({reference.path}) has {reference.dim}. Both must come from the same extractor."
        )


def _arguments(spec: MetricSpec, reference: FeatureSet, model: FeatureSet) -> tuple:
    """The positional inputs ``spec`` declares it needs, or raise saying what is missing."""
    if spec.needs == "features":
        sides = [s.features if s.features is not None else s.stats for s in (reference, model)]
        if spec.name != "fid" and any(isinstance(s, GaussianStats) for s in sides):
            raise InputError(f"{spec.name} needs feature arrays; saved mean/covariance statistics only support fid.")
        return tuple(sides)
    if spec.needs == "samples":
        if reference.samples is None or model.samples is None:
            raise InputError(f"{spec.name} needs samples in data space; saved statistics have none.")
        return reference.samples, model.samples
    if spec.needs == "probs":
        if model.probs is None:
            raise InputError(
                f"{spec.name} needs class probabilities; extractor {model.extractor!r} gives none."
            )
        return (model.probs,)
    if spec.needs == "log_probs":
        if model.log_probs is None:
            raise InputError(
                f"{spec.name} needs the model's test log-probabilities (log_probs.npy beside its samples)."
            )
        return (model.log_probs,)
    raise AssertionError(spec.needs)


def _options(spec: MetricSpec, seed: int) -> dict:
    return {"seed": seed} if "seed" in spec.options else {}


def _row(model: str, spec: MetricSpec, extractor: str, seed: int, result: MetricResult | None,
         error: str | None) -> dict:
    ci = result.ci if result else None
    return {
        "model": model,
        "metric": spec.name,
        "value": float(result.value) if result else math.nan,
        "ci_low": ci.low if ci else math.nan,
        "ci_high": ci.high if ci else math.nan,
        "ci_level": ci.level if ci else math.nan,
        "ci_method": ci.method if ci else "",
        "pvalue": result.pvalue if result and result.pvalue is not None else math.nan,
        "n": json.dumps(list(result.n)) if result else "[]",
        "higher_is_better": spec.higher_is_better,
        "group": spec.group,
        "extractor": extractor,
        "seed": seed,
        "error": error or "",
        "extras": json.dumps(result.extras if result else {}, default=_json_default, sort_keys=True),
    }


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def score(reference, models, metrics=("fid",), *, features: str = "identity", seed: int = 0) -> pd.DataFrame:
    """Score every model against the reference set with every metric.

    Parameters
    ----------
    reference : str or Path
        The reference (real data) sample set.
    models : str, list of str, or dict of name -> path
        Model sample sets. A string ``"name=path"`` names a model; otherwise the name is the file
        stem or directory name.
    metrics : str or sequence of str
        Metric names or groups (``likelihood``, ``kernel``, ``classifier``, ``perceptual``, ``all``);
        a comma-separated string works too.
    features : str
        Feature extractor name.
    seed : int
        Passed to every metric that takes a ``seed``.

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (model, metric), columns :data:`COLUMNS`. A metric that failed on a
        model has ``value`` NaN and its message in ``error``.

    Raises
    ------
    InputError
        Bad input that stops the whole run: unknown metric, unreadable set, dimensions that differ.
    """
    specs = resolve_metrics(metrics)
    items = _model_items(models)
    ref = load_features(reference, name="reference", extractor=features)
    sets = [load_features(path, name=name, extractor=features) for name, path in items]
    for s in sets:
        _check_dims(ref, s)
    rows = []
    for s in sets:
        for spec in specs:
            try:
                result = spec.func(*_arguments(spec, ref, s), **_options(spec, seed))
                rows.append(_row(s.name, spec, s.extractor, seed, result, None))
            except Exception as exc:  # one failing metric must not stop the others
                rows.append(_row(s.name, spec, s.extractor, seed, None, f"{type(exc).__name__}: {exc}"))
    return pd.DataFrame(rows, columns=COLUMNS)
