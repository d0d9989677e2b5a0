"""Score sample sets with registered metrics into one long-format DataFrame.

Data flows one way: paths -> :class:`~genbench.features.FeatureSet` (extracted once per set) ->
every requested metric on every model -> one row per (model, metric) -> paired significance tests
between models. A metric that fails on one model becomes a row with its error; the rest still run.

Row status
----------
Every row has a ``status``:

``ok``
    The metric ran; ``value`` holds the result.
``n/a``
    The metric does not apply to this model: it needs an input the model does not have (test
    log-probabilities for ``log_likelihood``, feature arrays where only saved statistics exist,
    class probabilities the extractor does not give). ``error`` says what is missing. Not a failure:
    the CLI still exits 0.
``failed``
    The metric raised, or returned a non-finite value (NaN or inf is never ``ok``); ``error`` says
    which. The CLI exits 1.

Rows are :class:`~genbench.results.ResultRow` objects, built once and never changed; the pairwise
comparisons between models are a separate table of :class:`~genbench.results.Comparison` objects
(:attr:`ScoreRun.comparisons`).

Likelihood inputs
-----------------
A model's test log-likelihood cannot be computed from its samples; the model's owner supplies it
next to the samples (see :func:`likelihood_files`):

* a directory model ``DIR``: ``DIR/log_probs.npy`` (per-example test log-probabilities, shape
  ``(m,)``) and/or ``DIR/likelihood.json``;
* a file model ``PATH/NAME.npy`` (or ``.npz``): ``PATH/NAME.log_probs.npy`` and/or
  ``PATH/NAME.likelihood.json``.

``likelihood.json`` is an object (format agreed with the likelihood family, issue 5), e.g.
``{"nll": 3.35, "unit": "bits_per_dim", "n_dims": 3072, "n": 10000, "source": "Table 2 of ..."}``.
Keys: exactly one of ``log_likelihood`` (higher is better) or ``nll`` (a number), with ``unit``
(``nats``, ``bits``, ``nats_per_dim``, ``bits_per_dim``); ``n_dims`` (dimensions of one example:
required by the per-dimension units, and gives bits/dim for ``log_probs.npy``); ``n`` (test examples
behind a reported number); ``base`` (``"e"``, ``"2"``, ``"10"``: the logarithm used in
``log_probs.npy``); ``source`` (free text, kept in the row's extras as ``citation``). The value may
be omitted when ``log_probs.npy`` is present and the file only gives ``n_dims`` / ``base``.
``log_probs.npy`` wins when both exist (per-example data give an interval and paired tests); a
reported number becomes a ``log_likelihood`` row through
:func:`metrics.likelihood.log_likelihood_from_report` (no interval, no significance test).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from metrics import GaussianStats, InputError, MetricResult, resolve_metrics
from metrics._checks import as_matrix, check_int
from metrics.registry import MetricSpec

from . import distributed as _distributed
from . import features as _features
from . import significance as _significance
from .errors import SampleError
from .features import FeatureSet
from .results import (ROW_COLUMNS, STATUSES, Comparison, ResultRow, ResultSet, load_results, read_results,  # noqa: F401
                      rows_to_frame, write_results)

#: Columns of the long results frame (:data:`genbench.results.ROW_COLUMNS`).
COLUMNS = ROW_COLUMNS


class NotApplicable(InputError):
    """A metric needs an input this model does not have; its row gets status ``n/a``."""


@dataclass
class ModelInputs:
    """One model as the runner holds it: its features plus any likelihood information found beside it.

    Attributes
    ----------
    name : str
        Model name.
    features : FeatureSet
        What :func:`~genbench.features.load_features` returned (``log_probs`` filled when a
        ``log_probs.npy`` was found).
    likelihood : dict
        Parsed ``likelihood.json`` (empty when there is none).
    """

    name: str
    features: FeatureSet
    likelihood: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreRun:
    """Everything a scoring run produced, arrays included, for callers that test or plot further.

    Attributes
    ----------
    rows : tuple of ResultRow
        One per (model, metric), in model order then metric order; never changed after the run.
    comparisons : tuple of Comparison
        The pairwise comparisons (:func:`genbench.significance.compare`), their own table.
    reference : FeatureSet
        The reference set.
    models : dict of str -> ModelInputs
        Per-model inputs, in the order given.
    seed : int
        Seed of the run.
    options : dict
        Per-metric keyword options of the run.
    """

    rows: tuple
    comparisons: tuple
    reference: FeatureSet
    models: dict
    seed: int = 0
    options: dict = field(default_factory=dict)

    @property
    def results(self) -> pd.DataFrame:
        """The long results frame (:data:`COLUMNS`), what :func:`score` returns."""
        return rows_to_frame(self.rows)

    def result_set(self) -> ResultSet:
        """Rows and comparisons together (what :func:`~genbench.results.write_results` and
        :class:`~genbench.Leaderboard` take)."""
        return ResultSet(self.rows, self.comparisons)

    def compare(self, metric: str, models=None) -> list[Comparison]:
        """Compare models pairwise on one metric of this run, without scoring anything again.

        Parameters
        ----------
        metric : str
            A metric of this run.
        models : sequence of str, optional
            The models to compare (default: every model); pairs follow this order.

        Returns
        -------
        list of Comparison
            A new table; the run's own rows and comparisons are left as they are.

        Raises
        ------
        InputError
            A metric or model that is not in this run.
        """
        scored = list(dict.fromkeys(r.metric for r in self.rows))
        if metric not in scored:
            raise InputError(f"`metric` must be one of this run's metrics ({', '.join(scored)}); got {metric!r}.")
        names = list(self.models) if models is None else list(models)
        unknown = [m for m in names if m not in self.models]
        if unknown:
            raise InputError(f"`models` names models that are not in this run: {unknown}. Models: {list(self.models)}.")
        spec = resolve_metrics([metric])[0]
        rows = {r.model: r for r in self.rows if r.metric == metric}
        return _compare(spec, self.reference, [self.models[m] for m in names], rows, self.seed,
                        self.options.get(metric))


# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------


def _is_array(x) -> bool:
    return not isinstance(x, (str, Path)) and (isinstance(x, np.ndarray) or hasattr(x, "__array__"))


def _model_items(models) -> list[tuple[str, object]]:
    """Normalise models to (name, path-or-array) pairs; ``name=path`` strings and dicts name themselves."""
    if isinstance(models, (str, Path)) or _is_array(models):
        models = [models]
    items = list(models.items()) if isinstance(models, dict) else []
    if not items:
        for m in models:
            if _is_array(m):
                raise InputError("in-memory arrays need names; pass `models` as a dict of name -> array.")
            m = str(m)
            name, sep, path = m.partition("=")
            items.append((name, path) if sep else (Path(m).stem if Path(m).suffix else Path(m).name, m))
    if not items:
        raise InputError("no models given; pass at least one generated sample set.")
    names = [str(n) for n, _ in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"duplicate model names {dupes}; name models explicitly with NAME=PATH."
        )
    return [(str(n), p if _is_array(p) else str(p)) for n, p in items]


def _array_set(x, name: str, extractor: str) -> FeatureSet:
    """A FeatureSet from an in-memory (n, d) array, used as features as it is."""
    if extractor != "identity":
        raise InputError(
            f"`features` must be 'identity' for in-memory arrays (they are used as they are); got {extractor!r}. "
            "Extract features first, or pass file paths."
        )
    arr = as_matrix(x, name, dtype=np.float64)
    digest = hashlib.sha256(repr((arr.shape, str(arr.dtype))).encode() + arr.tobytes()).hexdigest()
    return FeatureSet(name=name, path="<array>", features=arr, samples=arr, extractor="identity", input_hash=digest)


def _first_items(fs: FeatureSet, n: int) -> FeatureSet:
    """The set cut to its first ``n`` items (``--n-samples``); a set with fewer items stays whole, with a note."""
    if fs.features is None:
        raise InputError(f"{fs.path}: saved mean/covariance statistics cannot be cut to `n_samples` = {n} items. "
                         "Pass the samples or features instead, or drop `n_samples`.")
    if len(fs.features) <= n:
        return dataclasses.replace(fs, notes=[*fs.notes, f"has {len(fs.features)} items, fewer than n_samples = {n}: "
                                                          "all are used"])
    cut = {k: getattr(fs, k)[:n] for k in ("features", "samples", "probs") if getattr(fs, k) is not None}
    return dataclasses.replace(fs, **cut, notes=[*fs.notes, f"scored on its first {n} of {len(fs.features)} items"])


def _check_exists(path, what: str) -> None:
    if not Path(path).exists():
        raise SampleError(f"{what} {str(path)!r}: no such file or directory. Check the path.")


def _check_dims(reference: FeatureSet, model: FeatureSet) -> None:
    if reference.dim != model.dim:
        raise InputError(
            f"model {model.name!r} ({model.path}) has {model.dim} features but the reference "
            f"({reference.path}) has {reference.dim}. Both must come from the same extractor."
        )


def likelihood_files(path) -> tuple[Path, Path]:
    """Where the runner looks for a model's ``log_probs.npy`` and ``likelihood.json``.

    Parameters
    ----------
    path : str or Path
        The model's sample set: a directory, or a file.

    Returns
    -------
    (Path, Path)
        ``DIR/log_probs.npy`` and ``DIR/likelihood.json`` for a directory; the siblings
        ``STEM.log_probs.npy`` and ``STEM.likelihood.json`` for a file ``STEM.SUFFIX``.

    Examples
    --------
    >>> [p.name for p in likelihood_files("runs/vae.npy")]
    ['vae.log_probs.npy', 'vae.likelihood.json']
    """
    path = Path(path)
    if path.is_dir():
        return path / "log_probs.npy", path / "likelihood.json"
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{stem}.log_probs.npy"), path.with_name(f"{stem}.likelihood.json")


_LIKELIHOOD_KEYS = ("log_likelihood", "nll", "unit", "n_dims", "n", "base", "source")


def _check_likelihood_meta(meta, path: Path) -> dict:
    if not isinstance(meta, dict):
        raise SampleError(f"{path}: must hold a JSON object; got {type(meta).__name__}.")
    unknown = sorted(set(meta) - set(_LIKELIHOOD_KEYS))
    if unknown:
        raise SampleError(f"{path}: unknown key(s) {unknown}; accepted: {', '.join(_LIKELIHOOD_KEYS)}.")
    quantities = [k for k in ("log_likelihood", "nll") if k in meta]
    if len(quantities) > 1:
        raise SampleError(f"{path}: give one of `log_likelihood` and `nll`, not both.")
    if quantities and "unit" not in meta:
        raise SampleError(
            f"{path}: `{quantities[0]}` needs a `unit` (nats, bits, nats_per_dim or bits_per_dim)."
        )
    for key, value in meta.items():  # every value checked here, so a bad file stops the run naming itself
        problem = _likelihood_value_problem(key, value)
        if problem:
            raise SampleError(f"{path}: `{key}` {problem}; got {json.dumps(value)}. Fix the file.")
    return meta


_UNITS = ("nats", "bits", "nats_per_dim", "bits_per_dim")


def _likelihood_value_problem(key: str, value) -> str | None:
    """What is wrong with one ``likelihood.json`` value (None when it is fine)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key in ("log_likelihood", "nll"):
        return None if is_number and math.isfinite(value) else "must be a finite number (not a string)"
    if key == "unit":
        return None if value in _UNITS else f"must be one of {', '.join(_UNITS)}"
    if key in ("n_dims", "n"):
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else \
            "must be a positive integer (not a string)"
    if key == "base":
        return None if str(value) in ("e", "2", "10") and not isinstance(value, bool) else \
            'must be "e", "2" or "10"'
    if key == "source":
        return None if isinstance(value, str) else "must be a string"
    return None


