"""The demo's ``mixture`` suite ranked by the registered classifier divergences agrees with the exact values."""

import warnings

import numpy as np
import pytest
from scipy import stats

import metrics


def _ranking_inputs(seed=0, n=1000, n_mc=20_000):
    from genbench.demo import mixture

    p = mixture.world()
    rng = np.random.default_rng([seed, 0])
    train, test = p.sample(n, rng), p.sample(n, rng)
    models = mixture.build_models(p, train, seed=seed, quick=False)
    out = {}
    for i, (name, (q, _)) in enumerate(models.items()):
        x = q.sample(n, np.random.default_rng([seed, 2, i]))
        truth = mixture.true_spectrum(p, q, mixture.PIS, n_mc, np.random.default_rng([seed, 3, i]))
        out[name] = (test, x, truth)
    return out


def _tau(estimates, lower, truth):
    # a lower-bound entry only says "at least this": all of them tie above every confident entry
    est = np.where(lower, np.inf, estimates)
    return stats.kendalltau(est, truth).statistic


@pytest.mark.slow
def test_mixture_ranking_by_kl_reverse_kl_and_spectrum_matches_the_exact_values():
    data = _ranking_inputs()
    rows = []
    for name, (real, generated, truth) in data.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", metrics.MetricWarning)  # lower bounds are expected here
            r = metrics.get_metric("spectrum")(real, generated, n_bootstrap=0)
        curve = r.extras["spectrum"]
        interior = float(np.mean(truth[1:-1]))  # the registered spectrum: the mean over 0 < pi < 1
        rows.append((name, curve[0]["d_pi"], curve[0]["bound"] == "lower", truth[0],
                     curve[-1]["d_pi"], curve[-1]["bound"] == "lower", truth[-1], r.value, r.bound == "lower", interior))
    names, kl, kl_lo, kl_t, rkl, rkl_lo, rkl_t, sp, sp_lo, sp_t = map(np.array, zip(*rows))
    taus = {"kl": _tau(kl, kl_lo, kl_t), "reverse_kl": _tau(rkl, rkl_lo, rkl_t), "spectrum": _tau(sp, sp_lo, sp_t)}
    print(taus, dict(zip(names, zip(kl.round(3), kl_lo, kl_t.round(3), rkl.round(3), rkl_lo, rkl_t.round(3)))))
    assert min(taus.values()) >= 0.8, taus
    # the registered kl / reverse_kl equal the spectrum's ends (one cross-fit, same seed)
    real, generated, _ = data["ml-gaussian"]
    assert metrics.get_metric("kl")(real, generated, n_bootstrap=0).value == kl[list(names).index("ml-gaussian")]
