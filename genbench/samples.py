"""Sample sets on disk: find out what a path holds, then stream it in batches.

One loader for every common way samples are stored. :func:`open_samples` scans a path (reading file
headers only) and returns a :class:`SampleSet`; :meth:`SampleSet.batches` streams the items through
an extractor's per-item preparation in worker threads, so a 50,000-image directory never sits in
memory as decoded float tensors.

Kinds
-----
``images``
    A directory (searched recursively) of ``.png``, ``.jpg``/``.jpeg``, ``.bmp``, ``.webp`` files, or
    one such file. Files are sorted by their path relative to the directory (POSIX form).
``arrays``
    ``.npy``, ``.npz`` or ``.pt`` files, or a directory of them (shards, concatenated in sorted
    order; they must agree on everything but the first axis). In an ``.npz`` the array ``arr_0`` is
    used when present (the layout of ADM / guided-diffusion sample batches, whose ``arr_1`` holds
    labels), else its only array. In a ``.pt`` file: a tensor, or a dict holding ``arr_0`` or one tensor.
``text``
    ``.txt`` (one sample per non-blank line) or ``.jsonl`` (one JSON object per line, its ``text``
    field), or a directory of them.
``stats``
    An ``.npz`` holding ``mu`` and ``sigma`` (saved pytorch-fid / clean-fid statistics); handled by
    :func:`genbench.features.load_features`.

In a directory, hidden files and the reserved metadata files :data:`RESERVED` are skipped; files
with other extensions are ignored with a note; a directory holding more than one kind is an error.

Symlinks: one rule for files and folders, both are followed, wherever they point (also outside the
directory), and count as what they point to. Each folder is read once: a symlink back to a folder
already read (a loop, or the same folder linked twice) is skipped, and so is a broken symlink. When
any symlink was met, a note counts the files and folders followed and what was skipped.

Conversion rules
----------------
Every image, from a file or an array, becomes an RGB ``uint8`` array of shape (H, W, 3):

* image files: grayscale (``L``, ``1``) is replicated to three channels; palette images are expanded
  through their palette; the alpha channel of RGBA / LA / palette-with-transparency images is
  dropped (not composited), as ``PIL.Image.convert("RGB")`` does in pytorch-fid and clean-fid;
  16-bit images (``I;16``, ``I``) are mapped to 8 bits by ``round(v / 257)`` (65535 -> 255), then
  replicated; other modes (CMYK, YCbCr ...) go through ``convert("RGB")``;
* arrays: 2-D ``(n, d)`` arrays (and 1-D ``(n,)``, read as ``(n, 1)``) are *vectors*, used as they
  are. 3-D ``(n, H, W)`` arrays are grayscale images. 4-D arrays are images whose channel axis is
  axis 3 (NHWC) or axis 1 (NCHW): an axis qualifies when its length is 1, 3 or 4; when both
  qualify the shorter one is the channel axis, and on a tie NHWC wins (so ``(n, 3, 32, 32)`` is
  NCHW, ``(n, 32, 32, 3)`` and ``(n, 3, 3, 3)`` are NHWC). 1 channel is replicated, 4 channels lose
  the last (alpha). Pixel values: ``uint8`` as they are; ``uint16`` by ``round(v / 257)``; other
  integers must lie in [0, 255]; floats are scanned once first: all values in [0, 1] ->
  ``round(255 x)``, else all in [-1, 1] -> ``round(127.5 (x + 1))``, else an error (convert to
  uint8 or rescale). Float images are therefore quantised to 8 bits, like saved PNGs.

Mixed image sizes are allowed: each extractor resizes every image to its own input size by its own
rule (:attr:`~genbench.extractors.Extractor.resize_rule`), and the count of images whose size
differs from the first one's is reported in the notes.

Bad input
---------
An unreadable or corrupt file raises :class:`~genbench.errors.SampleError` naming the file; with
``skip_bad=True`` it is skipped instead (a bad ``.jsonl`` line likewise) and the count goes into
the notes. NaN or inf in an array is always an error naming the file and the first bad row.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SampleError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ARRAY_EXTS = (".npy", ".npz", ".pt")
TEXT_EXTS = (".txt", ".jsonl")
#: Metadata files beside the samples (read by the runner), never samples themselves.
RESERVED = ("log_probs.npy", "likelihood.json")
#: Worker processes that decode and resize image files (threads for arrays already in memory).
DEFAULT_WORKERS = 2
#: Image sets smaller than this are decoded in the calling process (no worker start-up cost).
PARALLEL_MIN_FILES = 512
#: Rows read at once from an array shard.
_ARRAY_CHUNK = 1024


def kind_of(path: Path) -> str | None:
    """``"images"``, ``"arrays"``, ``"text"`` or ``None`` from a file's extension."""
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS:
        return "images"
    if ext in ARRAY_EXTS:
        return "arrays"
    if ext in TEXT_EXTS:
        return "text"
    return None