def _attach_likelihood(model: ModelInputs, path) -> None:
    lp_path, meta_path = likelihood_files(path)
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise SampleError(f"{meta_path}: cannot read as JSON ({exc}). Fix or remove the file.") from None
        model.likelihood = _check_likelihood_meta(meta, meta_path)
    if model.features.log_probs is None and lp_path.exists():
        try:
            lp = np.load(lp_path, allow_pickle=False)
        except Exception as exc:
            raise SampleError(f"{lp_path}: cannot read as a numpy array file ({type(exc).__name__}: {exc}).") from None
        model.features.log_probs = lp


def _arguments(spec: MetricSpec, reference: FeatureSet, model: FeatureSet, train: FeatureSet | None = None) -> tuple:
    """The positional inputs ``spec`` declares it needs, or raise :class:`NotApplicable`."""
    if spec.needs == "train":  # memorisation: (held-out reference, generated, training set) features
        if train is None:
            raise NotApplicable(f"{spec.name} needs the model's training set; pass --train TRAIN (train=...).")
        if any(s.features is None for s in (reference, model, train)):
            raise NotApplicable(f"{spec.name} needs feature arrays; saved mean/covariance statistics have none.")
        return reference.features, model.features, train.features
    if spec.needs == "features":
        sides = [s.features if s.features is not None else s.stats for s in (reference, model)]
        if spec.name != "fid" and any(isinstance(s, GaussianStats) for s in sides):
            raise NotApplicable(f"{spec.name} needs feature arrays; saved mean/covariance statistics only support fid.")
        return tuple(sides)
    if spec.needs == "samples":
        if reference.samples is None or model.samples is None:
            raise NotApplicable(f"{spec.name} needs samples in data space; saved statistics have none.")
        return reference.samples, model.samples
    if spec.needs == "probs":
        if model.probs is None:
            raise NotApplicable(
                f"{spec.name} needs class probabilities; extractor {model.extractor!r} gives none."
            )
        return (model.probs,)
    if spec.needs == "log_probs":
        if model.log_probs is None:
            raise NotApplicable(
                f"{spec.name} needs the model's test log-probabilities (log_probs.npy beside its samples)."
            )
        return (model.log_probs,)
    raise AssertionError(spec.needs)


