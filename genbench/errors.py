"""Harness errors. They subclass the numerical core's InputError, so one ``except`` catches both."""

from metrics.errors import InputError


class SampleError(InputError):
    """A sample set on disk cannot be read: missing, empty, corrupt, or of an unknown kind."""


class OutputError(InputError):
    """An output location cannot be written."""