# ---------------------------------------------------------------------------------------------
# images


def to_rgb_uint8(img) -> np.ndarray:
    """A decoded PIL image as an (H, W, 3) uint8 array, by the module's conversion rule."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        v = np.asarray(img, dtype=np.float64)
        v = np.clip(np.rint(v / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(v[:, :, None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode != "RGB":
        img = img.convert("RGB")  # drops alpha of RGBA / LA; replicates L and 1
    return np.asarray(img, dtype=np.uint8)


def decode_image(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8, or raise :class:`SampleError` naming it."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb_uint8(img)
    except Exception as exc:
        raise SampleError(f"{path}: cannot decode image ({type(exc).__name__}: {exc}).") from None


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except Exception as exc:
        raise SampleError(f"{path}: cannot decode image ({type(exc).__name__}: {exc}).") from None


# ---------------------------------------------------------------------------------------------
# arrays


class _ArrayFile:
    """One array shard: shape and dtype from its header, rows streamed on demand."""

    def __init__(self, path: Path):
        self.path = path
        self.member = None  # .npz member name
        self._data = None  # in-memory array (.pt, Fortran-ordered .npz members)
        ext = path.suffix.lower()
        try:
            if ext == ".npy":
                self._data = np.load(path, mmap_mode="r", allow_pickle=False)
            elif ext == ".npz":
                self._open_npz()
            else:
                self._open_pt()
        except SampleError:
            raise
        except Exception as exc:
            raise SampleError(f"{path}: cannot read as an array file ({type(exc).__name__}: {exc}).") from None
        if self._data is not None:
            self.shape, self.dtype = tuple(self._data.shape), self._data.dtype
        if np.issubdtype(self.dtype, np.complexfloating):  # never cut silently to the real part
            raise SampleError(f"{path}: holds complex numbers (dtype {self.dtype}); samples must be real. Save the "
                              "real part, the magnitude, or real and imaginary parts as separate features.")
        if self.dtype == object or not (np.issubdtype(self.dtype, np.number) or self.dtype == bool):
            raise SampleError(f"{path}: expected a numeric array; got dtype {self.dtype}.")
        if len(self.shape) == 0:
            raise SampleError(f"{path}: holds a scalar; expected an array with one sample per row.")

    def _open_npz(self):
        with zipfile.ZipFile(self.path) as zf:
            names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
            if not names:
                raise SampleError(f"{self.path}: the .npz archive holds no arrays.")
            if "mu" in names and "sigma" in names:
                raise SampleError(
                    f"{self.path}: holds saved statistics (mu, sigma), not samples; pass it as a set of its own."
                )
            if "arr_0" in names:
                key = "arr_0"
            elif len(names) == 1:
                key = names[0]
            else:
                raise SampleError(
                    f"{self.path}: the .npz archive holds arrays {names}; expected one array or an `arr_0` "
                    "array (ADM / guided-diffusion layout). Save the samples alone or as arr_0."
                )
            self.member = key + ".npy"
            with zf.open(self.member) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read(f)
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        if fortran:  # rows are not contiguous on disk: read the member whole
            with np.load(self.path, allow_pickle=False) as z:
                self._data = np.ascontiguousarray(z[key])

    def _open_pt(self):
        import torch

        obj = torch.load(self.path, map_location="cpu", weights_only=True)
        if isinstance(obj, dict):
            tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
            if "arr_0" in tensors:
                obj = tensors["arr_0"]
            elif len(tensors) == 1:
                obj = next(iter(tensors.values()))
            else:
                raise SampleError(
                    f"{self.path}: the .pt dict holds tensors {sorted(tensors)}; expected one tensor or `arr_0`."
                )
        if not torch.is_tensor(obj):
            raise SampleError(f"{self.path}: the .pt file holds a {type(obj).__name__}; expected a tensor.")
        self._data = obj.detach().cpu().numpy()

    def __len__(self):
        return self.shape[0]

    def chunks(self, rows: int = _ARRAY_CHUNK):
        """Yield ``(start_row, array)`` chunks of at most ``rows`` rows."""
        if self._data is not None:
            for start in range(0, len(self), rows):
                yield start, np.asarray(self._data[start:start + rows])
            return
        row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as f:
            version = np.lib.format.read_magic(f)
            (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
            for start in range(0, len(self), rows):
                k = min(rows, len(self) - start)
                buf = f.read(k * row_bytes)
                if len(buf) != k * row_bytes:
                    raise SampleError(f"{self.path}: truncated array data at row {start}.")
                yield start, np.frombuffer(buf, dtype=self.dtype).reshape((k,) + self.shape[1:])


def _image_layout(shape: tuple) -> str | None:
    """``"vectors"``, ``"gray"``, ``"nhwc"`` or ``"nchw"`` from an array's shape (module rule)."""
    if len(shape) <= 2:
        return "vectors"
    if len(shape) == 3:
        return "gray"
    if len(shape) == 4:
        last, first = shape[3] in (1, 3, 4), shape[1] in (1, 3, 4)
        if last and first:
            return "nchw" if shape[1] < shape[3] else "nhwc"
        if last:
            return "nhwc"
        if first:
            return "nchw"
    return None