def _options(spec: MetricSpec, seed: int, model: ModelInputs | None = None, user: dict | None = None) -> dict:
    """Keyword options for one call: the run's seed, likelihood metadata, then the user's options."""
    opts = {"seed": seed} if "seed" in spec.options else {}
    if model is not None and spec.needs == "log_probs":
        for key in ("n_dims", "base"):
            if key in model.likelihood and key in spec.options:
                opts[key] = model.likelihood[key]
    opts.update(user or {})
    return opts


def _check_metric_options(options, specs) -> dict:
    """Validate ``{metric: {option: value}}`` against the requested metrics' declared options."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InputError(f"`options` must be a dict of metric name -> dict of options; got {options!r}.")
    requested = {spec.name: spec for spec in specs}
    for name, opts in options.items():
        if name not in requested:
            raise InputError(
                f"`options` names metric {name!r}, which is not among the requested metrics "
                f"({', '.join(requested)}). Request it with `metrics`, or drop its options."
            )
        if not isinstance(opts, dict):
            raise InputError(f"`options[{name!r}]` must be a dict of option -> value; got {opts!r}.")
        unknown = sorted(set(opts) - set(requested[name].options))
        if unknown:
            raise InputError(
                f"metric {name!r} takes no option(s) {unknown}; its options are "
                f"{list(requested[name].options) or 'none'}."
            )
    return {name: dict(opts) for name, opts in options.items()}


def _from_report(spec: MetricSpec, model: ModelInputs) -> MetricResult:
    """A ``log_likelihood`` result from a reported number in ``likelihood.json``."""
    meta = model.likelihood
    quantity = next((k for k in ("log_likelihood", "nll") if k in meta), None)
    if spec.name != "log_likelihood" or quantity is None:
        raise NotApplicable(
            f"{spec.name} needs the model's test log-probabilities (log_probs.npy beside its samples)."
        )
    from metrics.likelihood import log_likelihood_from_report

    result = log_likelihood_from_report(meta[quantity], unit=meta["unit"], quantity=quantity,
                                        n_dims=meta.get("n_dims"), n=meta.get("n"))
    if "source" in meta:
        result = dataclasses.replace(result, extras={**result.extras, "citation": str(meta["source"])})
    return result


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------


def _row(model: ModelInputs, spec: MetricSpec, reference: FeatureSet, seed: int, result: MetricResult | None,
         error: str, status: str) -> ResultRow:
    return ResultRow(
        model=model.name, metric=spec.name, value=float(result.value) if result else math.nan,
        higher_is_better=spec.higher_is_better, status=status, ci=result.ci if result else None,
        pvalue=None if result is None or result.pvalue is None else float(result.pvalue),
        bound=result.bound if result else None, n=tuple(int(v) for v in result.n) if result else (),
        group=spec.group, extractor=model.features.extractor, reference=_reference_label(reference),
        reference_hash=reference.input_hash, input_hash=model.features.input_hash, seed=seed, error=error,
        extras=dict(result.extras) if result else {},
    )


def _reference_label(reference: FeatureSet) -> str:
    """The reference's file or directory name (``reference`` for in-memory arrays)."""
    path = str(reference.path or "")
    return Path(path).name if path and path != "<array>" else reference.name


