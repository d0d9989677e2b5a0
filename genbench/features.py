"""Sample sets on disk -> the arrays metrics consume.

``load_features`` is the one entry the runner uses. It returns a :class:`FeatureSet`: the features
(or saved Gaussian statistics), the raw samples for metrics that work in data space, class
probabilities when the extractor gives them, and the model's reported test log-probabilities.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrics import GaussianStats
from metrics._checks import check_int

from .cache import FeatureCache, file_sha256, make_key
from .errors import SampleError
from .samples import SampleSet, open_samples

#: Bump when the loader or the cache payload changes what a key maps to (2: one entry per shard).
LOADER_VERSION = 2
#: Default shard: this many items, rounded up to a multiple of the batch size. Shards are the unit
#: of caching, of resuming and of the work ranks share under ``torchrun``.
SHARD_ITEMS = 4096
#: Per-shard float64 moments (mean, centred second moments) are stored for network extractors up to
#: this dimension (a d x d float64 matrix per shard; 2048-d Inception features: 32 MB per shard).
MOMENTS_MAX_DIM = 4096
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
    device : str
        Where the features were extracted (``cpu``, ``cuda:0`` ...; for shards read from the
        cache, the device recorded in them).
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
    device: str = "cpu"

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


def _build_extractor(name: str, weights, seed: int, device: str = "cpu", numerics: str = "reference"):
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
    return get_extractor(name, **options).to(device, numerics)


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


@dataclass
class SetPlan:
    """One sample set cut into shards: what every rank needs to extract any shard of it.

    Built by :func:`plan_set`; under ``torchrun`` rank 0 builds it and broadcasts
    :meth:`manifest`, and the other ranks rebuild it with :func:`plan_set` (``manifest=``).

    Attributes
    ----------
    samples : SampleSet
        The scanned set.
    extractor : Extractor
        Built, sized for the set's images and placed on the device.
    kind : {"vectors", "images", "text"}
    input_hash : str
        Content hash of the inputs.
    n_items : int
        Items in the global index (files for image directories, rows for arrays, texts).
    shard_size : int
        Items per shard, a multiple of ``batch_size``; the last shard holds the rest (no padding).
    keys : list of str
        Cache key of each shard.
    """

    samples: SampleSet
    extractor: object
    kind: str
    input_hash: str
    n_items: int
    batch_size: int
    shard_size: int
    keys: list
    sample_shape: tuple | None
    same_as_pixels: bool
    notes: list
    texts: list | None = None
    workers: int | None = None

    @property
    def n_shards(self) -> int:
        return len(self.keys)

    def shard_range(self, i: int) -> tuple[int, int]:
        return i * self.shard_size, min((i + 1) * self.shard_size, self.n_items)

    def manifest(self) -> dict:
        """What rank 0 broadcasts: enough for another rank to check it sees the same set."""
        s = self.samples
        return {"path": str(s.path), "files": [str(f) for f in s.files], "item_shape": list(s.item_shape),
                "input_hash": self.input_hash, "identifier": self.extractor.run_identifier, "n_items": self.n_items}


def _check_shard_size(shard_size, batch_size: int) -> int:
    if shard_size is None:
        return -(-SHARD_ITEMS // batch_size) * batch_size
    shard_size = check_int(shard_size, "shard_size", low=1)
    if shard_size % batch_size:
        raise SampleError(
            f"`shard_size` must be a multiple of `batch_size` ({batch_size}) so that every batch lies in one shard "
            f"and features do not depend on how shards are shared out; got {shard_size}. "
            f"Use {-(-shard_size // batch_size) * batch_size}."
        )
    return shard_size


def plan_set(path, *, extractor: str = "identity", skip_bad: bool = False, weights=None, batch_size: int = 64,
             seed: int = 0, image_size: tuple | None = None, device: str = "cpu", numerics: str = "reference",
             shard_size: int | None = None, workers: int | None = None, manifest: dict | None = None) -> SetPlan:
    """Scan a sample set, build its extractor and cut its global index into cached shards.

    Parameters are those of :func:`load_features` (``device`` already resolved); ``manifest``, on
    ranks other than 0, is rank 0's :meth:`SetPlan.manifest`: the set is checked against it and its
    content hash is taken from it instead of being read again.

    Raises
    ------
    SampleError
        As :func:`load_features`; also when this rank sees other files than rank 0 (storage that
        is not shared, or changing under the run).
    """
    path = Path(path)
    batch_size = check_int(batch_size, "batch_size", low=1)
    shard_size = _check_shard_size(shard_size, batch_size)
    s = open_samples(path, skip_bad=skip_bad)
    ext = _build_extractor(extractor, weights, seed, device, numerics)
    kind = _check_compatible(s, ext)
    if kind == "images":
        if image_size is not None and tuple(image_size) != tuple(s.item_shape[:2]):
            s.notes.append(f"images ({s.item_shape[0]}x{s.item_shape[1]}) brought to the reference's size "
                           f"{image_size[0]}x{image_size[1]}")
            s.item_shape = tuple(int(v) for v in image_size)
        sized = ext.for_image_size(*s.item_shape)
        ext = sized if sized is ext else sized.to(device, numerics)
    if manifest is not None:
        mine = [str(f) for f in s.files]
        if mine != manifest["files"] or ext.run_identifier != manifest["identifier"]:
            what = ("files" if mine != manifest["files"] else
                    f"extractor {ext.run_identifier!r} (rank 0: {manifest['identifier']!r})")
            raise SampleError(
                f"{path}: this rank sees different {what} than rank 0 ({len(mine)} vs {len(manifest['files'])} files). "
                "Every rank must read the same inputs and weights: use shared storage that does not change during the run."
            )
        input_hash = manifest["input_hash"]
    else:
        input_hash = s.content_hash()
    notes = []
    texts = None
    if kind == "text":
        texts = list(s.texts())  # bad lines are skipped (and counted) here, once, by every rank alike
        n_items = len(texts)
    elif s.kind == "images":
        n_items = len(s.files)
    else:
        n_items = s.n
    same_as_pixels = ext.name == "pixels" and getattr(ext, "size", None) == tuple(s.item_shape[:2])
    sample_shape = None
    if kind == "images" and not same_as_pixels:
        if n_items * s.item_shape[0] * s.item_shape[1] * 3 <= SAMPLES_LIMIT:
            sample_shape = tuple(s.item_shape[:2])
        else:
            notes.append(f"data-space samples not kept: {n_items} images x {s.item_shape[0]}x{s.item_shape[1]}x3 "
                         f"exceed {SAMPLES_LIMIT} values; metrics that need samples are not available")
    n_shards = max(1, -(-n_items // shard_size))
    base = dict(loader=LOADER_VERSION, input=input_hash, extractor=ext.run_identifier, skip_bad=bool(skip_bad),
                samples_limit=SAMPLES_LIMIT, image_size=list(s.item_shape[:2]) if kind == "images" else None,
                device=_device_kind(ext.device), batch_size=batch_size, shard_size=shard_size, n_items=n_items)
    keys = [make_key(**base, shard=i) for i in range(n_shards)]
    return SetPlan(s, ext, kind, input_hash, n_items, batch_size, shard_size, keys, sample_shape, same_as_pixels,
                   notes, texts, workers)


def _device_kind(device: str) -> str:
    """``cuda:3`` -> ``cuda``: features from any GPU of a kind share entries; CPU and GPU ones do not."""
    return device.split(":")[0]


class _RowRange:
    """Rows ``[lo, hi)`` of one array file, streamed like the file itself (row numbers stay global)."""

    def __init__(self, af, lo: int, hi: int):
        self.af, self.path, self.lo, self.hi = af, af.path, lo, hi

    def __len__(self):
        return self.hi - self.lo

    def chunks(self, rows: int = 1024):
        if self.af._data is not None:  # memory-mapped or in memory: slice directly
            for a in range(self.lo, self.hi, rows):
                yield a, np.asarray(self.af._data[a:min(a + rows, self.hi)])
            return
        for start, chunk in self.af.chunks(rows):  # a zip member streams from its start
            end = start + len(chunk)
            if end <= self.lo:
                continue
            if start >= self.hi:
                break
            yield max(start, self.lo), chunk[max(0, self.lo - start):self.hi - start]


def _shard_samples(plan: SetPlan, start: int, stop: int) -> SampleSet:
    """The plan's sample set restricted to items ``[start, stop)`` of the global index."""
    s = plan.samples
    fresh = dict(notes=[], skipped=[], _sizes=Counter())
    if s.kind == "images":
        return dataclasses.replace(s, files=s.files[start:stop], **fresh)
    pieces, offset = [], 0
    for af in s._arrays:
        lo, hi = max(start - offset, 0), min(stop - offset, len(af))
        if lo < hi:
            pieces.append(_RowRange(af, lo, hi))
        offset += len(af)
    return dataclasses.replace(s, _arrays=pieces, n=stop - start, **fresh)