# ---------------------------------------------------------------------------------------------
# the sample set


@dataclass
class SampleSet:
    """What a path holds, found by :func:`open_samples` without decoding anything.

    Attributes
    ----------
    path : Path
        The path given.
    kind : {"images", "arrays", "text"}
        Kind of samples.
    files : list of Path
        Sample files in load order (bad ones dropped as they are met when ``skip_bad``).
    layout : str or None
        For arrays: ``"vectors"``, ``"gray"``, ``"nhwc"`` or ``"nchw"``.
    item_shape : tuple
        Shape of one item: ``(d,)`` for vectors, ``(H, W)`` of the first image for images.
    n : int or None
        Number of samples when known before streaming (arrays).
    notes : list of str
        Things the user should know, added as the set is scanned and streamed.
    skip_bad : bool
        Skip unreadable files (and bad ``.jsonl`` lines) instead of raising.
    """

    path: Path
    kind: str
    files: list
    layout: str | None = None
    item_shape: tuple = ()
    n: int | None = None
    notes: list = field(default_factory=list)
    skip_bad: bool = False
    skipped: list = field(default_factory=list)
    _arrays: list = field(default_factory=list, repr=False)
    _pixel_rule: str | None = field(default=None, repr=False)
    _sizes: Counter = field(default_factory=Counter, repr=False)

    # -- identity ----------------------------------------------------------------------------

    def content_hash(self) -> str:
        """SHA-256 over every sample file's relative name and bytes, in load order."""
        h = hashlib.sha256()
        root = self.path if self.path.is_dir() else self.path.parent
        for f in self.files:
            rel = f.relative_to(root).as_posix().encode()
            h.update(len(rel).to_bytes(8, "little") + rel)
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
        return h.hexdigest()

    # -- streaming ---------------------------------------------------------------------------

    def batches(self, batch_size: int, prepare=None, *, sample_shape=None, workers: int | None = None):
        """Stream the set in batches.

        Parameters
        ----------
        batch_size : int
            Items per batch.
        prepare : callable, optional
            Per-item preparation, run in the worker threads: an (H, W, 3) uint8 image, a vector row
            or a string in, an array out (the extractor's :meth:`prepare`). ``None`` passes items on.
        sample_shape : (int, int), optional
            For images: also return each image as flattened uint8 pixels at this (H, W) size
            (PIL bicubic when it differs), for metrics that work in data space.
        workers : int, optional
            Worker processes decoding and preparing image files (a torch ``DataLoader``; sets
            smaller than :data:`PARALLEL_MIN_FILES` stay in this process), or threads preparing
            images held in arrays; default :data:`DEFAULT_WORKERS`. ``0``: all in this process.

        Yields
        ------
        (prepared, pixels)
            ``prepared`` is a stacked array (or a list of strings for text when ``prepare`` is
            None); ``pixels`` is an (m, H*W*3) uint8 array or None.
        """
        workers = DEFAULT_WORKERS if workers is None else workers
        if self.kind == "images":
            yield from self._image_batches(batch_size, prepare, sample_shape, workers)
        elif self.kind == "arrays":
            yield from self._array_batches(batch_size, prepare, sample_shape, workers)
        else:
            yield from self._text_batches(batch_size, prepare)

    def _record_size(self, hw) -> None:
        self._sizes[tuple(hw)] += 1

    def size_note(self, resize_rule: str | None) -> str | None:
        """A note about mixed image sizes (after streaming), naming the resize rule used."""
        first = tuple(self.item_shape[:2])
        differ = sum(c for s, c in self._sizes.items() if s != first)
        if not differ:
            return None
        sizes = ", ".join(f"{h}x{w}" for h, w in sorted(self._sizes))
        return (f"mixed image sizes ({sizes}): {differ} of {sum(self._sizes.values())} images differ from the "
                f"set's size {first[0]}x{first[1]}; every image is resized by the extractor's rule: {resize_rule}")

    def _image_batches(self, batch_size, prepare, sample_shape, workers):
        import torch

        files = list(self.files)
        if len(files) < PARALLEL_MIN_FILES:
            workers = 0  # starting worker processes costs more than decoding a few files
        # Worker *processes* (torch DataLoader): decoding small PNGs is mostly Python work under
        # the GIL, so threads do not parallelise it; processes do, and prefetch overlaps the network.
        loader = torch.utils.data.DataLoader(
            _ImageFiles(files, prepare, sample_shape), batch_size=batch_size, num_workers=max(0, workers),
            collate_fn=_collate_images, prefetch_factor=2 if workers > 0 else None,
        )
        for paths, errors, sizes, items, pixels in loader:
            for path, error in errors:
                if not self.skip_bad:
                    raise SampleError(error)
                self.skipped.append(path)
            for hw in sizes:
                self._record_size(hw)
            if len(sizes):
                yield items, pixels

    def _array_batches(self, batch_size, prepare, sample_shape, workers):
        to_uint8 = self._array_pixel_converter() if self.layout != "vectors" else None
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            buf, pix = [], []
            for af in self._arrays:
                for start, chunk in af.chunks():
                    if np.issubdtype(chunk.dtype, np.floating):
                        _check_finite_rows(chunk, af.path, start)
                    if self.layout == "vectors":
                        # vectors go to the extractor whole: no per-row preparation
                        buf.extend(chunk.reshape(len(chunk), -1))
                    else:
                        imgs = to_uint8(chunk)
                        for img in imgs:
                            self._record_size(img.shape[:2])
                        buf.extend(pool.map(prepare, imgs) if prepare else imgs)
                        if sample_shape is not None:
                            pix.extend(_sample_pixels(img, sample_shape) for img in imgs)
                    while len(buf) >= batch_size:
                        yield _stack(buf[:batch_size]), (np.stack(pix[:batch_size]) if pix else None)
                        buf, pix = buf[batch_size:], pix[batch_size:]
            if buf:
                yield _stack(buf), (np.stack(pix) if pix else None)

    def _array_pixel_converter(self):
        layout, rule = self.layout, self._pixel_rule

        def convert(chunk):
            x = chunk
            if layout == "gray":
                x = x[..., None]
            elif layout == "nchw":
                x = np.moveaxis(x, 1, -1)
            if rule == "unit":
                x = np.rint(np.clip(x.astype(np.float64), 0, 1) * 255.0)
            elif rule == "signed":
                x = np.rint((np.clip(x.astype(np.float64), -1, 1) + 1.0) * 127.5)
            elif rule == "uint16":
                x = np.rint(x.astype(np.float64) / 257.0)
            x = x.astype(np.uint8)
            c = x.shape[-1]
            if c == 1:
                x = np.repeat(x, 3, axis=-1)
            elif c == 4:
                x = x[..., :3]
            return np.ascontiguousarray(x)

        return convert

    def _text_batches(self, batch_size, prepare):
        buf = []
        for text in self.texts():
            buf.append(prepare(text) if prepare else text)
            if len(buf) == batch_size:
                yield (_stack(buf) if prepare else buf), None
                buf = []
        if buf:
            yield (_stack(buf) if prepare else buf), None

    def texts(self):
        """Iterate over the text samples (``kind == "text"``)."""
        for f in self.files:
            try:
                lines = f.read_text(encoding="utf-8").splitlines()
            except Exception as exc:
                if self.skip_bad:
                    self.skipped.append(str(f))
                    continue
                raise SampleError(f"{f}: cannot read as UTF-8 text ({type(exc).__name__}: {exc}).") from None
            for lineno, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                if f.suffix.lower() == ".txt":
                    yield line
                    continue
                try:
                    text = json.loads(line)["text"]
                    if not isinstance(text, str):
                        raise TypeError(f"`text` is a {type(text).__name__}, not a string")
                except Exception as exc:
                    if self.skip_bad:
                        self.skipped.append(f"{f}:{lineno}")
                        continue
                    raise SampleError(
                        f"{f}:{lineno}: expected a JSON object with a string `text` field "
                        f"({type(exc).__name__}: {exc})."
                    ) from None
                yield text


