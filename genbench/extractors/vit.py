"""``dinov2-vitl14`` and ``clip-vitl14-336``: the ViT-L/14 encoders of FD_DINOv2 and CMMD, in plain torch.

Both networks are written here (no torchvision, no timm, no transformers) and load the official
checkpoints in their published key layouts:

* DINOv2 ViT-L/14 (Oquab et al., 2023): ``dinov2_vitl14_pretrain.pth`` from
  https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth, the file
  that torch hub's ``facebookresearch/dinov2`` entry ``dinov2_vitl14`` fetches (keys ``cls_token``,
  ``pos_embed``, ``patch_embed.proj.*``, ``blocks.N.attn.qkv.*``, ``blocks.N.ls1.gamma`` ...).
* CLIP ViT-L/14@336px (Radford et al., 2021): OpenAI's ``ViT-L-14-336px.pt`` (a TorchScript archive,
  or a plain state dict with the same keys; only the ``visual.*`` tower is used), the file the
  ``clip`` package downloads and CMMD's reference code (via ``openai/clip-vit-large-patch14-336``) uses.

Weights are never downloaded. Each file is looked up, in order, at ``weights=`` / ``--weights PATH``
(a file, or a directory holding it), in ``$GENBENCH_WEIGHTS_DIR``, and in torch hub's checkpoints
folder (``torch.hub.get_dir()/checkpoints``); CLIP also in ``~/.cache/clip`` (where the ``clip``
package puts it). Width, depth and grid are read from the file (heads: width / 64, as in every
DINOv2 and CLIP ViT), so reduced test networks load through the same path.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from metrics.errors import InputError

from . import Extractor, extractor
from ..cache import file_sha256
from ._torch import pil_resize_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HEAD_DIM = 64

DINOV2_FILE = "dinov2_vitl14_pretrain.pth"
DINOV2_URL = "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/" + DINOV2_FILE
CLIP_FILE = "ViT-L-14-336px.pt"
#: OpenAI publishes the file under its SHA-256 (the URL's directory).
CLIP_SHA256 = "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02"
CLIP_URL = f"https://openaipublic.azureedge.net/clip/models/{CLIP_SHA256}/{CLIP_FILE}"


class WeightsWarning(UserWarning):
    """Weights that are not the reference file: numbers are not comparable with published ones."""


# ---------------------------------------------------------------------------------------------
# weights files


def find_weights_file(names, weights, *, what: str, url: str, extra_dirs=()) -> Path:
    """The first existing file among ``names`` in the standard places, or an :class:`InputError`
    naming the file, every place looked at, and where to put it."""
    import torch

    if weights is not None:
        p = Path(weights).expanduser()
        candidates = [p / n for n in names] if p.is_dir() else [p]
    else:
        dirs = []
        if os.environ.get("GENBENCH_WEIGHTS_DIR"):
            dirs.append(Path(os.environ["GENBENCH_WEIGHTS_DIR"]).expanduser())
        dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
        dirs += [Path(d).expanduser() for d in extra_dirs]
        candidates = [d / n for d in dirs for n in names]
    for p in candidates:
        if p.is_file():
            return p
    raise InputError(
        f"{what} needs the weights file {names[0]}; not found at: {'; '.join(str(p) for p in candidates)}. "
        f"genbench never downloads. Fetch {url} on a machine with internet and put it in a directory named by "
        "$GENBENCH_WEIGHTS_DIR or in torch hub's checkpoints folder, or pass --weights PATH (weights=PATH)."
    )


def _read_state(path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        try:  # OpenAI's CLIP files are TorchScript archives
            state = torch.jit.load(str(path), map_location="cpu").state_dict()
        except Exception as exc:
            raise InputError(f"{path}: cannot read as a torch state dict or TorchScript archive "
                             f"({type(exc).__name__}: {exc}).") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{path}: holds a {type(state).__name__}, not a state dict.")
    return {k: v.float() for k, v in state.items() if hasattr(v, "float")}


def _shape_error(path, what, exc) -> InputError:
    return InputError(f"{path}: not a {what} state dict ({exc}). Use the official file (see `genbench extractors`).")


# ---------------------------------------------------------------------------------------------
# the networks


def _modules():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Attention(nn.Module):
        """Multi-head self-attention with one fused qkv projection (DINOv2's and CLIP's layout)."""

        def __init__(self, dim):
            super().__init__()
            self.heads = dim // HEAD_DIM
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, n, d = x.shape
            q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            x = F.scaled_dot_product_attention(q, k, v)
            return self.proj(x.transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):
        """Pre-norm transformer block; ``layer_scale``: DINOv2's per-channel residual scales."""

        def __init__(self, dim, hidden, eps, act, layer_scale):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=eps)
            self.attn = Attention(dim)
            self.norm2 = nn.LayerNorm(dim, eps=eps)
            self.fc1 = nn.Linear(dim, hidden)
            self.fc2 = nn.Linear(hidden, dim)
            self.act = act
            if layer_scale:
                self.ls1 = nn.Parameter(torch.ones(dim))
                self.ls2 = nn.Parameter(torch.ones(dim))
            self.layer_scale = layer_scale

        def forward(self, x):
            a = self.attn(self.norm1(x))
            x = x + (a * self.ls1 if self.layer_scale else a)
            m = self.fc2(self.act(self.fc1(self.norm2(x))))
            return x + (m * self.ls2 if self.layer_scale else m)

    return torch, nn, F, Attention, Block