def _not_finite(result: MetricResult) -> str:
    """Why a result cannot be ``ok`` (its value is NaN or infinite), or ``""``."""
    value = float(result.value)
    if math.isfinite(value):
        return ""
    cause = "NaN" if math.isnan(value) else "infinite"
    return (f"{result.metric} returned a non-finite value ({value}): the computation overflowed or was "
            f"undefined on these inputs ({cause}); check the features' scale and that the sets are not degenerate.")


def _evaluate(spec: MetricSpec, reference: FeatureSet, model: ModelInputs, seed: int, user: dict,
              train: FeatureSet | None = None, n_samples: int | None = None):
    """(row, result, args): the row, plus the result and arguments a pairwise comparison needs
    (``None`` when the row is not ``ok`` or the value came from a reported number)."""
    args = None
    try:
        try:
            args = _arguments(spec, reference, model.features, train)
        except NotApplicable:
            if spec.needs != "log_probs":
                raise
            result = _from_report(spec, model)
        else:
            result = spec.func(*args, **_options(spec, seed, model, user))
        if n_samples is not None:
            result = dataclasses.replace(result, extras={**result.extras, "n_samples": n_samples})
    except NotApplicable as exc:
        return _row(model, spec, reference, seed, None, str(exc), "n/a"), None, None
    except Exception as exc:  # one failing metric must not stop the others
        return _row(model, spec, reference, seed, None, f"{type(exc).__name__}: {exc}", "failed"), None, None
    cause = _not_finite(result)
    if cause:
        return _row(model, spec, reference, seed, None, cause, "failed"), None, None
    return _row(model, spec, reference, seed, result, "", "ok"), result, args


