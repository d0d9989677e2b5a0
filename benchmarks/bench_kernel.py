"""Kernel family speed and agreement: genbench vs hyppo (MMD permutation test), torch-fidelity (KID).

Everything runs in one process on the same arrays. Sections (pick with --only):
  * mmd_test: Gaussian-kernel, median-bandwidth, unbiased MMD^2 permutation test at n = 500 per side,
    d = 64, 500 permutations, against hyppo.ksample.MMD().test(reps=500, auto=False); then ours at
    n = 2000 per side with 1000 permutations, against hyppo's time extrapolated from two short runs
    (hyppo's cost is linear in reps; --hyppo-full runs it for real, which takes many minutes).
    hyppo's statistic is our MMD_u^2 times a factor of the pooled sample only (see
    tests/metrics/test_kernel.py); we compare after that exact rescaling.
  * kid: 100 subsets x 1000 at n = 10,000 (the issue's case) and 5,000 per side, d = 2048, float32
    features, against torch-fidelity's kid_features_to_metric on the *same* subsets (we replay its
    RandomState draws). The exact reference is torch-fidelity run on float64 copies of the features.
    At 10,000 per side the per-subset route is used; at 5,000 the pooled one (see metrics.kernel.kid).
  * memory: mmd and energy_distance at n = 5,000 and 20,000 per side, d = 64: peak traced memory
    (numpy allocations are visible to tracemalloc) against what a pooled float64 matrix would take.
Run:  python benchmarks/bench_kernel.py [--only mmd_test kid memory] [--repeat 2]
Timings are wall-clock best-of-``--repeat`` (slow peers run once); the machine may be shared.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np
import torch
from peers import import_peer  # benchmarks/peers.py: peers behind an inert torchvision stand-in
from scipy.spatial.distance import cdist

import metrics
from metrics import kernel as kernel_module


_CPU = {}  # best process CPU seconds of the last timed() call, by label


def timed(fn, repeat: int, label=None):
    """Best wall-clock seconds over ``repeat`` runs (and the best CPU seconds, kept in _CPU[label])."""
    best, best_cpu, value = np.inf, np.inf, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    _CPU[label] = best_cpu
    return best, value


def row(name, seconds, ratio, value, rel, cpu=None):
    ratio_s = f"{ratio:14.2f}" if ratio is not None else f"{'':>14s}"
    rel_s = f"{rel:10.2e}" if rel is not None else f"{'':>10s}"
    cpu_s = f"{cpu:9.2f}" if cpu is not None else f"{'':>9s}"
    print(f"{name:44s} {seconds:10.3f} {cpu_s} {ratio_s} {value:24.15g} {rel_s}")


def header(title):
    print(f"\n== {title} ==")
    print(f"{'implementation':44s} {'seconds':>10s} {'cpu s':>9s} {'ours x faster':>14s} {'value':>24s} "
          f"{'rel diff':>10s}")


def hyppo_factor(x, y):
    """hyppo's MMD statistic / our unbiased MMD^2 (n = m): depends on the pooled sample only."""
    n, z = len(x), np.vstack([x, y])
    N = len(z)
    d = cdist(z, z)
    sigma = np.median(d[np.triu_indices(N, 1)])
    K = np.exp(-(d**2) / (2 * sigma**2))

    def u_centre(a):
        c = a - a.sum(0)[None] / (N - 2) - a.sum(1)[:, None] / (N - 2) + a.sum() / ((N - 1) * (N - 2))
        np.fill_diagonal(c, 0.0)
        return c

    labels = np.arange(N) < n
    a_norm = np.sum(u_centre(1 - K / K.max()) ** 2)
    b_norm = np.sum(u_centre((labels[:, None] != labels[None]).astype(float)) ** 2)
    return (2 * n**4 / N**4) * (n**2 * (n - 1) / (2 * n - 1)) / (K.max() * math.sqrt(a_norm * b_norm))


def bench_mmd_test(args):
    from hyppo.ksample import MMD

    rng = np.random.default_rng(0)
    for n, perms in ((500, 500), (2000, 1000)):
        d = 64
        x = rng.normal(size=(n, d))
        y = rng.normal(size=(n, d)) * 1.02 + 0.02
        header(f"mmd_test: n={n} per side, d={d}, {perms} permutations (Gaussian, median bandwidth, unbiased)")
        ours_t, ours = timed(lambda: metrics.mmd_test(x, y, n_permutations=perms, seed=1), args.repeat, "ours")
        factor = hyppo_factor(x, y)
        row("genbench mmd_test (hyppo-scaled statistic)", ours_t, None, factor * ours.value, None, _CPU["ours"])
        print(f"{'':44s} {'':10s} {'':9s} {'':14s} {'p-value ' + format(ours.pvalue, '.4g'):>24s}")
        MMD().statistic(x[:20], y[:20])  # numba compilation outside the timing
        if n == 500 or args.hyppo_full:
            t0 = time.perf_counter()
            stat, p = MMD().test(x, y, reps=perms, auto=False, random_state=1)
            hyppo_t = time.perf_counter() - t0
            label = f"hyppo MMD().test(reps={perms}, auto=False)"
        else:  # linear in reps: fit fixed + per-rep cost from two short runs
            times = {}
            for reps in (args.hyppo_reps, 3 * args.hyppo_reps):
                t0 = time.perf_counter()
                stat, p = MMD().test(x, y, reps=reps, auto=False, random_state=1)
                times[reps] = time.perf_counter() - t0
            per_rep = (times[3 * args.hyppo_reps] - times[args.hyppo_reps]) / (2 * args.hyppo_reps)
            hyppo_t = times[args.hyppo_reps] + per_rep * (perms - args.hyppo_reps)
            label = f"hyppo, {perms} reps EXTRAPOLATED from {args.hyppo_reps}/{3 * args.hyppo_reps}"
            print(f"   (hyppo measured {times[args.hyppo_reps]:.1f} s at reps={args.hyppo_reps}, "
                  f"{times[3 * args.hyppo_reps]:.1f} s at reps={3 * args.hyppo_reps}: {per_rep:.3f} s per rep)")
        row(label, hyppo_t, hyppo_t / ours_t, stat, abs(stat - factor * ours.value) / abs(stat))
        print(f"{'':44s} {'':10s} {'':9s} {'':14s} {'p-value ' + format(p, '.4g'):>24s}")


