"""GPU check for a lent device: accuracy of the device path, determinism, throughput per stage.

What it measures (one JSON report, also printed as tables):

1. ``reference`` numerics on the device vs CPU float32: max |difference| of features (absolute and
   relative to the largest feature), and the FID between two image sets computed both ways.
2. ``fast`` numerics (TF32 / bfloat16 autocast / channels_last / cudnn.benchmark) vs CPU: the same
   errors and the FID change.
3. Batch size 1 vs 64 on the device (reference): max |difference|, and whether it is exactly 0.
4. Rerun determinism: the same batches twice (reference): bit-equal or not.
5. Images/s per stage for several batch sizes: decode (PNG -> uint8), resize (the extractor's
   ``prepare``: TF1 bilinear to 299), model (forward on prepared batches, synchronised), end to end
   (``load_features`` with decode workers, no cache), and peak device memory per batch size.
6. k-NN pass throughput: blocked pairwise squared distances ``|x|^2 + |y|^2 - 2 x y^T`` on the
   device, TFLOP/s in float32 with TF32 off (reference) and on (fast).

The network is the FID Inception-v3 (``inception-fid``). Nothing is downloaded: with ``--weights``
(or the weights file in ``$GENBENCH_WEIGHTS_DIR`` / torch hub's checkpoints) the real weights are
used, otherwise seeded random weights of the same architecture (numbers then measure the device
path, not FID on real features).

Run on a GPU (about 2-3 minutes on one H100-class GPU):
    python benchmarks/gpu_check.py --device cuda --out gpu_check.json
Test the script itself on a CPU-only machine (reduced sizes, Inception input shrunk to 75x75,
"device" = the CPU, so device-vs-CPU errors are 0 by construction):
    python benchmarks/gpu_check.py --cpu-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import metrics
from genbench.extractors import get_extractor
from genbench.extractors._torch import numerics_scope, resolve_device
from genbench.extractors.inception import InceptionFID, WeightsWarning, build_net, find_weights
from genbench.features import load_features
from genbench.samples import decode_image


def make_pngs(root: Path, n: int, size: int, shift: int, seed: int) -> list[Path]:
    """``n`` smooth random RGB PNGs (upsampled noise, so they compress and resize like photos)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        small = np.clip(rng.integers(0, 256, (8, 8, 3)) + shift, 0, 255).astype(np.uint8)
        p = root / f"{i:06d}.png"
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(p)
        paths.append(p)
    return paths


def random_inception_weights(path: Path, seed: int = 0) -> Path:
    """Seeded weights for the FID Inception architecture: He-normal convolutions and fc, identity
    batch norms (so activations keep their scale), saved as a state dict."""
    g = torch.Generator().manual_seed(seed)
    state = build_net().state_dict()
    fill = {"running_var": torch.ones_like, "weight": torch.ones_like, "running_mean": torch.zeros_like,
            "bias": torch.zeros_like, "num_batches_tracked": torch.zeros_like}
    for k, v in state.items():
        last = k.rsplit(".", 1)[-1]
        if ".bn." in k or last in ("bias", "num_batches_tracked"):
            state[k] = fill[last](v)
        else:
            state[k] = torch.randn(v.shape, generator=g) * (2.0 / np.prod(v.shape[1:])) ** 0.5
    torch.save(state, path)
    return path


class _Small(InceptionFID):
    """Inception with a 75x75 input (the smallest it takes), for the CPU smoke run only."""

    input_size = 75


def build(weights, device: str, numerics: str, small: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightsWarning)
        ext = (_Small if small else InceptionFID)(weights=weights)
    return ext.to(device, numerics)