class _ImageFiles:
    """Map-style dataset of image files -> (path, error, (H, W), prepared, pixels); picklable."""

    def __init__(self, files, prepare, sample_shape):
        self.files, self.prepare, self.sample_shape = files, prepare, sample_shape

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        path = self.files[i]
        try:
            img = decode_image(path)
        except SampleError as exc:  # raised (or counted) by the caller, not inside a worker
            return str(path), str(exc), None, None, None
        item = self.prepare(img) if self.prepare else img
        return str(path), None, img.shape[:2], item, _sample_pixels(img, self.sample_shape)


def _collate_images(items):
    """Stack a batch inside the worker: one array crosses the process boundary, not one per image."""
    good = [it for it in items if it[1] is None]
    errors = [(it[0], it[1]) for it in items if it[1] is not None]
    sizes = [tuple(it[2]) for it in good]
    if not good:
        return [it[0] for it in items], errors, sizes, None, None
    pixels = np.stack([it[4] for it in good]) if good[0][4] is not None else None
    return [it[0] for it in items], errors, sizes, _stack([it[3] for it in good]), pixels


def _stack(items):
    """One array when the items share a shape, else the list (raw images of mixed sizes, text)."""
    if isinstance(items[0], np.ndarray) and all(i.shape == items[0].shape for i in items):
        return np.stack(items)
    return list(items)


