"""Small torch helpers shared by the network extractors."""

from __future__ import annotations

import hashlib

import numpy as np

from metrics.errors import InputError


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


# ---------------------------------------------------------------------------------------------
# devices and numerics policies

#: Numerics policies. ``reference``: float32 everywhere, TF32 off for matmul and cuDNN, deterministic
#: cuDNN kernels, no autotuning: features reproduce run to run and match CPU float32 to ~1e-5.
#: ``fast``: TF32 matmuls and convolutions, bfloat16 autocast and channels_last on CUDA, cuDNN
#: autotuning. ``fast+compile``: ``fast`` plus ``torch.compile`` of the network.
NUMERICS = ("reference", "fast", "fast+compile")


class DeviceError(InputError):
    """A requested device does not exist on this machine (the CLI exits 2 with the message)."""


def check_numerics(numerics: str) -> str:
    if numerics not in NUMERICS:
        raise DeviceError(f"`numerics` must be one of {list(NUMERICS)}; got {numerics!r}. "
                          "Use 'reference' (default, reproducible) or 'fast'.")
    return numerics


def resolve_device(device: str = "auto", *, local_rank: int | None = None) -> str:
    """A device string (``auto``, ``cpu``, ``cuda``, ``cuda:i``, ``mps``) -> a concrete torch device name.

    ``auto`` is the local rank's GPU when CUDA is present (``cuda:LOCAL_RANK``, or ``cuda:0``), else
    ``cpu``; Apple's ``mps`` only when asked for by name (its float32 kernels and CPU fallbacks make
    features differ more from CPU ones). ``cuda`` under ``torchrun`` is the local rank's GPU.

    Raises
    ------
    DeviceError
        An unknown spelling, CUDA or MPS asked for on a machine without it, a GPU index out of range.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    import os

    import torch

    if not isinstance(device, str):
        raise DeviceError(f"`device` must be a string (auto, cpu, cuda, cuda:N or mps); got {device!r}.")
    if local_rank is None:
        local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
    spec = device.strip().lower()
    has_cuda = torch.cuda.is_available()
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if spec == "auto":
        if has_cuda:
            return f"cuda:{local_rank % torch.cuda.device_count()}"
        return "cpu"
    if spec == "cpu":
        return "cpu"
    if spec == "mps":
        if not has_mps:
            raise DeviceError("`device` 'mps' asked for, but this machine has no Apple MPS device. "
                              "Use --device cpu or --device auto.")
        return "mps"
    if spec == "cuda" or spec.startswith("cuda:"):
        index = spec[5:] if spec.startswith("cuda:") else None
        if index is not None and not index.isdigit():
            raise DeviceError(f"`device` must look like cuda:N with N a GPU index; got {device!r}.")
        if not has_cuda:
            raise DeviceError(f"`device` {device!r} asked for, but torch sees no CUDA GPU on this machine "
                              f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA). "
                              "Use --device cpu or --device auto.")
        count = torch.cuda.device_count()
        i = int(index) if index is not None else local_rank % count
        if i >= count:
            raise DeviceError(f"`device` {device!r}: this machine has {count} CUDA GPU(s) (cuda:0 to cuda:{count - 1}).")
        return f"cuda:{i}"
    raise DeviceError(f"`device` must be auto, cpu, cuda, cuda:N or mps; got {device!r}.")


class numerics_scope:
    """Context manager: set torch's global precision switches for ``numerics`` and restore them after.

    The switches are process-wide, so they are set only around a forward pass and put back, never
    left changed for the caller.
    """

    def __init__(self, numerics: str):
        self.numerics = check_numerics(numerics)

    def __enter__(self):
        import torch

        b = torch.backends
        self._saved = (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark,
                       torch.get_float32_matmul_precision())
        fast = self.numerics != "reference"
        b.cuda.matmul.allow_tf32 = fast
        b.cudnn.allow_tf32 = fast
        b.cudnn.deterministic = not fast
        b.cudnn.benchmark = fast
        torch.set_float32_matmul_precision("high" if fast else "highest")
        return self

    def __exit__(self, *exc):
        import torch

        b = torch.backends
        (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark, precision) = self._saved
        torch.set_float32_matmul_precision(precision)
        return False


class DeviceNet:
    """A network placed on a device under a numerics policy; calls take CPU arrays/tensors in and give
    float32 CPU numpy arrays out.

    Parameters
    ----------
    net : torch.nn.Module
        In eval mode, on the CPU.
    device : str
        A resolved torch device (:func:`resolve_device`).
    numerics : str
        One of :data:`NUMERICS`.
    """

    def __init__(self, net, device: str = "cpu", numerics: str = "reference"):
        import torch

        self.device = device
        self.numerics = check_numerics(numerics)
        self.cuda = device.startswith("cuda")
        self.channels_last = self.numerics != "reference" and device != "cpu"
        net = net.to(device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.module = net
        self.net = torch.compile(net) if self.numerics == "fast+compile" else net

    def to_device(self, x):
        """A CPU tensor -> the device; pinned memory and a non-blocking copy on CUDA."""
        import torch

        if self.cuda:
            x = x.pin_memory().to(self.device, non_blocking=True)
        elif self.device != "cpu":
            x = x.to(self.device)
        return x

    def __call__(self, x, *rest):
        """Run the net on ``x`` (already on the device); outputs as float32 tensors on the device."""
        import contextlib

        import torch

        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.cuda and self.numerics != "reference"
                    else contextlib.nullcontext())
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), numerics_scope(self.numerics), autocast:
            out = self.net(x, *rest)
        if isinstance(out, tuple):
            return tuple(o.float() for o in out)
        return out.float()


def to_numpy(t) -> np.ndarray:
    """A tensor on any device -> a CPU numpy array."""
    return t.detach().to("cpu").numpy()
