"""Speed of the classifier-divergence family: one cross-fit for the whole d_pi spectrum.

Run:  python benchmarks/bench_classifier.py [--full] [--repeats 2]

Prints, for N(0, I_64) vs N(0, 1.1^2 I_64) with the default classifier ("quadratic"):

1. divergence_spectrum (11 pis, 1000 bootstrap resamples) at n = 2k, 10k (and 50k with --full, or when
   the 10k timing predicts it under 3 minutes) per side, with the accuracy of KL, d_0.5 and reverse KL
   against the exact values;
2. spectrum of 11 vs one divergence (adversarial_divergence at pi = 0.5, same options): the target is
   <= 1.2x; and vs 11 separate calls, which is what a per-pi implementation pays;
3. C2ST against the textbook scikit-learn recipe (``cross_val_score`` accuracy of the same pipeline):
   no peer package implements classifier two-sample tests or adversarial divergences, so the
   baseline is plain scikit-learn. Same folds-count, same model, so the accuracies should be close.

Timings: best of ``--repeats`` runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import metrics
from metrics.classifier import _cross_fit, _make_estimator
from metrics.divergences import gaussian_d_pi

D, SCALE = 64, 1.1


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)), SCALE * rng.normal(size=(n, D))


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="always run n = 50,000 per side")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    truth = gaussian_d_pi(np.zeros(D), 1.0, np.zeros(D), SCALE**2, [0.0, 0.5, 1.0])
    print(f"N(0, I_{D}) vs N(0, {SCALE}^2 I_{D}); exact KL {truth[0]:.4f}, d_0.5 {truth[1]:.4f}, "
          f"reverse KL {truth[2]:.4f}; best of {args.repeats}\n")

    print("1. divergence_spectrum, default classifier ('quadratic'), cv=5, 11 pis, 1000 bootstrap resamples")
    print(f"{'n/side':>8} {'seconds':>9} {'fit s':>7} {'KL':>8} {'d_0.5':>8} {'rev KL':>8} {'max rel err':>12}")
    timings = {}
    for n in (2_000, 10_000, 50_000):
        if n == 50_000 and not args.full and timings[10_000] * 5.5 > 180:
            print(f"{n:>8} skipped: predicted {timings[10_000] * 5.5:.0f} s > 3 min (run with --full)")
            continue
        real, generated = data(n)
        secs, spec = best_of(lambda: metrics.divergence_spectrum(real, generated), args.repeats)
        fit_secs, _ = best_of(lambda: _cross_fit(real, generated, "quadratic", 5, np.random.default_rng(0)), 1)
        timings[n] = secs
        est = np.array(spec.d_pi)[[0, 5, 10]]
        print(f"{n:>8} {secs:>9.2f} {fit_secs:>7.2f} {est[0]:>8.4f} {est[1]:>8.4f} {est[2]:>8.4f} "
              f"{np.max(np.abs(est / truth - 1)):>12.3f}")

    n = 10_000
    real, generated = data(n)
    print(f"\n2. cost of the spectrum vs a single divergence (n = {n:,}/side, d = {D})")
    reps = max(args.repeats, 3)  # the ratio is the headline: a few more repeats against noise
    s_spec, _ = best_of(lambda: metrics.divergence_spectrum(real, generated), reps)
    s_one, one = best_of(lambda: metrics.adversarial_divergence(real, generated, pi=0.5), reps)
    s_kl, _ = best_of(lambda: metrics.adversarial_divergence(real, generated, pi=0.0), reps)
    s_naive, _ = best_of(
        lambda: [metrics.adversarial_divergence(real, generated, pi=p) for p in np.linspace(0, 1, 11)], 1)
    print(f"{'what':<48} {'seconds':>9} {'ratio':>7}")
    print(f"{'adversarial_divergence(pi=0.5)':<48} {s_one:>9.2f} {1.0:>7.2f}")
    print(f"{'adversarial_divergence(pi=0) (KL, + fit-error CI)':<48} {s_kl:>9.2f} {s_kl / s_one:>7.2f}")
    print(f"{'divergence_spectrum (11 pis, one cross-fit)':<48} {s_spec:>9.2f} {s_spec / s_one:>7.2f}")
    print(f"{'11 x adversarial_divergence (per-pi refits)':<48} {s_naive:>9.2f} {s_naive / s_one:>7.2f}")

    print(f"\n3. C2ST vs the scikit-learn recipe (cross_val_score, same pipeline and cv=5), n = {n:,}/side")
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x = np.vstack([real, generated])
    y = np.r_[np.ones(n), np.zeros(n)]
    s_ours, ours = best_of(lambda: metrics.c2st(real, generated, cv=5), args.repeats)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    s_sk, acc = best_of(lambda: cross_val_score(_make_estimator("quadratic", 0)[0], x, y, cv=folds).mean(),
                        args.repeats)
    print(f"{'implementation':<34} {'seconds':>9} {'ratio':>7} {'accuracy':>9} {'p-value':>10}")
    print(f"{'metrics.c2st(cv=5)':<34} {s_ours:>9.2f} {s_ours / s_sk:>7.2f} {ours.value:>9.4f} {ours.pvalue:>10.2e}")
    print(f"{'sklearn cross_val_score':<34} {s_sk:>9.2f} {1.0:>7.2f} {acc:>9.4f} {'-':>10}")
    print(f"\nadversarial_divergence(pi=0.5) = {one.value:.4f} (exact {truth[1]:.4f}); AUC {ours.extras['auc']:.4f}")


if __name__ == "__main__":
    main()
