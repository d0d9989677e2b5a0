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
    The metric raised; ``error`` holds the exception. The CLI exits 1.

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
import itertools
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from metrics import GaussianStats, InputError, MetricResult, resolve_metrics
from metrics._checks import as_matrix, check_int
from metrics.registry import MetricSpec

from . import features as _features
from .errors import OutputError, SampleError
from .features import FeatureSet
from .significance import PairedTest, generated_set_test, log_prob_test

#: Columns of the long results table, in order. The first fifteen are the original schema; files
#: written before ``status`` / hashes / ``comparisons`` existed still load (:func:`read_results`).
COLUMNS = [
    "model", "metric", "value", "ci_low", "ci_high", "ci_level", "ci_method", "pvalue", "n",
    "higher_is_better", "group", "extractor", "seed", "error", "extras",
    "status", "input_hash", "reference_hash", "comparisons",
]
#: Columns holding JSON text in the DataFrame and JSON values in ``results.jsonl``.
JSON_COLUMNS = ("n", "extras", "comparisons")
STATUSES = ("ok", "n/a", "failed")

#: ``significance="auto"`` tests only metrics of per-example log-probabilities: resampling them
#: costs milliseconds. Every metric of generated sets (KID, MMD, C2ST, FID, precision ...) is tested
#: only on request, because a permutation test reruns the metric ``2 x n_permutations`` times per
#: pair of models; measured here (shared 2-core box, n = 1000, d = 2048): KID ~28 s and C2ST
#: ~24 s per call, i.e. hours at the default 199 permutations.


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


@dataclass
class ScoreRun:
    """Everything a scoring run produced, arrays included, for callers that test or plot further.

    Attributes
    ----------
    results : pandas.DataFrame
        The long table (:data:`COLUMNS`), what :func:`score` returns.
    reference : FeatureSet
        The reference set.
    models : dict of str -> ModelInputs
        Per-model inputs, in the order given.
    tests : list of (metric, model_a, model_b, PairedTest)
        The pairwise significance tests that ran.
    """

    results: pd.DataFrame
    reference: FeatureSet
    models: dict
    tests: list


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
    return meta


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


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _row(model: ModelInputs, spec: MetricSpec, reference: FeatureSet, seed: int, result: MetricResult | None,
         error: str | None, status: str) -> dict:
    ci = result.ci if result else None
    return {
        "model": model.name,
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
        "extractor": model.features.extractor,
        "seed": seed,
        "error": error or "",
        "extras": json.dumps(result.extras if result else {}, default=_json_default, sort_keys=True),
        "status": status,
        "input_hash": model.features.input_hash,
        "reference_hash": reference.input_hash,
        "comparisons": "{}",
    }


def _evaluate(spec: MetricSpec, reference: FeatureSet, model: ModelInputs, seed: int, user: dict,
              train: FeatureSet | None = None, n_samples: int | None = None) -> dict:
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
        return _row(model, spec, reference, seed, result, None, "ok")
    except NotApplicable as exc:
        return _row(model, spec, reference, seed, None, str(exc), "n/a")
    except Exception as exc:  # one failing metric must not stop the others
        return _row(model, spec, reference, seed, None, f"{type(exc).__name__}: {exc}", "failed")


# ---------------------------------------------------------------------------------------------
# pairwise significance
# ---------------------------------------------------------------------------------------------


def _wants_test(spec: MetricSpec, significance) -> bool:
    if significance == "none":
        return False
    if significance == "all":
        return True
    if significance == "auto":
        return spec.needs == "log_probs"
    return spec.name in significance


def _pair_test(spec: MetricSpec, reference: FeatureSet, a: ModelInputs, b: ModelInputs, seed: int,
               n_permutations: int, max_n: int | None, user: dict) -> PairedTest | None:
    """The test for one metric and one pair, or ``None`` when the inputs cannot support one."""
    fa, fb = a.features, b.features
    if spec.needs == "log_probs":
        if fa.log_probs is None or fb.log_probs is None:
            return None  # reported numbers carry no per-example information
        return log_prob_test(fa.log_probs, fb.log_probs, n_resamples=max(n_permutations, 9999), seed=seed)
    try:
        args_a = _arguments(spec, reference, fa)
        args_b = _arguments(spec, reference, fb)
    except NotApplicable:
        return None
    opts = _options(spec, seed, user=user)
    if any(isinstance(x, GaussianStats) for x in (*args_a, *args_b)):
        return None
    if spec.needs == "probs":
        def func(g):
            return spec.func(g, **opts).value
    else:
        ref_side = args_a[0]

        def func(g):
            return spec.func(ref_side, g, **opts).value
    return generated_set_test(func, args_a[-1], args_b[-1], n_permutations=n_permutations, max_n=max_n, seed=seed)


