"""Publish a leaderboard directory atomically.

``publish(leaderboard, DIR)`` writes ``leaderboard.md``, ``leaderboard.html`` (self-contained, figures
embedded), ``leaderboard.tex``, ``leaderboard.csv``, ``leaderboard.json``, ``results.jsonl``,
``comparisons.jsonl``, ``provenance.json`` and the figures as PNG files. The report is built once
(:func:`genbench.report.build_report`) and rendered into every format. Everything is first written into a
temporary directory next to ``DIR``; only when every file is complete is it swapped in (an atomic
``renameat2(RENAME_EXCHANGE)`` on Linux, otherwise two renames a few microseconds apart). An
interrupted or failing publish therefore leaves the previous leaderboard exactly as it was, and
never a half-written file.

``DIR`` belongs to genbench: its content is replaced as a whole. A directory that holds files
genbench did not write is refused rather than overwritten.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as _dt
import glob
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from .atomic import current_umask
from .errors import OutputError

#: The files a published directory holds.
FILES = ("leaderboard.md", "leaderboard.html", "leaderboard.tex", "leaderboard.csv", "leaderboard.json",
         "results.jsonl", "comparisons.jsonl", "provenance.json")
#: Figures written when the board supports them (:func:`genbench.plots.board_figures`).
FIGURES = ("likelihood_vs_quality.png", "spectrum.png")
_PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "matplotlib")


def _git_commit() -> str | None:
    """The commit of the genbench source tree, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def _versions() -> dict:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def provenance(leaderboard, *, suite: dict | None = None) -> dict:
    """What produced a leaderboard: software, inputs, seeds, extractors, platform.

    Parameters
    ----------
    leaderboard : Leaderboard
    suite : dict, optional
        Extra description of the suite that produced the results (path, hash).

    Returns
    -------
    dict
        JSON-ready: ``genbench_version``, ``git_commit`` (None outside a checkout),
        ``created_utc``, ``python``, ``platform``, ``packages``, ``metrics`` (name, group,
        direction), ``extractors``, ``seeds``, ``reference_hashes``, ``inputs`` (model -> content
        hash of its sample set), ``suite``.
    """
    try:
        version = metadata.version("genbench")
    except metadata.PackageNotFoundError:  # a source tree that was not installed
        version = "0+unknown"
    df = leaderboard.results
    inputs = {}
    for r in df.itertuples():
        if r.input_hash:
            inputs.setdefault(r.model, r.input_hash)
    return {
        "genbench_version": version,
        "git_commit": _git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": _versions(),
        "metrics": [{"name": m, "group": leaderboard.group(m),
                     "higher_is_better": leaderboard.higher_is_better(m)} for m in leaderboard.metrics],
        "sort": leaderboard.sort,
        "extractors": sorted({e for e in df["extractor"] if e}),
        "seeds": sorted({int(s) for s in df["seed"] if s is not None and s == s}),
        "reference_hashes": sorted({h for h in df["reference_hash"] if h}),
        "inputs": inputs,
        "suite": suite,
    }


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _staging_prefix(name: str, kind: str = "publish") -> str:
    """``.NAME.publish-PID-``: the owning process is in the name, so a later publish can tell a
    staging folder left by a killed run (its process is gone) from one a concurrent run is filling."""
    return f".{name}.{kind}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_staging(directory: Path) -> list[Path]:
    """Remove ``.NAME.publish-PID-*`` / ``.NAME.old-PID-*`` folders beside ``directory`` whose process is gone.

    A publish killed outright (SIGKILL, power loss) cannot clean up after itself; the next publish
    to the same place does. Folders of a live process (a concurrent publish) are left alone; folders
    named without a process id (written by earlier genbench versions) are removed once untouched
    for an hour.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    parent = directory.parent
    for kind in ("publish", "old"):
        for p in parent.glob(f".{glob.escape(directory.name)}.{kind}-*"):
            if not p.is_dir() or p.is_symlink():
                continue
            pid = p.name[len(f".{directory.name}.{kind}-"):].split("-", 1)[0]
            if pid.isdigit():
                stale = not _pid_alive(int(pid))
            else:
                try:
                    stale = time.time() - p.stat().st_mtime > 3600
                except OSError:
                    continue
            if stale:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def check_target(directory: Path) -> None:
    parent = directory.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot publish to {str(directory)!r}: directory {str(parent)!r} does not exist or is not writable. "
            "Choose a writable location."
        )
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"cannot publish to {str(directory)!r}: it exists and is not a directory. Choose another path.")
    if directory.is_dir():
        foreign = sorted(p.name for p in directory.iterdir() if p.name not in FILES + FIGURES)
        if foreign:
            raise OutputError(
                f"cannot publish to {str(directory)!r}: it holds files genbench did not write ({', '.join(foreign[:5])}). "
                "Publish into an empty or previously published directory."
            )


def publish(leaderboard, directory, *, suite: dict | None = None) -> Path:
    """Write every leaderboard file into ``directory``, replacing its previous content atomically.

    Parameters
    ----------
    leaderboard : Leaderboard
    directory : str or Path
        Created if missing; its parent must exist.
    suite : dict, optional
        Recorded in ``provenance.json`` (``genbench run`` passes the suite path, relative to
        ``directory``, and its hash).

    Returns
    -------
    Path
        The published directory.

    Raises
    ------
    OutputError
        The location cannot be written, or holds files genbench did not write.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from genbench import Leaderboard
    >>> lb = Leaderboard(pd.DataFrame([{"model": "a", "metric": "fid", "value": 1.0, "higher_is_better": False}]))
    >>> out = publish(lb, os.path.join(tempfile.mkdtemp(), "board"))
    >>> sorted(p.name for p in out.iterdir()) == sorted(FILES)
    True
    """
    from .plots import board_figures
    from .report import build_report, dumps
    from .results import jsonl_text

    # a symlinked DIR is published through: its target is replaced, the link stays
    directory = Path(os.path.realpath(directory))
    check_target(directory)
    figures = board_figures(leaderboard)
    report = build_report(leaderboard, figures=[(name, caption) for name, (_, caption) in figures.items()])
    remove_stale_staging(directory)
    contents = {
        "leaderboard.md": report.to_markdown(),
        "leaderboard.html": report.to_html(figures={name: png for name, (png, _) in figures.items()}),
        "leaderboard.tex": report.to_latex(),
        "leaderboard.csv": leaderboard.to_csv(),
        "leaderboard.json": dumps(report),
        "results.jsonl": jsonl_text(leaderboard.rows),
        "comparisons.jsonl": jsonl_text(leaderboard.comparisons),
        "provenance.json": json.dumps(provenance(leaderboard, suite=suite), indent=2) + "\n",
        **{name: png for name, (png, _) in figures.items()},
    }
    try:
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(directory.name), dir=directory.parent))
    except OSError as exc:
        raise OutputError(f"cannot publish to {str(directory)!r}: {exc.strerror or exc}. Choose a writable location.") from None
    try:
        # mkdtemp makes it private: give it the previous board's mode, or what mkdir would give
        os.chmod(staging, stat.S_IMODE(directory.stat().st_mode) if directory.is_dir() else 0o777 & ~current_umask())
        for name, content in contents.items():
            with open(staging / name, "wb") as f:  # a new file: 0666 minus the umask
                f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
        if not directory.exists():
            os.rename(staging, directory)
        elif _exchange(staging, directory):
            shutil.rmtree(staging, ignore_errors=True)  # now holds the previous board
        else:
            old = Path(tempfile.mkdtemp(prefix=_staging_prefix(directory.name, "old"), dir=directory.parent))
            os.rmdir(old)
            os.rename(directory, old)
            os.rename(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot publish to {str(directory)!r}: {exc.strerror or exc}.") from None
        raise
    return directory
