"""genbench's numerical core: arrays in, :class:`MetricResult` objects out.

Use it on its own in a notebook::

    import metrics
    metrics.fid(real_features, generated_features).value

Families live in one module each; their public functions are re-exported here lazily, so
``import metrics`` stays cheap (torch and scikit-learn load only when a metric that needs them runs).
This package never imports ``genbench``.
"""

from __future__ import annotations

import importlib

from .errors import InputError, MetricWarning, PluginWarning, UnknownMetricError
from .registry import available_metrics, get_metric, metric, resolve_metrics, MetricSpec
from .result import ConfidenceInterval, MetricResult

# public name -> module that defines it. Each family owns its own line(s).
_LAZY = {
    # Frechet family
    "frechet_distance": "frechet", "fid": "frechet", "GaussianStats": "frechet",
    # kernel two-sample family
    "mmd": "kernel", "mmd_test": "kernel", "kid": "kernel",
    "energy_distance": "kernel", "energy_test": "kernel",
    # classifier-based divergences (exact discrete/Gaussian helpers live in metrics.divergences)
    "c2st": "classifier", "adversarial_divergence": "classifier", "divergence_spectrum": "classifier",
    "DivergenceSpectrum": "classifier",
    # likelihood family
    "log_likelihood": "likelihood", "model_log_likelihood": "likelihood",
    "parzen_log_likelihood": "likelihood", "parzen": "likelihood",
    "log_likelihood_difference": "likelihood", "log_likelihood_from_report": "likelihood",
    # k-NN manifold metrics
    "precision_recall": "manifold", "density_coverage": "manifold",
    # Inception Score
    "inception_score": "inception",
    # PRD curves and divergence frontiers
    "prd": "frontiers", "divergence_frontier": "frontiers", "vendi_score": "frontiers",
    # resampling machinery: grouped jackknife, disjoint folds, multiplicity adjustment
    "GroupReplicates": "resampling", "group_labels": "resampling", "jackknife_values": "resampling",
    "jackknife_interval": "resampling", "paired_jackknife": "resampling", "fold_values": "resampling",
    "paired_folds": "resampling", "adjust_pvalues": "resampling",
    # CMMD (kernel family, fixed CLIP bandwidth)
    "cmmd": "clip_mmd",
    # memorisation: data-copying test and authenticity (need the training set)
    "data_copying": "memorisation", "authenticity": "memorisation",
}
_SUBMODULES = ("divergences", "frechet", "kernel", "classifier", "likelihood", "manifold",
               "inception", "frontiers", "resampling", "clip_mmd", "memorisation", "registry", "result", "errors")

__all__ = [
    "ConfidenceInterval", "MetricResult", "MetricSpec", "metric", "available_metrics", "get_metric",
    "resolve_metrics", "InputError", "UnknownMetricError", "MetricWarning", "PluginWarning",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