def _comparisons(specs, reference, models: list[ModelInputs], rows: list[dict], *, significance, seed: int,
                 n_permutations: int, max_n: int | None, options: dict, advance=lambda description: None) -> list:
    """Run the pairwise tests and store them on both rows of each pair (``comparisons`` column)."""
    by_key = {(r["model"], r["metric"]): r for r in rows}
    tests = []
    for spec in specs:
        if not _wants_test(spec, significance):
            continue
        found: dict[str, dict] = {m.name: {} for m in models}
        for a, b in itertools.combinations(models, 2):
            ra, rb = by_key[a.name, spec.name], by_key[b.name, spec.name]
            advance(f"testing {spec.name}: {a.name} vs {b.name}")
            if ra["status"] != "ok" or rb["status"] != "ok":
                continue
            try:
                test = _pair_test(spec, reference, a, b, seed, n_permutations, max_n, options.get(spec.name))
            except Exception as exc:  # a test that cannot run must not lose the scores
                found[a.name][b.name] = {"error": f"{type(exc).__name__}: {exc}"}
                found[b.name][a.name] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            if test is None:
                continue
            tests.append((spec.name, a.name, b.name, test))
            common = {"pvalue": test.pvalue, "method": test.method, "n_resamples": test.n_resamples}
            found[a.name][b.name] = {"diff": ra["value"] - rb["value"], **common}
            found[b.name][a.name] = {"diff": rb["value"] - ra["value"], **common}
        for name, comp in found.items():
            if comp:
                by_key[name, spec.name]["comparisons"] = json.dumps(comp, sort_keys=True, default=_json_default)
    return tests


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------


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
    n_permutations: int = 199,
    max_n: int | None = 1000,
    log_probs: dict | None = None,
    options: dict | None = None,
    progress: bool = False,
    train=None,
    n_samples: int | None = None,
) -> ScoreRun:
    """Like :func:`score`, but also return the loaded sets and the pairwise tests.

    Parameters and behaviour are those of :func:`score`.

    Returns
    -------
    ScoreRun
    """
    seed = check_int(seed, "seed", low=0)
    n_permutations = check_int(n_permutations, "n_permutations", low=1)
    if max_n is not None:
        max_n = check_int(max_n, "max_n", low=2)
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
                  seed=seed, progress=progress)

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
    rows = []
    n_tested = sum(_wants_test(spec, significance) for spec in specs) * len(inputs) * (len(inputs) - 1) // 2
    with _progress_bar(progress, len(inputs) * len(specs) + n_tested) as advance:
        for m in inputs:
            for spec in specs:
                advance(f"{spec.name} on {m.name}")
                rows.append(_evaluate(spec, ref, m, seed, options.get(spec.name), train_set, n_samples))
        tests = _comparisons(specs, ref, inputs, rows, significance=significance, seed=seed,
                             n_permutations=n_permutations, max_n=max_n, options=options, advance=advance)
    return ScoreRun(pd.DataFrame(rows, columns=COLUMNS), ref, {m.name: m for m in inputs}, tests)


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
    n_permutations: int = 199,
    max_n: int | None = 1000,
    log_probs: dict | None = None,
    options: dict | None = None,
    progress: bool = False,
    train=None,
    n_samples: int | None = None,
) -> pd.DataFrame:
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
        Which metrics get pairwise tests between models (:mod:`genbench.significance`). ``"auto"``:
        metrics of per-example log-probs (cheap). Name others (``["log_likelihood", "kid"]``) to
        test them too: each costs ``2 * n_permutations`` metric calls per pair of models.
    n_permutations : int
        Permutations per pair for metrics of generated sets (log-probs use at least 9999 sign flips).
    max_n : int or None
        Generated sets are subsampled to at most this many items for the permutation tests only.
    log_probs : dict of name -> array of shape (m,), optional
        Per-example test log-probabilities by model name; they take precedence over files.
    options : dict of metric name -> dict, optional
        Keyword options for individual metrics, e.g. ``{"kid": {"subset_size": 500},
        "c2st": {"classifier": "mlp"}}``; each is checked against the metric's declared options.
    progress : bool
        Show a progress bar on stderr.
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
        NaN, the exception in ``error``). ``comparisons`` is JSON: for each other model, ``diff``
        (this model's value minus the other's), ``pvalue`` and ``method`` of the paired test.

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
    return score_run(
        reference, models, metrics, features=features, seed=seed, skip_bad=skip_bad, cache=cache,
        weights=weights, batch_size=batch_size, significance=significance, n_permutations=n_permutations,
        max_n=max_n, log_probs=log_probs, options=options, progress=progress, train=train, n_samples=n_samples,
    ).results


