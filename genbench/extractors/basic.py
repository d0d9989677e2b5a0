"""The two extractors without a network: ``identity`` (vectors as they are) and ``pixels``."""

from __future__ import annotations

import numpy as np

from metrics._checks import check_int

from . import Extractor, extractor


@extractor("identity")
class Identity(Extractor):
    """Vectors used as they are: toy data, tabular data, precomputed features."""

    inputs = ("vectors",)

    def forward(self, batch):
        return np.asarray(batch), None


@extractor("pixels")
class Pixels(Extractor):
    """Raw pixels: resize to a fixed size (PIL bicubic), flatten RGB, scale to [0, 1].

    Parameters
    ----------
    size : int, optional
        Images are resized to ``size x size``. Default: the first image's own size (no resizing
        unless the set mixes sizes).

    Notes
    -----
    Features are ``H * W * 3`` floats in [0, 1], channel-last (``img.reshape(-1) / 255``). Resizing
    uses ``PIL.Image.resize(..., BICUBIC)`` on the 8-bit RGB image (PIL antialiases when
    shrinking), then rounds back to uint8, exactly as a saved resized PNG would be. Grayscale
    sources are replicated to RGB by the loader's rule, so their features have 3 equal copies.
    """

    inputs = ("images",)

    def __init__(self, *, size: int | None = None):
        self.size = None if size is None else (check_int(size, "size", low=1),) * 2

    @property
    def resize_rule(self):
        hw = "the first image's size" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        return f"PIL bicubic to {hw} on 8-bit RGB"

    @property
    def identifier(self) -> str:
        hw = "native" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        return f"pixels(size={hw},resize=pil-bicubic-uint8,scale=x/255,layout=hwc)"

    def for_image_size(self, height, width):
        if self.size is not None:
            return self
        bound = Pixels()
        bound.size = (int(height), int(width))
        return bound

    def prepare(self, item):
        img = np.asarray(item)
        if self.size is not None and img.shape[:2] != self.size:
            from PIL import Image

            img = np.asarray(Image.fromarray(img).resize((self.size[1], self.size[0]), Image.BICUBIC))
        return img.reshape(-1)

    def forward(self, batch):
        return np.asarray(batch, dtype=np.float32) / np.float32(255.0), None
