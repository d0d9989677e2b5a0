"""genbench: evaluate generative models on both sides of Huszar's argument.

The harness on top of :mod:`metrics`: sample sets on disk -> features -> metric results ->
long DataFrame -> leaderboard.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("genbench")
except _metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"


def __getattr__(name):
    # keep `import genbench` light: pandas and torch load only when the runner is used
    if name == "score":
        from .runner import score

        return score
    if name == "score_run":
        from .runner import score_run

        return score_run
    if name == "Leaderboard":
        from .leaderboard import Leaderboard

        return Leaderboard
    raise AttributeError(f"module 'genbench' has no attribute {name!r}")