def _batches(plan: SetPlan, start: int, stop: int, sub: SampleSet | None):
    ext = plan.extractor
    if plan.kind == "text":
        texts = plan.texts[start:stop]
        for a in range(0, len(texts), plan.batch_size):
            chunk = texts[a:a + plan.batch_size]
            yield chunk, None
        return
    prepare = ext.prepare if plan.kind == "images" else None  # vectors go to forward whole
    yield from sub.batches(plan.batch_size, prepare, sample_shape=plan.sample_shape, workers=plan.workers)


def extract_shard(plan: SetPlan, i: int, advance=lambda k: None) -> tuple[dict, dict]:
    """Extract shard ``i`` of ``plan``: the arrays and the meta of its cache entry.

    The entry holds the features, class probabilities, data-space samples, float64 moments (mean
    and covariance of the shard's features, for statistics folded in shard order without loading
    features) and the shard's own notes (skipped files, image sizes met).
    """
    start, stop = plan.shard_range(i)
    ext = plan.extractor
    sub = None if plan.kind == "text" else _shard_samples(plan, start, stop)
    feats, probs, pixels, vectors = [], [], [], []
    for batch, pix in _batches(plan, start, stop, sub):
        f, p = ext(batch)
        feats.append(np.asarray(f))
        if p is not None:
            probs.append(np.asarray(p))
        if pix is not None:
            pixels.append(pix)
        if plan.kind == "vectors" and ext.name != "identity":
            vectors.append(np.asarray(batch))
        advance(len(f))
    arrays = {}
    if feats:
        arrays["features"] = np.concatenate(feats)
        x = arrays["features"]
        # moments cost 2 n d^2 flops: small next to a network's forward pass, large next to the
        # identity or pixels extractors, whose statistics feature_stats computes from the features
        if ext.uses_device and x.ndim == 2 and 0 < x.shape[1] <= MOMENTS_MAX_DIM:
            stats = GaussianStats.empty(x.shape[1]).update(x)
            arrays["moments_mean"] = stats.mean
            arrays["moments_m2"] = stats.cov * (len(x) - 1) if len(x) > 1 else np.zeros((x.shape[1],) * 2)
    if probs:
        arrays["probs"] = np.concatenate(probs)
    if pixels:
        arrays["pixels"] = np.concatenate(pixels)
    if vectors:
        arrays["vectors"] = np.concatenate(vectors)
    sizes = sorted(sub._sizes.items()) if sub is not None else []
    meta = {"shard": i, "start": start, "stop": stop, "rows": int(len(arrays["features"])) if feats else 0,
            "skipped": list(sub.skipped) if sub is not None else [],
            "sizes": [[int(h), int(w), int(c)] for (h, w), c in sizes],
            "extractor": ext.run_identifier, "input": plan.input_hash, "device": ext.device}
    return arrays, meta


