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


def _order(estimates, lower):
    """Pairwise order the estimates claim: +1 / -1 / 0 (tie) / nan (not ordered: a lower bound above which the other lies).

    A lower-bound entry only says "at least b". It is known to be above a confident entry below b;
    against a confident entry above b, or another lower bound, the estimates claim no order.
    """
    n = len(estimates)
    out = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            if lower[i] and lower[j]:
                continue
            if lower[i] or lower[j]:
                b, v, s = (estimates[i], estimates[j], 1.0) if lower[i] else (estimates[j], estimates[i], -1.0)
                if v < b:
                    out[i, j] = s
                continue
            out[i, j] = np.sign(estimates[i] - estimates[j])
    return out


def _tau(estimates, lower, truth):
    """Kendall's tau-b over the pairs the estimates order, and how many pairs that is.

    "Lower-bound entries may tie" (issue 12): a pair that a lower bound leaves unordered is not
    counted for or against the ranking; ties between confident entries count as ties, as in tau-b.
    Leaving those pairs out is sound only because every bound is honest, which the test asserts.
    """
    a = _order(np.asarray(estimates, float), np.asarray(lower, bool))
    b = np.sign(np.subtract.outer(truth, truth))
    keep = np.triu(~np.isnan(a), 1)
    a, b = a[keep], b[keep]
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b))), int(keep.sum())


def test_tau_leaves_out_only_the_pairs_a_lower_bound_cannot_order():
    # truth 0 < 1 < 2 < 3; estimates: confident 0.0 and 1.2, a bound "> 0.5" (truth 2), a bound "> 5" (truth 3)
    tau, pairs = _tau([0.0, 1.2, 0.5, 5.0], [False, False, True, True], np.array([0.0, 1.0, 2.0, 3.0]))
    # ordered pairs: (0,1) concordant, (0,2) bound above 0: concordant, (0,3), (1,3) concordant;
    # (1,2): 1.2 is above the bound 0.5, unordered; (2,3): two bounds, unordered
    assert pairs == 4 and tau == 1.0
    # a confident entry above a bound whose truth is below it: that pair is left out, not counted as right
    tau, pairs = _tau([0.0, 3.0, 1.0], [False, False, True], np.array([0.0, 1.0, 2.0]))
    assert pairs == 2 and tau == 1.0
    # a bound above a confident entry with the larger truth is discordant
    tau, pairs = _tau([0.0, 1.0, 2.0], [False, False, True], np.array([0.0, 3.0, 2.0]))
    assert pairs == 3 and tau == pytest.approx(1 / 3)


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
    # every lower bound is below its truth (what makes leaving its unordered pairs out sound)
    for est, lo, truth in ((kl, kl_lo, kl_t), (rkl, rkl_lo, rkl_t), (sp, sp_lo, sp_t)):
        assert np.all(est[lo] <= truth[lo]), names[lo]
    assert min(tau for tau, _ in taus.values()) >= 0.8, taus
    # and the bounds leave most of the 55 pairs ordered
    assert min(pairs for _, pairs in taus.values()) >= 27, taus
    # the registered kl / reverse_kl equal the spectrum's ends (one cross-fit, same seed)
    real, generated, _ = data["ml-gaussian"]
    assert metrics.get_metric("kl")(real, generated, n_bootstrap=0).value == kl[list(names).index("ml-gaussian")]