# ---------------------------------------------------------------------------------------------
# pairwise comparisons
# ---------------------------------------------------------------------------------------------


def _result_of(row: ResultRow) -> MetricResult:
    return MetricResult(row.metric, row.value, row.higher_is_better, ci=row.ci, pvalue=row.pvalue, n=row.n,
                        extras=row.extras, bound=row.bound)


def _compare(spec: MetricSpec, reference: FeatureSet, models: list[ModelInputs], rows: dict, seed: int, user,
             found: dict | None = None) -> list[Comparison]:
    """:func:`genbench.significance.compare` on the models whose rows are ``ok`` and whose inputs
    support a comparison (per-example arrays, not saved statistics or a reported number)."""
    args, results = {}, {}
    for m in models:
        row = rows.get(m.name)
        if row is None or row.status != "ok":
            continue
        if found is not None and m.name in found:
            result, a = found[m.name]
        else:
            try:
                a = _arguments(spec, reference, m.features)
            except NotApplicable:
                continue
            result = _result_of(row)
        if a is None or any(isinstance(x, GaussianStats) for x in a):
            continue
        args[m.name], results[m.name] = a, result
    if len(results) < 2:
        return []
    return list(_significance.compare(spec, args, results, options=_options(spec, seed, user=user), seed=seed))


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------