# ---------------------------------------------------------------------------------------------
# results files
# ---------------------------------------------------------------------------------------------


def _nan_to_none(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def results_records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: NaN -> ``None``, JSON columns parsed, numpy scalars unwrapped."""
    records = []
    for rec in df.to_dict(orient="records"):
        out = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            out[k] = json.loads(v) if k in JSON_COLUMNS and isinstance(v, str) else _nan_to_none(v)
        records.append(out)
    return records


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a half-written file.

    Raises
    ------
    OutputError
        When the location cannot be written.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}. Choose a writable location.") from None


def check_writable(path) -> None:
    """Fail before any work when ``path``'s directory cannot take a new file."""
    parent = Path(path).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist or is not writable. "
            "Choose a writable location."
        )


def write_results(df: pd.DataFrame, path) -> None:
    """Write results as JSON lines (one row per line, NaN as null), atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> row = {"model": "a", "metric": "fid", "value": 1.5, "higher_is_better": False}
    >>> df = normalize_results(pd.DataFrame([row]))
    >>> p = os.path.join(tempfile.mkdtemp(), "results.jsonl")
    >>> write_results(df, p); read_results(p).loc[0, "value"]
    np.float64(1.5)
    """
    text = "".join(json.dumps(r, sort_keys=False, allow_nan=False) + "\n" for r in results_records(df))
    atomic_write_text(path, text)


_DEFAULTS = {
    "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "ci_level": math.nan, "ci_method": "",
    "pvalue": math.nan, "n": "[]", "higher_is_better": None, "group": "", "extractor": "", "seed": None,
    "error": "", "extras": "{}", "status": None, "input_hash": "", "reference_hash": "", "comparisons": "{}",
}


def _json_text(value, default: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value in ("", "null"):
        return default
    return value if isinstance(value, str) else json.dumps(value, default=_json_default, sort_keys=True)


def normalize_results(df: pd.DataFrame) -> pd.DataFrame:
    """Bring a results table of any schema version to :data:`COLUMNS`.

    Missing columns get defaults; ``status`` of older files is derived from ``error`` (``failed``
    when set); JSON columns become JSON text; unknown extra columns are kept at the end.

    Raises
    ------
    InputError
        Without ``model`` and ``metric`` columns, or with ``higher_is_better`` missing.
    """
    df = df.copy()
    for col in ("model", "metric"):
        if col not in df.columns:
            raise InputError(f"results need a `{col}` column; got columns {list(df.columns)}.")
    for col, default in _DEFAULTS.items():
        if col not in df.columns:
            df[col] = [default] * len(df)
    for col in JSON_COLUMNS:
        df[col] = [_json_text(v, _DEFAULTS[col]) for v in df[col]]
    for col in ("error", "ci_method", "group", "extractor", "input_hash", "reference_hash"):
        df[col] = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)) for v in df[col]]
    for col in ("value", "ci_low", "ci_high", "ci_level", "pvalue"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    if df["higher_is_better"].isna().any():
        bad = df.loc[df["higher_is_better"].isna(), "metric"].unique().tolist()
        raise InputError(f"results for metrics {bad} lack `higher_is_better`; cannot rank them.")
    df["higher_is_better"] = df["higher_is_better"].astype(bool)
    df["status"] = [s if isinstance(s, str) and s in STATUSES else ("failed" if e else "ok")
                    for s, e in zip(df["status"], df["error"])]
    df["model"] = df["model"].astype(str)
    df["metric"] = df["metric"].astype(str)
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra].reset_index(drop=True)


def read_results(paths) -> pd.DataFrame:
    """Load one or more ``results.jsonl`` files (any schema version) into one normalised table.

    Parameters
    ----------
    paths : str, Path or sequence of them

    Raises
    ------
    InputError
        A missing or unparsable file (the message names the file and line), or the same
        (model, metric) in more than one file.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = []
    for path in paths:
        path = Path(path)
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
            records.append(rec)
        if not records:
            raise InputError(f"{path}: holds no results.")
        frames.append(normalize_results(pd.DataFrame.from_records(records)))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dupes = df[df.duplicated(["model", "metric"], keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        raise InputError(
            f"model {first['model']!r} has more than one {first['metric']!r} result across the results files; "
            "rename one of the models (NAME=PATH) or drop a file."
        )
    return df
