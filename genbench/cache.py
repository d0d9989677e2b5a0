"""Content-addressed on-disk cache for extracted features (and the digits extractor's trained net).

An entry is keyed by what determines its content: the bytes of the inputs, the extractor's stable
identifier (name + weights hash + preprocessing) and the loader's options. Same key -> same features,
so a second ``genbench score`` on unchanged directories extracts nothing.

Layout: ``<root>/features/<key[:2]>/<key>.gbc``, root ``$GENBENCH_CACHE`` or ``~/.cache/genbench``.
Each file is a small header (magic line + SHA-256 of the payload) followed by the payload (an
``.npz`` archive). Writes go to a temporary name in the same directory and are renamed into place
with :func:`os.replace`, which is atomic on POSIX and Windows, so a reader never sees half a file.
A truncated or corrupt entry fails the checksum, is deleted and reported as a miss: it is recomputed,
never returned. Every entry also stores the key it was written under, and :meth:`FeatureCache.get`
checks it: an entry copied or renamed over another key's file (its checksum is fine) is rejected the
same way, so a file can never answer for content it was not computed from.

Under ``torchrun`` the ranks share the cache (a shared filesystem across nodes) and coordinate
through it: :meth:`FeatureCache.claim` creates ``<key>.claim-<run>`` with ``O_EXCL``, so exactly one
rank of a run computes each shard; claims of other (dead) runs carry another run id and are ignored,
and every claim file of a key is removed once its entry is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

#: First line of every cache file; bump the digit when the payload layout changes.
MAGIC = b"GENBENCH-CACHE-1\n"
_HEADER_LEN = len(MAGIC) + 64 + 1  # magic, hex SHA-256 of the payload, newline


def cache_root() -> Path:
    """The cache directory: ``$GENBENCH_CACHE`` if set, else ``~/.cache/genbench``."""
    env = os.environ.get("GENBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "genbench"


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes, read in blocks (weights files and sample files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def make_key(**parts) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (sorted keys): the entry's address."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def write_atomic(path: Path, payload: bytes) -> None:
    """Write ``MAGIC + sha256(payload) + payload`` to ``path`` atomically (temp file + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(payload).hexdigest().encode()
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + digest + b"\n")
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_verified(path: Path) -> bytes | None:
    """The payload of a cache file, or ``None`` if it is missing, truncated or corrupt.

    A file that fails the check is deleted so the next write replaces it.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, payload = data[:_HEADER_LEN], data[_HEADER_LEN:]
    ok = (
        len(header) == _HEADER_LEN
        and header.startswith(MAGIC)
        and header[-1:] == b"\n"
        and hashlib.sha256(payload).hexdigest().encode() == header[len(MAGIC):-1]
    )
    if not ok:
        try:
            path.unlink()
        except OSError:
            pass
        return None
    return payload


class FeatureCache:
    """Arrays plus a JSON-able ``meta`` dict stored under a content key.

    Parameters
    ----------
    root : str or Path, optional
        Cache directory; default :func:`cache_root`.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> key = make_key(input="abc", extractor="identity")
    >>> cache.put(key, {"features": np.eye(2)}, {"notes": []})
    True
    >>> arrays, meta = cache.get(key)
    >>> arrays["features"].shape
    (2, 2)
    """

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else cache_root()
        #: entries found corrupt and dropped during this object's life (reported in notes)
        self.dropped: list[str] = []
        #: entries dropped because they were written under another key (copied or renamed files)
        self.misplaced: list[str] = []

    def path(self, key: str) -> Path:
        return self.root / "features" / key[:2] / f"{key}.gbc"

    def get(self, key: str):
        """``(arrays, meta)`` for ``key``, or ``None`` on a miss (including a corrupt entry)."""
        path = self.path(key)
        existed = path.exists()
        payload = read_verified(path)
        if payload is None:
            if existed:
                self.dropped.append(str(path))
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != "__meta__"}
                meta = json.loads(bytes(z["__meta__"]).decode())
        except Exception:  # checksum matched but the payload is not ours: treat as corrupt
            self.dropped.append(str(path))
            path.unlink(missing_ok=True)
            return None
        if not isinstance(meta, dict) or meta.pop("__key__", None) != key:
            # a sound entry of another key (a copied or renamed file): never serve it
            self.misplaced.append(str(path))
            path.unlink(missing_ok=True)
            return None
        return arrays, meta

    def has(self, key: str) -> bool:
        """Whether an entry file for ``key`` exists (not verified; :meth:`get` verifies)."""
        return self.path(key).is_file()

    def claim(self, key: str, run: str) -> bool:
        """Atomically claim ``key`` for run ``run``: True for exactly one caller per (key, run).

        Returns True as well when the claim cannot be written (read-only cache): the caller then
        computes the entry itself, which costs time but never correctness.
        """
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.with_name(f"{key}.claim-{run}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        except OSError:
            return True
        os.close(fd)
        return True

    def release(self, key: str) -> None:
        """Remove every claim file of ``key`` (this run's and stale ones of dead runs)."""
        for p in self.path(key).parent.glob(f"{key}.claim-*"):
            try:
                p.unlink()
            except OSError:
                pass

    def put(self, key: str, arrays: dict, meta: dict) -> bool:
        """Store ``arrays`` (name -> ndarray; ``None`` values are left out) and ``meta``.

        Returns False when the entry could not be written (read-only or full disk).
        """
        buf = io.BytesIO()
        payload = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
        # the key goes inside the checksummed payload: get() refuses the entry under any other key
        meta = {**meta, "__key__": key}
        payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        np.savez(buf, **payload)
        try:
            write_atomic(self.path(key), buf.getvalue())
        except OSError:
            # a read-only or full cache location must not fail the evaluation itself
            return False
        return True
