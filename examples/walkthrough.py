# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # genbench walkthrough: likelihood and sample quality can disagree
#
# Huszar (2015): a model trained by maximum likelihood covers every mode of the data and may put
# mass where there is none; a model that only ever generates realistic samples may drop modes and
# get a terrible likelihood. This notebook builds both on a two-mode toy problem, scores them with
# `metrics` directly and with `genbench.score`, and reads the leaderboard's "Likelihood vs sample
# quality" section. It runs top to bottom in about 15 s of CPU on one core (`python
# examples/walkthrough.py`, or open it as a notebook with jupytext).

# %%
import numpy as np
from scipy import stats

import metrics
from genbench.leaderboard import Leaderboard  # also importable as genbench.Leaderboard
from genbench.runner import score_run  # also genbench.score_run (genbench.score: the rows only)

rng = np.random.default_rng(0)
MODES = np.array([[-4.0, 0.0], [4.0, 0.0]])


def two_modes(n):
    """The data: an equal mixture of two unit Gaussians at (-4, 0) and (4, 0)."""
    return MODES[rng.integers(0, 2, size=n)] + rng.normal(size=(n, 2))


def mixture_logpdf(x):
    return np.logaddexp(*(stats.multivariate_normal(m, np.eye(2)).logpdf(x) for m in MODES)) - np.log(2)


real, test = two_modes(2000), two_modes(1000)

# %% [markdown]
# Three models, each with samples and exact per-example log-probabilities of the test set:
#
# * `truth`: the data distribution itself;
# * `cover`: the maximum-likelihood single Gaussian (mean and covariance of the data): it covers
#   both modes, and half its samples land in the empty gap between them;
# * `mode`: a Gaussian on the right-hand mode only: every sample is realistic, but the left-hand
#   test points are nearly impossible under it.

# %%
cover = stats.multivariate_normal(real.mean(0), np.cov(real, rowvar=False))
mode = stats.multivariate_normal(MODES[1], 1.2 * np.eye(2))
samples = {"truth": two_modes(2000), "cover": cover.rvs(2000, random_state=rng), "mode": mode.rvs(2000, random_state=rng)}
log_probs = {"truth": mixture_logpdf(test), "cover": cover.logpdf(test), "mode": mode.logpdf(test)}

# %% [markdown]
# ## Metrics on arrays
# The numerical core takes arrays and returns `MetricResult` objects. FID only compares means and
# covariances, so the moment-matched `cover` is nearly perfect by FID.

# %%
for name in samples:
    ll = metrics.log_likelihood(log_probs[name])
    fid = metrics.fid(real, samples[name])
    print(f"{name:>6}: log-likelihood {ll.value:8.2f} nats  CI [{ll.ci.low:.2f}, {ll.ci.high:.2f}]   FID {fid.value:.3f}")

# %% [markdown]
# ## Every metric on every model, with paired tests
# `score_run` (`genbench.score_run`) takes the same arrays (or sample-set paths); `run.results` is
# one long table of result rows and `run.comparisons` the pairwise comparisons between models, with
# p-values adjusted for multiplicity. `significance` names the metrics whose differences between
# models are compared (`genbench.significance`).

# %%
names = ["log_likelihood", "fid"] + [m for m in ("precision", "recall") if m in metrics.available_metrics()]
tested = [m for m in ("log_likelihood", "fid", "precision") if m in names]
run = score_run(real, samples, metrics=names, log_probs=log_probs, significance=tested)
df = run.results
df[["model", "metric", "value", "ci_low", "ci_high", "status"]]

# %% [markdown]
# ## The leaderboard
# Each metric is ranked in its own direction; nothing is averaged across metrics.

# %%
board = Leaderboard(run, title="Two modes")
board.table()

# %%
board.rank_agreement()

# %% [markdown]
# The findings: pairs that the likelihood and a sample-quality metric order oppositely, with both
# differences significant after the multiplicity adjustment (effect sizes and adjusted p-values):

# %%
board.findings()

# %%
print(board.to_markdown())

# %% [markdown]
# ## Plot
# Likelihood on the x axis, each sample-quality metric on the y axis, one point per model.
# (`Leaderboard.plot` returns a matplotlib Figure; it never needs a display.)

# %%
figure = board.plot()
figure
