"""Classifier divergences between two models: per-row terms, the paired row test, near-copy lower bounds."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import metrics
from genbench.significance import compare
from metrics import MetricWarning
from metrics.classifier import RowTerms, paired_divergence_test


def _ring(n, rng, modes=range(8)):
    modes = np.asarray(list(modes))
    ang = modes[rng.integers(0, len(modes), n)] * np.pi / 4
    return 4.0 * np.c_[np.cos(ang), np.sin(ang)] + 0.5 * rng.normal(size=(n, 2))


def test_row_terms_reproduce_the_value():
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(600, 3)), rng.normal(size=(500, 3)) * 1.3
    for name in ("kl", "reverse_kl", "js", "spectrum"):
        r = metrics.get_metric(name)(real, generated, classifier="quadratic", n_bootstrap=0)
        t = r.replicates
        assert isinstance(t, RowTerms) and len(t.real) == 600 and len(t.generated) == 500
        # the fit influence is centred within each class, so the terms' means give the value exactly
        assert t.real.mean() + t.generated.mean() + t.constant == pytest.approx(r.value, rel=1e-9, abs=1e-12)


def test_paired_row_test_by_hand():
    a = RowTerms(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.7, 0.6]), 0.1, "ref")
    b = RowTerms(np.array([0.5, 1.0, 2.5, 3.0]), np.array([0.2, 0.1, 0.3]), 0.0, "ref")
    t = paired_divergence_test(3.0, a, 2.0, b)
    d = np.array([0.5, 1.0, 0.5, 1.0])
    se = math.sqrt(d.var(ddof=1) / 4 + 0.01 / 3 + 0.01 / 3)
    assert t.difference == 1.0 and t.se == pytest.approx(se, rel=1e-12)
    assert t.pvalue == pytest.approx(2 * stats.norm.sf(1.0 / se), rel=1e-12)
    assert t.ci.low == pytest.approx(1.0 - 1.959963984540054 * se, rel=1e-12)
    with pytest.raises(metrics.InputError, match="different reference rows"):
        paired_divergence_test(3.0, a, 2.0, RowTerms(b.real, b.generated, 0.0, "other"))
    # a variance the rows do not carry (re-runs, 6 df): Satterthwaite t, the row part counted as exact
    t = paired_divergence_test(3.0, a, 2.0, b, extra_variance=0.05, extra_df=6)
    df = (se ** 2 + 0.05) ** 2 / (0.05 ** 2 / 6)
    assert t.se == pytest.approx(math.sqrt(se ** 2 + 0.05), rel=1e-12) and t.df == pytest.approx(df, rel=1e-12)
    assert t.pvalue == pytest.approx(2 * stats.t.sf(1.0 / t.se, df), rel=1e-12)
    assert t.ci.high == pytest.approx(1.0 + stats.t.ppf(0.975, df) * t.se, rel=1e-12)
    with pytest.raises(metrics.InputError, match="extra_variance"):
        paired_divergence_test(3.0, a, 2.0, b, extra_variance=-1.0)


def test_classifier_divergences_are_compared_row_by_row():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(800, 2))
    sets = {"near": rng.normal(size=(800, 2)) + [0.1, 0.0], "far": rng.normal(size=(800, 2)) + [1.0, 0.0]}
    spec = metrics.get_metric("kl")
    opts = {"seed": 0, "classifier": "quadratic", "n_bootstrap": 0}
    results = {m: spec.func(ref, x, **opts) for m, x in sets.items()}
    (c,) = compare(spec, {m: (ref, x) for m, x in sets.items()}, results, options=opts, seed=0)
    assert c.method.startswith("paired row terms z") and c.better() == "near" and c.pvalue < 1e-6
    assert c.difference == results["near"].value - results["far"].value


def test_kl_reverse_kl_and_spectrum_share_one_auto_cross_fit(monkeypatch):
    import metrics.classifier as clf

    calls = []
    fit_auto = clf._fit_auto
    monkeypatch.setattr(clf, "_fit_auto", lambda *a, **k: calls.append(1) or fit_auto(*a, **k))
    monkeypatch.setattr(clf, "_AUTO_FITS", clf.OrderedDict())
    rng = np.random.default_rng(7)
    real, generated = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) * 1.5
    kl = metrics.get_metric("kl")(real, generated, seed=3, n_bootstrap=0)
    assert len(calls) == 5  # one fit per training fold
    rkl = metrics.get_metric("reverse_kl")(real, generated, seed=3, n_bootstrap=0)
    spectrum = metrics.get_metric("spectrum")(real, generated, seed=3, n_bootstrap=0)
    assert len(calls) == 5
    curve = spectrum.extras["spectrum"]
    assert (kl.value, rkl.value) == (curve[0]["d_pi"], curve[-1]["d_pi"])
    metrics.get_metric("kl")(real, generated, seed=4, n_bootstrap=0)  # other folds: new fits
    assert len(calls) == 10


def test_terms_without_fit_error_are_compared_with_the_re_run_variance():
    # boosting's terms carry no fit error: which rows trained which fold model moves its value by
    # what the rows do not show, so a comparison adds the spread of re-runs with other seeds
    from genbench import significance

    rng = np.random.default_rng(1)
    ref = rng.normal(size=(400, 2))
    sets = {"near": rng.normal(size=(400, 2)) + [0.1, 0.0], "far": rng.normal(size=(400, 2)) + [1.0, 0.0]}
    spec = metrics.get_metric("kl")
    for classifier, dependent in (("gbdt", True), ("quadratic", False)):
        opts = {"seed": 0, "classifier": classifier, "n_bootstrap": 0}
        results = {m: spec.func(ref, x, **opts) for m, x in sets.items()}
        assert all(r.replicates.seed_dependent == dependent for r in results.values())
        (c,) = compare(spec, {m: (ref, x) for m, x in sets.items()}, results, options=opts, seed=0)
        assert c.better() == "near"
        assert c.method.startswith("paired row terms + re-run variance") == dependent
    seeds = [int(np.random.SeedSequence([0, 7919, r]).generate_state(1)[0]) for r in range(significance.RERUNS)]
    reruns = sum(np.var([spec.func(ref, x, seed=s, classifier="gbdt", n_bootstrap=0).value for s in [0] + seeds],
                        ddof=1) for m, x in sets.items())
    (c,) = compare(spec, {m: (ref, x) for m, x in sets.items()},
                   {m: spec.func(ref, x, seed=0, classifier="gbdt", n_bootstrap=0) for m, x in sets.items()},
                   options={"seed": 0, "classifier": "gbdt", "n_bootstrap": 0}, seed=0)
    assert c.extras["extra_variance"] == pytest.approx(reruns, rel=1e-12)


def test_ends_of_a_boosting_fit_carry_the_kl_influence_of_the_other_side():
    # KL(P||Q) = E_P[log r]: its efficient influence on a generated row y is 1 - r(y), on a real row x
    # for KL(Q||P) it is 1 - 1/r(x); boosting has no coefficients, so the terms carry these (centred)
    import metrics.classifier as clf

    rng = np.random.default_rng(2)
    real, generated = rng.normal(size=(500, 2)), rng.normal(size=(400, 2)) * 1.4
    est = clf._estimate(real, generated, np.array([0.0, 0.5, 1.0]), "gbdt", 5, 0, np.random.default_rng(0))
    ell_r, ell_g = est.fit.ell_real, est.fit.ell_gen
    a, b = est.terms
    np.testing.assert_allclose(a[0], ell_r, rtol=1e-12)
    np.testing.assert_allclose(b[0], -(np.exp(ell_g) - np.exp(ell_g).mean()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a[2], -(np.exp(-ell_r) - np.exp(-ell_r).mean()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b[2], -ell_g, rtol=1e-12)
    a0, b0 = clf._contributions(ell_r, ell_g, [0.5])
    np.testing.assert_array_equal(a[1], a0[0])  # the interior (orthogonal): evaluation terms only
    np.testing.assert_array_equal(b[1], b0[0])
    # the value is unchanged: the influences are centred
    assert a[0].mean() + b[0].mean() == pytest.approx(est.values[0], rel=1e-12)
    assert a[2].mean() + b[2].mean() == pytest.approx(est.values[2], rel=1e-12)


def test_a_boosting_fits_end_interval_carries_the_same_influence():
    # the bootstrap of a boosting fit's ends resamples the influence-augmented terms: its spread is
    # the plug-in standard error of those terms, wider than that of the evaluation terms alone
    import metrics.classifier as clf

    rng = np.random.default_rng(2)
    real, generated = rng.normal(size=(500, 2)), rng.normal(size=(400, 2)) * 1.4
    est = clf._estimate(real, generated, np.array([0.0, 1.0]), "gbdt", 5, 4000, np.random.default_rng(0))
    a, b = est.terms
    se = np.sqrt(a.var(axis=1) / a.shape[1] + b.var(axis=1) / b.shape[1])
    np.testing.assert_allclose(est.boot.std(axis=0), se, rtol=0.05)
    plain_a, plain_b = clf._contributions(est.fit.ell_real, est.fit.ell_gen, [0.0, 1.0])
    plain = np.sqrt(plain_a.var(axis=1) / a.shape[1] + plain_b.var(axis=1) / b.shape[1])
    assert np.all(se > 1.2 * plain), (se, plain)


def test_a_difference_without_a_finite_variance_is_not_tested():
    # a generated-row influence of 1e300 (an overflowing density ratio) has no finite variance: the
    # pair is reported as not tested, never as ok with a nan p-value
    from genbench.significance import _from_test

    a = RowTerms(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1e300, -1e300, 0.0]), 0.0, "ref")
    b = RowTerms(np.array([1.0, 2.5, 3.0, 4.5]), np.array([0.1, 0.2, 0.3]), 0.0, "ref")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        t = paired_divergence_test(1.0, a, 2.0, b)
    assert math.isnan(t.pvalue) and not math.isfinite(t.se)
    c = _from_test(metrics.get_metric("kl"), "a", "b", t)
    assert c.status == "failed" and "standard error is not finite" in c.error and math.isnan(c.pvalue)
    ok = _from_test(metrics.get_metric("kl"), "a", "b", paired_divergence_test(1.0, b, 1.0, b))
    assert ok.status == "ok" and ok.pvalue == pytest.approx(1.0)


def test_level_small_for_two_models_of_equal_quality():
    # mirror images of each other against a symmetric reference: equal expected KL by symmetry.
    # 20 seeds: more than 4 rejections at alpha = 0.05 has probability 0.003 under a correct level
    spec = metrics.get_metric("kl")
    pvalues = []
    for s in range(20):
        rng = np.random.default_rng([s, 5])
        ref, a = _ring(400, rng), _ring(400, rng, range(4))
        b = _ring(400, rng, range(4)) * [1.0, -1.0]
        opts = {"seed": s, "classifier": "quadratic", "n_bootstrap": 0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetricWarning)
            res = {"a": spec.func(ref, a, **opts), "b": spec.func(ref, b, **opts)}
        (c,) = compare(spec, {"a": (ref, a), "b": (ref, b)}, res, options=opts, seed=s)
        pvalues.append(c.pvalue)
    assert np.sum(np.array(pvalues) < 0.05) <= 4, pvalues


def test_near_copies_make_every_d_pi_a_lower_bound():
    # a "memoriser": 600 training points, each emitted about twice with tiny noise
    rng = np.random.default_rng(2)
    train, real = _ring(600, rng), _ring(1200, rng)
    copies = train[rng.integers(0, 600, 1200)] + 0.01 * rng.normal(size=(1200, 2))
    with pytest.warns(MetricWarning, match=r"every d_pi .* is only a lower bound: \d+\.\d% of the generated rows"):
        r = metrics.get_metric("spectrum")(real, copies, n_bootstrap=50)
    assert r.bound == "lower" and r.ci is None and all(row["bound"] == "lower" for row in r.extras["spectrum"])
    assert r.extras["near_copies_generated"] >= 0.15 and r.extras["near_copies_pvalue"] < 1e-3
    # an independent sample of the same density: no near-copies, no bound
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricWarning)
        ok = metrics.get_metric("spectrum")(real, _ring(1200, rng), n_bootstrap=50)
    assert ok.bound is None and ok.extras["near_copies_generated"] < 0.1


def test_two_lower_bounds_are_not_tested():
    # both models drop modes of the ring: KL(P||Q) is infinite for both, each flagged "> v"
    rng = np.random.default_rng(3)
    ref = _ring(1000, rng)
    sets = {"a": _ring(1000, rng, [0, 2, 4, 6]), "b": _ring(1000, rng, [1, 3, 5, 7])}
    spec = metrics.get_metric("kl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)
        results = {m: spec.func(ref, x, n_bootstrap=0) for m, x in sets.items()}
    assert all(r.bound == "lower" for r in results.values())
    (c,) = compare(spec, {m: (ref, x) for m, x in sets.items()}, results, options={"n_bootstrap": 0}, seed=0)
    assert c.status == "failed" and "both values are lower bounds" in c.error and math.isnan(c.pvalue)