def features(ext, prepared: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([ext(prepared[i:i + batch])[0] for i in range(0, len(prepared), batch)])


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def errors(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return {"max_abs": float(d.max()), "max_rel_to_max": float(d.max() / np.abs(b).max()),
            "bit_equal": bool(np.array_equal(a, b))}


def fid(a, b) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(metrics.fid(a, b).value)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def knn_tflops(device: str, n: int, d: int, numerics: str, block: int = 4096) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g).to(device)
    sq = (x * x).sum(1)
    with numerics_scope(numerics):
        for _ in range(2):  # warm-up and timed
            sync(device)
            t = time.perf_counter()
            for i in range(0, n, block):
                dist = sq[i:i + block, None] + sq[None, :] - 2 * (x[i:i + block] @ x.T)
                dist.topk(6, dim=1, largest=False)
            sync(device)
            dt = time.perf_counter() - t
    return 2.0 * n * n * d / dt / 1e12


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="device to check (default: cuda)")
    p.add_argument("--weights", help="inception weights file (default: search; else random weights)")
    p.add_argument("--n", type=int, default=512, help="images per set for the accuracy checks (default 512)")
    p.add_argument("--n-speed", type=int, default=2048, help="images for the throughput runs (default 2048)")
    p.add_argument("--batch-sizes", default="32,64,128,256", help="batch sizes timed (default 32,64,128,256)")
    p.add_argument("--workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) - 1)),
                   help="decode workers for the end-to-end runs")
    p.add_argument("--cpu-smoke", action="store_true",
                   help="reduced run on the CPU to test this script (75x75 Inception input, tiny sets)")
    p.add_argument("--out", help="write the JSON report here")
    args = p.parse_args(argv)

    small = args.cpu_smoke
    device = "cpu" if small else resolve_device(args.device)
    n, n_speed = (12, 16) if small else (args.n, args.n_speed)
    batch_sizes = [8] if small else [int(b) for b in args.batch_sizes.split(",")]
    knn_n, knn_d = (1000, 128) if small else (32768, 2048)
    tmp = Path(tempfile.mkdtemp(prefix="gpu_check-"))
    os.environ["GENBENCH_CACHE"] = str(tmp / "cache")
    report = {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda, "smoke": small,
              "gpu": torch.cuda.get_device_name(device) if device.startswith("cuda") else None}
    t_all = time.perf_counter()

    try:
        weights = find_weights(args.weights)
        report["weights"] = f"file {weights.name}"
    except Exception:
        weights = random_inception_weights(tmp / "pt_inception-2015-12-05-6726825d.pth")
        report["weights"] = "seeded random weights (real weights not found)"

    real = make_pngs(tmp / "real", n, 64, 0, 1)
    fake = make_pngs(tmp / "fake", n, 64, 20, 2)
    cpu = build(weights, "cpu", "reference", small)
    prep_real = np.stack([cpu.prepare(decode_image(f)) for f in real])
    prep_fake = np.stack([cpu.prepare(decode_image(f)) for f in fake])

    # 1-2. device (reference / fast) vs CPU float32
    f_cpu = {k: features(cpu, x, 64) for k, x in (("real", prep_real), ("fake", prep_fake))}
    fid_cpu = fid(f_cpu["real"], f_cpu["fake"])
    acc = {"fid_cpu": fid_cpu}
    for numerics in ("reference", "fast"):
        dev = build(weights, device, numerics, small)
        f_dev = {k: features(dev, x, 64) for k, x in (("real", prep_real), ("fake", prep_fake))}
        acc[numerics] = {**errors(f_dev["real"], f_cpu["real"]), "fid": fid(f_dev["real"], f_dev["fake"])}
        acc[numerics]["fid_change"] = acc[numerics]["fid"] - fid_cpu
    report["accuracy_vs_cpu"] = acc

    # 3-4. batch size 1 vs 64, rerun determinism (reference, on the device)
    dev = build(weights, device, "reference", small)
    x = prep_real[:64]
    b64 = features(dev, x, 64)
    b1 = features(dev, x, 1)
    again = features(dev, x, 64)
    report["batch_1_vs_64"] = errors(b1, b64)
    report["rerun"] = errors(again, b64)

    # 5. throughput per stage
    files = make_pngs(tmp / "speed", n_speed, 64, 0, 3)
    t = time.perf_counter()
    decoded = [decode_image(f) for f in files]
    decode_ips = len(files) / (time.perf_counter() - t)
    t = time.perf_counter()
    prepared = np.stack([dev.prepare(img) for img in decoded])
    resize_ips = len(files) / (time.perf_counter() - t)
    del decoded
    speed = {"decode_images_per_s_1proc": decode_ips, "resize_images_per_s_1proc": resize_ips, "by_batch": {}}
    for numerics in ("reference", "fast"):
        ext = build(weights, device, numerics, small)
        for b in batch_sizes:
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats(device)
            features(ext, prepared[:b], b)  # warm-up (cudnn autotuning in fast)
            sync(device)
            t = time.perf_counter()
            features(ext, prepared, b)
            sync(device)
            model_ips = len(prepared) / (time.perf_counter() - t)
            peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.startswith("cuda") else None)
            row = {"model_images_per_s": model_ips, "peak_device_mb": peak}
            if numerics == "reference":
                t = time.perf_counter()
                load_features(tmp / "speed", extractor="inception-fid", weights=weights, batch_size=b,
                              device=device, workers=args.workers, cache=False, progress=False) if not small else \
                    _e2e_small(tmp / "speed", ext, b)
                row["end_to_end_images_per_s"] = len(files) / (time.perf_counter() - t)
            speed["by_batch"][f"{numerics}/{b}"] = row
    del prepared
    report["throughput"] = speed
    report["peak_host_rss_mb"] = peak_rss_mb()

    # 6. k-NN pass
    report["knn"] = {"n": knn_n, "d": knn_d,
                     "tflops_reference": knn_tflops(device, knn_n, knn_d, "reference"),
                     "tflops_fast": knn_tflops(device, knn_n, knn_d, "fast")}
    report["seconds"] = time.perf_counter() - t_all

    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def _e2e_small(path: Path, ext, batch: int):
    """End to end in the smoke run: the loader's own streaming with the small-input extractor."""
    from genbench.samples import open_samples

    s = open_samples(path)
    out = [ext(b)[0] for b, _ in s.batches(batch, ext.prepare, workers=0)]
    return np.concatenate(out)


if __name__ == "__main__":
    sys.exit(main())
