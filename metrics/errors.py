"""Exception and warning classes of the numerical core.

Every error the library raises on bad input subclasses a built-in (``ValueError``, ``TypeError``)
so callers that already catch those keep working; only the CLI turns them into one-line messages.
"""


class InputError(ValueError):
    """An argument or input array is invalid; the message says what, the value, and the fix."""


class UnknownMetricError(InputError):
    """A metric name is not registered; the message suggests close matches."""


class MetricWarning(UserWarning):
    """A statistical caveat (rank-deficient covariance, few permutations ...): a result is still returned."""


class PluginWarning(UserWarning):
    """A metric or extractor plugin could not be loaded; the others still work."""