def build_dinov2(state: dict, path="weights"):
    """DINOv2 ViT (official key layout) from a state dict; returns the module in eval mode."""
    torch, nn, F, _, Block = _modules()

    class DinoV2(nn.Module):
        def __init__(self, dim, depth, hidden, patch, grid):
            super().__init__()
            self.patch, self.grid = patch, grid
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
            self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
            self.blocks = nn.ModuleList(Block(dim, hidden, 1e-6, nn.GELU(), True) for _ in range(depth))
            self.norm = nn.LayerNorm(dim, eps=1e-6)

        def pos(self, h, w):
            """Position embeddings for an h x w patch grid: DINOv2's bicubic interpolation with its
            0.1 offset in the scale factor (``interpolate_offset=0.1``, no antialias)."""
            if (h, w) == (self.grid, self.grid):
                return self.pos_embed
            g, dim = self.grid, self.pos_embed.shape[-1]
            patch_pos = self.pos_embed[:, 1:].reshape(1, g, g, dim).permute(0, 3, 1, 2)
            patch_pos = F.interpolate(patch_pos, scale_factor=((h + 0.1) / g, (w + 0.1) / g), mode="bicubic",
                                      antialias=False)
            return torch.cat([self.pos_embed[:, :1], patch_pos.permute(0, 2, 3, 1).reshape(1, h * w, dim)], 1)

        def forward(self, x):
            """(n, 3, H, W) normalised -> (CLS token, mean of the patch tokens), both after the final norm."""
            x = self.patch_embed(x)
            h, w = x.shape[-2:]
            x = x.flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], 1) + self.pos(h, w)
            for blk in self.blocks:
                x = blk(x)
            x = self.norm(x)
            return x[:, 0], x[:, 1:].mean(1)

    try:
        dim = state["cls_token"].shape[-1]
        depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
        hidden = state["blocks.0.mlp.fc1.weight"].shape[0]
        patch = state["patch_embed.proj.weight"].shape[-1]
        grid = math.isqrt(state["pos_embed"].shape[1] - 1)
    except (KeyError, ValueError) as exc:
        raise _shape_error(path, "DINOv2 ViT", f"missing {exc}") from None
    net = DinoV2(dim, depth, hidden, patch, grid)
    mine = {"cls_token": "cls_token", "pos_embed": "pos_embed", "patch_embed.weight": "patch_embed.proj.weight",
            "patch_embed.bias": "patch_embed.proj.bias", "norm.weight": "norm.weight", "norm.bias": "norm.bias"}
    for i in range(depth):
        for a, b in (("norm1", "norm1"), ("norm2", "norm2"), ("attn.qkv", "attn.qkv"), ("attn.proj", "attn.proj"),
                     ("fc1", "mlp.fc1"), ("fc2", "mlp.fc2")):
            for t in ("weight", "bias"):
                mine[f"blocks.{i}.{a}.{t}"] = f"blocks.{i}.{b}.{t}"
        mine[f"blocks.{i}.ls1"] = f"blocks.{i}.ls1.gamma"
        mine[f"blocks.{i}.ls2"] = f"blocks.{i}.ls2.gamma"
    _load(net, state, mine, path, "DINOv2 ViT", ignore=("mask_token",))
    return net


