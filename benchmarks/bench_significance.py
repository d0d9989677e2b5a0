"""Cost of the pairwise model comparisons of issue 13 (genbench.significance.compare), on by default.

Sections (pick with --only):
  * mixture: 11 models x every metric of the demo ``mixture`` suite (log_likelihood, parzen, fid,
    kid, mmd_test, c2st, kl, reverse_kl, spectrum, precision, recall, density, coverage), n = 1,000,
    d = 2 (ring-of-Gaussians models: noise, dropped modes, scale changes). Times the metric values
    as the runner computes them (each now also returns its leave-one-group-out replicates, and the
    leave-two-groups-out pair values of the second-order variance correction, where it has a fast path) and, separately, ``compare`` for all 55 pairs of every metric.
  * large: 5 models at n = 10,000, d = 2,048 (float32 features), fid, kid, precision, recall,
    density, coverage: metric values with replicates, then every pair's comparison.
  * ratio: one pair at n = 1,000, d = 2, per metric: today's label-permutation test
    (``generated_set_test``, 199 permutations, as on main) against ``compare`` for that pair
    (including the replicate or fold work of both models).
Run:  python benchmarks/bench_significance.py [--only mixture large ratio]
Timings are wall-clock; the machine may be shared (say so when reporting).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
import warnings

import numpy as np

import metrics
from genbench.significance import compare, generated_set_test
from metrics import manifold

warnings.simplefilter("ignore")

MIXTURE = ("log_likelihood", "parzen", "fid", "kid", "mmd_test", "c2st", "kl", "reverse_kl", "spectrum",
           "precision", "recall", "density", "coverage")
LARGE = ("fid", "kid", "precision", "recall", "density", "coverage")


def ring(n, rng, modes=range(8), sd=0.5, noise=0.0, scale=1.0):
    modes = np.asarray(list(modes))
    k = rng.integers(0, len(modes), n)
    ang = modes[k] * np.pi / 4
    x = (np.c_[4 * np.cos(ang), 4 * np.sin(ang)] + rng.normal(size=(n, 2)) * sd) * scale
    m = int(noise * n)
    x[:m] = rng.normal(size=(m, 2)) * 4.0
    return x


def mixture_models(n, seed=0):
    rng = np.random.default_rng(seed)
    kinds = [dict(), dict(noise=0.05), dict(noise=0.1), dict(noise=0.2), dict(modes=range(7)),
             dict(modes=range(6)), dict(modes=[0, 2, 4, 6]), dict(sd=0.7), dict(sd=0.35), dict(scale=1.1),
             dict(scale=0.9)]
    return ring(n, rng), {f"m{i}": ring(n, rng, **kw) for i, kw in enumerate(kinds)}


def _options(spec, seed, n):
    opts = {"seed": seed} if "seed" in spec.options else {}
    if spec.name == "kid":
        opts["subset_size"] = n // 2  # as the demo does
    return opts


def score_and_compare(ref, models, names, seed=0, log_probs=None):
    """(seconds for the metric values, seconds for compare, number of comparisons)."""
    t_metric = t_compare = 0.0
    count = 0
    manifold._clear_memo()
    for name in names:
        spec = metrics.get_metric(name)
        opts = _options(spec, seed, len(ref))
        t0 = time.perf_counter()
        if spec.needs == "log_probs":
            args = {m: (log_probs[m],) for m in models}
        else:
            args = {m: (ref, x) for m, x in models.items()}
        results = {m: spec.func(*a, **opts) for m, a in args.items()}
        t1 = time.perf_counter()
        comps = compare(spec, args, results, options=opts, seed=seed)
        t2 = time.perf_counter()
        t_metric += t1 - t0
        t_compare += t2 - t1
        count += len(comps)
        failed = [c for c in comps if c.status != "ok"]
        print(f"  {name:15s} values {t1 - t0:7.2f} s   compare {t2 - t1:7.2f} s   {len(comps)} pairs"
              + (f"   {len(failed)} FAILED: {failed[0].error}" if failed else ""), flush=True)
    return t_metric, t_compare, count


def section_mixture():
    ref, models = mixture_models(1000)
    rng = np.random.default_rng(1)
    log_probs = {m: rng.normal(size=1000) - 4.0 - 0.01 * i for i, m in enumerate(models)}
    t_m, t_c, count = score_and_compare(ref, models, MIXTURE, log_probs=log_probs)
    print(f"mixture (11 models, n=1000, d=2): metric values {t_m:.1f} s, comparisons {t_c:.1f} s "
          f"({count} pairs), total {t_m + t_c:.1f} s")


def section_large():
    rng = np.random.default_rng(0)
    n, d = 10_000, 2048
    base = rng.normal(size=(d, d)).astype(np.float32) / np.sqrt(d)
    ref = (rng.normal(size=(n, d)).astype(np.float32) @ base)
    models = {f"m{i}": (rng.normal(size=(n, d)).astype(np.float32) * (1 + 0.02 * i)) @ base for i in range(5)}
    t_m, t_c, count = score_and_compare(ref, models, LARGE)
    print(f"large (5 models, n=10000, d=2048): metric values {t_m:.1f} s, comparisons {t_c:.1f} s "
          f"({count} pairs), total {t_m + t_c:.1f} s")


def section_ratio():
    ref, models = mixture_models(1000)
    a, b = models["m0"], models["m2"]
    print(f"{'metric':15s} {'permutation (199)':>18s} {'compare, 1 pair':>16s} {'ratio':>7s}")
    for name in ("fid", "kid", "mmd", "precision", "recall", "density", "coverage", "c2st", "kl"):
        spec = metrics.get_metric(name)
        opts = _options(spec, 0, 1000)
        manifold._clear_memo()
        t0 = time.perf_counter()
        generated_set_test(lambda g: spec.func(ref, g, **opts).value, a, b, n_permutations=199, max_n=1000, seed=0)
        t_perm = time.perf_counter() - t0
        manifold._clear_memo()
        metrics.classifier._AUTO_FITS.clear()  # no fit of the permutation test may be reused
        t0 = time.perf_counter()
        results = {m: spec.func(ref, x, **opts) for m, x in (("a", a), ("b", b))}
        compare(spec, {"a": (ref, a), "b": (ref, b)}, results, options=opts, seed=0)
        t_ours = time.perf_counter() - t0
        print(f"{name:15s} {t_perm:16.2f} s {t_ours:14.2f} s {t_perm / t_ours:7.1f}x", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=["mixture", "ratio", "large"])
    args = parser.parse_args()
    for section in args.only:
        print(f"== {section}", flush=True)
        {"mixture": section_mixture, "large": section_large, "ratio": section_ratio}[section]()
