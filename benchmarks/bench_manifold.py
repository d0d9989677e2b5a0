"""Precision / recall / density / coverage: genbench vs prdc vs torch-fidelity, time and peak memory.

Each contender runs in its own subprocess on the same arrays. Its peak resident memory is the
kernel's high-water mark (VmHWM) reset just before the call, so it is the call's own peak on top of
what the process already held; the table shows that peak and the growth over the resident size
just before the call (the float32 arrays, numpy and torch already loaded). Every contender is run
``--repeats`` times (default 2, interleaved) and the best time and lowest peak are reported, because
the machine may be shared. Values are printed side by side: they must agree exactly except where the
tie conventions differ (prdc: strict ``<``; torch-fidelity and genbench: ``<=``; ties do not occur
on continuous data).

    python benchmarks/bench_manifold.py                 # n = 10,000 per side, d = 2048
    python benchmarks/bench_manifold.py --n 2000        # quicker
    python benchmarks/bench_manifold.py --memory-check  # genbench alone at n = 50,000 (minutes)

Data: "Inception-like" features - non-negative, low intrinsic dimension, a large common mean:
``relu(z @ W + noise)`` with z in 64 dimensions; the generated set has a shifted latent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
K = 5


def make_data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((64, d)) / 8.0

    def feats(z):
        out = np.empty((len(z), d), dtype=np.float32)
        for s in range(0, len(z), 4096):  # in blocks, so generating 50,000 rows stays small
            x = z[s:s + 4096] @ w + 0.3 * rng.standard_normal((len(z[s:s + 4096]), d))
            out[s:s + 4096] = np.maximum(x, 0.0)
        return out

    real = feats(rng.standard_normal((n, 64)))
    generated = feats(rng.standard_normal((n, 64)) + 0.2)
    return real, generated


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def worker(which: str, n: int, d: int) -> dict:
    real, generated = make_data(n, d)
    if which == "genbench":
        import metrics

        def run():
            p, r = metrics.precision_recall(real, generated, k=K)
            dn, c = metrics.density_coverage(real, generated, k=K)
            return {"precision": p.value, "recall": r.value, "density": dn.value, "coverage": c.value}
    elif which == "genbench-pr":
        import metrics

        def run():
            p, r = metrics.precision_recall(real, generated, k=K)
            return {"precision": p.value, "recall": r.value}
    elif which == "prdc":
        import contextlib
        import io

        import prdc

        def run():
            with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample sizes
                out = prdc.compute_prdc(real, generated, nearest_k=K)
            return {key: float(v) for key, v in out.items()}
    elif which == "torch-fidelity":
        import torch
        from peers import import_peer  # benchmarks/peers.py, beside this script

        prc = import_peer("torch_fidelity.metric_prc")

        def run():
            # torch-fidelity's convention: features_1 = generated, features_2 = real
            out = prc.prc_features_to_metric(torch.from_numpy(generated), torch.from_numpy(real),
                                             prc_neighborhood=K, prc_batch_size=10000,
                                             save_cpu_ram=False, verbose=False)
            return {"precision": out["precision"], "recall": out["recall"]}
    else:
        raise SystemExit(f"unknown contender {which!r}")
    import torch  # noqa: F401  (loaded before measuring, for every contender alike)

    _reset_peak()  # the peak below is the call's own, not the data generation's
    before = _status_mb("VmRSS")
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    values = run()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    peak = _status_mb("VmHWM")
    return {"which": which, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak,
            "growth_mb": peak - before, "values": values}


def spawn(which: str, n: int, d: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", which, "--n", str(n), "--d", str(d)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=os.environ.copy())
    if out.returncode != 0:
        raise RuntimeError(f"{which} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--worker")
    ap.add_argument("--memory-check", action="store_true",
                    help="run genbench alone at n = 50,000 per side and report its peak memory")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.d)))
        return
    if args.memory_check:
        r = spawn("genbench", 50_000, args.d)
        print(f"n = 50,000 per side, d = {args.d}: {r['seconds']:.1f} s, peak RSS {r['peak_mb']:.0f} MB "
              f"(growth during the call {r['growth_mb']:.0f} MB); values {r['values']}")
        return

    names = ["genbench", "genbench-pr", "prdc", "torch-fidelity"]
    runs: dict[str, list[dict]] = {w: [] for w in names}
    for _ in range(args.repeats):
        for w in names:
            runs[w].append(spawn(w, args.n, args.d))
    best = {w: {key: min(r[key] for r in rs) for key in ("seconds", "cpu_seconds", "peak_mb", "growth_mb")}
            | {"values": rs[0]["values"]} for w, rs in runs.items()}
    every = ", ".join(w + " " + "/".join(f"{r['seconds']:.1f}" for r in rs) for w, rs in runs.items())
    print(f"n = {args.n} per side, d = {args.d}, k = {K}; best of {args.repeats} (all wall times: {every})")
    print(f"{'contender':16s} {'wall s':>8s} {'CPU s':>8s} {'peak MB':>8s} {'growth MB':>9s}  "
          f"{'precision':>9s} {'recall':>8s} {'density':>8s} {'coverage':>8s}")
    for w in names:
        b = best[w]
        v = b["values"]
        cells = " ".join(f"{v[key]:>8.5f}" if key in v else f"{'-':>8s}"
                         for key in ("precision", "recall", "density", "coverage"))
        print(f"{w:16s} {b['seconds']:8.2f} {b['cpu_seconds']:8.2f} {b['peak_mb']:8.0f} "
              f"{b['growth_mb']:9.0f}  {cells}")
    g, p, t, gp = best["genbench"], best["prdc"], best["torch-fidelity"], best["genbench-pr"]
    print(f"genbench (all four) vs prdc: {p['seconds'] / g['seconds']:.2f}x wall, "
          f"{p['cpu_seconds'] / g['cpu_seconds']:.2f}x CPU; peak {g['peak_mb'] / p['peak_mb']:.2f} and "
          f"growth {g['growth_mb'] / p['growth_mb']:.2f} of prdc's")
    print(f"genbench (all four) vs torch-fidelity precision/recall: {t['seconds'] / g['seconds']:.2f}x "
          f"wall, {t['cpu_seconds'] / g['cpu_seconds']:.2f}x CPU; genbench precision/recall alone "
          f"{t['seconds'] / gp['seconds']:.2f}x wall, {t['cpu_seconds'] / gp['cpu_seconds']:.2f}x CPU")
    same = all(abs(g["values"][key] - p["values"][key]) < 1e-12 for key in p["values"])
    same &= all(abs(g["values"][key] - t["values"][key]) < 1e-6 for key in t["values"])
    print("values identical to prdc and torch-fidelity (float32 means):", same)


if __name__ == "__main__":
    main()
