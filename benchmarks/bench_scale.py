"""Scale-out on the CPU and memory at scale.

1. **1 vs N processes** (``torchrun``, gloo): ``genbench score`` of two image directories with
   ``random-cnn``, once as one process and once under ``python -m torch.distributed.run
   --nproc-per-node N``, each with an empty feature cache (cold) and again with everything cached
   (warm: start-up, scan, hashing and scoring only). Extraction time = cold - warm. Reported:
   images/s (cold wall, and extraction only) and scaling efficiency = (t1 / tN) / N on the
   extraction time. Both results files are compared byte for byte.

2. **Peak RSS of FID statistics streamed over shards** (a fresh process): ``--rows`` x ``--dim``
   float32 features (default 1,000,000 x 2,048, i.e. 8 GB if held) are produced shard by shard
   (seeded normal rows, ``--shard`` rows each), each shard's float64 moments are computed exactly as
   a cache entry's are (:meth:`metrics.GaussianStats.update`), and the moments are folded in shard
   order, as :func:`genbench.features.shard_stats` does with cached shards. The features are never
   held whole.

On a 2-core machine, torch uses both cores in one process, and ``torchrun`` gives each of 2 ranks
one thread (``OMP_NUM_THREADS=1``), so ideal scaling there is well below 2x; what 2 ranks gain is
overlap of decoding, hashing and the network.

Run:  python benchmarks/bench_scale.py [--n 2000] [--nproc 2] [--rows 1000000] [--dim 2048]
      python benchmarks/bench_scale.py --memory-only      (part 2 alone)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_pngs(root: Path, n: int, size: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.BILINEAR).save(root / f"{i:06d}.png")


def run(cmd, cache: Path) -> tuple[float, str]:
    env = {**os.environ, "GENBENCH_CACHE": str(cache)}
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return dt, out.stdout


def scaling(n: int, nproc: int, batch: int, shard: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale-"))
    make_pngs(tmp / "real", n, 32, 0)
    make_pngs(tmp / "fake", n, 32, 1)
    args = ["score", str(tmp / "real"), str(tmp / "fake"), "--features", "random-cnn", "--metrics", "fid",
            "--batch-size", str(batch), "--shard-size", str(shard), "--format", "json", "-q"]
    one = [str(Path(sys.executable).parent / "genbench"), *args]
    many = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
            "-m", "genbench.cli", *args]
    res = {"images": 2 * n, "nproc": nproc, "batch": batch, "shard": shard}
    outs = {}
    for label, cmd in (("1", one), (str(nproc), many)):
        cold, outs[label] = run(cmd, tmp / f"cache{label}")
        warm, _ = run(cmd, tmp / f"cache{label}")
        res[f"p{label}"] = {"cold_s": cold, "warm_s": warm, "extract_s": cold - warm,
                            "images_per_s_cold": 2 * n / cold, "images_per_s_extract": 2 * n / (cold - warm)}
    t1, tn = res["p1"]["extract_s"], res[f"p{nproc}"]["extract_s"]
    res["speedup_extract"] = t1 / tn
    res["efficiency_extract"] = t1 / tn / nproc
    res["speedup_cold"] = res["p1"]["cold_s"] / res[f"p{nproc}"]["cold_s"]
    res["results_byte_identical"] = outs["1"] == outs[str(nproc)]
    return res


def stream_stats(rows: int, dim: int, shard: int) -> dict:
    """Part 2 body, run in a fresh process so its peak RSS is its own."""
    from metrics import GaussianStats

    rng = np.random.default_rng(0)
    acc = None
    t = time.perf_counter()
    done = 0
    while done < rows:
        m = min(shard, rows - done)
        x = rng.standard_normal((m, dim), dtype=np.float32)
        part = GaussianStats.empty(dim).update(x)  # the moments a shard's cache entry holds
        acc = part if acc is None else acc.merge(part)
        done += m
        del x, part
    dt = time.perf_counter() - t
    return {"rows": rows, "dim": dim, "shard": shard, "seconds": dt,
            "feature_bytes_if_held_gb": rows * dim * 4 / 1e9, "n": acc.n,
            "max_abs_mean": float(np.abs(acc.mean).max()), "cov_diag_mean": float(np.diag(acc.cov).mean()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="images per set (default 2000)")
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--shard", type=int, default=256)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--stream-shard", type=int, default=8192)
    p.add_argument("--memory-only", action="store_true")
    p.add_argument("--_stream", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._stream:
        print(json.dumps(stream_stats(args.rows, args.dim, args.stream_shard)))
        return 0
    report = {}
    if not args.memory_only:
        report["scaling"] = scaling(args.n, args.nproc, args.batch, args.shard)
        print(json.dumps(report["scaling"], indent=2), flush=True)
    out = subprocess.run([sys.executable, __file__, "--_stream", "--rows", str(args.rows), "--dim", str(args.dim),
                          "--stream-shard", str(args.stream_shard)], capture_output=True, text=True, check=True)
    report["fid_stats_streaming"] = json.loads(out.stdout)
    print(json.dumps(report["fid_stats_streaming"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
