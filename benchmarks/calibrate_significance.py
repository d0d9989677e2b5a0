"""Level, power and interval coverage of genbench.significance / metrics.resampling, by simulation.

Worlds (2-D): the reference is 8 Gaussians on a ring (radius 4, sd 0.5, equal weights).

Level (two models of equal expected quality by symmetry, different distributions):
  ``alternate``: A = modes 0,2,4,6; B = modes 1,3,5,7 (a rotation of A by 45 degrees).
  ``mirror``:    A = modes 0,1,2,3; B = A mirrored about the x-axis (modes 0,7,6,5); the reference is
                 symmetric about that axis.
  ``tilt``:      A = all 8 modes, modes 1,2,3 twice as likely as 5,6,7; B = A mirrored about the x-axis.
                 Both cover the reference's support, so KL and reverse KL are finite (in ``alternate``
                 and ``mirror`` the dropped modes make KL(P||A) = KL(P||B) = inf, reported as lower
                 bounds and not tested).
  ``skew``:      the same with weights 5 : 3 : 1 (modes 1-3 : 0, 4 : 5-7): KL(P||A) = 0.22, KL(A||P) =
                 0.18, which the default classifier sees at n = 500 (in ``tilt`` it keeps the
                 constant model: both estimates are exactly 0).
  ``widen``:     all 8 modes, modes 1,2,3 twice as wide (sd 1.0); B = A mirrored. KL finite; the rbf
                 candidate wins every fit at n = 1,000 (boosting or the k-NN ratio won a third before it).
  ``KIND-4d``:   any of these with two more N(0, 1) coordinates: "auto" has no rbf or quartic candidate
                 above 3-d, so in ``widen-4d`` at n = 2,000 boosting wins every fit (16 of 16 measured;
                 at n = 1,000 the constant model wins most).
Power: A = the true ring; B = the ring with 10% of samples replaced by broad noise (sd 4), or with one
mode dropped.

Usage: python benchmarks/calibrate_significance.py level|power METRICS CONSTRUCTION N SEEDS [CLASSIFIER]
       python benchmarks/calibrate_significance.py coverage METRICS WORLD N SEEDS
"""

import dataclasses
import sys
import time
import warnings

import numpy as np

import metrics
from genbench.significance import compare
from metrics import manifold

warnings.simplefilter("ignore")


def ring(n, rng, modes=range(8), radius=4.0, sd=0.5, weights=None):
    modes = np.asarray(list(modes))
    k = rng.choice(len(modes), size=n, p=weights) if weights is not None else rng.integers(0, len(modes), n)
    ang = modes[k] * np.pi / 4
    return np.c_[radius * np.cos(ang), radius * np.sin(ang)] + rng.normal(size=(n, 2)) * sd


