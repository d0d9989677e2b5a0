"""Metric declarations and their discovery.

A metric is a pure function plus a declaration::

    @metric("fid", needs="features", higher_is_better=False, group="perceptual")
    def fid(real, generated, *, dtype="float64") -> MetricResult: ...

The declaration is what the harness reads: what the metric consumes (``needs``), which direction is
better, and which ``--metrics`` group it belongs to. Built-in families and third-party packages
register the same way, through the ``genbench.metrics`` entry-point group: the entry point names a
module (or a decorated function) whose import runs the ``@metric`` declarations.
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

from .errors import InputError, PluginWarning, UnknownMetricError

#: What a metric consumes. ``features``: two (n, d) arrays ``real, generated`` in a feature space;
#: ``samples``: the same, but in the data's own space (no extractor); ``log_probs``: a model's
#: per-example test log-probabilities (one array); ``probs``: class-probability rows of the
#: generated set (one array); ``train``: three (n, d) feature arrays ``real, generated, train``, where
#: ``real`` is a held-out test set and ``train`` the model's training set (memorisation metrics).
NEEDS = ("features", "samples", "log_probs", "probs", "train")
#: Families, as accepted by ``genbench score --metrics GROUP``.
GROUPS = ("likelihood", "kernel", "classifier", "perceptual", "memorisation")
ENTRY_POINT_GROUP = "genbench.metrics"


@dataclass(frozen=True)
class MetricSpec:
    """The declaration of one registered metric.

    Attributes
    ----------
    name : str
        Registry name (``genbench score --metrics NAME``).
    func : callable
        The metric function; returns a :class:`~metrics.result.MetricResult`.
    needs : {"features", "samples", "log_probs", "probs", "train"}
        What the function consumes.
    higher_is_better : bool
        Direction for ranking.
    group : str
        Family, one of :data:`GROUPS`.
    summary : str
        One line, the first line of the function's docstring.
    source : str
        Module that declared it (a plugin's distribution shows up here).
    """

    name: str
    func: Callable
    needs: str
    higher_is_better: bool
    group: str
    summary: str
    source: str

    @property
    def options(self) -> tuple[str, ...]:
        """Names of the keyword-only options the metric accepts."""
        params = inspect.signature(self.func).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)


_REGISTRY: dict[str, MetricSpec] = {}
_loaded_groups: set[str] = set()


def metric(name: str, *, needs: str, higher_is_better: bool, group: str):
    """Declare a function as a registered metric.

    Parameters
    ----------
    name : str
        Registry name; lower case, no spaces.
    needs : {"features", "samples", "log_probs", "probs", "train"}
        What the function consumes (see :data:`NEEDS`).
    higher_is_better : bool
        Direction used to rank models.
    group : {"likelihood", "kernel", "classifier", "perceptual", "memorisation"}
        Family used by ``--metrics GROUP``.

    Returns
    -------
    decorator
        Returns the function unchanged, with its declaration at ``func.spec``.

    Examples
    --------
    >>> from metrics import MetricResult, metric
    >>> @metric("mean_gap", needs="features", higher_is_better=False, group="kernel")
    ... def mean_gap(real, generated):
    ...     '''Absolute gap between the grand means.'''
    ...     v = abs(float(real.mean()) - float(generated.mean()))
    ...     return MetricResult("mean_gap", v, higher_is_better=False)
    >>> mean_gap.spec.needs
    'features'
    """
    if needs not in NEEDS:
        raise ValueError(f"`needs` must be one of {NEEDS}; got {needs!r}.")
    if group not in GROUPS:
        raise ValueError(f"`group` must be one of {GROUPS}; got {group!r}.")

    def decorate(func):
        doc = inspect.getdoc(func) or ""
        spec = MetricSpec(
            name=name,
            func=func,
            needs=needs,
            higher_is_better=bool(higher_is_better),
            group=group,
            summary=doc.strip().splitlines()[0] if doc.strip() else "",
            source=func.__module__,
        )
        _register(spec)
        func.spec = spec
        return func

    return decorate


def _register(spec: MetricSpec) -> None:
    old = _REGISTRY.get(spec.name)
    if old is not None and (old.source, old.func.__qualname__) != (spec.source, spec.func.__qualname__):
        warnings.warn(
            f"metric name {spec.name!r} from {spec.source} is already registered by {old.source}; "
            "keeping the first.",
            PluginWarning,
            stacklevel=3,
        )
        return
    _REGISTRY[spec.name] = spec


def load_plugins(group: str) -> list[str]:
    """Import every entry point of ``group``; a failing plugin becomes a :class:`PluginWarning`.

    Returns the names of the entry points that failed. Used for metrics here and for the harness's
    feature extractors (``genbench.extractors``).
    """
    failed = []
    for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            failed.append(ep.name)
            warnings.warn(
                f"could not load plugin {ep.name!r} ({ep.value}) from entry-point group {group!r}: "
                f"{type(exc).__name__}: {exc}",
                PluginWarning,
                stacklevel=2,
            )
    return failed


def available_metrics() -> dict[str, MetricSpec]:
    """All registered metrics, built-in and third-party, sorted by name.

    Entry points are loaded once per process; later calls are cheap.
    """
    if ENTRY_POINT_GROUP not in _loaded_groups:
        _loaded_groups.add(ENTRY_POINT_GROUP)
        load_plugins(ENTRY_POINT_GROUP)
    return dict(sorted(_REGISTRY.items()))


def get_metric(name: str) -> MetricSpec:
    """Look a metric up by registry name.

    Raises
    ------
    UnknownMetricError
        With close matches ("Did you mean ...?") and the list of available names.
    """
    specs = available_metrics()
    if name in specs:
        return specs[name]
    close = difflib.get_close_matches(name, list(specs), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownMetricError(
        f"unknown metric {name!r}.{hint} Available: {', '.join(specs) or '(none)'}."
    )


def resolve_metrics(names) -> list[MetricSpec]:
    """Expand names and groups (``likelihood``, ``kernel``, ``classifier``, ``perceptual``, ``memorisation``,
    ``all``).

    ``names`` is an iterable of strings or one comma-separated string. Order is kept, duplicates dropped.
    """
    if isinstance(names, str):
        names = [n for n in (s.strip() for s in names.split(",")) if n]
    if names is None or isinstance(names, (bytes, dict)) or not hasattr(names, "__iter__"):
        raise InputError(f"`metrics` must be a metric name, a group or a list of them; got {names!r}. "
                         "Pass e.g. metrics='fid' or metrics=['fid', 'kid'] (`genbench metrics` lists them).")
    names = list(names)
    if not all(isinstance(n, str) for n in names):
        raise InputError(f"`metrics` must hold metric or group names as strings; got {names!r}. "
                         "Pass e.g. metrics='fid' or metrics=['fid', 'kid'] (`genbench metrics` lists them).")
    specs = available_metrics()
    out: dict[str, MetricSpec] = {}
    for name in names:
        if name == "all":
            out.update(specs)
        elif name in GROUPS and name not in specs:
            out.update({k: s for k, s in specs.items() if s.group == name})
        else:
            spec = get_metric(name)
            out[spec.name] = spec
    return list(out.values())
