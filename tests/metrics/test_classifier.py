"""Classifier family: C2ST calibration and the KL / reverse-KL / d_pi estimators against closed forms."""

import json
import math

import numpy as np
import pytest
from scipy import stats

import metrics
from metrics import InputError, MetricWarning
from metrics.classifier import _contributions, _cross_fit, adversarial_divergence, c2st, divergence_spectrum
from metrics.divergences import d_pi, gaussian_d_pi, gaussian_kl, gaussian_reverse_kl

PIS = np.round(np.linspace(0, 1, 11), 12)


def _gaussians(kind, d, n, seed, n_generated=None):
    """real ~ N(0, I); generated ~ N(e1, I) ("shift") or N(0, 1.5^2 I) ("scale"); and the exact d_pi."""
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n, d))
    m = n if n_generated is None else n_generated
    if kind == "shift":
        mu = np.r_[1.0, np.zeros(d - 1)]
        return real, rng.normal(size=(m, d)) + mu, (np.zeros(d), 1.0, mu, 1.0)
    return real, 1.5 * rng.normal(size=(m, d)), (np.zeros(d), 1.0, np.zeros(d), 1.5**2)


# --------------------------------------------------------------------------- the plug-in formula


@pytest.mark.parametrize("pi", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_plug_in_with_exact_ratio_equals_exact_discrete_d_pi(pi):
    # samples that are an exact discretisation of P and Q (outcome i repeated N p_i times) with the
    # exact log-ratio: the plug-in must reproduce metrics.divergences.d_pi to rounding
    p, q = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.3, 0.2, 0.1])
    ell = np.log(p / q)
    ell_real = np.repeat(ell, (p * 1000).astype(int))
    ell_gen = np.repeat(ell, (q * 1000).astype(int))
    a, b = _contributions(ell_real, ell_gen, [pi])
    assert a.mean() + b.mean() == pytest.approx(d_pi(p, q, pi), rel=1e-12)


def test_plug_in_with_exact_gaussian_ratio_is_unbiased():
    # exact log-ratio of N(0, 1) vs N(0, 2^2) on large samples: within 4 standard errors of the truth
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=200_000), 2.0 * rng.normal(size=200_000)

    def ell(z):
        return stats.norm.logpdf(z) - stats.norm.logpdf(z, scale=2.0)

    a, b = _contributions(ell(x), ell(y), PIS)
    se = np.sqrt(a.var(axis=1) / len(x) + b.var(axis=1) / len(y))
    truth = gaussian_d_pi(0.0, 1.0, 0.0, 4.0, PIS)
    assert np.all(np.abs(a.mean(axis=1) + b.mean(axis=1) - truth) < 4 * se + 1e-12)


# --------------------------------------------------------------------------- accuracy on Gaussians


@pytest.mark.parametrize("d", [2, 10])
@pytest.mark.parametrize("kind", ["shift", "scale"])
def test_spectrum_matches_closed_form_at_n_20000(kind, d):
    real, generated, args = _gaussians(kind, d, 20_000, seed=d)
    spec = divergence_spectrum(real, generated, classifier="quadratic", n_bootstrap=200, seed=d)
    truth = gaussian_d_pi(*args, np.array(spec.pis))
    est, lo, hi = np.array(spec.d_pi), np.array(spec.ci_low), np.array(spec.ci_high)
    # KL (pi = 0) and reverse KL (pi = 1) within 10% of the closed forms, and so is every pi between
    assert est[0] == pytest.approx(gaussian_kl(*args), rel=0.10)
    assert est[-1] == pytest.approx(gaussian_reverse_kl(*args), rel=0.10)
    assert est == pytest.approx(truth, rel=0.10)
    # the intervals contain the truth at most pis (all 11 for these seeds; the slow test counts seeds)
    assert np.mean((lo <= truth) & (truth <= hi)) >= 0.8
    # the shape of the curve: wherever the exact curve moves by more than 2%, the estimate moves the same way
    step = np.diff(truth)
    clear = np.abs(step) > 0.02 * truth[:-1]
    assert clear.any()
    assert np.array_equal(np.sign(np.diff(est)[clear]), np.sign(step[clear]))


