"""ViT-L/14 encoders: our plain-torch DINOv2 and CLIP towers vs transformers on the same weights.

Random weights in the real ViT-L/14 configuration (1024 wide, 24 blocks, 16 heads, MLP 4096) are
written once in the official layouts (DINOv2 ``dinov2_vitl14_pretrain.pth`` keys; OpenAI CLIP
``visual.*`` keys) and converted to ``transformers``' ``Dinov2Model`` /
``CLIPVisionModelWithProjection``. The DINOv2 position grid is built for 224 px (16 x 16) so that
neither side interpolates (transformers interpolates without DINOv2's 0.1 offset; the real 518-px
checkpoint is interpolated by ours as DINOv2 does). For each encoder it reports the parity
(max |ours - theirs| / max |theirs| on normalised inputs) and CPU throughput in images/s of the
network forward pass (best of ``--repeat``, the two alternating), batch ``--batch-size``.
Timings on a shared machine are noisy; the ratio comes from interleaved runs in one process.

Run:  python benchmarks/bench_encoders.py [--batch-size 8] [--repeat 3] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from genbench.extractors import vit
from genbench.extractors._vit_testing import hf_clip, hf_dinov2, random_clip_state, random_dinov2_state


def best_time(fn, x, repeat):
    fn(x)  # warm-up
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t)
    return min(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    rows = []
    for name in ("dinov2-vitl14", "clip-vitl14-336"):
        if name.startswith("dinov2"):
            state = random_dinov2_state(dim=1024, depth=24, grid=16)
            ours_net, ref = vit.build_dinov2(state), hf_dinov2(state, image_size=224)
            size, mean, std = 224, vit.IMAGENET_MEAN, vit.IMAGENET_STD

            def ours(x):
                return torch.cat(ours_net(x), 1)

            def theirs(x):
                o = ref(pixel_values=x)
                return torch.cat([o.pooler_output, o.last_hidden_state[:, 1:].mean(1)], 1)
        else:
            state = random_clip_state(dim=1024, depth=24, grid=24, out_dim=768)
            ours_net, ref = vit.build_clip_visual(state), hf_clip(state)
            size, mean, std = 336, vit.CLIP_MEAN, vit.CLIP_STD

            def ours(x):
                return ours_net(x)

            def theirs(x):
                return ref(pixel_values=x).image_embeds
        del state
        imgs = rng.integers(0, 256, (args.batch_size, size, size, 3), dtype=np.uint8)
        x = vit._normalised_batch(imgs, mean, std)
        with torch.inference_mode():
            a, b = ours(x).numpy(), theirs(x).numpy()
            rel = float(np.abs(a - b).max() / np.abs(b).max())
            t_ours, t_theirs = [], []
            for _ in range(args.repeat):  # alternate so load changes hit both alike
                t_ours.append(best_time(ours, x, 1))
                t_theirs.append(best_time(theirs, x, 1))
        ips_o, ips_t = args.batch_size / min(t_ours), args.batch_size / min(t_theirs)
        rows.append((name, rel, ips_o, ips_t, ips_o / ips_t))
        print(f"{name}: parity max rel diff {rel:.2e}; ours {ips_o:.2f} img/s, transformers {ips_t:.2f} img/s, "
              f"ratio {ips_o / ips_t:.2f}x", flush=True)
        del ours_net, ref
    print("\n| encoder | parity (max abs diff / max abs) | ours img/s | transformers img/s | ratio |")
    print("|---|---|---|---|---|")
    for name, rel, o, t, r in rows:
        print(f"| {name} | {rel:.1e} | {o:.2f} | {t:.2f} | {r:.2f}x |")


if __name__ == "__main__":
    main()