def construct(kind, n, rng):
    if kind.endswith("-4d"):
        # the same construction with two more N(0, 1) coordinates for every set: no equal-quality
        # structure changes, but the few-dimension candidates of "auto" (quartic, rbf) drop out
        sets = construct(kind[:-3], n, rng)
        return tuple(np.hstack([x, rng.normal(size=(len(x), 2))]) for x in sets)
    ref = ring(n, rng)
    if kind == "alternate":
        return ref, ring(n, rng, [0, 2, 4, 6]), ring(n, rng, [1, 3, 5, 7])
    if kind == "mirror":
        b = ring(n, rng, [0, 1, 2, 3])
        b[:, 1] *= -1
        return ref, ring(n, rng, [0, 1, 2, 3]), b
    if kind == "tilt":
        w = np.array([1.5, 2, 2, 2, 1.5, 1, 1, 1]) / 12.0
        b = ring(n, rng, weights=w)
        b[:, 1] *= -1
        return ref, ring(n, rng, weights=w), b
    if kind == "skew":
        w = np.array([3, 5, 5, 5, 3, 1, 1, 1]) / 24.0
        b = ring(n, rng, weights=w)
        b[:, 1] *= -1
        return ref, ring(n, rng, weights=w), b
    if kind == "widen":
        # every mode kept; A's modes 1, 2, 3 twice as wide (sd 1.0), B = A mirrored: finite KLs that a
        # polynomial sees only in part (the rbf candidate wins; in widen-4d boosting or the k-NN ratio)
        def widened():
            x = ring(n, rng)
            mode = np.round(np.arctan2(x[:, 1], x[:, 0]) / (np.pi / 4)) % 8
            centre = 4.0 * np.c_[np.cos(mode * np.pi / 4), np.sin(mode * np.pi / 4)]
            wide = np.isin(mode, [1, 2, 3])
            x[wide] = centre[wide] + (x[wide] - centre[wide]) * 2.0
            return x

        a, b = widened(), widened()
        b[:, 1] *= -1
        return ref, a, b
    if kind == "noise":
        b = ring(n, rng)
        b[: n // 10] = rng.normal(size=(n // 10, 2)) * 4.0
        return ref, ring(n, rng), b
    if kind == "drop":
        return ref, ring(n, rng), ring(n, rng, range(7))
    raise ValueError(kind)


CLASSIFIER = "auto"  # the default; the 6th command-line argument overrides it


def options(name, n, seed):
    spec = metrics.get_metric(name)
    opts = {"seed": seed} if "seed" in spec.options else {}
    if name == "kid":
        opts["subset_size"] = n // 2
    if name in ("c2st", "kl", "reverse_kl", "spectrum", "js"):
        opts["classifier"] = CLASSIFIER
    if name in ("kl", "reverse_kl", "spectrum", "js"):
        opts["n_bootstrap"] = 0  # the paired test uses the row terms, not the bootstrap
    return spec, opts


def test_pairs(names, kind, n, seeds):
    rej = {k: [] for k in names}
    for s in range(seeds):
        ref, a, b = construct(kind, n, np.random.default_rng([s, 99]))
        manifold._clear_memo()
        for name in names:
            spec, opts = options(name, n, s)
            res = {m: spec.func(ref, x, **opts) for m, x in (("a", a), ("b", b))}
            (c,) = compare(spec, {"a": (ref, a), "b": (ref, b)}, res, options=opts, seed=s)
            rej[name].append(c.pvalue)
    return {k: np.array(v) for k, v in rej.items()}


def world(kind, n, rng):
    """(reference, model) for the coverage worlds: ``ring`` (model = ring with 10% noise), ``gauss``."""
    if kind == "ring":
        _, _, b = construct("noise", n, rng)
        return ring(n, rng), b
    return rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) * 1.2 + [0.5, 0.0]


def coverage(names, kind, n, seeds):
    """{metric: (fraction of seeds whose 95% interval covers the target, what the target is)}.

    Targets: FID and energy, the jackknife bias-corrected plug-in on 20,000 rows per set (the
    population value); KID, the full-sample unbiased polynomial-kernel MMD^2 on 20,000 rows (KID's
    expectation, which does not depend on n); k-NN metrics, whose estimand is the expectation at
    these sample sizes, the mean of the values over the seeds.
    """
    big = {}
    for name in names:
        spec, opts = options(name, 20000, 0)
        if name in ("fid", "kid", "energy"):
            r, g = world(kind, 20000, np.random.default_rng(12345))
            if name == "kid":
                big[name] = metrics.mmd(r, g, kernel="polynomial").value
            else:
                big[name] = spec.func(r, g, **opts).extras["bias_corrected"]
    vals = {k: [] for k in names}
    cis = {k: [] for k in names}
    for s in range(seeds):
        r, g = world(kind, n, np.random.default_rng([s, 7]))
        manifold._clear_memo()
        for name in names:
            spec, opts = options(name, n, s)
            res = spec.func(r, g, **opts)
            vals[name].append(res.value)
            cis[name].append((res.ci.low, res.ci.high))
    out = {}
    for name in names:
        truth = big.get(name, float(np.mean(vals[name])))
        lo, hi = np.array(cis[name]).T
        out[name] = (round(float(((lo <= truth) & (truth <= hi)).mean()), 3),
                     "large sample" if name in big else "mean over seeds")
    return out


if __name__ == "__main__":
    what, names, kind, n, seeds = sys.argv[1], sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if len(sys.argv) > 6:
        CLASSIFIER = sys.argv[6]
    t0 = time.perf_counter()
    if what in ("level", "power"):
        p = test_pairs(names, kind, n, seeds)
        alpha = 0.05 if what == "level" else 0.01
        print(what, kind, n, seeds, {k: round(float((v < alpha).mean()), 4) for k, v in p.items()},
              "not tested:", {k: int(np.isnan(v).sum()) for k, v in p.items()}, f"{time.perf_counter() - t0:.0f}s",
              flush=True)
    else:  # coverage of the metric's own interval
        out = coverage(names, kind, n, seeds)
        print("coverage", kind, n, seeds, out, f"{time.perf_counter() - t0:.0f}s", flush=True)
