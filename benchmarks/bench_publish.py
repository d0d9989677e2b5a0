"""Publish time against board size: 25 / 50 / 100 / 200 models x 15 metrics (target: 100 x 15 < 5 s).

Synthetic results with the shape of a real run: 2 likelihood metrics and 13 sample-quality metrics,
every metric compared on every pair of models (Holm-adjusted p-values, intervals on the likelihood
differences), so the findings scan and the rank groups work on full tables. Times are wall-clock for
``publish`` (report, figures, every file, atomic swap) and, separately, for building the board.

    python benchmarks/bench_publish.py [--sizes 25 50 100 200]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

from genbench import Leaderboard
from genbench.publish import publish
from genbench.results import Comparison, ResultRow, ResultSet
from metrics import ConfidenceInterval

LIKELIHOOD = ("log_likelihood", "parzen")
QUALITY = ("fid", "kid", "mmd_test", "c2st", "kl", "reverse_kl", "spectrum", "precision", "recall", "density",
           "coverage", "energy", "vendi")


def synthetic(n_models: int, seed: int = 0) -> ResultSet:
    rng = np.random.default_rng(seed)
    names = [f"model-{i:03d}" for i in range(n_models)]
    skill = rng.normal(size=n_models)
    rows, comps = [], []
    metrics = [(m, True, "likelihood") for m in LIKELIHOOD] + [(m, m in ("precision", "recall", "density",
                                                                           "coverage", "vendi"), "perceptual")
                                                              for m in QUALITY]
    values = {}
    for metric, hib, group in metrics:
        sign = 1.0 if hib else -1.0
        v = sign * (skill + 0.8 * rng.normal(size=n_models)) + (0 if hib else 5.0)
        values[metric] = v
        for name, x in zip(names, v):
            rows.append(ResultRow(name, metric, float(x), hib, group=group, ci=ConfidenceInterval(x - 0.1, x + 0.1),
                                  n=(1000, 1000), extractor="identity", reference="real.npy", reference_hash="ab" * 32,
                                  seed=0))
    for metric, hib, _ in metrics:
        v = values[metric]
        pairs = list(itertools.combinations(range(n_models), 2))
        raw = np.array([min(1.0, np.exp(-8 * abs(v[i] - v[j]))) for i, j in pairs])
        adjusted = np.minimum(1.0, raw * len(pairs))
        for (i, j), p, q in zip(pairs, raw, adjusted):
            d = float(v[i] - v[j])
            comps.append(Comparison(metric, names[i], names[j], d, float(p), hib, pvalue_adjusted=float(q),
                                    adjustment=f"holm over {len(pairs)} pairs of {metric}", method="synthetic",
                                    ci=ConfidenceInterval(d - 0.2, d + 0.2)))
    return ResultSet(tuple(rows), tuple(comps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    args = parser.parse_args()
    import matplotlib.figure  # noqa: F401  (imported once per process; not part of any publish)

    print(f"{'models':>6} {'metrics':>7} {'comparisons':>11} {'board s':>8} {'publish s':>9} {'findings':>8} "
          f"{'md KB':>6} {'html KB':>7}")
    for n in args.sizes:
        data = synthetic(n)
        t0 = time.perf_counter()
        board = Leaderboard(data)
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            out = publish(board, Path(tmp) / "board")
            t2 = time.perf_counter()
            md = (out / "leaderboard.md").stat().st_size / 1024
            page = (out / "leaderboard.html").stat().st_size / 1024
        print(f"{n:>6} {len(LIKELIHOOD) + len(QUALITY):>7} {len(data.comparisons):>11} {t1 - t0:>8.2f} "
              f"{t2 - t1:>9.2f} {len(board.findings()):>8} {md:>6.1f} {page:>7.0f}")


if __name__ == "__main__":
    main()
