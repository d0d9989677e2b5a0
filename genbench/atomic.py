"""Atomic file output that respects what is already at the path.

Every file genbench writes (``score --out``, leaderboard files, the feature cache, demo outputs) goes
through :func:`atomic_write`. The rule:

* a symlink is written *through*: the file it points to is replaced (atomically, in the target's own
  directory), the link stays a link;
* an existing FIFO, device, socket or directory is refused with :class:`~genbench.errors.OutputError`
  (the CLI exits 2): writing there would block, or replace something that is not an output file;
* an existing regular file keeps its permission bits; a new file gets ``0666`` minus the umask, as
  ``open(path, "w")`` would give it (a temporary file alone would be ``0600``);
* the content goes to a temporary file beside the target, is flushed to disk, then renamed over it,
  so a reader never sees half a file and an interrupted write leaves the old file as it was.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import OutputError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permission bits a new file gets from ``open(path, "w")``: ``0o666`` minus the umask."""
    return 0o666 & ~current_umask()


def output_target(path) -> tuple[Path, int | None]:
    """Where writing ``path`` lands and the mode an existing file there has.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    (Path, int or None)
        The final target of a symlink chain (``path`` itself when it is not a link; a dangling
        link's target is created), and the permission bits of the existing regular file there
        (``None`` when nothing exists yet).

    Raises
    ------
    OutputError
        The target exists and is not a regular file, or its directory is missing or not writable.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> os.symlink("real.jsonl", os.path.join(d, "link.jsonl"))
    >>> output_target(os.path.join(d, "link.jsonl"))[0].name
    'real.jsonl'
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):  # a new file (or a bad folder, reported below)
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}. Choose another path.") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        via = f" (the symlink points to {str(target)!r})" if target != path else ""
        raise OutputError(f"cannot write {str(path)!r}: it is {kind}{via}, not a regular file. "
                          "Choose a file path.")
    parent = target.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {str(path)!r}: directory {str(parent.absolute())!r} does not exist or is not writable. "
            "Choose a writable location."
        )
    return target, (stat.S_IMODE(st.st_mode) if st is not None else None)


def atomic_write(path, data: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically, by the module's rule (symlinks followed, modes kept).

    Parameters
    ----------
    path : str or Path
        The output file, or a symlink to it.
    data : bytes or str
        The whole content; ``str`` is written as UTF-8.
    mode : int, optional
        Permission bits for a *new* file; default ``0o666`` minus the umask. An existing file
        always keeps its own.

    Returns
    -------
    Path
        The file actually written (the symlink's target when ``path`` is a link).

    Raises
    ------
    OutputError
        The target is not a regular file, or the location cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> _ = atomic_write(p, "a\\n"); os.chmod(p, 0o640); _ = atomic_write(p, "b\\n")
    >>> open(p).read(), oct(os.stat(p).st_mode & 0o777)
    ('b\\n', '0o640')
    """
    target, existing = output_target(path)
    final_mode = existing if existing is not None else (new_file_mode() if mode is None else mode)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fchmod(f.fileno(), final_mode)
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}. Choose a writable location.") from None
    finally:
        if tmp is not None:  # failed or interrupted (KeyboardInterrupt too): leave no temporary file
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target
