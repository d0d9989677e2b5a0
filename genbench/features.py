"""Sample sets on disk -> the arrays metrics consume.

``load_features`` is the one entry the runner uses. It returns a :class:`FeatureSet`: the features
(or saved Gaussian statistics), the raw samples for metrics that work in data space, class
probabilities when the extractor gives them, and the model's reported test log-probabilities.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrics import GaussianStats
from metrics._checks import check_finite

from .errors import SampleError


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

    @property
    def dim(self) -> int:
        return self.stats.dim if self.features is None else self.features.shape[1]

    @property
    def n(self) -> int:
        return (self.stats.n or 0) if self.features is None else len(self.features)


def _read_array_file(path: Path):
    """An (n, d) array, or GaussianStats for an ``.npz`` holding ``mu`` and ``sigma``."""
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as data:
            if "mu" in data and "sigma" in data:
                return GaussianStats.load(path)
            if not data.files:
                raise SampleError(f"{path}: the .npz archive holds no arrays.")
            key = "arr_0" if "arr_0" in data.files else data.files[0]
            return data[key]
    except SampleError:
        raise
    except Exception as exc:
        raise SampleError(f"{path}: cannot read as a numpy array file ({type(exc).__name__}: {exc}).") from None


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_features(path, *, name: str | None = None, extractor: str = "identity") -> FeatureSet:
    """Read a sample set and turn it into features.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` / ``.npz`` file of (n, d) vectors, or a ``.npz`` of saved statistics (``mu``, ``sigma``).
    name : str, optional
        Set name; defaults to the file stem.
    extractor : str
        Feature extractor; ``"identity"`` uses the vectors as they are.

    Returns
    -------
    FeatureSet
    """
    path = Path(path)
    if not path.exists():
        raise SampleError(f"{path}: no such file or directory. Check the path.")
    if path.suffix not in (".npy", ".npz"):
        raise SampleError(f"{path}: unsupported input {path.suffix!r}; expected a .npy or .npz file.")
    if extractor != "identity":
        raise SampleError(f"feature extractor {extractor!r} is not available; use 'identity'.")
    data = _read_array_file(path)
    out = FeatureSet(name=name or path.stem, path=str(path), input_hash=_hash_file(path), extractor=extractor)
    if isinstance(data, GaussianStats):
        out.stats = data
        return out
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.number):
        raise SampleError(
            f"{path}: expected a 2-D numeric array of shape (n, d); got {data.dtype} array of shape {data.shape}."
        )
    check_finite(data, str(path))
    out.features = out.samples = data
    return out
