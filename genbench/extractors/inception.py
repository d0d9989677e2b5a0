"""``inception-fid``: the Inception-v3 variant of the FID reference, in plain torch.

The network is the TensorFlow 2015-12-05 Inception graph used by the original FID and IS code, as
ported to PyTorch by pytorch-fid (``FIDInceptionA/C/E`` blocks: average pools that ignore padding,
max pool in the last block, 1008-way classifier). The state-dict keys follow torchvision's
``Inception3`` layout (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean`` ...,
``fc.weight``), so the standard weights file loads as it is. No torchvision needed.

Weights are never downloaded. The file ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid's name;
torch-fidelity publishes the same weights as ``weights-inception-2015-12-05-6726825d.pth``) is
looked up, in order, at ``weights=`` / ``--weights PATH`` (a file, or a directory holding it),
in ``$GENBENCH_WEIGHTS_DIR``, and in torch hub's checkpoints folder
(``torch.hub.get_dir()/checkpoints``, where pytorch-fid and torch-fidelity download it).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from metrics.errors import InputError

from . import Extractor, extractor
from ..cache import file_sha256
from ._torch import DeviceNet, empty_module, to_numpy

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
#: Other names the same weights are published under.
WEIGHTS_ALIASES = ("weights-inception-2015-12-05-6726825d.pth",)
#: torch.hub convention: the hex after the last dash is a prefix of the file's SHA-256.
WEIGHTS_SHA256_PREFIX = "6726825d"
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILE
INPUT_SIZE = 299
MODES = ("tf", "clean")


class WeightsWarning(UserWarning):
    """Weights that are not the reference file: numbers are not comparable with published ones."""


# ---------------------------------------------------------------------------------------------
# the network (pytorch-fid's FIDInceptionV3, torchvision Inception3 key layout)


def _net():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class BasicConv2d(nn.Module):
        def __init__(self, cin, cout, **kw):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
            self.bn = nn.BatchNorm2d(cout, eps=0.001)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)))

    class InceptionA(nn.Module):  # FIDInceptionA: avg pool without the padded zeros
        def __init__(self, cin, pool_features):
            super().__init__()
            self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
            self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
            self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
            self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
            self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
            self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
            self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

        def forward(self, x):
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
            return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)), b3, bp], 1)

    class InceptionB(nn.Module):
        def __init__(self, cin):
            super().__init__()
            self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
            self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
            self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
            self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

        def forward(self, x):
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)

    class InceptionC(nn.Module):  # FIDInceptionC
        def __init__(self, cin, c7):
            super().__init__()
            self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
            self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
            self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
            self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
            self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

        def forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            bd = x
            for k in range(1, 6):
                bd = getattr(self, f"branch7x7dbl_{k}")(bd)
            bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
            return torch.cat([self.branch1x1(x), b7, bd, bp], 1)

    class InceptionD(nn.Module):
        def __init__(self, cin):
            super().__init__()
            self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
            self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
            self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
            self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
            self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
            self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

        def forward(self, x):
            b3 = self.branch3x3_2(self.branch3x3_1(x))
            b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
            return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)

    class InceptionE(nn.Module):  # FIDInceptionE_1 (avg pool, no padding) / FIDInceptionE_2 (max pool)
        def __init__(self, cin, pool):
            super().__init__()
            self.pool = pool
            self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
            self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
            self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
            self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
            self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
            self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
            self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
            self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
            self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

        def forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
            if self.pool == "avg":
                p = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            else:  # the TF graph's last block max-pools (a quirk pytorch-fid reproduces)
                p = F.max_pool2d(x, 3, stride=1, padding=1)
            return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(p)], 1)

    class FIDInceptionV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
            self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
            self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
            self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
            self.Mixed_5b = InceptionA(192, 32)
            self.Mixed_5c = InceptionA(256, 64)
            self.Mixed_5d = InceptionA(288, 64)
            self.Mixed_6a = InceptionB(288)
            self.Mixed_6b = InceptionC(768, 128)
            self.Mixed_6c = InceptionC(768, 160)
            self.Mixed_6d = InceptionC(768, 160)
            self.Mixed_6e = InceptionC(768, 192)
            self.Mixed_7a = InceptionD(768)
            self.Mixed_7b = InceptionE(1280, "avg")
            self.Mixed_7c = InceptionE(2048, "max")
            self.fc = nn.Linear(2048, 1008)

        def forward(self, x):
            """(n, 3, 299, 299) in [-1, 1] -> pool3 (n, 2048), logits without the fc bias (n, 1008)."""
            x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
            x = F.max_pool2d(x, 3, stride=2)
            x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
            for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
                x = getattr(self, f"Mixed_{name}")(x)
            pool3 = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return pool3, pool3 @ self.fc.weight.T

    return FIDInceptionV3()


def build_net():
    """The FID Inception-v3 module with uninitialised weights (load a state dict into it)."""
    return empty_module(_net)


# ---------------------------------------------------------------------------------------------
# resizing


def resize_tf_bilinear(img: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, size, size) float32 in [0, 255], TensorFlow 1.x bilinear resize.

    TF1 ``resize_bilinear`` with ``align_corners=False`` and no half-pixel centres samples output
    pixel ``i`` at source coordinate ``i * in / out`` (not ``(i + 0.5) * in / out - 0.5`` as
    ``torch.nn.functional.interpolate`` does), clamping the upper neighbour at the border. This is
    what the reference FID numbers were computed with (same formula as torch-fidelity's
    ``interpolate_bilinear_2d_like_tensorflow1x``).
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).to(torch.float32)[None]
    h, w = x.shape[2], x.shape[3]
    if (h, w) == (size, size):
        return x[0].numpy()

    def grid(n_in):
        pos = torch.arange(size, dtype=torch.float32) * torch.tensor(n_in / size, dtype=torch.float32)
        lo = pos.long()
        return lo, (lo + 1).clamp_max(n_in - 1), pos - lo.float()

    ylo, yhi, dy = grid(h)
    xlo, xhi, dx = grid(w)
    top = x[:, :, ylo, :]
    bot = x[:, :, yhi, :]
    t = top[:, :, :, xlo] + (top[:, :, :, xhi] - top[:, :, :, xlo]) * dx.view(1, 1, 1, size)
    b = bot[:, :, :, xlo] + (bot[:, :, :, xhi] - bot[:, :, :, xlo]) * dx.view(1, 1, 1, size)
    return (t + (b - t) * dy.view(1, 1, size, 1))[0].numpy()


def resize_clean(img: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, size, size) float32: PIL bicubic on each channel as float32, clipped
    to [0, 255].

    The "clean" resize of Parmar et al. (2022, clean-fid): antialiased bicubic on float data, no
    8-bit rounding in between.
    """
    from PIL import Image

    if img.shape[0] == size and img.shape[1] == size:
        return np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
    chans = [np.asarray(Image.fromarray(img[:, :, c].astype(np.float32)).resize((size, size), Image.BICUBIC))
             for c in range(3)]
    return np.stack(chans).clip(0, 255).astype(np.float32)  # clean-fid clips the bicubic overshoot