def _sample_pixels(img: np.ndarray, shape) -> np.ndarray | None:
    if shape is None:
        return None
    if tuple(img.shape[:2]) != tuple(shape):
        from PIL import Image

        img = np.asarray(Image.fromarray(img).resize((shape[1], shape[0]), Image.BICUBIC))
    return img.reshape(-1)


def _check_finite_rows(chunk: np.ndarray, path: Path, start: int) -> None:
    flat = chunk.reshape(len(chunk), -1)
    bad = ~np.isfinite(flat)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise SampleError(
            f"{path}: contains non-finite values ({flat[row][bad[row]][0]}) first at row {start + row}. "
            "Remove or fix those samples before scoring."
        )


# ---------------------------------------------------------------------------------------------
# scanning


def _list_dir(path: Path, notes: list) -> list[Path]:
    """Sample files under ``path`` by the symlink rule of the module docs, sorted by relative path."""
    files, ignored = [], Counter()
    followed = {"files": 0, "folders": 0}
    skipped = {"broken": 0, "loops": 0}
    root = path.resolve()
    # a folder is read once: its (device, inode) marks it, which stops loops and a folder linked twice
    seen = set()

    def walk(folder: Path, rel: Path, link: bool = False) -> None:
        st = folder.stat()
        if (st.st_dev, st.st_ino) in seen:
            skipped["loops"] += 1
            return
        seen.add((st.st_dev, st.st_ino))
        followed["folders"] += link
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            raise SampleError(f"{folder}: cannot list the folder ({exc.strerror or exc}).") from None
        for f in entries:
            if f.name.startswith("."):
                continue
            link = f.is_symlink()
            if link and not f.exists():
                skipped["broken"] += 1
                continue
            if f.is_dir():
                walk(f, rel / f.name, link)
                continue
            if not f.is_file() or f.name in RESERVED:
                continue
            if kind_of(f) is None:
                ignored[f.suffix.lower() or "(no extension)"] += 1
                continue
            followed["files"] += link
            files.append((rel / f.name, path / rel / f.name))

    walk(root, Path())
    if ignored:
        notes.append("ignored files that are not samples: " + ", ".join(f"{c} {e}" for e, c in sorted(ignored.items())))
    if any(followed.values()) or any(skipped.values()):
        parts = [f"followed {followed['files']} symlinked file(s) and {followed['folders']} symlinked folder(s)"]
        if skipped["broken"]:
            parts.append(f"skipped {skipped['broken']} broken symlink(s)")
        if skipped["loops"]:
            parts.append(f"skipped {skipped['loops']} folder(s) already read (a symlink loop or a folder linked twice)")
        notes.append("symlinks: " + "; ".join(parts))
    return [f for _, f in sorted(files, key=lambda item: item[0].as_posix())]


