"""``random-cnn``: a seeded, randomly initialised conv net as a feature space.

Random embeddings are a useful, documented feature space for domains without a suitable pretrained
network (Naeem et al., 2020, "Reliable Fidelity and Diversity Metrics for Generative Models", who
show that randomly initialised networks already separate real from generated data for precision /
recall / density / coverage). The weights come from a ``torch.Generator`` seeded explicitly, never
from the global RNG, so the same seed gives the same weights on every machine with the same torch;
the identifier carries a hash of the weights, so a machine where they differ gets a different cache
key instead of silently different features.
"""

from __future__ import annotations

import numpy as np

from metrics._checks import check_int

from . import Extractor, extractor
from ._torch import DeviceNet, empty_module, pil_resize_rgb, state_hash, to_numpy

#: Output channels of the four stride-2 3x3 conv layers.
CHANNELS = (64, 128, 256, 512)


def build_net(seed: int):
    """The random conv net: 4 x (3x3 conv, stride 2, ReLU), global average pool -> 512-d.

    Weights ~ N(0, 2 / fan_in) (He et al., 2015, so activations keep their scale through the
    ReLUs), biases 0, drawn in a fixed order from ``torch.Generator().manual_seed(seed)``.
    """
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(int(seed))
    layers, c_in = [], 3
    for c_out in CHANNELS:
        conv = empty_module(lambda: nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1))
        with torch.no_grad():
            fan_in = c_in * 9
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            conv.bias.zero_()
        layers += [conv, nn.ReLU()]
        c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers).eval().requires_grad_(False)


@extractor("random-cnn")
class RandomCNN(Extractor):
    """Seeded random conv net (Naeem et al. 2020): 512-d embeddings for any image domain.

    Parameters
    ----------
    seed : int
        Seed of the weights (``torch.Generator``); the same seed gives the same weights.
    size : int
        Images are resized to ``size x size`` (PIL bicubic on 8-bit RGB) and scaled to [-1, 1].

    Notes
    -----
    Network: four 3x3 stride-2 convolutions (64, 128, 256, 512 channels) with ReLU, then global
    average pooling; features are the 512 pooled activations. Batch-size independent up to float32
    rounding (relative differences ~1e-6).
    """

    inputs = ("images",)
    uses_device = True

    def __init__(self, *, seed: int = 0, size: int = 32):
        self.seed = check_int(seed, "seed", low=0)
        self.size = check_int(size, "size", low=8)
        self.net = build_net(self.seed)
        self._hash = state_hash(self.net)
        self.to()

    def _place(self):
        self._run = DeviceNet(self.net, self.device, self.numerics)

    @property
    def resize_rule(self):
        return f"PIL bicubic to {self.size}x{self.size} on 8-bit RGB"

    @property
    def identifier(self) -> str:
        return (f"random-cnn(seed={self.seed},arch=conv3s2x{'-'.join(map(str, CHANNELS))}-relu-gap,"
                f"weights={self._hash[:16]},resize=pil-bicubic-uint8-{self.size},scale=x/127.5-1)")

    def prepare(self, item):
        return pil_resize_rgb(np.asarray(item), self.size, "bicubic")

    def forward(self, batch):
        import torch

        # uint8 crosses to the device (4x less traffic than float32); the scaling is elementwise IEEE
        # float32 arithmetic, so it gives the same values on every device
        x = self._run.to_device(torch.from_numpy(np.ascontiguousarray(batch)))
        x = x.permute(0, 3, 1, 2).to(torch.float32) * (1 / 127.5) + (-1.0)
        return to_numpy(self._run(x)), None