def build_clip_visual(state: dict, path="weights"):
    """CLIP ViT image tower (OpenAI key layout, ``visual.*``) from a state dict; eval mode."""
    torch, nn, F, _, Block = _modules()

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class ClipVisual(nn.Module):
        def __init__(self, dim, depth, hidden, patch, grid, out_dim):
            super().__init__()
            self.conv1 = nn.Conv2d(3, dim, patch, stride=patch, bias=False)
            self.class_embedding = nn.Parameter(torch.zeros(dim))
            self.positional_embedding = nn.Parameter(torch.zeros(1 + grid * grid, dim))
            self.ln_pre = nn.LayerNorm(dim)
            self.blocks = nn.ModuleList(Block(dim, hidden, 1e-5, QuickGELU(), False) for _ in range(depth))
            self.ln_post = nn.LayerNorm(dim)
            self.proj = nn.Parameter(torch.zeros(dim, out_dim))

        def forward(self, x):
            """(n, 3, S, S) normalised -> image embeddings ``ln_post(CLS) @ proj`` (not unit-normalised)."""
            x = self.conv1(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.class_embedding.expand(len(x), 1, -1), x], 1) + self.positional_embedding
            x = self.ln_pre(x)
            for blk in self.blocks:
                x = blk(x)
            return self.ln_post(x[:, 0]) @ self.proj

    state = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    try:
        dim = state["class_embedding"].shape[-1]
        depth = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("transformer.resblocks."))
        hidden = state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]
        patch = state["conv1.weight"].shape[-1]
        grid = math.isqrt(state["positional_embedding"].shape[0] - 1)
        out_dim = state["proj"].shape[1]
    except (KeyError, ValueError) as exc:
        raise _shape_error(path, "CLIP ViT (OpenAI layout, visual.*)", f"missing {exc}") from None
    net = ClipVisual(dim, depth, hidden, patch, grid, out_dim)
    mine = {k: k for k in ("conv1.weight", "class_embedding", "positional_embedding", "proj")}
    for t in ("weight", "bias"):
        mine[f"ln_pre.{t}"], mine[f"ln_post.{t}"] = f"ln_pre.{t}", f"ln_post.{t}"
        for i in range(depth):
            r = f"transformer.resblocks.{i}"
            for a, b in (("norm1", "ln_1"), ("norm2", "ln_2"), ("attn.proj", "attn.out_proj"),
                         ("fc1", "mlp.c_fc"), ("fc2", "mlp.c_proj")):
                mine[f"blocks.{i}.{a}.{t}"] = f"{r}.{b}.{t}"
            mine[f"blocks.{i}.attn.qkv.{t}"] = f"{r}.attn.in_proj_{t}"
    _load(net, state, mine, path, "CLIP ViT (OpenAI layout, visual.*)",
          ignore=("input_resolution", "context_length", "vocab_size"))
    return net


def _load(net, state: dict, mine: dict, path, what: str, ignore=()) -> None:
    """Copy ``state[mine[k]]`` into each parameter ``k`` of ``net``; every key must match in name and shape."""
    import torch

    own = dict(net.named_parameters())
    assert set(own) == set(mine), sorted(set(own) ^ set(mine))  # internal: the mapping covers the module
    missing = sorted(v for v in mine.values() if v not in state)
    unexpected = sorted(set(state) - set(mine.values()) - set(ignore))
    if missing or unexpected:
        raise InputError(f"{path}: not a {what} state dict: {len(missing)} missing keys (e.g. {missing[:3]}), "
                         f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}).")
    with torch.no_grad():
        for k, p in own.items():
            v = state[mine[k]]
            if tuple(v.shape) != tuple(p.shape):
                raise InputError(f"{path}: {what} key {mine[k]!r} has shape {tuple(v.shape)}, expected "
                                 f"{tuple(p.shape)} (from the file's other keys).")
            p.copy_(v)
    net.eval().requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# the extractors


def _normalised_batch(batch, mean, std):
    import torch

    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