@pytest.mark.slow
@pytest.mark.parametrize("d", [2, 10])
@pytest.mark.parametrize("kind", ["shift", "scale"])
def test_kl_and_reverse_kl_coverage_over_seeds(kind, d):
    inside, within = [], []
    for seed in range(10):
        real, generated, args = _gaussians(kind, d, 20_000, seed=100 + seed)
        spec = divergence_spectrum(real, generated, pis=[0.0, 0.5, 1.0], classifier="quadratic", n_bootstrap=500,
                                   seed=seed)
        truth = np.array([gaussian_kl(*args), float(gaussian_d_pi(*args, 0.5)), gaussian_reverse_kl(*args)])
        est = np.array(spec.d_pi)
        inside.append((np.array(spec.ci_low) <= truth) & (truth <= np.array(spec.ci_high)))
        within.append(np.abs(est / truth - 1) < 0.10)
    assert np.all(within)
    # nominal 95%: "most of the time" with room for 10 seeds
    assert np.mean(inside, axis=0).min() >= 0.7


def test_fit_error_variance_predicts_the_spread_of_refitted_log_ratios():
    # the sandwich covariance of one fold's logistic fit predicts how much its held-out log-ratio at
    # fixed points moves between fresh training sets (the input of the bias correction and of the
    # first-order fit error); checked against 150 refits on fresh draws
    from metrics.classifier import _logistic_fold_fit, _make_estimator

    rng = np.random.default_rng(3)
    points = rng.normal(size=(6, 2)) * 0.8
    ells, predicted = [], []
    for _ in range(150):
        real, generated = rng.normal(size=(1000, 2)), 1.3 * rng.normal(size=(1000, 2))
        x, y = np.vstack([real, generated]), np.r_[np.ones(1000, int), np.zeros(1000, int)]
        est, _ = _make_estimator("quadratic", 0)
        est.fit(x, y)
        ells.append(est.decision_function(points))
        f = _logistic_fold_fit(est, x, y, points, np.arange(6), np.arange(2000))
        predicted.append(np.einsum("ij,jk,ik->i", f.phi_test, f.sigma, f.phi_test))
    ratio = np.var(ells, axis=0, ddof=1) / np.mean(predicted, axis=0)
    # 150 refits: a sample variance's relative standard error is ~12%; +-30% is 2.6 of them. Without
    # the case-control term of the intercept (stratified folds fix the class counts) the ratio near
    # the centre is ~0.6
    assert np.all(np.abs(ratio - 1) < 0.30), ratio