def open_samples(path, *, skip_bad: bool = False) -> SampleSet:
    """Find out what ``path`` holds (reading headers only) and return a :class:`SampleSet`.

    Parameters
    ----------
    path : str or Path
        A directory or a single file.
    skip_bad : bool
        Skip unreadable files instead of raising (the count is reported in the notes).

    Returns
    -------
    SampleSet

    Raises
    ------
    SampleError
        Missing path, empty directory, unknown file type, a directory mixing kinds, shards that
        disagree, an array layout that is not vectors or images, float pixels out of range.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(d / "x.npy", np.zeros((5, 3)))
    >>> s = open_samples(d / "x.npy")
    >>> (s.kind, s.layout, s.n)
    ('arrays', 'vectors', 5)
    """
    path = Path(path)
    notes: list[str] = []
    if not path.exists():
        raise SampleError(f"{path}: no such file or directory. Check the path.")
    if path.is_dir():
        files = _list_dir(path, notes)
        if not files:
            raise SampleError(
                f"{path}: the directory holds no samples (looked for images {', '.join(IMAGE_EXTS)}, "
                f"arrays {', '.join(ARRAY_EXTS)}, text {', '.join(TEXT_EXTS)})."
            )
    else:
        if kind_of(path) is None:
            raise SampleError(
                f"{path}: unsupported file type {path.suffix!r}; expected an image "
                f"({', '.join(IMAGE_EXTS)}), an array file ({', '.join(ARRAY_EXTS)}) or text "
                f"({', '.join(TEXT_EXTS)}), or a directory of them."
            )
        files = [path]
    kinds = Counter(kind_of(f) for f in files)
    if len(kinds) > 1:
        detail = ", ".join(f"{c} {k} files" for k, c in sorted(kinds.items()))
        raise SampleError(f"{path}: the directory mixes kinds of samples ({detail}); keep one kind per set.")
    kind = next(iter(kinds))
    s = SampleSet(path=path, kind=kind, files=files, notes=notes, skip_bad=skip_bad)
    if kind == "images":
        _scan_images(s)
    elif kind == "arrays":
        _scan_arrays(s)
    return s


