"""Sample sets on disk -> the arrays metrics consume.

``load_features`` is the one entry the runner uses. It returns a :class:`FeatureSet`: the features
(or saved Gaussian statistics), the raw samples for metrics that work in data space, class
probabilities when the extractor gives them, and the model's reported test log-probabilities.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrics import GaussianStats
from metrics._checks import check_int

from .cache import FeatureCache, file_sha256, make_key
from .errors import SampleError
from .samples import SampleSet, open_samples

#: Bump when the loader or the cache payload changes what a key maps to.
LOADER_VERSION = 1
#: Image sets keep their data-space ``samples`` (flattened uint8 pixels) only up to this many values
#: (n * H * W * 3); above it ``samples`` is None and a note says so (features are always kept).
SAMPLES_LIMIT = 2**26


@dataclass
class FeatureSet:
    """Everything the runner knows about one sample set.

    Attributes
    ----------
    name : str
        Model name (or ``"reference"``).
    path : str
        Where it was read from.
    features : ndarray of shape (n, d) or None
        Features in the extractor's space; ``None`` when only statistics were saved.
    stats : GaussianStats or None
        Saved mean/covariance (pytorch-fid / clean-fid ``.npz``), when that is all there is.
    samples : ndarray of shape (n, p) or None
        Samples in data space, flattened, for metrics that declare ``needs="samples"``.
    probs : ndarray of shape (n, classes) or None
        Class probabilities from the extractor, for ``needs="probs"``.
    log_probs : ndarray of shape (m,) or None
        The model's per-example test log-probabilities (``log_probs.npy`` beside the samples).
    extractor : str
        Stable identifier of the feature extractor (name + weights + preprocessing).
    input_hash : str
        Content hash of the input files.
    notes : list of str
        Things the user should know (images resized, files skipped ...).
    image_size : (int, int) or None
        For image sets, the (height, width) all images were brought to.
    """

    name: str
    path: str
    features: np.ndarray | None = None
    stats: GaussianStats | None = None
    samples: np.ndarray | None = None
    probs: np.ndarray | None = None
    log_probs: np.ndarray | None = None
    extractor: str = "identity"
    input_hash: str = ""
    notes: list = field(default_factory=list)
    image_size: tuple | None = None

    @property
    def dim(self) -> int:
        return self.stats.dim if self.features is None else self.features.shape[1]

    @property
    def n(self) -> int:
        return (self.stats.n or 0) if self.features is None else len(self.features)


def _stats_file(path: Path) -> bool:
    """Whether ``path`` is an ``.npz`` of saved statistics (``mu`` and ``sigma``)."""
    if not (path.is_file() and path.suffix.lower() == ".npz"):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}
    except Exception:
        return False  # the sample loader reports the corrupt file
    return {"mu", "sigma"} <= names


def _build_extractor(name: str, weights, seed: int):
    from .extractors import available_extractors, get_extractor

    spec = available_extractors().get(name)
    options = {}
    if spec is not None:
        if "seed" in spec.options:
            options["seed"] = seed
        if weights is not None:
            if "weights" not in spec.options:
                raise SampleError(
                    f"`weights` is only used by extractors that load a weights file (inception-fid); "
                    f"extractor {name!r} takes none; got {str(weights)!r}. Drop --weights."
                )
            options["weights"] = weights
    return get_extractor(name, **options)


_KIND_HINT = {
    "vectors": "Use the `identity` extractor (--features identity) for (n, d) vectors.",
    "images": ("Pick an image extractor with --features (features= in Python): pixels (raw pixels), random-cnn "
               "(seeded random conv net, offline), inception-fid (the FID Inception-v3; needs its weights file) or "
               "digits (8x8 digits); `genbench extractors` lists them all."),
    "text": "Use a text extractor: minilm.",
}


def _check_compatible(s: SampleSet, ext) -> str:
    """The input kind of ``s`` (vectors / images / text), checked against what ``ext`` consumes."""
    kind = "text" if s.kind == "text" else ("vectors" if s.layout == "vectors" else "images")
    if kind not in ext.inputs:
        what = f"(n, d) = ({s.n}, {s.item_shape[0]}) vectors" if kind == "vectors" else kind
        if s.kind == "arrays" and kind == "images":
            what = f"a {len(s._arrays[0].shape)}-D array of shape {s._arrays[0].shape}, read as images"
        takes = " or ".join(ext.inputs)
        if "vectors" in ext.inputs:
            takes += " (expected a 2-D numeric array of shape (n, d))"
        raise SampleError(f"{s.path}: holds {what}, but extractor {ext.name!r} takes {takes}. {_KIND_HINT[kind]}")
    return kind


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=not enabled or not console.is_terminal)


def load_features(path, *, name: str | None = None, extractor: str = "identity", cache: bool = True,
                  skip_bad: bool = False, weights=None, batch_size: int = 64, seed: int = 0,
                  progress: bool = True, image_size: tuple | None = None) -> FeatureSet:
    """Read a sample set and turn it into features, through the on-disk cache.

    Parameters
    ----------
    path : str or Path
        A sample set as :mod:`genbench.samples` reads it (image directory, ``.npy`` / ``.npz`` /
        ``.pt`` arrays or shards, ``.txt`` / ``.jsonl`` text), or an ``.npz`` of saved statistics
        (``mu``, ``sigma``), which is returned as it is.
    name : str, optional
        Set name; defaults to the file stem or directory name.
    extractor : str
        Registered feature extractor (:func:`genbench.extractors.available_extractors`);
        ``"identity"`` uses vectors as they are.
    cache : bool
        Read and write the feature cache (``$GENBENCH_CACHE`` or ``~/.cache/genbench``). The key is
        the content of the inputs, the extractor's identifier and the loader options, so a second
        call on unchanged inputs extracts nothing.
    skip_bad : bool
        Skip unreadable files (and bad ``.jsonl`` lines) instead of raising; the count is in ``notes``.
    weights : str or Path, optional
        Weights file for extractors that load one (``inception-fid``).
    batch_size : int
        Items per forward pass. Outputs do not depend on it.
    seed : int
        Seed of randomised extractors (``random-cnn``).
    progress : bool
        Show a progress bar on stderr (only when it is a terminal).
    image_size : (int, int), optional
        For image sets: the (height, width) every image is brought to, instead of the first
        image's size. The runner passes the reference set's size, so a model whose images differ
        in size is resized by the extractor's rule and its features line up with the reference's.

    Returns
    -------
    FeatureSet
        ``features`` (n, d); ``samples``: vectors as they are, or images as flattened RGB pixels
        in [0, 1] at the first image's size (None above :data:`SAMPLES_LIMIT` values, or for text);
        ``probs`` when the extractor gives class probabilities; ``extractor`` its identifier;
        ``input_hash`` the content hash of the inputs; ``notes``.

    Raises
    ------
    SampleError
        Missing, empty, corrupt or unrecognised input; an extractor that does not take this kind
        of input; ``weights`` given to an extractor without weights.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(f, np.arange(6.0).reshape(3, 2))
    >>> fs = load_features(f, cache=False)
    >>> fs.features.shape, fs.extractor
    ((3, 2), 'identity')
    """
    path = Path(path)
    batch_size = check_int(batch_size, "batch_size", low=1)
    if not path.exists():
        raise SampleError(f"{path}: no such file or directory. Check the path.")
    label = name or (path.stem if path.is_file() else path.name)
    if _stats_file(path):
        try:
            stats = GaussianStats.load(path)
        except Exception as exc:
            raise SampleError(f"{path}: cannot read saved statistics ({type(exc).__name__}: {exc}).") from None
        return FeatureSet(name=label, path=str(path), stats=stats, extractor=extractor, input_hash=file_sha256(path),
                          notes=[f"saved statistics (mu, sigma) of dimension {stats.dim}; no features or samples"])

    s = open_samples(path, skip_bad=skip_bad)
    ext = _build_extractor(extractor, weights, seed)
    kind = _check_compatible(s, ext)
    if kind == "images":
        if image_size is not None and tuple(image_size) != tuple(s.item_shape[:2]):
            s.notes.append(f"images ({s.item_shape[0]}x{s.item_shape[1]}) brought to the reference's size "
                           f"{image_size[0]}x{image_size[1]}")
            s.item_shape = tuple(int(v) for v in image_size)
        ext = ext.for_image_size(*s.item_shape)
    input_hash = s.content_hash()
    key = make_key(loader=LOADER_VERSION, input=input_hash, extractor=ext.identifier, skip_bad=bool(skip_bad),
                   samples_limit=SAMPLES_LIMIT, image_size=list(s.item_shape[:2]) if kind == "images" else None)
    store = FeatureCache() if cache else None
    out = FeatureSet(name=label, path=str(path), extractor=ext.identifier, input_hash=input_hash,
                     image_size=tuple(s.item_shape[:2]) if kind == "images" else None)
    if store is not None:
        hit = store.get(key)
        if hit is not None:
            arrays, meta = hit
            _fill(out, arrays)
            out.notes = list(meta["notes"]) + [f"features read from the cache ({store.path(key)})"]
            return out

    arrays, notes = _extract(s, ext, kind, batch_size, progress)
    if store is not None:
        if store.dropped:
            notes.append("a corrupt cache entry was found, discarded and recomputed")
        if not store.put(key, arrays, {"notes": notes, "extractor": ext.identifier, "input": input_hash}):
            notes.append(f"could not write the feature cache at {store.root}")
    _fill(out, arrays)
    out.notes = notes
    return out


def _fill(out: FeatureSet, arrays: dict) -> None:
    out.features = arrays["features"]
    out.probs = arrays.get("probs")
    if "pixels" in arrays:
        out.samples = arrays["pixels"].astype(np.float32) / np.float32(255.0)
    elif "vectors" in arrays:
        out.samples = arrays["vectors"]
    elif arrays.get("samples_are_features") is not None:
        out.samples = out.features


def _extract(s: SampleSet, ext, kind: str, batch_size: int, progress: bool):
    """Stream ``s`` through ``ext``: returns the arrays to cache and the notes."""
    notes = list(s.notes)
    sample_shape = None
    # pixels at the set's own size *are* the data-space samples: keep one copy
    same_as_pixels = ext.name == "pixels" and getattr(ext, "size", None) == tuple(s.item_shape[:2])
    if kind == "images" and not same_as_pixels:
        n_files = s.n if s.n is not None else len(s.files)
        values = n_files * s.item_shape[0] * s.item_shape[1] * 3
        if values <= SAMPLES_LIMIT:
            sample_shape = s.item_shape
        else:
            notes.append(f"data-space samples not kept: {n_files} images x {s.item_shape[0]}x{s.item_shape[1]}x3 "
                         f"exceed {SAMPLES_LIMIT} values; metrics that need samples are not available")
    feats, probs, pixels, vectors = [], [], [], []
    total = s.n if s.n is not None else (len(s.files) if kind == "images" else None)
    with _progress(progress) as bar:
        task = bar.add_task(f"{ext.name} features of {s.path.name}", total=total)
        prepare = ext.prepare if kind == "images" else None  # vectors and text go to forward whole
        for batch, pix in s.batches(batch_size, prepare, sample_shape=sample_shape):
            f, p = ext(batch)
            feats.append(np.asarray(f))
            if p is not None:
                probs.append(np.asarray(p))
            if pix is not None:
                pixels.append(pix)
            if kind == "vectors" and ext.name != "identity":
                vectors.append(np.asarray(batch))
            bar.advance(task, len(f))
    if not feats:
        raise SampleError(f"{s.path}: no sample could be read ({len(s.skipped)} bad files skipped).")
    if s.skipped:
        shown = ", ".join(s.skipped[:3]) + (" ..." if len(s.skipped) > 3 else "")
        what = "bad files or lines" if s.kind == "text" else "bad files"
        notes.append(f"{len(s.skipped)} {what} skipped (--skip-bad): {shown}")
    if kind == "images":
        note = s.size_note(ext.resize_rule)
        if note:
            notes.append(note)
    arrays = {"features": np.concatenate(feats)}
    if probs:
        arrays["probs"] = np.concatenate(probs)
    if pixels:
        arrays["pixels"] = np.concatenate(pixels)
    if same_as_pixels:
        arrays["samples_are_features"] = np.array(True)
    if kind == "vectors":
        if ext.name == "identity":
            arrays["samples_are_features"] = np.array(True)
        else:
            arrays["vectors"] = np.concatenate(vectors)
    return arrays, notes