def test_the_second_order_loss_is_the_expansion_for_small_errors_and_never_more_than_the_gaussian_loss():
    # each row's fitted log-ratio off by delta ~ N(0, v): its interior term loses 1/2 D (1 - D) v / (1 - pi)
    # (real) or / pi (generated) for small v. For v in the hundreds an unsaturated row loses far less
    # (the log loss is linear out there: the loss over the Gaussian), and a saturated one keeps the
    # expansion (the Gaussian would flip the sign of a log-ratio of 30)
    from metrics.classifier import _CrossFit, _FoldFit, _second_order_loss

    rng = np.random.default_rng(0)
    n = 4000
    pis = np.array([0.0, 0.25, 0.5, 0.75, 1.0])

    def fit_with(ell, v):  # a fold whose features are sqrt(v) and coefficient variance 1: fit_var = v
        fold = _FoldFit(test=np.arange(2 * n), phi_test=np.sqrt(v)[:, None], sigma=np.eye(1),
                        prospective=np.eye(1), train=np.arange(0), scores=np.zeros((0, 1)), j_inv=np.eye(1))
        return _CrossFit(logit=ell, ell=ell, n_real=n, fold=np.zeros(2 * n, dtype=int), fold_fits=(fold,), cv=5)

    def expansion(ell, v):
        out = np.zeros(len(pis))
        for j, pi in enumerate(pis[1:-1], start=1):
            d = 1 / (1 + np.exp(-(ell + math.log(pi / (1 - pi)))))
            w = d * (1 - d) * v
            out[j] = 0.5 * (w[:n].mean() / (1 - pi) + w[n:].mean() / pi)
        return out

    def gaussian(ell, v, draws=400):  # Monte Carlo
        a, b = _contributions(ell[:n], ell[n:], pis)
        base, total = a.mean(axis=1) + b.mean(axis=1), np.zeros(len(pis))
        for _ in range(draws):
            a, b = _contributions(*np.split(ell + np.sqrt(v) * rng.standard_normal(2 * n), [n]), pis)
            total += a.mean(axis=1) + b.mean(axis=1)
        return base - total / draws

    ell, small = rng.normal(0.5, 1.5, 2 * n), np.full(2 * n, 0.01)
    assert _second_order_loss(fit_with(ell, small), pis) == pytest.approx(expansion(ell, small), rel=0.01, abs=1e-12)
    large = np.full(2 * n, 400.0)  # an error of 20 nats sd
    flat = np.zeros(2 * n)  # D = pi: unsaturated
    loss = _second_order_loss(fit_with(flat, large), pis)
    assert loss[[0, -1]].tolist() == [0.0, 0.0]
    assert loss[1:-1] == pytest.approx(gaussian(flat, large)[1:-1], rel=0.03)
    assert np.all(expansion(flat, large)[1:-1] > 3 * loss[1:-1])
    far = np.r_[np.full(n, 30.0), np.full(n, -30.0)]  # real rows sure to be real, generated ones generated
    loss = _second_order_loss(fit_with(far, large), pis)
    assert loss == pytest.approx(expansion(far, large), rel=1e-6) and loss.max() < 1e-9
    assert np.all(gaussian(far, large, draws=50)[1:-1] > 1.0)


def test_prior_correction_with_unequal_sizes():
    # 4x more real than generated rows: without log(n_real / n_generated) the KL would be off by log 4
    real, generated, args = _gaussians("shift", 2, 8000, seed=11, n_generated=2000)
    r0 = adversarial_divergence(real, generated, pi=0.0, n_bootstrap=0)
    r1 = adversarial_divergence(real, generated, pi=1.0, n_bootstrap=0)
    assert r0.value == pytest.approx(gaussian_kl(*args), rel=0.10)
    assert r1.value == pytest.approx(gaussian_reverse_kl(*args), rel=0.10)
    assert r0.n == (8000, 2000)


def test_identical_distributions_give_near_zero():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3000, 3)), rng.normal(size=(3000, 3))
    spec = divergence_spectrum(x, y, n_bootstrap=200)
    assert np.all(np.abs(spec.d_pi) < 0.02)
    assert np.all(np.array(spec.ci_low) <= 0) and np.all(np.array(spec.ci_high) >= 0)


# --------------------------------------------------------------------------- misspecification


def test_linear_logistic_is_blind_to_a_variance_change_flexible_classifiers_are_not():
    # N(0, I) vs N(0, 1.5^2 I): log p/q is quadratic, a linear logit is ~0, so "logistic" reports ~0
    # at every pi; the MLP and the (well-specified) quadratic model recover the curve. "gbdt" needs
    # more data (trees extrapolate the quadratic tails flat): see the slow test at n = 20,000.
    real, generated, args = _gaussians("scale", 2, 3000, seed=4)
    pis = [0.0, 0.5, 1.0]
    truth = gaussian_d_pi(*args, np.array(pis))
    linear = divergence_spectrum(real, generated, pis=pis, classifier="logistic", n_bootstrap=0)
    assert np.all(np.abs(linear.d_pi) < 0.05 * truth)
    for name in ("mlp", "quadratic"):
        fixed = divergence_spectrum(real, generated, pis=pis, classifier=name, n_bootstrap=0)
        assert fixed.d_pi == pytest.approx(truth, rel=0.10), name