def bench_kid(args):
    tf = import_peer("torch_fidelity.metric_kid")
    d, subsets, size, seed = 2048, 100, 1000, 2020
    for n in args.kid_n:
        rng = np.random.default_rng(0)
        # non-negative, Inception-pool-like features; generated slightly rescaled
        x = np.abs(rng.standard_normal((n, d), dtype=np.float32))
        y = np.abs(rng.standard_normal((n, d), dtype=np.float32)) * np.float32(1.02)
        header(f"KID: {subsets} subsets x {size} at n={n} per side, d={d}, float32 features")
        legacy = np.random.RandomState(seed)  # torch-fidelity's draws, replayed
        idx = [(legacy.choice(n, size, replace=False), legacy.choice(n, size, replace=False)) for _ in range(subsets)]
        real_idx, gen_idx = np.array([i for i, _ in idx]), np.array([j for _, j in idx])
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        kw = dict(kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False)
        exact = tf.kid_features_to_metric(tx.double(), ty.double(), **kw)["kernel_inception_distance_mean"]
        results = {}
        for strategy in ("auto", "subsets", "pooled"):
            if strategy != "auto" and not args.kid_both:
                continue
            results[strategy] = timed(
                lambda: kernel_module._kid_subset_values(x, y, real_idx, gen_idx, strategy=strategy).mean(),
                args.repeat, strategy)
        public_t, public = timed(lambda: metrics.kid(x, y, subsets=subsets, subset_size=size, seed=0).value,
                                 args.repeat, "public")
        tf_t, tf_v = timed(lambda: tf.kid_features_to_metric(tx, ty, **kw)["kernel_inception_distance_mean"],
                           args.repeat, "tf")
        for strategy, (t, v) in results.items():
            row(f"genbench, same subsets, route={strategy}", t, tf_t / t, v, abs(v - exact) / abs(exact),
                _CPU[strategy])
        row("genbench metrics.kid (own subsets)", public_t, tf_t / public_t, public, None, _CPU["public"])
        row("torch-fidelity float32", tf_t, None, tf_v, abs(tf_v - exact) / abs(exact), _CPU["tf"])
        print(f"{'exact: torch-fidelity on float64 copies':44s} {'':>10s} {'':>9s} {'':>14s} {exact:24.15g}")
        print("(ratio: torch-fidelity wall seconds / this row's; cpu s: process CPU time, BLAS threads included)")


def bench_memory(args):
    d = 64
    print(f"\n== memory: mmd / energy_distance, d={d}; peak traced allocations (tracemalloc sees numpy's) ==")
    print(f"{'call':44s} {'seconds':>10s} {'peak MB':>10s} {'inputs MB':>10s} {'N x N f64 GB':>13s} {'value':>22s}")
    for n in args.memory_n:
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.01
        for name, fn in ((f"mmd n={n}/side (chunk_size=1024)", lambda: metrics.mmd(x, y)),
                         (f"energy_distance n={n}/side (chunk_size=1024)", lambda: metrics.energy_distance(x, y))):
            tracemalloc.start()
            t0 = time.perf_counter()
            res = fn()
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            print(f"{name:44s} {seconds:10.2f} {peak:10.1f} {(x.nbytes + y.nbytes) / 1e6:10.1f} "
                  f"{(2 * n) ** 2 * 8 / 1e9:13.1f} {res.value:22.15g}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["mmd_test", "kid", "memory"],
                        choices=["mmd_test", "kid", "memory"])
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs (ours and fast peers)")
    parser.add_argument("--hyppo-reps", type=int, default=5, help="short hyppo runs for the n=2000 extrapolation")
    parser.add_argument("--hyppo-full", action="store_true", help="run hyppo at n=2000 with 1000 reps for real")
    parser.add_argument("--kid-n", type=int, nargs="+", default=[10_000, 5_000], help="KID sample sizes per side")
    parser.add_argument("--kid-both", action="store_true", help="also time both KID routes explicitly")
    parser.add_argument("--memory-n", type=int, nargs="+", default=[5_000, 20_000])
    args = parser.parse_args(argv)
    print(f"torch threads: {torch.get_num_threads()}")
    sections = {"mmd_test": bench_mmd_test, "kid": bench_kid, "memory": bench_memory}
    for name in args.only:
        sections[name](args)


if __name__ == "__main__":
    main()
