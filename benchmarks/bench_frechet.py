"""FID speed and agreement: genbench vs pytorch-fid, clean-fid, torch-fidelity, torchmetrics.

Same float32 features for everyone, in one process. Two paths are timed:
  * "stats":    the distance from saved (mu, sigma) alone;
  * "features": the whole path, mean/covariance from (n, d) features plus the distance.
Run:  python benchmarks/bench_frechet.py [--n 10000 2000] [--d 2048]
Peers that cannot be imported are reported as missing. Prints seconds, our speed-up and the value.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from peers import import_peer  # benchmarks/peers.py: peers behind an inert torchvision stand-in

import metrics


def make_features(n: int, d: int, seed: int) -> np.ndarray:
    """Correlated, non-isotropic features like a network's (low-rank signal + noise), float32."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(64, d)) / 8
    return (rng.normal(size=(n, 64)) @ basis + 0.5 * rng.normal(size=(n, d)) + 0.1 * seed).astype(np.float32)


def timed(fn, repeat: int):
    best, value = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, float(value)


def peers_from_stats():
    out = {}
    try:
        pf = import_peer("pytorch_fid.fid_score")
        out["pytorch-fid (sqrtm)"] = lambda m1, s1, m2, s2: pf.calculate_frechet_distance(m1, s1, m2, s2)
    except ImportError as exc:
        print(f"pytorch-fid missing: {exc}")
    try:
        cf = import_peer("cleanfid.fid")
        out["clean-fid (sqrtm)"] = lambda m1, s1, m2, s2: cf.frechet_distance(m1, s1, m2, s2)
    except ImportError as exc:
        print(f"clean-fid missing: {exc}")
    try:
        tf = import_peer("torch_fidelity.metric_fid")
        out["torch-fidelity (eigvals)"] = lambda m1, s1, m2, s2: tf.fid_statistics_to_metric(
            {"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, False)["frechet_inception_distance"]
    except ImportError as exc:
        print(f"torch-fidelity missing: {exc}")
    try:
        tm = import_peer("torchmetrics.image.fid")
        out["torchmetrics"] = lambda m1, s1, m2, s2: tm._compute_fid(
            *(torch.from_numpy(a) for a in (m1, s1, m2, s2)))
    except ImportError as exc:
        print(f"torchmetrics missing: {exc}")
    return out


def peers_from_features():
    out = {}
    stats = lambda x: (x.mean(0), np.cov(x, rowvar=False))  # noqa: E731  (pytorch-fid's own recipe)
    try:
        pf = import_peer("pytorch_fid.fid_score")
        out["pytorch-fid (sqrtm)"] = lambda x, y: pf.calculate_frechet_distance(*stats(x), *stats(y))
    except ImportError:
        pass
    try:
        cf = import_peer("cleanfid.fid")
        out["clean-fid (sqrtm)"] = cf.fid_from_feats
    except ImportError:
        pass
    try:
        tf = import_peer("torch_fidelity.metric_fid")
        out["torch-fidelity (eigvals)"] = lambda x, y: tf.fid_statistics_to_metric(
            tf.fid_features_to_statistics(torch.from_numpy(x)),
            tf.fid_features_to_statistics(torch.from_numpy(y)), False)["frechet_inception_distance"]
    except ImportError:
        pass
    try:
        tm = import_peer("torchmetrics.image.fid")

        class Identity(torch.nn.Module):  # features go straight into torchmetrics' accumulators
            num_features = None

            def forward(self, x):
                return x

        def torchmetrics_fid(x, y):
            Identity.num_features = x.shape[1]
            m = tm.FrechetInceptionDistance(feature=Identity(), normalize=False)
            m.update(torch.from_numpy(x), real=True)
            m.update(torch.from_numpy(y), real=False)
            return m.compute()

        out["torchmetrics"] = torchmetrics_fid
    except ImportError:
        pass
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 2_000])
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs (ours and fast peers)")
    args = parser.parse_args(argv)
    print(f"torch threads: {torch.get_num_threads()}")
    for n in args.n:
        x, y = make_features(n, args.d, 1), make_features(n, args.d, 2)
        s1, s2 = metrics.GaussianStats.from_features(x), metrics.GaussianStats.from_features(y)
        m1, c1, m2, c2 = s1.mean, s1.cov, s2.mean, s2.cov
        for path, ours, peers in (
            ("stats", lambda: metrics.frechet_distance(m1, c1, m2, c2), peers_from_stats()),
            ("features", lambda: metrics.fid(x, y).value, peers_from_features()),
        ):
            ours_t, ours_v = timed(ours, args.repeat)
            print(f"\n== n={n} d={args.d} from {path} ==")
            print(f"{'implementation':28s} {'seconds':>9s} {'ours x faster':>14s} {'value':>22s} {'rel diff':>10s}")
            print(f"{'genbench':28s} {ours_t:9.3f} {'':>14s} {ours_v:22.12f}")
            for name, fn in peers.items():
                args_ = (m1, c1, m2, c2) if path == "stats" else (x, y)
                reps = 1 if "sqrtm" in name else args.repeat
                t, v = timed(lambda: fn(*args_), reps)
                print(f"{name:28s} {t:9.3f} {t / ours_t:14.2f} {v:22.12f} {abs(v - ours_v) / abs(ours_v):10.2e}")


if __name__ == "__main__":
    main()
