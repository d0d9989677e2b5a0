"""Small torch helpers shared by the network extractors."""

from __future__ import annotations

import hashlib

import numpy as np


def state_hash(module) -> str:
    """SHA-256 of a module's state dict (names, shapes, float32 bytes): the weights' identity."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        arr = t.detach().cpu().contiguous().numpy()
        h.update(name.encode() + str(arr.shape).encode() + str(arr.dtype).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def images_to_tensor(batch, *, scale: float, shift: float):
    """(n, H, W, C) uint8 array -> (n, C, H, W) float32 tensor ``x * scale + shift``."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).to(torch.float32)
    return x * scale + shift


def pil_resize_rgb(img: np.ndarray, size: int, resample: str = "bicubic") -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to ``size x size`` with PIL on 8-bit RGB (no-op if already)."""
    if img.shape[0] == size and img.shape[1] == size:
        return img
    from PIL import Image

    mode = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX}[resample]
    return np.asarray(Image.fromarray(img).resize((size, size), mode))


def empty_module(factory):
    """Build ``factory()`` without running its random initialisation (it would draw from, and
    advance, torch's global RNG); every parameter and buffer must then be filled by the caller."""
    import torch

    with torch.device("meta"):
        module = factory()
    return module.to_empty(device="cpu")