# ---------------------------------------------------------------------------------------------
# weights


def _search_paths(weights) -> list[Path]:
    import torch

    names = (WEIGHTS_FILE,) + WEIGHTS_ALIASES
    if weights is not None:
        p = Path(weights).expanduser()
        return [p / n for n in names] if p.is_dir() else [p]
    dirs = []
    if os.environ.get("GENBENCH_WEIGHTS_DIR"):
        dirs.append(Path(os.environ["GENBENCH_WEIGHTS_DIR"]).expanduser())
    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    return [d / n for d in dirs for n in names]


def find_weights(weights=None) -> Path:
    """The weights file to use, or an :class:`InputError` saying what to put where."""
    candidates = _search_paths(weights)
    for p in candidates:
        if p.is_file():
            return p
    looked = "; ".join(str(p) for p in candidates)
    where = ("$GENBENCH_WEIGHTS_DIR" if os.environ.get("GENBENCH_WEIGHTS_DIR") else
             "a directory named by $GENBENCH_WEIGHTS_DIR")
    raise InputError(
        f"inception-fid needs the weights file {WEIGHTS_FILE} (expected SHA-256 starting with "
        f"{WEIGHTS_SHA256_PREFIX}; the FID Inception weights of pytorch-fid, also published by torch-fidelity "
        f"as {WEIGHTS_ALIASES[0]}); not found at: {looked}. genbench never downloads. Fetch {WEIGHTS_URL} "
        f"on a machine with internet and put it in {where} or in torch hub's checkpoints folder, or pass "
        "--weights PATH (weights=PATH)."
    )