@pytest.mark.slow
@pytest.mark.parametrize("classifier", ["gbdt", "mlp"])
def test_misspecification_at_n_20000(classifier):
    real, generated, args = _gaussians("scale", 2, 20_000, seed=7)
    truth = gaussian_d_pi(*args, np.array([0.0, 0.5, 1.0]))
    linear = divergence_spectrum(real, generated, pis=[0.0, 0.5, 1.0], classifier="logistic", n_bootstrap=0)
    assert np.all(np.abs(linear.d_pi) < 0.05 * truth)
    flexible = divergence_spectrum(real, generated, pis=[0.0, 0.5, 1.0], classifier=classifier, n_bootstrap=0)
    assert flexible.d_pi == pytest.approx(truth, rel=0.25)


# --------------------------------------------------------------------------- C2ST


def test_c2st_pvalue_is_the_mann_whitney_test_of_the_first_fold():
    real, generated, _ = _gaussians("shift", 2, 150, seed=3)
    r = c2st(real, generated, classifier="quadratic", seed=2)
    k, n = r.extras["n_correct"], sum(r.n)
    assert r.value == k / n
    ci = stats.binomtest(k, n).proportion_ci(method="exact")
    assert (r.ci.low, r.ci.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # recount the first fold by hand from the same cross-fit (continuous scores: no ties to break)
    fit = _cross_fit(real, generated, "quadratic", 2, np.random.default_rng(2))
    first = fit.fold == 0
    k_test = int(np.sum((fit.logit[first] > 0) == (fit.labels[first] == 1)))
    assert r.extras["n_test"] == first.sum() == 150 and r.extras["test_accuracy"] == k_test / 150
    mw = stats.mannwhitneyu(fit.ell[first & (fit.labels == 1)], fit.ell[first & (fit.labels == 0)],
                            alternative="greater")
    assert r.pvalue == pytest.approx(mw.pvalue, rel=1e-12) and r.extras["pvalue_rank"] == r.pvalue
    assert r.extras["test_auc"] == pytest.approx(mw.statistic / 75**2, rel=1e-12)
    binomial = stats.binomtest(k_test, 150, 0.5, alternative="greater").pvalue
    assert r.extras["pvalue_binomial"] == pytest.approx(binomial, rel=1e-12)


def test_c2st_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    real, generated, _ = _gaussians("scale", 3, 400, seed=9)
    r = c2st(real, generated, classifier="quadratic", seed=4)
    fit = _cross_fit(real, generated, "quadratic", 2, np.random.default_rng(4))
    assert r.extras["auc"] == pytest.approx(roc_auc_score(fit.labels, fit.ell), rel=1e-12)


def test_c2st_rejects_shift_and_only_quadratic_sees_a_scale_change():
    real, generated, _ = _gaussians("shift", 3, 500, seed=1)
    shifted = c2st(real, generated)
    assert shifted.value > 0.6 and shifted.pvalue < 1e-8
    real, generated, _ = _gaussians("scale", 3, 500, seed=1)
    assert c2st(real, generated).pvalue < 1e-6
    assert c2st(real, generated, classifier="logistic").pvalue > 0.01


def _null_pvalues(count, n, classifier, d=2):
    out, acc = [], []
    for seed in range(count):
        rng = np.random.default_rng(1000 + seed)
        r = c2st(rng.normal(size=(n, d)), rng.normal(size=(n, d)), classifier=classifier, seed=seed)
        out.append(r.pvalue)
        acc.append(r.value)
    return np.array(out), np.array(acc)


def test_c2st_level_under_the_null():
    pvalues, acc = _null_pvalues(60, 60, "logistic")
    # 99.9% binomial band for the number of rejections at 0.05 and at 0.2
    for alpha in (0.05, 0.2):
        hi = stats.binom.ppf(0.9995, len(pvalues), alpha)
        assert np.sum(pvalues <= alpha) <= hi
    assert abs(acc.mean() - 0.5) < 0.03


@pytest.mark.slow
@pytest.mark.parametrize("classifier", ["auto", "logistic"])
def test_c2st_pvalues_uniform_under_the_null(classifier):
    # the rank test is continuous: at every alpha the rejection count over 500 seeds lies in the
    # binomial 95% band of alpha (not merely below it, as the discrete binomial test of accuracy was)
    pvalues, acc = _null_pvalues(500, 200, classifier, d=3)
    for alpha in (0.01, 0.05, 0.1, 0.2, 0.5):
        lo, hi = stats.binom.ppf([0.025, 0.975], len(pvalues), alpha)
        assert lo <= np.sum(pvalues <= alpha) <= hi, alpha
    assert stats.kstest(pvalues, "uniform").pvalue > 0.001
    assert abs(acc.mean() - 0.5) < 0.01


def test_c2st_permutation_null():
    real, generated, _ = _gaussians("shift", 2, 100, seed=2)
    r = c2st(real, generated, classifier="logistic", n_permutations=9)
    assert r.extras["null"] == "permutation"
    assert r.pvalue == pytest.approx(1 / 10)  # nothing permuted beats a clear shift
    assert r.extras["pvalue_rank"] < 0.01
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 2)), rng.normal(size=(60, 2))
    same = c2st(x, y, classifier="logistic", n_permutations=9)
    assert same.pvalue in {k / 10 for k in range(1, 11)}
    # permutations come after the observed fit in the random stream: value and binomial p unchanged
    plain = c2st(x, y, classifier="logistic")
    assert (same.value, same.extras["pvalue_rank"]) == (plain.value, plain.pvalue)