def _device_options(device: str, numerics: str, workers, shard_size) -> dict:
    """Loader options for where and how extractors run, checked before any work."""
    from .extractors._torch import check_numerics, resolve_device

    if workers is not None:
        workers = check_int(workers, "workers", low=0)
    return dict(device=resolve_device(device), numerics=check_numerics(numerics), workers=workers,
                shard_size=shard_size)


def _check_log_probs_option(log_probs, names: list[str]) -> dict:
    if log_probs is None:
        return {}
    if not isinstance(log_probs, dict):
        raise InputError(f"`log_probs` must be a dict of model name -> per-example log-probabilities; got "
                         f"{type(log_probs).__name__}.")
    unknown = sorted(set(log_probs) - set(names))
    if unknown:
        raise InputError(f"`log_probs` names models that are not scored: {unknown}. Models: {names}.")
    return {k: np.asarray(v) for k, v in log_probs.items()}


def _check_significance(significance):
    if isinstance(significance, str) and significance in ("auto", "all", "none"):
        return significance
    names = [s.strip() for s in significance.split(",")] if isinstance(significance, str) else list(significance)
    return tuple(spec.name for spec in resolve_metrics([n for n in names if n]))


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int):
    if not enabled:
        yield lambda description: None
        return
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scoring", total=total)

        def advance(description: str):
            progress.update(task, advance=1, description=description)

        yield advance


