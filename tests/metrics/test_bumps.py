"""The pieces of the "rbf" candidate: Newton's logistic regression and the bump features."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from metrics._bumps import BumpFeatures, NewtonLogistic


def test_newton_logistic_solves_scikit_learns_penalised_objective():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6)) * [1, 2, 0.5, 1, 3, 1]
    y = (x[:, 0] - 0.5 * x[:, 1] + rng.logistic(size=500) > 0.3).astype(int)
    for c in (0.05, 1.0):
        ours = NewtonLogistic(C=c).fit(x, y)
        ref = LogisticRegression(C=c, tol=1e-12, max_iter=10_000).fit(x, y)
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)
        np.testing.assert_allclose(ours.decision_function(x), ref.decision_function(x), atol=1e-5)


def test_newton_logistic_stays_finite_on_separable_labels():
    x = np.linspace(-3, 3, 40)[:, None]
    y = (x[:, 0] > 0).astype(int)
    fit = NewtonLogistic(C=1.0).fit(x, y)
    # the ridge keeps the separating slope finite; it still orders the rows correctly
    assert np.isfinite(fit.coef_).all() and fit.coef_[0, 0] > 0
    assert np.all((fit.decision_function(x) > 0) == (y == 1))


def test_bump_centres_are_the_means_of_their_rows_and_the_features_are_exact():
    rng = np.random.default_rng(1)
    z = np.vstack([rng.normal(c, 0.1, size=(100, 2)) for c in ([0, 0], [3, 0], [0, 3], [3, 3])])
    bumps = BumpFeatures(n_centres=4, width=0.5).fit(z)
    c = bumps.centres_
    nearest = np.argmin(((z[:, None] - c[None]) ** 2).sum(-1), axis=1)
    for k in range(4):  # Lloyd's fixed point: every centre is the mean of the rows nearest to it
        np.testing.assert_allclose(c[k], z[nearest == k].mean(0), atol=1e-9)
    np.testing.assert_allclose(c[np.lexsort((c[:, 1].round(), c[:, 0].round()))], [[0, 0], [0, 3], [3, 0], [3, 3]],
                               atol=0.05)
    assert bumps.width2_ == pytest.approx(0.25 * np.median([min(((c[k] - c[j]) ** 2).sum() for j in range(4) if j != k)
                                                           for k in range(4)]), rel=1e-12)
    f = bumps.transform(z[:3])
    assert f.shape == (3, 2 + 3 + 4)  # z, the 3 products z_i z_j (i <= j), one bump per centre
    np.testing.assert_allclose(f[:, :2], z[:3])
    np.testing.assert_allclose(f[:, 2:5], np.c_[z[:3, 0] ** 2, z[:3, 0] * z[:3, 1], z[:3, 1] ** 2])
    np.testing.assert_allclose(f[:, 5:], np.exp(-0.5 * ((z[:3, None] - c[None]) ** 2).sum(-1) / bumps.width2_),
                               rtol=1e-10)


def test_at_most_one_centre_per_20_rows():
    z = np.random.default_rng(2).normal(size=(100, 2))
    assert BumpFeatures(n_centres=32).fit(z).centres_.shape == (5, 2)


def test_discrete_rows_give_distinct_centres_and_a_positive_width():
    # three distinct values: k-means++ asked for 32 centres returns duplicates; one bump each is kept
    z = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])[np.random.default_rng(3).integers(0, 3, 900)]
    bumps = BumpFeatures().fit(z)
    assert len(bumps.centres_) == 3 and bumps.width2_ == pytest.approx(0.25 * 1.0)
    assert np.isfinite(bumps.transform(z)).all()
    single = BumpFeatures().fit(np.zeros((100, 2)))  # one distinct row: a bump as wide as the data
    assert len(single.centres_) == 1 and single.width2_ == 0.25
