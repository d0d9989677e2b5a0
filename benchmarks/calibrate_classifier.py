"""Why a classifier divergence's 95% interval misses: bias against spread, per world and pi, by simulation.

Coverage alone (``tests/metrics/test_classifier_worlds.py::test_coverage_over_50_seeds_at_n_2000``)
says *that* an interval under-covers; this says *why*. Over the seeds it prints, per pi:

- ``est/truth``: the mean estimate over the truth (a bias of the estimator: model approximation,
  shrinkage, small-sample terms the bias correction leaves);
- ``sd``: the spread of the estimates over the seeds (what an honest standard error should be),
  and ``se``: the mean standard error the interval implies (half-width / 1.96), both over the truth;
- ``bias/se``: the bias in units of that standard error (a 95% interval covers about 95%, 92%, 85%
  of the time at 0, 0.5, 1 with ``se = sd``);
- ``covered``: the share of intervals that contain the truth (a lower bound's one-sided interval:
  its lower end at or below the truth), and ``lower``: the share flagged as lower bounds;
- ``own`` and ``own sd``: the mean and spread over the seeds of (estimate - exact) / truth, where
  ``exact`` is the plug-in of the same rows with the exact log-ratio (what a perfect classifier would
  return): the estimator's own error, free of the draw's sampling noise;
- ``exact cov``: the share of seeds where the exact plug-in's own 95% interval (+-1.96 standard errors)
  covers the truth. A perfect classifier's coverage on these draws: below 0.95 when the block of seeds is
  unlucky (on the ring, seeds 0-49 give 0.88-0.90 at the interior, 2,000 other seeds 0.95-0.96).

The runs are the coverage test's own (``coverage_runs`` there: ``draw(world, n, 1000 + seed)``,
spectrum seed ``seed``, 300 bootstrap replicates), so a row here is the test's number with its decomposition.

Usage: python benchmarks/calibrate_classifier.py WORLD [N] [SEEDS] [CLASSIFIER]
       (WORLD: same-10d, same-64d, shift-10d, scale-10d, corr-2d, corr-10d, ring-vs-ml-gaussian,
       ring-vs-half-modes, banana-vs-ml-gaussian, support-mismatch; default N 2000, SEEDS 50, auto)
"""

import collections
import importlib.util
import pathlib
import sys
import warnings

import numpy as np


def _worlds():
    # the test module holds the worlds and their exact truths; tests/ is not a package (importlib mode)
    path = pathlib.Path(__file__).resolve().parents[1] / "tests" / "metrics" / "test_classifier_worlds.py"
    spec = importlib.util.spec_from_file_location("classifier_worlds", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(world, n=2000, seeds=50, classifier="auto"):
    w = _worlds()
    truth = w.true_d_pi(world)
    ratio, se, hit, lower, own, exact_hit, chosen = [], [], [], [], [], [], collections.Counter()
    for spec, covered, (exact, exact_se) in w.coverage_runs(world, seeds, n, classifier):
        high = np.array([np.nan if h is None else h for h in spec.ci_high], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio.append(np.array(spec.d_pi) / truth)
            se.append((high - np.array(spec.ci_low)) / 2 / 1.96 / truth)
            own.append((np.array(spec.d_pi) - exact) / truth)
            exact_hit.append(np.abs(exact - truth) <= 1.96 * exact_se)
        hit.append(covered)
        lower.append(~w._bounded(spec))
        chosen.update(spec.extras.get("chosen", ["?"])[:1])
    ratio, se, hit, lower, own, exact_hit = map(np.array, (ratio, se, hit, lower, own, exact_hit))
    print(f"{world}: n = {n} a side, {seeds} seeds, classifier {classifier!r}; chosen: {dict(chosen)}")
    print(f"{'pi':>5} {'truth':>8} {'est/truth':>9} {'sd':>7} {'se':>7} {'bias/se':>7} {'covered':>7} {'lower':>6} "
          f"{'own':>7} {'own sd':>7} {'exact cov':>9}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pi flagged in every seed has no two-sided se
        for j, pi in enumerate(w.PIS):
            m, sd, s = np.nanmean(ratio[:, j]), np.nanstd(ratio[:, j], ddof=1), np.nanmean(se[:, j])
            print(f"{pi:>5} {truth[j]:>8.4f} {m:>9.4f} {sd:>7.4f} {s:>7.4f} {(m - 1) / s:>7.2f} "
                  f"{hit[:, j].mean():>7.2f} {lower[:, j].mean():>6.2f} {np.nanmean(own[:, j]):>7.4f} "
                  f"{np.nanstd(own[:, j], ddof=1):>7.4f} {exact_hit[:, j].mean():>9.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.exit(__doc__)
    main(args[0], *(int(a) for a in args[1:3]), *args[3:4])
