"""Parzen-window log-likelihood: genbench (chunked, float64) vs scipy.stats.gaussian_kde, sklearn KernelDensity
and a one-shot numpy implementation, side by side in one process.

    python benchmarks/bench_likelihood.py                      # 2000 x 2000 x 784, every method
    python benchmarks/bench_likelihood.py --n 10000 --only-ours  # the GAN-paper size, ours only

Prints seconds (best of ``--repeats``), the ratio to ours, the mean log-likelihood each method
returns and the peak of memory traced by ``tracemalloc`` (numpy allocations; memory malloc'ed inside
compiled peers is not traced, so their column is a lower bound). The machine may be shared: run twice.

scipy's kernel covariance is ``factor^2 * cov(samples)``, not isotropic; its row is computed on the
same data and compared to ours on whitened data (``x -> L^-1 x``, ``cov = L L^T``) plus the log-Jacobian
``-log det L``, which is the same density.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics.likelihood import parzen_log_likelihood  # noqa: E402


def _timed(fn, repeats):
    best, value, peak = math.inf, None, 0
    for _ in range(repeats):
        tracemalloc.start()
        t0 = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - t0
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        best = min(best, elapsed)
    return best, value, peak


def _naive(test, samples, s):
    from scipy.special import logsumexp

    sq = (test**2).sum(1)[:, None] + (samples**2).sum(1)[None, :] - 2.0 * test @ samples.T
    np.maximum(sq, 0.0, out=sq)
    d = test.shape[1]
    lp = logsumexp(-sq / (2 * s * s), axis=1) - math.log(len(samples)) - d * math.log(s * math.sqrt(2 * math.pi))
    return float(lp.mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="test rows and model samples")
    ap.add_argument("--dim", type=int, default=784)
    ap.add_argument("--bandwidth", type=float, default=0.2)
    ap.add_argument("--chunk-size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only-ours", action="store_true", help="skip the peers (for the 10k size)")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    # image-like data: values in [0, 1] with correlated pixels (a random low-rank map through a sigmoid)
    basis = rng.normal(size=(32, args.dim)) / 4.0

    def draw(n):
        return 1.0 / (1.0 + np.exp(-(rng.normal(size=(n, 32)) @ basis + 0.02 * rng.normal(size=(n, args.dim)))))

    test, samples, val = draw(args.n), draw(args.n), draw(min(args.n, 1000))
    s = args.bandwidth
    rows = []

    t, r, mem = _timed(lambda: parzen_log_likelihood(test, samples, bandwidth=s, chunk_size=args.chunk_size),
                       args.repeats)
    ours = (t, r.value, mem)
    rows.append(("genbench parzen (fixed s)", t, r.value, mem))
    t, r, mem = _timed(lambda: parzen_log_likelihood(test, samples, validation=val, chunk_size=args.chunk_size),
                       args.repeats)
    rows.append((f"genbench parzen (cv, {len(r.extras['grid'])}-pt grid, +{len(val)} val)", t, r.value, mem))

    if not args.only_ours:
        from sklearn.neighbors import KernelDensity
        from scipy.stats import gaussian_kde

        t, v, mem = _timed(lambda: _naive(test, samples, s), args.repeats)
        rows.append(("numpy one-shot (full n x n matrix)", t, v, mem))
        t, v, mem = _timed(lambda: float(KernelDensity(bandwidth=s).fit(samples).score_samples(test).mean()),
                           args.repeats)
        rows.append(("sklearn KernelDensity (kd-tree)", t, v, mem))
        factor = 0.5
        t, v, mem = _timed(lambda: float(gaussian_kde(samples.T, bw_method=factor).logpdf(test.T).mean()),
                           args.repeats)
        chol = np.linalg.cholesky(np.cov(samples.T))
        w = np.linalg.inv(chol)
        t_o, r_o, mem_o = _timed(
            lambda: parzen_log_likelihood(test @ w.T, samples @ w.T, bandwidth=factor, chunk_size=args.chunk_size),
            args.repeats)
        jac = float(np.log(np.diag(chol)).sum())
        rows.append(("scipy gaussian_kde (factor 0.5, full cov)", t, v, mem))
        rows.append(("genbench on whitened data, same density", t_o, r_o.value - jac, mem_o))

    print(f"Parzen log-likelihood, {args.n} test x {args.n} samples x {args.dim} dims, s = {s}, "
          f"chunk {args.chunk_size}, best of {args.repeats}")
    print(f"{'method':<52} {'seconds':>9} {'x ours':>8} {'mean log p':>16} {'peak MB':>9}")
    for name, t, v, mem in rows:
        print(f"{name:<52} {t:9.2f} {t / ours[0]:8.2f} {v:16.8f} {mem / 2**20:9.1f}")


if __name__ == "__main__":
    main()