def _scan_images(s: SampleSet) -> None:
    for f in s.files:
        try:
            s.item_shape = _image_size(f)
            return
        except SampleError:
            if not s.skip_bad:
                raise
    raise SampleError(f"{s.path}: none of the {len(s.files)} image files could be decoded.")


def _scan_arrays(s: SampleSet) -> None:
    arrays = []
    for f in s.files:
        try:
            arrays.append(_ArrayFile(f))
        except SampleError:
            if not s.skip_bad:
                raise
            s.skipped.append(str(f))
    if not arrays:
        raise SampleError(f"{s.path}: none of the {len(s.files)} array files could be read.")
    s.files = [a.path for a in arrays]
    first = arrays[0]
    for a in arrays[1:]:
        if a.shape[1:] != first.shape[1:]:
            raise SampleError(
                f"{a.path}: shard shape {a.shape} disagrees with {first.path} {first.shape}; shards in one "
                "set must agree on every axis but the first."
            )
    layout = _image_layout(first.shape)
    if layout is None:
        raise SampleError(
            f"{first.path}: cannot tell the layout of a {len(first.shape)}-D array of shape {first.shape}. "
            "Expected (n, d) vectors, (n, H, W) grayscale, or (n, H, W, C) / (n, C, H, W) images with "
            "C in {1, 3, 4}."
        )
    s.layout, s._arrays = layout, arrays
    s.n = sum(len(a) for a in arrays)
    if s.n == 0:
        raise SampleError(f"{s.path}: the arrays hold no samples (shape {first.shape}).")
    if layout == "vectors":
        s.item_shape = (int(np.prod(first.shape[1:], dtype=np.int64)) if len(first.shape) > 1 else 1,)
        return
    hw = first.shape[1:3] if layout in ("gray", "nhwc") else first.shape[2:4]
    s.item_shape = tuple(int(v) for v in hw)
    s._pixel_rule = _pixel_rule(arrays)
    s.notes.append(f"array images read as {layout.upper() if layout != 'gray' else 'grayscale (n, H, W)'}, "
                   f"{s.n} images of {hw[0]}x{hw[1]}; pixels {_RULE_TEXT[s._pixel_rule]}")


_RULE_TEXT = {
    "uint8": "uint8 as stored",
    "unit": "float in [0, 1] mapped to uint8 by round(255 x)",
    "signed": "float in [-1, 1] mapped to uint8 by round(127.5 (x + 1))",
    "uint16": "uint16 mapped to uint8 by round(v / 257)",
    "int": "integers in [0, 255] used as uint8",
}


def _pixel_rule(arrays) -> str:
    dtype = arrays[0].dtype
    if dtype == np.uint8:
        return "uint8"
    if dtype == np.uint16:
        return "uint16"
    lo, hi = np.inf, -np.inf
    for a in arrays:  # one pass first: the scaling must be the same for every batch
        for start, chunk in a.chunks():
            if np.issubdtype(chunk.dtype, np.floating):
                _check_finite_rows(chunk, a.path, start)
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    if not np.issubdtype(dtype, np.floating):
        if lo >= 0 and hi <= 255:
            return "int"
        raise SampleError(
            f"{arrays[0].path}: integer pixel values must lie in [0, 255]; got range [{lo:g}, {hi:g}]. "
            "Save images as uint8."
        )
    if lo >= 0 and hi <= 1:
        return "unit"
    if lo >= -1 and hi <= 1:
        return "signed"
    raise SampleError(
        f"{arrays[0].path}: float pixel values must lie in [0, 1] or [-1, 1]; got range [{lo:g}, {hi:g}]. "
        "Convert to uint8 or rescale."
    )