def _store_for(cache) -> FeatureCache | None:
    if isinstance(cache, FeatureCache):
        return cache
    return FeatureCache() if cache else None


def load_features(path, *, name: str | None = None, extractor: str = "identity", cache: bool = True,
                  skip_bad: bool = False, weights=None, batch_size: int = 64, seed: int = 0,
                  progress: bool = True, image_size: tuple | None = None, device: str = "cpu",
                  numerics: str = "reference", workers: int | None = None,
                  shard_size: int | None = None) -> FeatureSet:
    """Read a sample set and turn it into features, through the on-disk cache, shard by shard.

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
        Read and write the feature cache (``$GENBENCH_CACHE`` or ``~/.cache/genbench``). The key of
        each shard is the content of the inputs, the extractor's identifier (with its numerics
        policy), the device kind, the loader options, the batch and shard sizes and the shard's
        index, so a second call on unchanged inputs extracts nothing and an interrupted one
        resumes at the first missing shard.
    skip_bad : bool
        Skip unreadable files (and bad ``.jsonl`` lines) instead of raising; the count is in ``notes``.
    weights : str or Path, optional
        Weights file for extractors that load one (``inception-fid``).
    batch_size : int
        Items per forward pass. Batches never straddle shards, so the batches, and hence the
        features, are the same whatever the sharing of shards between processes.
    seed : int
        Seed of randomised extractors (``random-cnn``).
    progress : bool
        Show a progress bar on stderr (only when it is a terminal).
    image_size : (int, int), optional
        For image sets: the (height, width) every image is brought to, instead of the first
        image's size. The runner passes the reference set's size, so a model whose images differ
        in size is resized by the extractor's rule and its features line up with the reference's.
    device : str
        ``"cpu"`` (default), ``"auto"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``
        (:func:`genbench.extractors._torch.resolve_device`).
    numerics : {"reference", "fast", "fast+compile"}
        Precision policy of network extractors (:data:`genbench.extractors._torch.NUMERICS`);
        recorded in the extractor identifier.
    workers : int, optional
        Processes decoding image files (default :data:`genbench.samples.DEFAULT_WORKERS`).
    shard_size : int, optional
        Items per shard, a multiple of ``batch_size`` (default :data:`SHARD_ITEMS` rounded up).

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
    from .extractors._torch import resolve_device

    plan = plan_set(path, extractor=extractor, skip_bad=skip_bad, weights=weights, batch_size=batch_size, seed=seed,
                    image_size=image_size, device=resolve_device(device), numerics=numerics,
                    shard_size=shard_size, workers=workers)
    return assemble(plan, name=label, store=_store_for(cache), progress=progress)


def _shard_progress(progress: bool, plan: SetPlan):
    bar = _progress(progress)
    task = bar.add_task(f"{plan.extractor.name} features of {plan.samples.path.name}", total=plan.n_items)
    return bar, (lambda k: bar.advance(task, k))


def assemble(plan: SetPlan, *, name: str, store: FeatureCache | None, progress: bool = False) -> FeatureSet:
    """The :class:`FeatureSet` of a planned set: every shard read from ``store`` or extracted (and
    stored), then folded in shard order into arrays allocated once.

    Shard order, not arrival order, fixes every result: features are the rows of the shards laid
    end to end, notes are merged in shard order, so the outcome is the same bits for any world size,
    shard assignment or resume history.
    """
    s, ext = plan.samples, plan.extractor
    out = FeatureSet(name=name, path=str(s.path), extractor=ext.run_identifier, input_hash=plan.input_hash,
                     image_size=tuple(s.item_shape[:2]) if plan.kind == "images" else None, device=ext.device)
    dropped0 = (len(store.dropped), len(store.misplaced)) if store is not None else (0, 0)
    hits, written_ok, devices = 0, True, set()
    buffers: dict = {}
    rows = 0
    skipped, sizes = [], Counter()
    bar, advance = _shard_progress(progress, plan)
    with bar:
        for i, key in enumerate(plan.keys):
            got = store.get(key) if store is not None else None
            if got is not None:
                arrays, meta = got
                hits += 1
                advance(meta["stop"] - meta["start"])
            else:
                arrays, meta = extract_shard(plan, i, advance)
                if store is not None and not store.put(key, arrays, meta):
                    written_ok = False
            devices.add(meta.get("device", "cpu"))
            skipped += meta["skipped"]
            for h, w, c in meta["sizes"]:
                sizes[(h, w)] += c
            rows = _place_rows(buffers, arrays, rows, plan.n_items)
            del arrays
    if rows == 0:
        raise SampleError(f"{s.path}: no sample could be read ({len(skipped) + len(s.skipped)} bad files skipped).")
    full = {k: v[:rows] for k, v in buffers.items()}  # a view: shorter only when files were skipped
    notes = list(s.notes) + list(plan.notes)
    skipped = list(s.skipped) + skipped  # text lines and array files skipped at the scan, then per shard
    if skipped:
        shown = ", ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        what = "bad files or lines" if s.kind == "text" else "bad files"
        notes.append(f"{len(skipped)} {what} skipped (--skip-bad): {shown}")
    if plan.kind == "images":
        s._sizes = sizes
        note = s.size_note(ext.resize_rule)
        if note:
            notes.append(note)
    if store is not None:
        new_dropped, new_misplaced = len(store.dropped) - dropped0[0], len(store.misplaced) - dropped0[1]
        if new_dropped:
            notes.append("a corrupt cache entry was found, discarded and recomputed")
        if new_misplaced:
            notes.append(f"{new_misplaced} cache entr{'y' if new_misplaced == 1 else 'ies'} written under another key "
                         "(a copied or renamed file) rejected and recomputed")
        if not written_ok:
            notes.append(f"could not write the feature cache at {store.root}")
        n = plan.n_shards
        if hits == n:
            where = store.path(plan.keys[0]) if n == 1 else f"{n} shards under {store.root}"
            notes.append(f"features read from the cache ({where})")
        elif hits:
            notes.append(f"{hits} of {n} feature shards read from the cache, {n - hits} extracted")
    if ext.device != "cpu" or plan.extractor.uses_device and ext.numerics != "reference":
        notes.append(f"features extracted on {', '.join(sorted(devices))} (numerics={ext.numerics})")
    out.device = ",".join(sorted(devices))
    if plan.same_as_pixels:
        full["samples_are_features"] = np.array(True)
    if plan.kind == "vectors" and ext.name == "identity":
        full["samples_are_features"] = np.array(True)
    _fill(out, full)
    out.notes = notes
    return out


def _place_rows(buffers: dict, arrays: dict, rows: int, capacity: int) -> int:
    """Copy a shard's row arrays into ``buffers`` (allocated once, ``capacity`` rows): no second copy
    of a whole set ever exists. Returns the new row count."""
    m = len(arrays["features"]) if "features" in arrays else 0
    for k in ("features", "probs", "pixels", "vectors"):
        if k not in arrays:
            continue
        a = arrays[k]
        if k not in buffers:
            buffers[k] = np.empty((capacity,) + a.shape[1:], dtype=a.dtype)
        buffers[k][rows:rows + m] = a
    return rows + m


def shard_stats(plan: SetPlan, store: FeatureCache) -> GaussianStats:
    """Gaussian statistics of a planned set folded from its shards' float64 moments, in shard order,
    without holding its features: memory is one shard's plus the d x d accumulators.

    Shards missing from ``store`` are extracted and stored first.
    """
    acc = None
    for i, key in enumerate(plan.keys):
        got = store.get(key)
        if got is None:
            arrays, meta = extract_shard(plan, i)
            store.put(key, arrays, meta)
        else:
            arrays, meta = got
        x = arrays.get("features")
        if x is None or len(x) == 0:  # every file of the shard skipped (--skip-bad)
            continue
        n = len(x)
        if "moments_m2" in arrays:
            part = GaussianStats(arrays["moments_mean"], arrays["moments_m2"] / max(n - 1, 1), n=n)
            if n == 1:
                part = GaussianStats.empty(x.shape[1]).update(x)
        else:
            part = GaussianStats.empty(x.shape[1]).update(x)
        acc = part if acc is None else acc.merge(part)
        del arrays, x
    return acc


def feature_stats(path, *, store: FeatureCache | None = None, **options) -> GaussianStats:
    """FID statistics of a sample set streamed shard by shard (for sets too large to hold).

    Parameters
    ----------
    path : str or Path
        A sample set, as for :func:`load_features`.
    store : FeatureCache, optional
        Where the shards live (default: the feature cache, ``$GENBENCH_CACHE``).
    **options
        The options of :func:`load_features` that shape features (``extractor``, ``batch_size``,
        ``shard_size``, ``device``, ``numerics`` ...).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> x = np.random.default_rng(0).normal(size=(300, 3)); np.save(f, x)
    >>> stats = feature_stats(f, batch_size=50, shard_size=100, store=FeatureCache(tempfile.mkdtemp()))
    >>> bool(np.allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-12))
    True
    """
    from .extractors._torch import resolve_device

    options = {k: v for k, v in options.items() if k not in ("progress", "name", "cache")}
    options["device"] = resolve_device(options.get("device", "cpu"))
    return shard_stats(plan_set(path, **options), store if store is not None else FeatureCache())


def _fill(out: FeatureSet, arrays: dict) -> None:
    out.features = arrays["features"]
    out.probs = arrays.get("probs")
    if "pixels" in arrays:
        out.samples = arrays["pixels"].astype(np.float32) / np.float32(255.0)
    elif "vectors" in arrays:
        out.samples = arrays["vectors"]
    elif arrays.get("samples_are_features") is not None:
        out.samples = out.features