def score_run(
    reference,
    models,
    metrics=("fid",),
    *,
    features: str = "identity",
    seed: int = 0,
    skip_bad: bool = False,
    cache: bool = True,
    weights: str | None = None,
    batch_size: int = 64,
    significance="auto",
    log_probs: dict | None = None,
    options: dict | None = None,
    progress: bool = False,
    device: str = "auto",
    numerics: str = "reference",
    workers: int | None = None,
    shard_size: int | None = None,
    train=None,
    n_samples: int | None = None,
) -> ScoreRun | None:
    """Like :func:`score`, but also return the loaded sets and the pairwise tests.

    Parameters and behaviour are those of :func:`score`.

    Returns
    -------
    ScoreRun
    """
    seed = check_int(seed, "seed", low=0)
    specs = resolve_metrics(metrics)
    options = _check_metric_options(options, specs)
    significance = _check_significance(significance)
    items = _model_items(models)
    if not _is_array(reference):
        _check_exists(reference, "reference set")
    for name, path in items:
        if not _is_array(path):
            _check_exists(path, f"model {name!r}:")
    log_probs = _check_log_probs_option(log_probs, [n for n, _ in items])
    loader = dict(extractor=features, cache=cache, skip_bad=skip_bad, weights=weights, batch_size=batch_size,
                  seed=seed, progress=progress, **_device_options(device, numerics, workers, shard_size))
    if _distributed.launched():  # under torchrun: every rank extracts its shards, only rank 0 goes on
        ctx = _distributed.context()
        if not cache:
            raise InputError("`cache` must stay on under torchrun (--no-cache given): the ranks hand their feature "
                             "shards to rank 0 through the cache. Point GENBENCH_CACHE at a scratch directory instead.")
        sets = [(n, p) for n, p in [("reference", reference)] + items if not _is_array(p)]
        plan_options = {k: v for k, v in loader.items() if k not in ("cache", "progress")}
        _distributed.prefetch(ctx, sets, plan_options, log=progress, reference_sizes=not _is_array(reference))
        if not ctx.writer:
            return None
        _distributed.threads_for_scoring(ctx)

    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples", low=2, hint="It is how many items of each set are scored.")
    if train is not None and not _is_array(train):
        _check_exists(train, "training set")

    def load(x, name):
        if _is_array(x):
            fs = _array_set(x, name if name in ("reference", "train") else f"models[{name!r}]", features)
        else:
            fs = _features.load_features(x, name=name, **loader)
        # the training set stays whole: a copy of any training point must be found
        return fs if n_samples is None or name == "train" else _first_items(fs, n_samples)

    ref = load(reference, "reference")
    loader["image_size"] = ref.image_size  # model images are brought to the reference's size
    ref.name = "reference"
    inputs = []
    for name, path in items:
        m = ModelInputs(name, load(path, name))
        m.features.name = name
        _check_dims(ref, m.features)
        if not _is_array(path):
            _attach_likelihood(m, path)
        if name in log_probs:
            m.features.log_probs = log_probs[name]
        inputs.append(m)
    train_set = None
    if train is not None:
        train_set = load(train, "train")
        _check_dims(ref, train_set)
    if progress:  # what the loader had to do to the inputs (resizes, skipped files) belongs in the log
        log = Console(stderr=True)
        for s in [ref] + [m.features for m in inputs] + ([train_set] if train_set is not None else []):
            for note in s.notes:
                log.print(f"{s.name}: {note}", highlight=False, markup=False, soft_wrap=True)
    rows, comparisons = [], []
    tested = [spec for spec in specs if _significance.wants_test(spec, significance)]
    with _progress_bar(progress, len(inputs) * len(specs) + len(tested)) as advance:
        found: dict = {spec.name: {} for spec in specs}
        for m in inputs:
            for spec in specs:
                advance(f"{spec.name} on {m.name}")
                row, result, args = _evaluate(spec, ref, m, seed, options.get(spec.name), train_set, n_samples)
                rows.append(row)
                if result is not None:
                    found[spec.name][m.name] = (result, args)
        for spec in tested:
            advance(f"comparing models on {spec.name}")
            by_model = {r.model: r for r in rows if r.metric == spec.name}
            comparisons += _compare(spec, ref, inputs, by_model, seed, options.get(spec.name), found[spec.name])
    return ScoreRun(tuple(rows), tuple(comparisons), ref, {m.name: m for m in inputs}, seed, options)


