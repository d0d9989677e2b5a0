"""``digits``: a small CNN trained at first use on scikit-learn's bundled 8x8 handwritten digits.

Gives FID-style features (the 64-d penultimate layer) and Inception-Score-style class probabilities
(10 digits) for digit-like images, fully offline: the data ship with scikit-learn
(:func:`sklearn.datasets.load_digits`, 1797 images of 8x8 pixels in [0, 16]) and training takes a
few seconds on one CPU core. The trained weights are cached (``<cache>/models/``, checksummed like
feature entries) and their hash is part of the extractor's identifier.

Determinism: weights are initialised and mini-batches shuffled from explicit ``torch.Generator``
objects (never the global RNG), and training runs single-threaded (``torch.set_num_threads(1)``,
restored afterwards) so the floating-point summation order, and hence the weights, do not depend on
the machine's core count.
"""

from __future__ import annotations

import io

import numpy as np

from metrics.errors import InputError

from . import Extractor, extractor
from ._torch import empty_module, state_hash, to_numpy

#: Training recipe; change it and the cached model (and every identifier) changes with it.
RECIPE = {"version": 1, "n_train": 1437, "epochs": 12, "batch": 128, "lr": 5e-3, "seed": 0}


def build_net():
    """conv(1->16, 3x3) ReLU conv(16->32, 3x3) ReLU maxpool2 | fc(512->64) ReLU | fc(64->10)."""
    from torch import nn

    features = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 64), nn.ReLU(),
    )
    return nn.ModuleDict({"features": features, "head": nn.Linear(64, 10)})


def _init(net, g) -> None:
    import torch

    with torch.no_grad():
        for name, p in sorted(net.named_parameters()):
            if name.endswith("bias"):
                p.zero_()
            else:  # He-uniform from an explicit generator
                fan_in = int(np.prod(p.shape[1:]))
                bound = (6.0 / fan_in) ** 0.5
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)


def train(recipe: dict = RECIPE):
    """Train the digits CNN by ``recipe``; returns ``(state_dict, held_out_accuracy)``."""
    import torch
    from sklearn.datasets import load_digits
    from torch.nn import functional as F

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(data.target, dtype=torch.int64)
    n = recipe["n_train"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(recipe["seed"])
        net = empty_module(build_net)
        _init(net, g)
        model = torch.nn.Sequential(net["features"], net["head"])
        opt = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
        model.train()
        for _ in range(recipe["epochs"]):
            perm = torch.randperm(n, generator=g)
            for start in range(0, n, recipe["batch"]):
                idx = perm[start:start + recipe["batch"]]
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(x[n:]).argmax(1) == y[n:]).float().mean())
    finally:
        torch.set_num_threads(threads)
    return net.state_dict(), acc


def load_or_train():
    """The trained net and its held-out accuracy, from the cache or trained now (then cached)."""
    import torch

    from ..cache import cache_root, make_key, read_verified, write_atomic

    path = cache_root() / "models" / f"digits-{make_key(**RECIPE)[:16]}.pt"
    payload = read_verified(path)
    state = None
    if payload is not None:
        try:
            blob = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
            state, acc = blob["state"], float(blob["accuracy"])
        except Exception:
            state = None
    if state is None:
        state, acc = train()
        buf = io.BytesIO()
        torch.save({"state": state, "accuracy": torch.tensor(acc)}, buf)
        try:
            write_atomic(path, buf.getvalue())
        except OSError:
            pass  # an unwritable cache only costs retraining next time
    net = empty_module(build_net)
    net.load_state_dict(state)
    return net.eval().requires_grad_(False), acc


@extractor("digits")
class Digits(Extractor):
    """Small CNN trained offline on sklearn's 8x8 digits: 64-d features + 10 class probabilities.

    Notes
    -----
    Input rule: an image is converted to grayscale (``PIL.Image.convert("L")``, ITU-R 601-2 luma),
    resized to 8x8 with ``PIL.Image.BOX`` (area averaging, how the dataset itself was made from
    32x32 bitmaps by counting pixels in 4x4 blocks) and scaled to the dataset's [0, 16] range by
    ``16 * v / 255``. Strokes must be bright on a dark background, as in ``load_digits`` and MNIST;
    invert dark-on-light images first. (n, 64) vectors are also accepted and read as 8x8 images
    already in the [0, 16] scale (``load_digits().data`` layout).

    Features are the 64 post-ReLU activations of the penultimate layer; ``probs`` the softmax
    over the 10 digits. The trained net classifies the 360 held-out digits (the last 360 rows of
    ``load_digits``, never trained on) with about 95 % accuracy; the value is in the identifier's
    provenance via :attr:`accuracy`.
    """

    inputs = ("images", "vectors")
    gives_probs = True
    uses_device = True
    resize_rule = "grayscale (PIL convert L), PIL box (area average) to 8x8, scaled to [0, 16]"

    def __init__(self):
        self.net, self.accuracy = load_or_train()
        self._hash = state_hash(self.net)
        self.to()

    def _place(self):
        from ._torch import DeviceNet

        self._features = DeviceNet(self.net["features"], self.device, self.numerics)
        self._head = DeviceNet(self.net["head"], self.device, self.numerics)

    @property
    def identifier(self) -> str:
        return (f"digits(recipe=v{RECIPE['version']}-sklearn-load_digits-train{RECIPE['n_train']}-"
                f"epochs{RECIPE['epochs']}-seed{RECIPE['seed']},weights={self._hash[:16]},"
                "input=L-box8x8-x*16/255)")

    def prepare(self, item):
        from PIL import Image

        img = Image.fromarray(np.asarray(item)).convert("L")
        if img.size != (8, 8):
            img = img.resize((8, 8), Image.BOX)
        return np.asarray(img, dtype=np.float32) * np.float32(16.0 / 255.0)

    def forward(self, batch):
        import torch

        x = np.asarray(batch, dtype=np.float32)
        if x.ndim == 2:
            if x.shape[1] != 64:
                raise InputError(
                    f"the digits extractor reads (n, 64) vectors as 8x8 images in [0, 16]; got {x.shape[1]} "
                    "columns. Pass images, or vectors in the load_digits().data layout."
                )
        t = self._features.to_device(torch.from_numpy(x.reshape(-1, 1, 8, 8) / np.float32(16.0)))
        feats = self._features(t)
        probs = torch.softmax(self._head(feats).to(torch.float64), dim=1)
        return to_numpy(feats), to_numpy(probs)