def load_net(path: Path):
    """The network with the state dict at ``path`` loaded; keys must match exactly."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{path}: cannot read as a torch state dict ({type(exc).__name__}: {exc}).") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    net = build_net()
    expected = set(net.state_dict())
    state = {k: v for k, v in state.items()}
    for key in expected:  # files saved before torch 0.4.1 have no BN batch counters
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.tensor(0)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected - {k for k in state if k.startswith("AuxLogits.")})
    if missing or unexpected:
        raise InputError(
            f"{path}: not an FID Inception-v3 state dict: {len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}). Use {WEIGHTS_FILE}."
        )
    net.load_state_dict({k: state[k] for k in expected})
    return net.eval().requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# the extractor


@extractor("inception-fid")
class InceptionFID(Extractor):
    """FID Inception-v3 (pool3 2048-d features, 1008-way probabilities for IS), plain torch.

    Parameters
    ----------
    weights : str or Path, optional
        The weights file, or a directory holding it. Default: search ``$GENBENCH_WEIGHTS_DIR`` then
        torch hub's checkpoints folder (see the module docstring). Never downloads.
    mode : {"tf", "clean"}
        How images are resized to 299x299. ``"tf"`` (default): TensorFlow 1.x bilinear on the 8-bit
        values, what the reference FID / IS numbers (TF code, pytorch-fid's TF-compatible path,
        torch-fidelity) use. ``"clean"``: PIL bicubic on float channels (clean-fid). The mode is
        part of :attr:`identifier`, so it is in every result's provenance.

    Notes
    -----
    Input ``x`` in [0, 255] after resizing is scaled as ``(x - 128) / 128`` (the TF graph's
    normalisation). ``probs`` is the softmax of ``pool3 @ fc.weight.T`` without the fc bias, as in
    the original Inception Score code (torch-fidelity's ``logits_unbiased``). A weights file whose
    SHA-256 does not start with ``6726825d`` is used with a :class:`WeightsWarning`.

    References
    ----------
    Heusel et al. (2017), GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium. Parmar et al. (2022), On aliased resizing and surprising subtleties in GAN evaluation.
    """

    inputs = ("images",)
    gives_probs = True
    uses_device = True
    default_mode = "tf"
    #: side of the square network input (tests shrink it to 75, the smallest Inception-v3 takes)
    input_size = INPUT_SIZE

    def __init__(self, *, weights=None, mode: str | None = None):
        mode = self.default_mode if mode is None else mode
        if mode not in MODES:
            raise InputError(f"`mode` must be one of {list(MODES)}; got {mode!r}.")
        self.mode = mode
        path = find_weights(weights)
        self.weights_path = path
        self.weights_sha256 = file_sha256(path)
        if not self.weights_sha256.startswith(WEIGHTS_SHA256_PREFIX):
            warnings.warn(
                f"{path}: SHA-256 {self.weights_sha256[:16]}... does not start with {WEIGHTS_SHA256_PREFIX}: these "
                "are not the reference FID Inception weights, so scores are not comparable with published ones.",
                WeightsWarning, stacklevel=2,
            )
        self.net = load_net(path)
        self.to()

    def _place(self):
        self._run = DeviceNet(self.net, self.device, self.numerics)

    @property
    def resize_rule(self):
        size = f"{self.input_size}x{self.input_size}"
        return (f"TensorFlow-1.x-compatible bilinear to {size}" if self.mode == "tf"
                else f"PIL bicubic on float channels to {size} (clean-fid)")

    @property
    def identifier(self) -> str:
        resize = "tf1-bilinear" if self.mode == "tf" else "pil-bicubic-float"
        return (f"inception-fid(weights=sha256:{self.weights_sha256[:16]},resize={resize}-{self.input_size},"
                "scale=(x-128)/128,features=pool3-2048,probs=softmax-unbiased-1008)")

    def prepare(self, item):
        img = np.asarray(item)
        resize = resize_tf_bilinear if self.mode == "tf" else resize_clean
        return resize(img, self.input_size)

    def forward(self, batch):
        import torch

        x = self._run.to_device(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        pool3, logits = self._run((x - 128.0) / 128.0)
        probs = torch.softmax(logits.to(torch.float64), dim=1)
        return to_numpy(pool3), to_numpy(probs)


@extractor("inception-fid-clean")
class InceptionFIDClean(InceptionFID):
    """FID Inception-v3 with clean-fid's PIL-bicubic resize (``inception-fid`` with mode="clean")."""

    default_mode = "clean"