@extractor("dinov2-vitl14")
class DINOv2ViTL14(Extractor):
    """DINOv2 ViT-L/14 features (FD_DINOv2: CLS token, 1024-d), plain torch, official weights from a local file.

    Parameters
    ----------
    weights : str or Path, optional
        ``dinov2_vitl14_pretrain.pth`` or a directory holding it. Default: search
        ``$GENBENCH_WEIGHTS_DIR`` then torch hub's checkpoints folder. Never downloads.
    pooling : {"cls", "cls+patchmean"}
        ``"cls"`` (default): the final-norm CLS token, 1024-d, what FD_DINOv2 uses (Stein et al.,
        2023, dgm-eval: the hub model's ``forward``; EDM2 reports this). ``"cls+patchmean"``: the
        CLS token concatenated with the mean of the patch tokens, 2048-d (DINOv2's linear-probe
        representation).

    Notes
    -----
    Preprocessing as dgm-eval's FD_DINOv2: PIL bicubic resize of the 8-bit RGB image to 224 x 224
    (aspect ratio not kept, no crop), scale to [0, 1], ImageNet mean/std normalisation. The 37 x 37
    position embeddings of the 518-px checkpoint are interpolated to the 16 x 16 grid as DINOv2 does.
    The weights hash, resize and pooling are in :attr:`identifier`.

    References
    ----------
    Oquab et al. (2023), DINOv2: learning robust visual features without supervision. Stein et al.
    (2023), Exposing flaws of generative model evaluation metrics and their unfair treatment of
    diffusion models.
    """

    inputs = ("images",)
    input_size = 224
    resize_rule = "PIL bicubic (8-bit RGB) to 224x224"

    def __init__(self, *, weights=None, pooling: str = "cls"):
        if pooling not in ("cls", "cls+patchmean"):
            raise InputError(f"`pooling` must be one of ['cls', 'cls+patchmean']; got {pooling!r}.")
        self.pooling = pooling
        path = find_weights_file((DINOV2_FILE,), weights, what="dinov2-vitl14", url=DINOV2_URL)
        self.weights_sha256 = file_sha256(path)
        self.net = build_dinov2(_read_state(path), path)

    @property
    def identifier(self) -> str:
        return (f"dinov2-vitl14(weights=sha256:{self.weights_sha256[:16]},resize=pil-bicubic-{self.input_size},"
                f"normalise=imagenet,features={self.pooling})")

    def prepare(self, item):
        return pil_resize_rgb(np.asarray(item), self.input_size, "bicubic")

    def forward(self, batch):
        import torch

        with torch.inference_mode():
            cls, patch_mean = self.net(_normalised_batch(batch, IMAGENET_MEAN, IMAGENET_STD))
            out = cls if self.pooling == "cls" else torch.cat([cls, patch_mean], 1)
        return out.numpy().copy(), None


def center_square(img: np.ndarray) -> np.ndarray:
    """The centred square crop of side min(H, W) (CMMD's reference loader crops before resizing)."""
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return img[top:top + s, left:left + s]


@extractor("clip-vitl14-336")
class CLIPViTL14336(Extractor):
    """CLIP ViT-L/14@336px image embeddings (768-d, unit norm), the CMMD space; plain torch, official weights from a local file.

    Parameters
    ----------
    weights : str or Path, optional
        OpenAI's ``ViT-L-14-336px.pt`` (TorchScript archive or state dict) or a directory holding it.
        Default: search ``$GENBENCH_WEIGHTS_DIR``, torch hub's checkpoints folder, ``~/.cache/clip``.
        Never downloads.

    Notes
    -----
    Preprocessing as CMMD's reference code (Jayasumana et al., 2024): centred square crop, PIL
    bicubic resize of the 8-bit RGB image to 336 x 336, scale to [0, 1], CLIP mean/std
    normalisation. The embedding is ``ln_post(CLS) @ proj``, divided by its Euclidean norm.
    A file whose SHA-256 is not OpenAI's published one is used with a :class:`WeightsWarning`.

    References
    ----------
    Radford et al. (2021), Learning transferable visual models from natural language supervision.
    Jayasumana et al. (2024), Rethinking FID: towards a better evaluation metric for image generation.
    """

    inputs = ("images",)
    input_size = 336
    resize_rule = "centred square crop, PIL bicubic (8-bit RGB) to 336x336"

    def __init__(self, *, weights=None):
        path = find_weights_file((CLIP_FILE,), weights, what="clip-vitl14-336", url=CLIP_URL,
                                 extra_dirs=("~/.cache/clip",))
        self.weights_sha256 = file_sha256(path)
        if self.weights_sha256 != CLIP_SHA256:
            warnings.warn(f"{path}: SHA-256 {self.weights_sha256[:16]}... is not OpenAI's {CLIP_SHA256[:16]}...: "
                          "these are not the reference CLIP weights, so CMMD values are not comparable with "
                          "published ones.", WeightsWarning, stacklevel=2)
        self.net = build_clip_visual(_read_state(path), path)

    @property
    def identifier(self) -> str:
        return (f"clip-vitl14-336(weights=sha256:{self.weights_sha256[:16]},resize=center-crop+pil-bicubic-"
                f"{self.input_size},normalise=clip,features=image-embeds-l2)")

    def prepare(self, item):
        return pil_resize_rgb(np.ascontiguousarray(center_square(np.asarray(item))), self.input_size, "bicubic")

    def forward(self, batch):
        import torch

        with torch.inference_mode():
            e = self.net(_normalised_batch(batch, CLIP_MEAN, CLIP_STD)).to(torch.float64)
            e = e / torch.linalg.vector_norm(e, dim=1, keepdim=True)
        return e.numpy().copy(), None
