"""Random ViT weights in the official DINOv2 / OpenAI CLIP layouts, and their Hugging Face conversions.

Used by the parity tests and ``benchmarks/bench_encoders.py``: the same random weights, written
once in each layout, let our networks be compared with ``transformers``' ``Dinov2Model`` and
``CLIPVisionModelWithProjection`` (which are only needed for those comparisons).
"""

from __future__ import annotations


def _rand(gen, *shape, std=0.02, mean=0.0):
    import torch

    return torch.randn(*shape, generator=gen) * std + mean


def random_dinov2_state(dim=128, depth=2, grid=2, patch=14, seed=0) -> dict:
    """A DINOv2 ViT state dict in the official key layout, random values (MLP width 4 x dim)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    s = {"cls_token": _rand(g, 1, 1, dim, std=0.5), "mask_token": torch.zeros(1, dim),
         "pos_embed": _rand(g, 1, 1 + grid * grid, dim, std=0.5),
         "patch_embed.proj.weight": _rand(g, dim, 3, patch, patch), "patch_embed.proj.bias": _rand(g, dim),
         "norm.weight": _rand(g, dim, std=0.1, mean=1.0), "norm.bias": _rand(g, dim, std=0.1)}
    for i in range(depth):
        b = f"blocks.{i}"
        for n, (o, k) in {"attn.qkv": (3 * dim, dim), "attn.proj": (dim, dim), "mlp.fc1": (4 * dim, dim),
                          "mlp.fc2": (dim, 4 * dim)}.items():
            s[f"{b}.{n}.weight"], s[f"{b}.{n}.bias"] = _rand(g, o, k, std=k ** -0.5), _rand(g, o, std=0.1)
        for n in ("norm1", "norm2"):
            s[f"{b}.{n}.weight"], s[f"{b}.{n}.bias"] = _rand(g, dim, std=0.1, mean=1.0), _rand(g, dim, std=0.1)
        s[f"{b}.ls1.gamma"], s[f"{b}.ls2.gamma"] = _rand(g, dim, std=0.2, mean=0.5), _rand(g, dim, std=0.2, mean=0.5)
    return s


def random_clip_state(dim=128, depth=2, grid=2, patch=14, out_dim=64, seed=0) -> dict:
    """An OpenAI CLIP state dict (``visual.*`` tower only) in its key layout, random values."""
    import torch

    g = torch.Generator().manual_seed(seed)
    s = {"class_embedding": _rand(g, dim, std=0.5), "positional_embedding": _rand(g, 1 + grid * grid, dim, std=0.5),
         "conv1.weight": _rand(g, dim, 3, patch, patch), "proj": _rand(g, dim, out_dim, std=dim ** -0.5)}
    for n in ("ln_pre", "ln_post"):
        s[f"{n}.weight"], s[f"{n}.bias"] = _rand(g, dim, std=0.1, mean=1.0), _rand(g, dim, std=0.1)
    for i in range(depth):
        b = f"transformer.resblocks.{i}"
        s[f"{b}.attn.in_proj_weight"], s[f"{b}.attn.in_proj_bias"] = _rand(g, 3 * dim, dim, std=dim ** -0.5), \
            _rand(g, 3 * dim, std=0.1)
        for n, (o, k) in {"attn.out_proj": (dim, dim), "mlp.c_fc": (4 * dim, dim), "mlp.c_proj": (dim, 4 * dim)}.items():
            s[f"{b}.{n}.weight"], s[f"{b}.{n}.bias"] = _rand(g, o, k, std=k ** -0.5), _rand(g, o, std=0.1)
        for n in ("ln_1", "ln_2"):
            s[f"{b}.{n}.weight"], s[f"{b}.{n}.bias"] = _rand(g, dim, std=0.1, mean=1.0), _rand(g, dim, std=0.1)
    return {f"visual.{k}": v for k, v in s.items()}


def hf_dinov2(state: dict, image_size: int):
    """``transformers.Dinov2Model`` holding the same weights as the official-layout ``state``."""
    from transformers import Dinov2Config, Dinov2Model

    dim = state["cls_token"].shape[-1]
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    cfg = Dinov2Config(hidden_size=dim, num_hidden_layers=depth, num_attention_heads=dim // 64,
                       intermediate_size=state["blocks.0.mlp.fc1.weight"].shape[0], image_size=image_size,
                       patch_size=state["patch_embed.proj.weight"].shape[-1], layerscale_value=1.0)
    hf = {"embeddings.cls_token": state["cls_token"], "embeddings.mask_token": state["mask_token"],
          "embeddings.position_embeddings": state["pos_embed"], "layernorm.weight": state["norm.weight"],
          "layernorm.bias": state["norm.bias"]}
    for t in ("weight", "bias"):
        hf[f"embeddings.patch_embeddings.projection.{t}"] = state[f"patch_embed.proj.{t}"]
        for i in range(depth):
            a, b = f"encoder.layer.{i}", f"blocks.{i}"
            for x, y in (("norm1", "norm1"), ("norm2", "norm2"), ("attention.o_proj", "attn.proj"),
                         ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
                hf[f"{a}.{x}.{t}"] = state[f"{b}.{y}.{t}"]
            for name, part in zip(("q_proj", "k_proj", "v_proj"), state[f"{b}.attn.qkv.{t}"].chunk(3)):
                hf[f"{a}.attention.{name}.{t}"] = part
    for i in range(depth):
        hf[f"encoder.layer.{i}.layer_scale1.lambda1"] = state[f"blocks.{i}.ls1.gamma"]
        hf[f"encoder.layer.{i}.layer_scale2.lambda1"] = state[f"blocks.{i}.ls2.gamma"]
    model = Dinov2Model(cfg)
    model.load_state_dict(hf, strict=True)
    return model.eval()


def hf_clip(state: dict):
    """``transformers.CLIPVisionModelWithProjection`` holding the same weights as the OpenAI-layout ``state``."""
    import math

    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    v = {k[len("visual."):]: t for k, t in state.items() if k.startswith("visual.")}
    dim = v["class_embedding"].shape[0]
    depth = 1 + max(int(k.split(".")[2]) for k in v if k.startswith("transformer.resblocks."))
    patch = v["conv1.weight"].shape[-1]
    cfg = CLIPVisionConfig(hidden_size=dim, num_hidden_layers=depth, num_attention_heads=dim // 64,
                           intermediate_size=v["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                           image_size=patch * math.isqrt(v["positional_embedding"].shape[0] - 1), patch_size=patch,
                           projection_dim=v["proj"].shape[1], hidden_act="quick_gelu")
    p = "vision_model."
    hf = {p + "embeddings.class_embedding": v["class_embedding"], p + "embeddings.patch_embedding.weight": v["conv1.weight"],
          p + "embeddings.position_embedding.weight": v["positional_embedding"], "visual_projection.weight": v["proj"].T}
    for t in ("weight", "bias"):
        hf[f"{p}pre_layrnorm.{t}"], hf[f"{p}post_layernorm.{t}"] = v[f"ln_pre.{t}"], v[f"ln_post.{t}"]
        for i in range(depth):
            a, b = f"{p}encoder.layers.{i}", f"transformer.resblocks.{i}"
            for x, y in (("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("self_attn.out_proj", "attn.out_proj"),
                         ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
                hf[f"{a}.{x}.{t}"] = v[f"{b}.{y}.{t}"]
            for name, part in zip(("q_proj", "k_proj", "v_proj"), v[f"{b}.attn.in_proj_{t}"].chunk(3)):
                hf[f"{a}.self_attn.{name}.{t}"] = part
    model = CLIPVisionModelWithProjection(cfg)
    missing, unexpected = model.load_state_dict(hf, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
    return model.eval()