def score(
    reference,
    models,
    metrics=("fid",),
    *,
    features: str = "identity",
    seed: int = 0,
    skip_bad: bool = False,
    cache: bool = True,
    weights: str | None = None,
    batch_size: int = 64,
    significance="auto",
    log_probs: dict | None = None,
    options: dict | None = None,
    progress: bool = False,
    device: str = "auto",
    numerics: str = "reference",
    workers: int | None = None,
    shard_size: int | None = None,
    train=None,
    n_samples: int | None = None,
) -> pd.DataFrame | None:
    """Score every model against the reference set with every metric.

    Parameters
    ----------
    reference : str, Path or ndarray of shape (n, d)
        The reference (real data) sample set; an array is used as features as it is.
    models : str, list of str, or dict of name -> path or ndarray
        Model sample sets. A string ``"name=path"`` names a model; otherwise the name is the file
        stem or directory name. Test log-likelihoods are read from beside each set (module docs).
        In-memory arrays (in a dict) need ``features="identity"``.
    metrics : str or sequence of str
        Metric names or groups (``likelihood``, ``kernel``, ``classifier``, ``perceptual``, ``all``);
        a comma-separated string works too.
    features : str
        Feature extractor name; features are extracted once per set and shared by every metric.
    seed : int
        Passed to every metric that takes a ``seed``, to the loader, and seeds the significance tests.
    skip_bad, cache, weights, batch_size
        Passed to :func:`~genbench.features.load_features` when the installed loader accepts them
        (an option it does not accept must stay at its default).
    significance : {"auto", "all", "none"} or sequence of metric names
        Which metrics get pairwise comparisons between models
        (:func:`genbench.significance.wants_test` decides; :func:`genbench.significance.compare`
        runs them, with p-values adjusted for multiplicity). They are returned by
        :func:`score_run` as their own table (``ScoreRun.comparisons``).
    log_probs : dict of name -> array of shape (m,), optional
        Per-example test log-probabilities by model name; they take precedence over files.
    options : dict of metric name -> dict, optional
        Keyword options for individual metrics, e.g. ``{"kid": {"subset_size": 500},
        "c2st": {"classifier": "mlp"}}``; each is checked against the metric's declared options.
    progress : bool
        Show a progress bar on stderr.
    device : str
        Where network extractors run: ``"auto"`` (default: the local rank's GPU when CUDA is
        present, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    numerics : {"reference", "fast", "fast+compile"}
        Precision policy of network extractors (recorded in the extractor identifier):
        ``reference`` is float32 with TF32 off and deterministic kernels; ``fast`` allows TF32,
        bfloat16 and autotuned kernels on GPUs.
    workers : int, optional
        Processes decoding image files.
    shard_size : int, optional
        Items per cached shard (a multiple of ``batch_size``); the unit of resuming and of the
        work ranks share under ``torchrun`` (:mod:`genbench.distributed`). Under ``torchrun``
        every rank extracts, and only rank 0 scores: the other ranks return ``None``.
    train : str, Path or ndarray, optional
        The models' training set, for the ``memorisation`` metrics (``data_copying``,
        ``authenticity``), which then read ``reference`` as a held-out test set. Loaded like the
        reference; without it those metrics are ``n/a``.
    n_samples : int, optional
        Score only the first ``n_samples`` items of the reference and of every model set, in the
        loader's order (sorted file names; array order), e.g. the 50k / 10k protocols (the training
        set is always used whole, so copies of any training point are found). Every row
        records it in ``extras["n_samples"]`` and its sizes in ``n``; a set with fewer items is used
        whole, with a note.

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (model, metric), columns :data:`COLUMNS`. ``status`` is ``ok``,
        ``n/a`` (the metric does not apply to the model; ``error`` says why) or ``failed`` (``value``
        NaN, the exception in ``error``; a non-finite value is always ``failed``, never ``ok``). ``n``
        holds tuples and ``extras`` dicts. The pairwise comparisons are not in this frame: use
        :func:`score_run` for them.

    Raises
    ------
    InputError
        Bad input that stops the whole run: unknown metric, missing or unreadable set, dimensions
        that differ, duplicate model names.

    Examples
    --------
    >>> import numpy as np, genbench, tempfile, os
    >>> d = tempfile.mkdtemp(); rng = np.random.default_rng(0)
    >>> for name, shift in [("real", 0.0), ("good", 0.1), ("bad", 2.0)]:
    ...     np.save(os.path.join(d, name + ".npy"), rng.normal(size=(200, 3)) + shift)
    >>> df = genbench.score(f"{d}/real.npy", [f"{d}/good.npy", f"{d}/bad.npy"], metrics="fid")
    >>> df.set_index("model")["value"].idxmin()
    'good'
    """
    run = score_run(
        reference, models, metrics, features=features, seed=seed, skip_bad=skip_bad, cache=cache,
        weights=weights, batch_size=batch_size, significance=significance,
        log_probs=log_probs, options=options, progress=progress, device=device, numerics=numerics,
        workers=workers, shard_size=shard_size, train=train, n_samples=n_samples,
    )
    return None if run is None else run.results


# ---------------------------------------------------------------------------------------------
# results files
# ---------------------------------------------------------------------------------------------


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, through a symlink, keeping an existing file's mode
    (:func:`genbench.atomic.atomic_write`).

    Raises
    ------
    OutputError
        When the location cannot be written, or is not a regular file (a FIFO, a device ...).
    """
    from .atomic import atomic_write

    atomic_write(path, text)


def check_writable(path) -> None:
    """Fail before any work when ``path`` cannot take the output (:func:`genbench.atomic.output_target`)."""
    from .atomic import output_target

    output_target(path)