def test_c2st_unequal_sizes_use_the_majority_rate_as_chance():
    real, generated, _ = _gaussians("shift", 2, 300, seed=2, n_generated=100)
    r = c2st(real, generated)
    assert r.extras["chance"] == 0.75 and r.extras["n_test"] == 200  # stratified: 150 real, 50 generated
    k = round(r.extras["test_accuracy"] * 200)
    assert r.extras["pvalue_binomial"] == pytest.approx(stats.binom.sf(k - 1, 200, 0.75), rel=1e-12)
    assert r.pvalue < 1e-6


# --------------------------------------------------------------------------- one fit for the whole spectrum


from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402


class _CountingLogistic(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier that counts fits and records the columns it was trained on."""

    fits = 0
    train_means = []

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, x, y):
        from sklearn.linear_model import LogisticRegression

        type(self).fits += 1
        type(self).train_means.append(np.abs(x.mean(axis=0)).max())
        self._model = LogisticRegression(C=self.C).fit(x, y)
        self.classes_ = self._model.classes_
        return self

    def predict_proba(self, x):
        return self._model.predict_proba(x)


def test_spectrum_fits_once_per_fold_and_standardises_on_training_folds():
    _CountingLogistic.fits, _CountingLogistic.train_means = 0, []
    real, generated, _ = _gaussians("shift", 2, 300, seed=0)
    spec = divergence_spectrum(real + 50.0, generated + 50.0, classifier=_CountingLogistic(), cv=4, n_bootstrap=0)
    assert _CountingLogistic.fits == 4 and len(spec.pis) == 11
    # the estimator only ever sees columns standardised with its own training rows (mean exactly ~0)
    assert max(_CountingLogistic.train_means) < 1e-12
    assert spec.classifier == "_CountingLogistic"


def test_spectrum_rows_equal_single_divergences():
    real, generated, _ = _gaussians("scale", 3, 800, seed=6)
    q = "quadratic"  # the machinery is the classifier's; the cheap one keeps this test fast
    spec = divergence_spectrum(real, generated, pis=[0.0, 0.5, 1.0], classifier=q, n_bootstrap=300, seed=3)
    for row, pi in zip(spec.results, (0.0, 0.5, 1.0)):
        single = adversarial_divergence(real, generated, pi=pi, classifier=q, n_bootstrap=300, seed=3)
        assert single.value == row.value
        # same bootstrap draws (the ends add their classifier-fit draws after them, in the same order)
        assert (single.ci.low, single.ci.high) == pytest.approx((row.ci.low, row.ci.high), rel=1e-12)
    kl = metrics.get_metric("kl")(real, generated, classifier=q, n_bootstrap=300, seed=3)
    rkl = metrics.get_metric("reverse_kl")(real, generated, classifier=q, n_bootstrap=300, seed=3)
    js = metrics.get_metric("js")(real, generated, classifier=q, n_bootstrap=300, seed=3)
    assert (kl.value, rkl.value) == (spec.d_pi[0], spec.d_pi[2])
    assert js.value == pytest.approx(spec.d_pi[1] / 4, rel=1e-15)
    assert js.extras["d_pi"] == spec.d_pi[1]


def test_registered_spectrum_value_is_the_interior_mean_and_rows_are_json():
    real, generated, _ = _gaussians("shift", 2, 500, seed=8)
    r = metrics.get_metric("spectrum")(real, generated, n_bootstrap=100)
    rows = r.extras["spectrum"]
    assert [row["pi"] for row in rows] == pytest.approx(PIS.tolist())
    d = np.array([row["d_pi"] for row in rows])
    assert r.value == pytest.approx(d[1:-1].mean(), rel=1e-12)  # pi = 0.1 ... 0.9; the ends are kl, reverse_kl
    assert r.extras["kl"] == d[0] and r.extras["reverse_kl"] == d[-1] and r.extras["d_0.5"] == d[5]
    assert all(row["ci_low"] <= row["d_pi"] <= row["ci_high"] for row in rows)
    json.dumps(r.to_dict())  # JSON-friendly all the way down
    frame = divergence_spectrum(real, generated, n_bootstrap=0).to_frame()
    assert list(frame.columns) == ["pi", "d_pi", "ci_low", "ci_high", "bound"] and frame["ci_low"].isna().all()


def test_declarations():
    for name in ("c2st", "kl", "reverse_kl", "js", "spectrum"):
        spec = metrics.get_metric(name)
        assert (spec.needs, spec.group, spec.higher_is_better) == ("features", "classifier", False)


def test_custom_estimator_seeded_and_deterministic():
    from sklearn.ensemble import RandomForestClassifier

    real, generated, _ = _gaussians("shift", 2, 200, seed=1)
    forest = RandomForestClassifier(n_estimators=20, min_samples_leaf=20)
    a = adversarial_divergence(real, generated, classifier=forest, n_bootstrap=50, seed=5)
    b = adversarial_divergence(real, generated, classifier=forest, n_bootstrap=50, seed=5)
    assert a.value == b.value and a.ci == b.ci
    assert a.extras["classifier"] == "RandomForestClassifier"
    assert forest.get_params()["random_state"] is None  # the caller's estimator is left untouched


def test_non_convergence_is_a_metric_warning():
    from sklearn.linear_model import LogisticRegression

    real, generated, _ = _gaussians("shift", 2, 200, seed=1)
    with pytest.warns(MetricWarning, match=r"'LogisticRegression' did not converge on 5 of 5 folds"):
        adversarial_divergence(real, generated, classifier=LogisticRegression(max_iter=1), n_bootstrap=0)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classifier": "svm"}, r"`classifier` must be one of \['auto', 'gbdt', 'logistic', 'mlp', 'quadratic'\] .* got 'svm'"),
        ({"classifier": object()}, r"scikit-learn classifier with fit and predict_proba; got object"),
        ({"cv": 1}, r"`cv` must be an int in \[2, 20\]; got 1"),
        ({"cv": 30}, r"`cv` must be an int in \[2, 20\]; got 30\. Each fold needs rows of both sets"),
        ({"n_bootstrap": -1}, r"`n_bootstrap` must be an int >= 0; got -1"),
        ({"level": 1.5}, r"`level` must be a float in \(0, 1\), e.g. 0.95; got 1.5"),
        ({"pi": 1.2}, r"`pis` must lie in \[0, 1\] .*got 1.2"),
        ({"pi": [0.1, 0.2]}, r"`pi` must be a single number in \[0, 1\]; got \[0.1, 0.2\]. Use divergence_spectrum"),
        ({"seed": -3}, r"`seed` must be a non-negative int"),
    ],
)
def test_bad_options(kwargs, match):
    real, generated, _ = _gaussians("shift", 2, 20, seed=0)
    with pytest.raises(InputError, match=match):
        adversarial_divergence(real, generated, **kwargs)


def test_bad_spectrum_and_c2st_options():
    real, generated, _ = _gaussians("shift", 2, 20, seed=0)
    with pytest.raises(InputError, match=r"`pis` must be a non-empty 1-D sequence; got shape \(0,\)"):
        divergence_spectrum(real, generated, pis=[])
    with pytest.raises(InputError, match=r"`n_pis` must be an int >= 3; got 2. The grid needs both ends"):
        metrics.get_metric("spectrum")(real, generated, n_pis=2)
    with pytest.raises(InputError, match=r"`n_permutations` must be an int >= 0; got -1"):
        c2st(real, generated, n_permutations=-1)
    with pytest.raises(InputError, match=r"`real` needs at least 2 samples; got 1"):
        c2st(real[:1], generated)
    assert math.isfinite(c2st(real, generated, cv=2).value)


def test_auto_keeps_the_polynomial_unless_boosting_is_clearly_better():
    # pooled over folds, boosting's per-row validation loss must be lower than the quadratic's by
    # more than 2 standard errors of the paired difference; hand-made losses on both sides of that
    from types import SimpleNamespace

    from metrics.classifier import _choose

    rng = np.random.default_rng(0)
    base = rng.exponential(0.6, size=(5, 400))
    noise = rng.normal(0.0, 0.1, size=(5, 400))
    se = np.concatenate(noise).std(ddof=1) / math.sqrt(2000)

    def folds(gain):
        out = []
        for k in range(5):
            rows = {"constant": base[k] + 1.0, "quadratic": base[k], "gbdt": base[k] - gain + noise[k]}
            out.append(SimpleNamespace(row_losses=rows, losses={c: float(v.mean()) for c, v in rows.items()}))
        return out

    slight = folds(gain=1.0 * se + np.concatenate(noise).mean())  # boosting lower by about 1 SE
    assert sum(f.losses["gbdt"] for f in slight) < sum(f.losses["quadratic"] for f in slight)
    assert _choose(slight) == "quadratic"
    assert _choose(folds(gain=3.0 * se + np.concatenate(noise).mean())) == "gbdt"
    # a polynomial or constant winner is taken as it is
    assert _choose(folds(gain=-0.5)) == "quadratic"


def test_platt_scaling_converges_when_a_few_scores_are_far_out():
    # weak scores near 0 plus seven far-out ones (the shape of the rbf validation scores that made
    # plain Newton steps from a = 1 diverge to a = 8e6 and a loss of 2e11 nats): the fit must reach
    # the minimum of the convex loss, the one scikit-learn's solver finds, below the constant's loss
    from sklearn.linear_model import LogisticRegression

    from metrics.classifier import _platt

    rng = np.random.default_rng(0)
    s = np.r_[rng.normal(size=300) * 0.15, [16.0, 9.1, 7.5, 6.0, 5.9, 3.1, -8.1]]
    y = np.r_[rng.integers(0, 2, 300), np.ones(7, dtype=int)]
    a, b, loss = _platt(s, y)
    ref = LogisticRegression(C=1e8 / len(s), tol=1e-12, max_iter=10_000).fit(s[:, None], y)
    z = ref.coef_[0, 0] * s + ref.intercept_[0]
    assert loss == pytest.approx(np.mean(np.logaddexp(0.0, z) - y * z), abs=1e-9)
    assert a == pytest.approx(ref.coef_[0, 0], rel=1e-4) and b == pytest.approx(ref.intercept_[0], abs=1e-4)
    prior = y.mean()
    assert loss < -(prior * np.log(prior) + (1 - prior) * np.log(1 - prior))


def test_an_end_is_a_lower_bound_when_a_model_that_fits_as_well_puts_it_far_higher():
    # hand-built held-out log-ratios, 4 real rows then 4 generated, on which every number is a short sum
    import dataclasses

    from metrics.classifier import _CrossFit, _end_rivals, _end_shifts

    n_real = 4
    own = np.log([2.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.5])  # winner: KL(P||Q) = KL(Q||P) = log 2
    steeper = np.log([2.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.05])  # one generated row 10x more surely generated
    # reverse KL 4.6, but a poorer fit: a real row it calls 100x more likely generated
    worse = np.log([2.0, 2.0, 2.0, 0.01, 0.01, 0.01, 0.01, 0.01])
    half = np.array([0.5])

    def d_half(ell):
        a, b = _contributions(ell[:n_real], ell[n_real:], half)
        return float(a.mean() + b.mean())

    assert d_half(steeper) > d_half(own) > d_half(worse)
    fit = _CrossFit(logit=own, ell=own, n_real=n_real, fold=np.zeros(8, dtype=np.int64), chosen=("gbdt",),
                    probes=(("gbdt", own), ("worse", worse), ("quartic@C10", 3 * steeper), ("rbf", steeper)))
    rival_kl, rival_rkl = _end_rivals(fit)
    # the steeper model's reverse KL: (3 log 2 + log 20) / 4 = 1.2688, more than 25% above log 2; its KL is
    # the same as the winner's; the poorer fit and the less-ridge probe are no rivals however high
    assert rival_kl is None
    assert rival_rkl == ("rbf", pytest.approx((3 * math.log(2) + math.log(20)) / 4, rel=1e-12),
                         pytest.approx(math.log(2), rel=1e-12))
    # below the margin: (3 log 2 + log 2.6) / 4 = 0.759 does not exceed log 2 * 1.25 = 0.866
    mild = np.log([2.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 1 / 2.6])
    assert d_half(mild) > d_half(own)
    assert _end_rivals(dataclasses.replace(fit, probes=(("gbdt", own), ("rbf", mild)))) == (None, None)
    # the ends' intervals span the models that fit as well: only "rbf" here, log(20 / 2) / 4 higher at pi = 1
    pis = np.array([0.0, 0.5, 1.0])
    shifts, names = _end_shifts(fit, pis)
    assert names == ("rbf",)
    np.testing.assert_allclose(shifts, [[0.0, 0.0, math.log(10) / 4]], atol=1e-12)


def test_an_end_a_tenth_of_which_lies_above_ratios_no_sample_could_check_is_a_lower_bound():
    # hand-built held-out log-ratios: 100 real rows, 99 at 0.5 and one far out; 100 generated rows, half at
    # +0.5, half at -0.5 (mean ratio 1.13, no mass deficit, no tail deficit, no saturation: 1 row of 100)
    from metrics.classifier import _UNCHECKED_SHARE, _support

    cap = math.log(100)
    generated = np.r_[np.full(50, 0.5), np.full(50, -0.5)]
    for beyond, flagged in ((7.0, True), (5.0, False)):
        real = np.r_[np.full(99, 0.5), cap + beyond]
        sup = _support("KL(P||Q)", generated, real, 100)
        # the row's excess over the cap, beyond / 100, of the plug-in (49.5 + cap + beyond) / 100
        assert sup.unchecked_share == pytest.approx(beyond / (49.5 + cap + beyond), rel=1e-12)
        assert (sup.unchecked_share >= _UNCHECKED_SHARE) is flagged  # 0.115 and 0.085
        assert sup.saturated == 0.01 and not sup.tail_deficit and not sup.beyond_carried
        assert sup.lower is flagged


def test_a_flagged_end_is_never_reported_below_0():
    # a flagged end is the capped plug-in, normalised by M = mean_Q(exp f) when M > 1 (`_end_terms`); one
    # generated row at the cap log 100 adds 100 / 100 = 1 to M
    from metrics.classifier import _end_terms

    generated = np.r_[np.full(99, -0.05), 10.0]
    m = (99 * math.exp(-0.05) + 100) / 100
    for level, expected in ((1.0, 1.0 - math.log(m)), (0.05, 0.0)):  # 0.05 - log M = -0.61 becomes 0
        (a, b), _ = _end_terms(np.full(100, level), generated, bounds=(True, False))
        assert a.mean() + b.mean() == pytest.approx(expected, abs=1e-12)
    (a, b), _ = _end_terms(np.full(100, 0.05), generated[:-1], bounds=(True, False))  # M < 1: the capped mean
    assert a.mean() + b.mean() == pytest.approx(0.05, rel=1e-12) and not b.any()
