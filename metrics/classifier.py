"""Classifier-based two-sample test and adversarial divergences: C2ST and the KL / reverse-KL / JS_pi spectrum.

Huszar (2015): maximum likelihood minimises KL(P||Q) (P = data, Q = model), sample quality behaves
like KL(Q||P), and adversarial training with class prior pi minimises the generalised
Jensen-Shannon divergence JS_pi, which interpolates between them. With d_pi = JS_pi / (pi (1 - pi)),
d_0 = KL(P||Q), d_1 = KL(Q||P) and d_0.5 = 4 JS (exact helpers: :mod:`metrics.divergences`).

One estimator serves the whole family:

1. Cross-fitting. The pooled sample (label 1 = real, 0 = generated) is split into ``cv`` stratified
   folds; for each fold a probabilistic classifier is fitted on the other folds (inputs standardised
   with training-fold statistics only) and scores the held-out rows. Every row gets one held-out
   logit from a classifier that never saw it.
2. Prior correction. The classifier's logit estimates log(pi_train p / ((1 - pi_train) q)), so
   log p/q = logit D - log(n_real_train / n_generated_train).
3. Plug-in. With ell = held-out log p/q, M = pi P + (1 - pi) Q and 0 < pi < 1,

       KL(P||M) ~ mean over real rows of      -log(pi + (1 - pi) exp(-ell)),
       KL(Q||M) ~ mean over generated rows of -log(pi exp(ell) + 1 - pi),
       d_pi     = KL(P||M) / (1 - pi) + KL(Q||M) / pi.

   This mixture form is a variational lower bound, maximal (and Neyman-orthogonal) at the true
   log-ratio: classifier-fit errors lower it only at second order. At the ends the direct plug-ins
   are used: d_0 = mean_real(ell), d_1 = mean_generated(-ell). The limit of the mixture form at
   pi -> 0 would add 1 - mean_generated(exp(ell)), a term with mean zero for the true ratio but
   variance chi^2(P||Q), which is infinite as soon as the real data have heavier tails than the
   generated data (mode dropping); the direct plug-in keeps a bounded variance but is first-order
   sensitive to the classifier's fit error. The two normalisation means (mean_generated(exp(ell))
   and mean_real(exp(-ell)), both 1 for a perfect ratio) are returned in ``extras``.
4. Fit error (logistic models: "quadratic", "logistic", and "auto" when a logistic candidate wins). With the
   sandwich covariance of each fold's coefficients (case-control intercept: stratified folds fix
   the class counts), (a) the interior's second-order loss -1/2 E_M[D (1 - D) Var ell_hat] / (pi (1 - pi)),
   about (parameters) / n, is added back (``extras["bias_correction"]``; issue 12 measured the
   uncorrected interior ~1.4 x parameters / n low); (b) the first-order fit error g Sigma g^T (g: the
   value's derivative in the coefficients, which vanishes in the interior when the model contains
   the true ratio, but not at the ends or under misspecification) is added to every bootstrap
   replicate as a parametric draw; and (c) every row's term, kept on the result (``replicates``, a
   :class:`RowTerms`), also carries its influence on the fold models it trained, so that
   :func:`paired_divergence_test` pairs two models' reference rows with their shared fit error.
   Boosting and nearest-neighbour folds carry none of these (their intervals cover evaluation noise
   only). For comparisons their ends carry the influence a locally consistent ratio fit has (the
   KL functional's efficient influence: 1 - r on the other side's rows, see `_with_influence`);
   their terms are marked ``seed_dependent``, and a comparison adds the spread of re-runs with other
   seeds (:func:`genbench.significance.compare`). Two equal-quality models where boosting won every
   fit (``widen-4d`` construction, n = 2,000, 100 seeds) were "different" by KL in 14 with the
   re-runs alone, 6 with the influence terms too (reverse KL 5).
5. Every pi is evaluated from the same held-out log-ratios, so a spectrum of 11 values costs one set
   of fits. Confidence intervals resample held-out rows (real and generated separately, the same
   draws for every pi).

Choice of classifier. A plug-in estimate is only as good as the log-ratio model, and a lower held-out
log loss is a tighter bound on JS_pi, so the default ``"auto"`` chooses the model by held-out log loss:

* per training fold, 20% of its rows are held back (stratified) as an inner validation set; inputs
  are standardised on the rest, and above 64 dimensions projected on their 64 leading principal
  components (PCA fitted on the training rows only; 2048-d Inception features stay fast, and a
  projection can only lower a divergence, so the estimate is then of the divergence between the
  projections, a lower bound);
* the candidates are fitted on the rest: the constant (prior-only) model, which says log p/q = 0
  and is the exact null model, so P = Q gives exactly 0; a quadratic logistic regression (every
  x_i x_j up to 12 dimensions, so it is well specified for any two Gaussians, correlations included;
  squares only above); up to 3 dimensions a quartic one (a banana against a Gaussian has an exactly
  quartic log-ratio), twice: at the default ridge and with a tenth of it ("quartic@C10", chosen only
  when it gains materially over the first: `_LESS_RIDGE`); up to 16 dimensions an additive one, the
  quadratic features plus a cubic spline in each coordinate ("spline": two distributions whose
  coordinates are independent, or independent given a Gaussian's, have a log-ratio that is a sum of
  one-coordinate functions; a Laplace or a Gamma against its ML Gaussian has |x| or log x terms that
  no polynomial draws and that boosting under-states by 16-31% in 10-d); up to 3 dimensions a
  logistic regression on the quadratic features plus 32 Gaussian bumps at k-means centres of the training rows ("rbf": a ring of narrow
  modes against a Gaussian, or against a model that keeps some of them; measured on the ring against its ML Gaussian at n = 2,000, the
  interior d_pi went from 7-10% low with the k-NN ratio, whose interval carries no fit error, to
  1-2% low with one that does); histogram gradient boosting stopped early on the validation rows' log loss
  (curved and multimodal ratios: rings of modes, supports), on the coordinates and their squared norm
  (`_RadialBoosting`: a round support edge is then one split); and up to 8 dimensions a
  nearest-neighbour ratio (logistic regression on d log(r_k(generated) / r_k(real)) for k = 1, 10),
  which sees structure at the scale of the sample spacing;
* each non-constant candidate's validation logits are calibrated by Platt scaling
  (sigmoid(a s + b), fitted on the validation rows, so the held-out rows never inform it), and must
  beat the constant model's summed validation log loss by 3 nats per fold (``_CONSTANT_MARGIN``).
  Without a margin a pure-noise classifier beats the constant about half the time under P = Q
  (its calibration alone gains ~chi2_1 / 2 nats per fold) and biases interior d_pi below 0; with it
  the constant is kept in about 99.5% of null fits (measured null gains: 99% quantile 7.7-10.2 nats
  over 5 folds, 2-64 dimensions), while any real difference (a gain of order n_val JS) wins. BIC's
  log(n_val) per fold, used before, grew with n and missed 10% of broad noise around a ring at
  n = 1,000;
* one candidate is chosen for every fold: the lowest penalised validation loss summed over the
  folds (per-fold choices flip between near-equal candidates by noise, and a boosting fold among
  quadratic ones biased a Gaussian world's d_pi low), except that boosting or the nearest-neighbour
  ratio must beat the quadratic (else quartic, else spline, else rbf) model by more than 2 standard
  errors of the paired per-row validation losses, or the logistic model is kept: it carries the
  fit-error terms and is unbiased when it contains the ratio, while boosting won the plain comparison by noise in 13% of
  the shift-10d seeds at n = 2,000 and was then 15% low. A logistic winner is refitted on the whole
  training fold and used uncalibrated (Platt's slope only shrinks a well-specified model's logits);
  other winners use their calibrated logits, prior corrected with the validation rows' class
  counts. ``extras["chosen"]`` lists the model of every fold.

Approximation gap. A logistic winner's interval covers its fit error, not the gap between its model
and a log-ratio it does not contain: misspecified, its interior d_pi is low with a confident interval
(measured at n = 2,000: 8 narrow modes against their ML Gaussian 1.1-1.6% below the exact-ratio plug-in
of the same rows, 8 modes against 4 of them 3.1-3.3%, a box against half of it 5.5-5.9%). Every
classifier's held-out interior d_pi is a variational lower bound, so any other candidate that scores
higher on the same held-out rows shows a gap at least that large. The interior intervals of "auto"
therefore raise their upper end by the largest such advantage (``extras["approximation_gap"]``, 0 when
the winner scores best). The comparison uses every candidate as fitted on the fit rows (the winner too),
plus probes that are never chosen (`_PROBES`): "rbf" with bumps 0.35, 0.7, 1.0 and 1.4 times the
centre spacing, "rbf" and "quartic" with a tenth of the ridge, and a model of another kind, the
log-ratio of two Gaussian mixture densities fitted one per side (`metrics._mixtures`; the logistic
probes showed at most 0.2% of the ring's 1.1-1.6% gap, the mixtures 1.4-1.6%), which is also fitted
from 4-d to 16-d, where boosting is the only flexible candidate (`_MIXTURE_MAX_DIM`). A logistic winner
with a less-ridge probe ("rbf", "quartic") is also refitted exactly like itself with a tenth of the
ridge, and the two are compared on their bias-corrected values (`_ridge_gaps`): in raw held-out values
a less-penalised fit pays more estimation loss, which hid most of the banana's shrinkage (its quartic
interior is 2.5-2.9% low at C = 1; the raw probe showed 1.1-1.6%, the corrected refit 2.3-2.6% on
average). The value itself is unchanged: the advantage is a difference of noisy scores, maximised over
candidates, and a probe chosen as the model changed flags elsewhere while less ridge sent KL(P||Q) up
(README, known limits). It does not see a gap no candidate or probe closes (a box against half of it,
5.5-5.9% low: 1.4-1.5% shown).

The ends are plug-ins, not bounds, so a higher or lower end from another model shows nothing about the
truth by itself; but a model that scores at least as high at pi = 0.5 on the same held-out rows fits
them at least as well, and the rows cannot prefer the winner's ends to its. The ends' intervals
therefore span those models' ends, and the less-ridge refit's when its bias-corrected d_0.5 is at least
the winner's (`_end_shifts`: the upper end raised by the largest excess, the lower end lowered by the
largest shortfall, ``extras["approximation_gap"]`` and ``["approximation_gap_below"]``); an end that such
a model (not the refit) puts more than 25% higher is only a lower bound (see Lower bounds).

A small torch MLP was measured as a fourth candidate and left out: on the worlds of the tests it never
beat boosting by more than its 5-10x cost. It is available as ``classifier="mlp"`` (2 x 64 SiLU
units, AdamW with weight decay, early stopping on the inner validation log loss, Platt-calibrated,
seeded through an explicit ``torch.Generator``). The named classifiers of earlier versions remain:
``"quadratic"`` (logistic regression on the standardised features and their squares, 2d + 1
parameters, with the fit-error terms), ``"logistic"`` (linear, the classic C2ST of
Lopez-Paz & Oquab 2017, blind to anything but mean differences), ``"gbdt"``, and any scikit-learn
classifier with ``predict_proba``.

Lower bounds. Where one distribution has mass the other lacks, the true KL in that direction is
infinite (or, for a finite but extreme ratio, beyond what n samples can check), and every classifier
returns a finite number. Two diagnostics catch it. E_Q[p/q] = P(q > 0), so the generated rows' mean
estimated ratio falls below 1 when P has mass outside Q's support; and a ratio above the other set's
size is one no sample of that size could have checked (saturated). Both miss a support edge that a
smooth fit spreads out (a disc inside a square: the real rows' mean q/p 0.88-0.96 for a true 0.785, no
row saturated), so a third checks the tail calibration: among the held-out rows at or beyond the 80%
quantile of the real rows' log-ratio (where the model is surest a row is real) it counts the generated
rows and compares with what the fitted ratio predicts; far fewer (at most half, Poisson p < 1e-2) means
the true log-ratio climbs further than the fit, so KL(P||Q) is under-stated. KL(P||Q) (pi = 0) is
flagged when mean_generated(p/q) + 3 SE < 0.9, when 2% of the real rows saturate, or on that tail
deficit; KL(Q||P) (pi = 1) the same way with the roles swapped. A fourth check looks for a rival
(`_end_rivals`): another model of "auto" that fits the held-out rows at least as well (scores at least
as high at pi = 0.5) but puts the end more than 25% higher. The rows then do not determine that end: it
rests on how the ratio is extrapolated into regions with too few of the other set's rows, such as the
voids between well-separated modes that their ML Gaussian fills (finite, large KL(Q||P); boosting caps
the ratio there and passes the other checks). A fifth applies to a winner without fit-error terms
(boosting, the k-NN ratio): at least 100 of a side's rows lying beyond every row of the other set
(``extras["beyond_generated_real"]``, ``["beyond_real_generated"]``). There such a model's ratio is set
by its regularisation, not by rows (a Gamma against its ML Gaussian, whose mass below 0 the Gamma lacks:
boosting's KL(Q||P) 0.51, unflagged, for an infinite truth). A sixth applies to any winner: those rows
carrying 70% or more of the end's plug-in, which then rests on extrapolation where the other set has no
row (``extras["beyond_generated_real_share"]``, ``["beyond_real_generated_share"]``). A seventh applies to
a boosting winner: the side's values past the other set's range (above its largest or
below its smallest, summed over the coordinates) at least 4 times as many as two sets with the same tails
give (2 d n / (m + 1)) and at least 30 (``extras["outside_generated_range_real"]``,
``["outside_real_range_generated"]``). Trees continue their ratio flat past the other set's last row, so
a log-ratio that keeps rising in a heavier tail is cut off there (an Exponential(1) against its ML
Gaussian: boosting's finite KL(P||Q) 16% low, 84 values past the range where 4 were expected). A flagged end gets
``bound="lower"`` (on the MetricResult, in ``extras`` and in each spectrum row), no two-sided interval (``ci=None``, the one-sided lower end in
``extras["ci_low_one_sided"]``), and a :class:`~metrics.MetricWarning` that
names the direction and the saturated share. A flagged end's value is a lower bound up to noise
(`_end_terms`: the held-out log-ratio capped at the log of the other set's size, normalised where the
other set's rows show it too large); the plug-in is none, since a smooth fit extrapolated into the
other side's voids put 6 ring modes against 3 of them at 8.9 for a true 6.2.
Only the affected direction is flagged: the interior
d_pi are bounded (d_pi <= -log(pi) / (1 - pi) - log(1 - pi) / pi) and stay estimates.

Near-copies. A model that memorised its training points emits near-copies of them: its density has
structure below the sample spacing, which no classifier fitted on these rows can resolve, so every
d_pi is underestimated (measured on the demo's memoriser: d_0.5 0.18 against a true 1.75, KL 0.2
against 29.5). A scale-free check catches it: for a sample from a smooth density the ratio of a
row's distances to its 1st and 10th nearest neighbours in its own set has the same distribution
whatever the density, so the generated rows' ratios are compared with the real rows' (share below
the real 5% quantile; on a fixed random projection to 8 dimensions above 8). When that share is
>= 15% with a binomial p < 1e-3, every pi is flagged as a lower bound, with a warning
(``extras["near_copies_generated"]``). Measured: memorising models 0.25-0.32; every smooth model
and world of the tests 0.03-0.064.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ._checks import check_int, check_level, check_pair, check_seed
from .errors import InputError, MetricWarning
from .registry import metric
from .result import ConfidenceInterval, MetricResult

__all__ = ["c2st", "adversarial_divergence", "divergence_spectrum", "DivergenceSpectrum", "CLASSIFIERS", "RowTerms",
           "paired_divergence_test"]

#: Built-in classifier names (any scikit-learn estimator with ``predict_proba`` is accepted too).
CLASSIFIERS = ("auto", "quadratic", "logistic", "mlp", "gbdt")
#: Default pi grid of :func:`divergence_spectrum`: 0, 0.1, ..., 1.
DEFAULT_PIS = tuple(float(v) for v in np.round(np.linspace(0.0, 1.0, 11), 12))
# held-out probabilities from predict_proba are clipped here before taking logits (|logit| <= 34.5);
# the built-ins "quadratic", "logistic" and "gbdt" return exact logits and never hit it
_PROBA_FLOOR = 1e-15
# bootstrap replicates are drawn in fixed blocks so the random stream (and the CI) does not depend
# on memory settings; a block holds _BOOT_BLOCK x n int32 indices
_BOOT_BLOCK = 32
# a direction is flagged as a lower bound when the other side's mean ratio is more than 3 standard
# errors below 1 - _MASS_DEFICIT, or when _SATURATED_SHARE of its rows have a ratio above the other
# set's size (a ratio no sample of that size could have checked)
_MASS_DEFICIT = 0.1
_SATURATED_SHARE = 0.02
# ... or when the fitted ratio is not steep enough in that side's tail: among the held-out rows at or
# beyond one of the side's _TAIL_SHARES quantiles (the rows the model is surest belong to it), the other
# set's rows number at most _TAIL_DEFICIT of what the model expects, with a Poisson p below _TAIL_P (the
# most significant share is the one reported; the tails are nested, so the tests are strongly correlated
# and a calibrated fit fires at most 5 x _TAIL_P of the time). Measured at n = 2,000 (10 draws
# each, the 0.2 share alone): a disc inside a square, whose smooth fits pass both checks above, 8 of 10
# (KL(Q||P), 7-30 real rows found where 41-62 were expected; 20 of 30 draws); no flag in the 2-d and
# 10-d Gaussian worlds, the rings against their ML Gaussians or against some of their modes, or the
# bananas, except one banana draw whose KL(Q||P) the checks above already flag (3 found, 14.5 expected).
# The finer shares find a small region the other side lacks: a standard normal against itself cut at
# x1 < 1.645 (5% of the mass missing), n = 10,000: boosting's KL(P||Q) came back 0.111 [0.097, 0.125]
# for an infinite truth with every check above passed, and 0 generated rows sat among the 2% surest real
# rows where the fit expected 9.2. _TAIL_P was 1e-3 until boosting's near misses were measured at
# n = 10,000: 5% of the mass missing in 5-d, 0 found where 6.1 were expected (p 2e-3), the 2-d mirror
# image 0 of 5.2 (p 6e-3), a banana with 3 noise coordinates, whose KL(P||Q) boosting put 23% low, 0 of
# 5.2; all three came back confident. At 1e-2 they are flagged, and no end was flagged anew: at n = 2,000
# the ~330 ends of the tests' worlds no other check flagged (30 draws each) had tail p >= 0.026, and on
# 23 worlds with finite truths at n = 10,000 the smallest was 0.03
_TAIL_SHARES = (0.2, 0.1, 0.05, 0.02, 0.01)
_TAIL_DEFICIT = 0.5
_TAIL_P = 1e-2
# ... or when a rival model puts the end far higher: a candidate or probe of "auto" that scores at least as
# high as the winner at pi = 0.5 on the same held-out rows (so fits them at least as well) and whose plug-in
# of the end exceeds the winner's by more than _RIVAL_MARGIN of it (and _RIVAL_FLOOR). Two models the rows
# cannot tell apart that disagree that much: the end rests on extrapolation into regions with too few rows
# of the other set to pin the ratio down (the voids between modes a Gaussian fills), and the lower one was
# the winner in every such case measured. 6 wide modes against their ML Gaussian at n = 10,000: boosting
# won, KL(Q||P) 1.96 for a true 3.47, with a confident interval and no other flag; the mixture probe, which
# scores higher, puts it at 3.5. On the worlds of the tests the largest rival excess at a bounded end was
# +15% (a 2-D correlation change, 10 draws each at n = 2,000). The less-ridge probes are no rivals: a tenth
# of the ridge only adds noise at the ends (+27% and +34% on two banana draws whose KL(P||Q) was above the truth)
_RIVAL_MARGIN = 0.25
_RIVAL_FLOOR = 0.02
# ... or, for a winner without fit-error terms (boosting, the k-NN ratio), when at least _VOID_ROWS of the
# side's rows lie beyond every row of the other set (its surest rows, with none of the other set's among
# them). There such a model's ratio is bounded by its regularisation (leaf values, distance features), not
# by the rows, which only show it is large; a logistic model extrapolates its fitted form there and carries
# that in its fit-error terms. Measured at n = 10,000 (seed 0), with boosting on the coordinates alone
# (before `_RadialBoosting`): a 2-d Gamma(3) against its ML Gaussian,
# 8.5% of whose mass is below 0 where the Gamma has none: boosting's KL(Q||P) came back 0.512, finite and
# confident, for an infinite truth (mean ratio 0.923 +- 0.005, not 10% short; tail 0 found of 1.9
# expected), with 910 of the generated rows beyond every real row. Flagged anew at 10,000 by this check
# alone: that end; KL(P||Q) of a banana with 4 or 8 noise coordinates (boosting 19% and 24% low; 168 and
# 117 rows beyond) and of an Exponential(1) against its ML Gaussian (17% low, 108 rows; with the squared
# norm as an input 31 rows, and the range check below flags it); both ends of 8 ring modes against the ring turned by half a
# spacing (the k-NN ratio, 15% low; 789, 951). The finite ends of boosting or k-NN winners it left alone
# (14 on the sweeps' worlds: boxes, a cube, truncated normals, a disc in a square, grids of modes) had at
# most 16 rows beyond; every finite end it flags anew was at least 15% below its truth at 10,000
_VOID_ROWS = 100
# ... or, for any winner, when those rows carry _BEYOND_SHARE of the end's plug-in: the end then rests on
# how the model extrapolates where the other set has no rows at all. Measured at n = 10,000 (seed 0) on
# ~40 worlds: every infinite end had a share of 0.86 or more (a 2-d Gamma(5) against its ML Gaussian,
# 0.86: the additive spline model wins, draws the Gamma's edge smoothly, and no other check fired:
# KL(Q||P) 0.45 for an infinite truth); the finite ends above 0.56 (modes the other side lacks, the
# bananas' and an annulus's KL(Q||P)) were flagged by the other checks too and 30-85% below their truths;
# the largest share of an unflagged finite end was 0.42 (a 10-d Toeplitz correlation, KL(Q||P) 4% high,
# the quadratic model), and at n = 2,000 0.50 (a 2-d correlation change, 5 draws). At n = 2,000 it flags
# the infinite KL(Q||P) of Gamma(2), (3), (5) against their ML Gaussians in 15 of 15 draws (0.79-1.00)
_BEYOND_SHARE = 0.7
# ... or, for a boosting winner of "auto", when the side's rows reach past the other set's range far
# more often than two sets with the same tails would: counting, over the coordinates, the side's values
# above the other set's largest or below its smallest, same tails expect 2 d n / (m + 1) (each of the
# m + 1 order positions equally likely); at least _OUTSIDE_FACTOR times that and _OUTSIDE_MIN is a heavier
# tail. Trees continue their ratio flat past the last row of the other set, so a
# log-ratio that keeps rising there (a tail the other side's density falls away from faster) is cut off.
# Measured at n = 10,000: an Exponential(1) against its ML Gaussian in 2-d, boosting's KL(P||Q) 16% low and
# unflagged (84, 126, 146 values past the Gaussian's range over three draws, 4 expected); the finite ends
# boosting gets right had at most 2.3 times the expectation (a truncated normal in 5-d, 23 for 10; the
# boxes and folds 0-5 for 4-20; a normal without its unit ball 2-22 for 6), and so did P = Q in 2-d and 64-d
# (1-7 for 4, 101-163 for 128). Not for other models: the k-NN ratio follows the distances out, and an
# MLP's ratio goes on rising past the rows (its KL(Q||P) of a variance change in 2-d was within 4% at
# n = 3,000 with 115 values past the range; flagged, and so capped by `_end_terms`, it lost 15%)
_OUTSIDE_FACTOR = 4.0
_OUTSIDE_MIN = 30
# ... or, for any winner, when the part of the end's plug-in above the log of the other set's size (each
# row's excess of its log-ratio over that cap) is at least _UNCHECKED_SHARE of it: a ratio above n is one
# no sample of the other set's size can check, so that part of the end is the model's extrapolation alone,
# and an end a tenth of which rests on it cannot be claimed to within a tenth. Where the log-ratio rises
# without bound along the side's tail, chi^2 is infinite and this part is noisy: a banana against its ML
# Gaussian at n = 10,000 (seed 0), the quartic model, whose held-out log-ratios of the ten outermost real
# rows came back 2-4 times their true 20-45: 13-16% of KL(P||Q) above the cap on five bananas (the exact
# ratio puts 4-5% there), the plug-ins 4-18% high and unflagged; capped (`_end_terms`) 1-12% low. A 2-d
# Student t(5) against its ML Gaussian: 22-23% (exact ratio 23%), plug-in +5% by luck (the fitted and true
# log-ratios of its outermost rows are unrelated). The largest share of any other end on the 50 worlds of
# the sweeps was 0.078 (an end flagged already), of an unflagged end 0.029 (a 10-d Laplace against its ML
# Gaussian); at n = 2,000 the Gaussian worlds of the tests stay below 0.012 (10 draws each) and the
# banana's KL(P||Q) is flagged in 7 of 10 draws (0.07-0.28). Banana draws 1-7 at n = 10,000 stay
# unflagged (0.015-0.093), within 10% (-6% to +9.5%, the largest share the largest error)
_UNCHECKED_SHARE = 0.1
_LOWER_CI_METHOD = ("one-sided: bootstrap-percentile lower end; the value is a lower bound (one side has mass "
                    "the other lacks, a rival model, near-copies, a classifier without fit-error terms, a "
                    "model shown too flat, or an end resting on ratios no sample could check: see the warning)")
_NULL_CI_METHOD = ("the constant model won (no difference seen): from 0 to the upper end of the best "
                   "non-constant fit's bootstrap-percentile interval")
# above this many model coefficients the Fisher-information solve uses conjugate gradients
_DENSE_FISHER_MAX = 1024


# --------------------------------------------------------------------------- classifiers

def _square_features(z):
    return np.hstack([z, z * z])


def _make_estimator(classifier, random_state: int):
    """A fresh pipeline (standardise -> classifier) and whether its decision_function is an exact logit."""
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if classifier == "quadratic":
        from sklearn.linear_model import LogisticRegression

        # squares are standardised again so lbfgs sees a well-conditioned problem; tol is tight so
        # the fit is converged well past float32 rounding of the inputs (float32 ~ float64 results)
        return make_pipeline(
            StandardScaler(), FunctionTransformer(_square_features), StandardScaler(),
            LogisticRegression(C=1.0, tol=1e-10, max_iter=2000),
        ), True
    if classifier == "logistic":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, tol=1e-10, max_iter=2000)), True
    if classifier == "gbdt":
        from sklearn.ensemble import HistGradientBoostingClassifier

        # early stopping on held-out log loss (not accuracy) keeps probabilities calibrated
        return make_pipeline(StandardScaler(), HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=500, early_stopping=True, scoring="loss",
            validation_fraction=0.1, n_iter_no_change=20, random_state=random_state,
        )), True
    est = clone(classifier)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=random_state)  # reproducible under `seed`
    return make_pipeline(StandardScaler(), est), False


def _check_classifier(classifier):
    if isinstance(classifier, str):
        if classifier not in CLASSIFIERS:
            raise InputError(
                f"`classifier` must be one of {sorted(CLASSIFIERS)} or a scikit-learn classifier with "
                f"fit and predict_proba; got {classifier!r}."
            )
        return classifier
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict_proba") and hasattr(classifier, "get_params")):
        raise InputError(
            f"`classifier` must be one of {sorted(CLASSIFIERS)} or a scikit-learn classifier with fit and "
            f"predict_proba; got {type(classifier).__name__}. Wrap other models in a scikit-learn "
            "estimator, or use SVC(probability=True)-style options that enable predict_proba."
        )
    return classifier


def _classifier_name(classifier) -> str:
    return classifier if isinstance(classifier, str) else type(classifier).__name__


def _held_out_logit(est, x, exact: bool):
    if exact:
        return np.asarray(est.decision_function(x), dtype=np.float64)
    proba = np.asarray(est.predict_proba(x), dtype=np.float64)
    col = list(est.classes_).index(1)
    p1 = np.clip(proba[:, col], _PROBA_FLOOR, 1 - _PROBA_FLOOR)
    return np.log(p1) - np.log1p(-p1)


@dataclass(frozen=True)
class _CrossFit:
    logit: np.ndarray  # held-out classifier logits, training-prior scale, real rows first
    ell: np.ndarray  # held-out log p/q (prior corrected)
    n_real: int
    fold: np.ndarray  # fold index of each row
    chosen: tuple = ()  # "auto": the candidate each fold used
    # per logistic fold: (test row indices, their features phi with a leading 1, sandwich covariance
    # Sigma of the fold's coefficients); folds of other models (constant, boosting) have none
    fold_fits: tuple = ()
    cv: int = 0
    # "auto" when the constant model won: the best non-constant candidate's cross-fit, whose row
    # terms carry the uncertainty a comparison with another model needs (see RowTerms.value)
    alternative: "_CrossFit | None" = None
    # "auto" with a non-constant winner: held-out log p/q of every fitted candidate as fitted on the fit
    # rows (Platt-calibrated), the winner's own first: (name, ell) pairs (see `_approximation_gaps`)
    probes: tuple = ()
    # "auto" with a logistic winner that has a less-ridge probe: the winner's model refitted on every
    # training fold with a tenth of the ridge, with its fit-error terms: (name, _CrossFit) pairs. Their
    # bias-corrected values are compared with the winner's (`_ridge_gaps`)
    refits: tuple = ()

    @property
    def without_fit_error(self) -> bool:
        """A fit of a non-constant model without coefficients to differentiate (boosting, the k-NN
        ratio, the MLP, a user's estimator): no fit-error terms, so its ends get the KL influence
        (`_with_influence`), its interior is a lower bound (`_Estimate.variational`) and its
        comparisons the re-run variance (`RowTerms.seed_dependent`)."""
        return not self.fold_fits and self.chosen[:1] != ("constant",)

    @property
    def fit_var(self) -> np.ndarray:
        """Per row: Var of its held-out log-ratio from its fold model's coefficient error (0 without one)."""
        out = np.zeros(len(self.ell))
        for f in self.fold_fits:
            out[f.test] = np.maximum(np.einsum("ij,jk,ik->i", f.phi_test, f.sigma, f.phi_test, optimize=True), 0.0)
        return out

    @property
    def ell_real(self):
        return self.ell[: self.n_real]

    @property
    def ell_gen(self):
        return self.ell[self.n_real:]

    @property
    def labels(self):
        y = np.zeros(len(self.ell), dtype=np.int64)
        y[: self.n_real] = 1
        return y


def _map_folds(fn, n_folds: int, n_rows: int) -> list:
    """``[fn(k) for k in range(n_folds)]``, on two threads when the folds are large.

    The folds are independent and each fit is seeded, so the result does not depend on the order.
    Boosting and the BLAS calls of the logistic fits release the GIL; each boosting fit keeps one
    OpenMP thread (see `_fit_candidate`), so two fold threads use the two cores of the target machine
    without the busy-waiting of nested thread pools. Small inputs stay on one thread (starting one
    costs more than their fits). scikit-learn's configuration is thread-local: it is carried over.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    import sklearn

    if n_folds < 2 or n_rows < _THREADED_MIN_ROWS or (os.cpu_count() or 1) < 2:
        return [fn(k) for k in range(n_folds)]
    config = sklearn.get_config()

    def run(k):
        with sklearn.config_context(**config):
            return fn(k)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(run, range(n_folds)))


def _cross_fit(real, generated, classifier, cv: int, rng: np.random.Generator, *,
               allow_constant: bool = True, probes: bool = True) -> _CrossFit:
    """Cross-fitted held-out log-ratios. ``probes``: with "auto", also measure the approximation gap
    (`_probe_cross_fit`; c2st, which only ranks held-out scores, leaves it out)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    x = np.vstack([real, generated])
    y = np.zeros(len(x), dtype=np.int64)
    y[: len(real)] = 1
    seeds = rng.integers(0, 2**31 - 1, size=cv + 1)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=int(seeds[0]))
    splits = list(folds.split(x, y))
    if isinstance(classifier, str) and classifier in ("auto", "mlp"):
        candidates = ("mlp",) if classifier == "mlp" else tuple(c for c in AUTO_CANDIDATES
                                                                 if allow_constant or c != "constant")
        key = (_fingerprint(real), _fingerprint(generated), candidates, cv, tuple(int(s) for s in seeds), probes)
        if key not in _AUTO_FITS:
            _remember(key, _auto_fits(x, y, splits, seeds, candidates, len(real), cv, probes))
        _AUTO_FITS.move_to_end(key)
        return _AUTO_FITS[key]
    logit = np.empty(len(x))
    ell = np.empty(len(x))
    fold = np.empty(len(x), dtype=np.int64)
    unconverged = 0
    logistic = isinstance(classifier, str) and classifier in ("quadratic", "logistic")
    fold_fits = []
    for k, (train, test) in enumerate(splits):
        est, exact = _make_estimator(classifier, int(seeds[k + 1]))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(x[train], y[train])
        unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        logit[test] = _held_out_logit(est, x[test], exact)
        fold[test] = k
        n1 = int(y[train].sum())
        ell[test] = logit[test] - np.log(n1 / (len(train) - n1))
        if logistic:
            fold_fits.append(_logistic_fold_fit(est, x[train], y[train], x[test], test, train))
    if unconverged:
        warnings.warn(
            f"classifier {_classifier_name(classifier)!r} did not converge on {unconverged} of {cv} folds; "
            "its log-ratios (and the divergences) may be biased. Standardised inputs usually fix this; "
            "otherwise raise its max_iter by passing a configured estimator as `classifier`.",
            MetricWarning,
            stacklevel=3,
        )
    return _CrossFit(logit=logit, ell=ell, n_real=len(real), fold=fold,
                     fold_fits=tuple(f for f in fold_fits if f is not None), cv=cv)


#: Recent "auto" cross-fits by (data, candidates, folds and seeds): kl, reverse_kl, js and spectrum of one
#: model at one seed share one set of fits, and so do a comparison's re-runs with other seeds. Bounded
#: by the memory their arrays hold, not by a count (a board of m models keeps 4 m of them).
_AUTO_FITS: "OrderedDict[tuple, _CrossFit]" = OrderedDict()
_AUTO_FITS_BYTES = 256 * 2**20


def _nbytes(fit: "_CrossFit | None") -> int:
    if fit is None:
        return 0
    arrays = ([fit.logit, fit.ell, fit.fold] + [a for f in fit.fold_fits for a in (f.phi_test, f.sigma)]
              + [ell for _, ell in fit.probes])
    return sum(a.nbytes for a in arrays) + _nbytes(fit.alternative) + sum(_nbytes(r) for _, r in fit.refits)


def _remember(key, fit: "_CrossFit") -> None:
    # one fit now serves several results: none of them may change it for the others
    for f in (fit, fit.alternative, *(r for _, r in fit.refits)):
        for a in ([] if f is None else [f.logit, f.ell, f.fold] + [ell for _, ell in f.probes]):
            a.flags.writeable = False
    _AUTO_FITS[key] = fit
    while len(_AUTO_FITS) > 1 and sum(_nbytes(f) for f in _AUTO_FITS.values()) > _AUTO_FITS_BYTES:
        _AUTO_FITS.popitem(last=False)


def _auto_fits(x, y, splits, seeds, candidates, n_real: int, cv: int, probes: bool) -> "_CrossFit":
    """Fit every candidate on every training fold, choose one, and cross-fit it (``"auto"``, ``"mlp"``).

    On one BLAS thread: the fits' matrix products are small (rows x a few dozen columns), and BLAS
    worker threads busy-waiting between them slowed every candidate about 2x (measured on 2 cores);
    large inputs get their parallelism from the fold threads instead (`_map_folds`). The limit is
    process-wide while the fits run (threadpoolctl sets the BLAS library's thread count).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _auto_fits_one_thread(x, y, splits, seeds, candidates, n_real, cv, probes)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # built once: finding the thread pools costs ~3 ms


def _auto_fits_one_thread(x, y, splits, seeds, candidates, n_real: int, cv: int, probes: bool) -> "_CrossFit":
    fitted = _map_folds(lambda k: _fit_auto(x[splits[k][0]], y[splits[k][0]], int(seeds[k + 1]), candidates, probes),
                        len(splits), len(x))
    winner = _choose(fitted)  # one candidate for every fold
    out = _auto_cross_fit(fitted, winner, x, y, splits, n_real, cv)
    if winner == "constant" and len(fitted[0].losses) > 1:
        # the constant says "no difference seen", exactly 0: its interval (`_Estimate.interval`) and a
        # comparison with another model need the uncertainty of the best fit that does look (RowTerms.value)
        runner_up = _choose([dataclasses.replace(f, losses={c: v for c, v in f.losses.items() if c != "constant"})
                             for f in fitted])
        out = dataclasses.replace(out, alternative=_auto_cross_fit(fitted, runner_up, x, y, splits, n_real, cv))
    elif winner != "constant" and probes:
        # the less-ridge probes of a logistic winner are also refitted like it (`_ridge_gaps`)
        refits = tuple((name, _auto_cross_fit(fitted, name, x, y, splits, n_real, cv))
                       for name, _, c in _PROBES.get(winner, ()) if c != 1.0)
        out = dataclasses.replace(out, probes=_probe_cross_fit(fitted, winner, x, splits), refits=refits)
    return out


def _probe_cross_fit(fitted, winner: str, x, splits) -> tuple:
    """(name, held-out log p/q) of every non-constant candidate as fitted on the fit rows, the winner first.

    The fit-row models with their Platt calibration, for every candidate alike (the winner too, not
    its refit): their differences on the same held-out rows compare the model classes, not the
    training-set sizes (`_approximation_gaps`).
    """
    names = [winner] + [c for c in fitted[0].fits if c not in ("constant", winner)]

    def held_out(k):
        f, test = fitted[k], splits[k][1]
        return [_FoldModel(name, f.transform, *f.fits[name], offset=f.offset, val_losses={}).log_ratio(x[test])
                for name in names]

    per_fold = _map_folds(held_out, len(splits), len(x))
    out = []
    for i, name in enumerate(names):
        ell = np.empty(len(x))
        for k, (_, test) in enumerate(splits):
            ell[test] = per_fold[k][i]
        out.append((name, ell))
    return tuple(out)


def _auto_cross_fit(fitted, name: str, x, y, splits, n_real: int, cv: int) -> _CrossFit:
    """The held-out log-ratios of candidate ``name`` in every fold (``fitted``: each fold's candidates)."""

    def finalise(k):
        train, test = splits[k]
        fold_model = fitted[k].finalise(name, x[train], y[train])
        fit = None
        if fold_model.name in _LOGISTIC_CANDIDATES or fold_model.name in _PROBE_SETTINGS:
            fit = _logistic_fold_fit(fold_model.model, x[train], y[train], x[test], test, train)
        return fold_model, fold_model.log_ratio(x[test]), fit

    finalised = _map_folds(finalise, len(splits), len(x))
    logit = np.empty(len(x))
    ell = np.empty(len(x))
    fold = np.empty(len(x), dtype=np.int64)
    for k, (train, test) in enumerate(splits):
        ell[test] = finalised[k][1]
        n1 = int(y[train].sum())
        logit[test] = ell[test] + np.log(n1 / (len(train) - n1))
        fold[test] = k
    return _CrossFit(logit=logit, ell=ell, n_real=n_real, fold=fold, chosen=tuple(f[0].name for f in finalised),
                     fold_fits=tuple(f[2] for f in finalised if f[2] is not None), cv=cv)


def _logistic_fold_fit(est, x_train, y_train, x_test, test, train):
    """A :class:`_FoldFit` for one fold's fitted logistic pipeline, or None above _DENSE_FISHER_MAX.

    ell(x) = phi(x)^T theta_hat - offset is linear in the coefficients, so its error at a held-out
    row is phi(x)^T (theta_hat - theta*). Sigma is the sandwich covariance J^-1 K J^-1 of the
    penalised maximum-likelihood fit on the training rows (J = Phi^T W Phi + I / C, W = p (1 - p);
    K = Phi^T diag((y - p)^2) Phi), which stays right when the model is misspecified, less the
    case-control term of the intercept.
    """
    pre, clf = est[:-1], est[-1]
    k = clf.coef_.shape[1] + 1
    if k > _DENSE_FISHER_MAX:
        return None
    phi = np.hstack([np.ones((len(x_train), 1)), pre.transform(x_train)])
    prob = 1.0 / (1.0 + np.exp(-(phi[:, 1:] @ clf.coef_[0] + clf.intercept_[0])))
    ridge = np.full(k, 1.0 / clf.C)
    ridge[0] = 0.0  # scikit-learn does not penalise the intercept
    info = phi.T @ ((prob * (1.0 - prob))[:, None] * phi)
    info[np.diag_indices_from(info)] += ridge
    score = phi.T @ (((y_train - prob) ** 2)[:, None] * phi)
    j_inv = np.linalg.pinv(info, hermitian=True)
    prospective = j_inv @ score @ j_inv
    # the class counts of a training fold are fixed by stratification (case-control sampling, not
    # Bernoulli labels): that removes 1/n1 + 1/n0 from the intercept's variance (Prentice & Pyke 1979)
    n1 = int(np.sum(y_train))
    sigma = prospective.copy()
    sigma[0, 0] -= 1.0 / n1 + 1.0 / (len(y_train) - n1)
    phi_test = np.hstack([np.ones((len(x_test), 1)), pre.transform(x_test)])
    return _FoldFit(test=np.asarray(test), phi_test=phi_test, sigma=sigma, prospective=prospective,
                    train=np.asarray(train), scores=(y_train - prob)[:, None] * phi, j_inv=j_inv)


@dataclass(frozen=True)
class _FoldFit:
    """What one logistic fold model's coefficient error needs (:func:`_fit_error`)."""

    test: np.ndarray  # held-out row indices (pooled order)
    phi_test: np.ndarray  # their features, with a leading 1
    sigma: np.ndarray  # sandwich covariance of the coefficients (case-control intercept)
    prospective: np.ndarray  # the same without the case-control term (Bernoulli labels): larger
    train: np.ndarray  # training row indices
    scores: np.ndarray  # each training row's score (y - p) phi: theta_hat - theta* ~ j_inv @ sum(scores)
    j_inv: np.ndarray  # inverse penalised information of the training rows


# --------------------------------------------------------------------------- the "auto" classifier

#: above this many input dimensions "auto" first projects on the leading principal components
#: (fitted on the training rows of each fold) - 2048-d Inception or 768-d DINOv2 features stay fast
_AUTO_MAX_DIM = 64
#: up to this (reduced) dimension the quadratic candidate has every cross product x_i x_j, so it is
#: well specified for any pair of Gaussians (correlation changes included); above, squares only
_FULL_QUADRATIC_MAX_DIM = 12
#: up to this (reduced) dimension "auto" also tries the small torch MLP (smooth, curved log-ratios such
#: as rings and bananas); above, its cost grows faster than what it adds over boosting
_MLP_MAX_DIM = 16
#: share of each training fold held back to select the candidate, stop boosting / the MLP, and calibrate
_INNER_VALIDATION = 0.2
#: from this many rows (both sets) the folds of "auto" are fitted on two threads
_THREADED_MIN_ROWS = 4000
#: the candidates "auto" compares, in this order (ties go to the earlier, simpler one)
AUTO_CANDIDATES = ("constant", "quadratic", "quartic", "quartic@C10", "spline", "rbf", "gbdt", "knn")
#: the candidates that are logistic regressions on fixed features: refitted on the whole training fold,
#: used uncalibrated, and carrying the fit-error terms (`_fit_error`)
_LOGISTIC_CANDIDATES = ("quadratic", "quartic", "quartic@C10", "spline", "rbf")
#: up to this (reduced) dimension "auto" also tries an additive logistic model: the quadratic features plus a
#: cubic spline in each coordinate (knots at _SPLINE_KNOTS quantiles of the fit rows, linear beyond them).
#: Moment-matched worlds with independent coordinates have such log-ratios, which neither the polynomials
#: nor boosting drew: at n = 10,000 (seed 0) a 10-d Laplace against its ML Gaussian, boosting won with
#: KL(P||Q) 31% and KL(Q||P) 16% low, unflagged (the spline model: +4%, +3%); the reverse world 20% and
#: 36% low (now -0%, -3%); a 2-d Gamma(3) against its ML Gaussian, KL(P||Q) 14% low (now 0%); two modes on
#: one axis of 10-d, KL(Q||P) 25% low (now 0%). With 6 knots the |x| of the Laplace came back 5-14% low,
#: with 16 the 10-d KL(P||Q) 12% high (more coefficients, more noise at the ends)
_SPLINE_MAX_DIM = 16
_SPLINE_KNOTS = 10
#: up to this (reduced) dimension "auto" also tries a logistic regression on quadratic features plus
#: Gaussian bumps at k-means centres (multimodal ratios, with fit-error terms)
_RBF_MAX_DIM = 3
#: the number of bump centres of the "rbf" candidate (at most one per 20 fit rows) and their width, as a
#: share of the median distance between neighbouring centres (see `metrics._bumps.BumpFeatures`)
_RBF_CENTRES = 32
_RBF_WIDTH = 0.5
#: probe candidates, per family they are fitted next to: (name, bump width, ridge C). Never chosen, they
#: only measure the winner's approximation gap (`_approximation_gaps`): "rbf" with narrower or wider bumps
#: and either model with a tenth of the ridge (which shrinks the tails of collinear polynomial features:
#: the banana's quartic interior is 2.5-2.9% low at C = 1, about 1% at C = 10). Chosen like the others,
#: wider bumps fitted some worlds better but replaced flagged boosting fits and saturated ratios by
#: confident smooth ones, and less ridge sent KL(P||Q) up (the README's known limits)
_PROBES = {
    "rbf": tuple((f"rbf@{w:g}", w, 1.0) for w in (0.35, 0.7, 1.0, 1.4)) + (("rbf@C10", _RBF_WIDTH, 10.0),),
    "quartic": (("quartic@C10", None, 10.0),),
}
_PROBE_SETTINGS = {name: (width, c) for probes in _PROBES.values() for name, width, c in probes}
#: a probe of a different kind, fitted next to "rbf" (so up to 3-d): the log-ratio of two Gaussian
#: mixture densities, one per side (`metrics._mixtures.MixtureRatio`). It contains the log-ratio of
#: multimodal data against a Gaussian, which the bumps only approximate: on the ring of 8 modes the
#: rbf interior is 1.1-1.6% below the exact-ratio plug-in and every logistic probe shows at most 0.2%
#: of it, this one 1.4-1.6% (50 draws at n = 2,000)
_MIXTURE_PROBE = "mixture"
#: above 3-d (no bumps, no quartic model) the mixture probe is fitted next to the other candidates up to
#: this (reduced) dimension. There boosting is the only flexible candidate, and on smooth non-Gaussian
#: ratios its ends were far low with confident intervals: 4 modes in 4-d against their ML Gaussian,
#: KL(Q||P) 0.75 for a true 1.10 at n = 10,000; a banana with 2 or 3 noise coordinates, KL(P||Q) 0.48
#: for 0.625. The probe fits those rows better and, through `_end_rivals` / `_end_shifts`, flags or
#: widens such ends. It is not made a candidate: as a winner it would carry no fit-error terms either,
#: and the support checks (saturation, tails) were measured on boosting's ratios, not on its Gaussian tails
_MIXTURE_MAX_DIM = 16
#: up to this (reduced) dimension "auto" also tries a degree-4 polynomial logistic regression (smooth
#: curved ratios: a banana-shaped density against a Gaussian has an exactly quartic log-ratio)
_QUARTIC_MAX_DIM = 3
#: a less-penalised candidate and the twin it must beat materially to be chosen (`_less_ridge_pays`).
#: The ridge of the quartic model acts on standardised monomials, so it depends on how the data are
#: turned: a banana turned by 0.7 rad, whose log-ratio is still exactly quartic, lost 0.015-0.018 nats
#: per validation row to its ridge (z = 8.6-14 over 4 draws at n = 10,000), boosting won and every d_pi
#: was a flagged lower bound, KL(P||Q) 21% low. The upright banana (2-d and 3-d, 6 draws) loses at most
#: 0.00043 (z = -0.03 to 3.4): there
#: the less-ridge fit only adds noise where its tails reach past the data (KL(P||Q) +21..24% instead of
#: +13..18% at seed 0), so it must gain at least this share of the twin's own gain over the constant
_LESS_RIDGE = {"quartic@C10": "quartic"}
_LESS_RIDGE_SHARE = 0.01
#: a non-parametric winner must beat the logistic candidates' validation log loss by this many
#: standard errors of the paired per-row difference, or the logistic model is kept (see `_choose`)
_SIMPLER_MARGIN = 2.0
# nats of summed validation log loss per fold that a non-constant candidate must gain over the constant
# model. Under P = Q the best candidate's gain, summed over 5 folds, had 99% quantiles 7.7-10.2 nats and
# a maximum of 11.5 (ring n = 1,000, 2-d n = 500, 10-d and 64-d n = 2,000; 60, 60, 60, 30 seeds), so 15
# keeps the constant in about 99.5% of null fits at any n. BIC's log(n_val) per fold (26-32 nats in
# all at these n, growing with n) kept it too, but missed 10% broad noise around a ring at n = 1,000
# (the constant won, d_pi = 0 for a true reverse KL of 35; the quadratic model gained 31 nats).
_CONSTANT_MARGIN = 3.0
#: up to this (reduced) dimension "auto" also tries the nearest-neighbour ratio (tree searches stay
#: fast; it sees structure at the scale of the sample spacing, e.g. near-copies of training points)
_KNN_MAX_DIM = 8


def _quadratic_features(z):
    d = z.shape[1]
    if d > _FULL_QUADRATIC_MAX_DIM:
        return np.hstack([z, z * z])
    iu = np.triu_indices(d)
    return np.hstack([z, z[:, iu[0]] * z[:, iu[1]]])


def _platt(s, y):
    """(a, b, loss): the logistic fit sigmoid(a s + b) to labels y, mean log loss in nats.

    By :class:`metrics._bumps.NewtonLogistic` (damped Newton steps): plain Newton steps from a = 1
    overshot without bound when a few scores were far out (measured: a = 8e6 and a loss of 2e11 nats
    from rbf scores in [-8, 16]). A ridge of 1e-8 per row on ``a`` keeps it finite if the scores
    separate the labels perfectly.
    """
    from ._bumps import NewtonLogistic

    fit = NewtonLogistic(C=1e8 / len(s)).fit(s[:, None], y)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    z = a * s + b
    return a, b, float(np.mean(np.logaddexp(0.0, z) - y * z))


class _KNNRatio:
    """Logistic regression on nearest-neighbour log density ratios: a classifier that sees the sample spacing.

    Features of a point z: d (log r_k(z; generated) - log r_k(z; real)) for k in ``ks``, where
    r_k(z; S) is the distance to the k-th nearest row of S among the fit rows (the k-NN density
    estimate is k / (n_S V_d r_k^d), so each feature is a log density ratio up to a constant). A fit
    row's own distance is left out. Boosting and polynomials model smooth ratios; this one sees what
    lives at the scale of the spacing between samples, such as a model's near-copies of points it
    memorised (generated rows with a twin among the other generated rows).
    """

    def __init__(self, ks=(1, 10)):
        self.ks = ks

    def _features(self, z, own=None):
        k_max = max(self.ks)
        logs = []
        for label, tree in ((0, self.gen_), (1, self.real_)):
            leave = own is not None
            dist, _ = tree.kneighbors(z, n_neighbors=k_max + 1 if leave else k_max)
            if leave:
                # a fit row of this class finds itself first (distance 0): drop that column
                dist = np.where((own == label)[:, None], dist[:, 1:], dist[:, :-1])
            logs.append(np.log(np.maximum(dist[:, [k - 1 for k in self.ks]], 1e-12)))
        return self.dim_ * (logs[0] - logs[1])

    def fit(self, z, y):
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import NearestNeighbors

        z = np.asarray(z, dtype=np.float64)
        self.dim_ = z.shape[1]
        self.gen_ = NearestNeighbors().fit(z[y == 0])
        self.real_ = NearestNeighbors().fit(z[y == 1])
        self.model_ = LogisticRegression(C=1.0, max_iter=1000).fit(self._features(z, own=y), y)
        return self

    def decision_function(self, z):
        return self.model_.decision_function(self._features(np.asarray(z, dtype=np.float64)))


class _TorchMLP:
    """A small MLP (2 x 64 SiLU units, AdamW weight decay 1e-4) stopped at its best validation log loss.

    Deterministic: initial weights and minibatch order come from one explicit ``torch.Generator``.
    """

    def __init__(self, seed: int, *, hidden=64, weight_decay=1e-4, lr=3e-3, max_epochs=100, patience=10,
                 batch=512):
        self.seed, self.hidden, self.weight_decay, self.lr = seed, hidden, weight_decay, lr
        self.max_epochs, self.patience, self.batch = max_epochs, patience, batch

    def fit(self, z, y, z_val, y_val):
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a 64-unit net: thread start-up costs more than it saves
        try:
            return self._fit(torch, z, y, z_val, y_val)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, torch, z, y, z_val, y_val):
        g = torch.Generator().manual_seed(int(self.seed))
        d, h = z.shape[1], self.hidden
        net = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.SiLU(), torch.nn.Linear(h, h), torch.nn.SiLU(),
                                  torch.nn.Linear(h, 1))
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, torch.nn.Linear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight.uniform_(-bound, bound, generator=g)
                    layer.bias.uniform_(-bound, bound, generator=g)
        xt, yt = torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
        xv, yv = torch.as_tensor(z_val, dtype=torch.float32), torch.as_tensor(y_val, dtype=torch.float32)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        best, best_state, waited = math.inf, None, 0
        for _ in range(self.max_epochs):
            perm = torch.randperm(len(xt), generator=g)
            for start in range(0, len(xt), self.batch):
                idx = perm[start:start + self.batch]
                opt.zero_grad()
                loss_fn(net(xt[idx])[:, 0], yt[idx]).backward()
                opt.step()
            with torch.no_grad():
                val = float(loss_fn(net(xv)[:, 0], yv))
            if val < best - 1e-6:
                best, waited = val, 0
                best_state = [p.detach().clone() for p in net.parameters()]
            else:
                waited += 1
                if waited >= self.patience:
                    break
        with torch.no_grad():
            for p, v in zip(net.parameters(), best_state):
                p.copy_(v)
        self.net_ = net
        return self

    def decision_function(self, z):
        import torch

        with torch.no_grad():
            return self.net_(torch.as_tensor(z, dtype=torch.float32))[:, 0].double().numpy()


class _RadialBoosting:
    """Histogram gradient boosting on the standardised coordinates and their squared norm.

    Trees split one coordinate at a time, so a support edge that is not axis-aligned becomes a staircase
    whose steps the early-stopped fit smooths over: a standard normal in 3-d without its unit ball
    (20% of the mass) against the normal, KL(P||Q) = 0.222, came out 19% low and unflagged at
    n = 10,000, a disc against its square 18% low. With ||z||^2 as one more input, a round edge about
    the centre is one split: 2% low for both. Radial structure elsewhere gains too (5-d Student-t
    against its ML Gaussian: KL(Q||P) 16% low -> 3% high at 10,000); axis-aligned edges (boxes,
    truncations, folds) are unchanged.
    """

    def __init__(self, seed: int):
        from sklearn.ensemble import HistGradientBoostingClassifier

        # early stopping on the inner validation rows' log loss (not accuracy): calibrated probabilities
        self.model = HistGradientBoostingClassifier(
            learning_rate=0.2, max_iter=200, max_leaf_nodes=15, max_bins=128, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=True, scoring="loss", n_iter_no_change=8, random_state=seed)

    @staticmethod
    def _inputs(z):
        z = np.asarray(z, dtype=np.float32)
        return np.hstack([z, np.einsum("ij,ij->i", z, z, dtype=np.float64)[:, None].astype(np.float32)])

    def fit(self, z, y, z_val, y_val):
        from threadpoolctl import threadpool_limits

        # one OpenMP thread: on a shared machine the busy-waiting worker threads of small trees cost
        # 5-30x (measured under load); on a quiet 2-core machine one thread costs at most 2x
        with threadpool_limits(1, user_api="openmp"):
            self.model.fit(self._inputs(z), y, X_val=self._inputs(z_val), y_val=y_val)
        return self

    def decision_function(self, z):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="openmp"):
            return self.model.decision_function(self._inputs(z))


def _logistic_pipeline(name, steps=()):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler

    width, c = _PROBE_SETTINGS.get(name, (_RBF_WIDTH, 1.0))
    family = name.partition("@")[0]
    if family == "rbf":
        from ._bumps import BumpFeatures, NewtonLogistic

        # the same penalised objective as LogisticRegression(C=c), by Newton steps (see NewtonLogistic)
        expand, fit = BumpFeatures(_RBF_CENTRES, width), NewtonLogistic(C=c)
    else:
        if family == "quadratic":
            expand = FunctionTransformer(_quadratic_features)
        elif family == "spline":
            from sklearn.pipeline import make_union
            from sklearn.preprocessing import SplineTransformer

            expand = make_union(FunctionTransformer(_quadratic_features),
                                SplineTransformer(n_knots=_SPLINE_KNOTS, degree=3, knots="quantile",
                                                  extrapolation="linear", include_bias=False))
        else:
            expand = PolynomialFeatures(degree=4, include_bias=False)
        fit = LogisticRegression(C=c, tol=1e-8, max_iter=1000)
    return make_pipeline(*steps, expand, StandardScaler(), fit)


def _fit_candidate(name, z, y, z_val, y_val, seed):
    """A fitted model of candidate ``name`` whose ``decision_function`` is a raw (uncalibrated) logit."""
    if name in _LOGISTIC_CANDIDATES or name in _PROBE_SETTINGS:
        return _logistic_pipeline(name).fit(z, y)
    if name == _MIXTURE_PROBE:
        from ._mixtures import MixtureRatio

        return MixtureRatio(random_state=seed).fit(z, y)
    if name == "gbdt":
        return _RadialBoosting(seed).fit(z, y, z_val, y_val)
    if name == "mlp":
        return _TorchMLP(seed).fit(z, y, z_val, y_val)
    if name == "knn":
        return _KNNRatio().fit(z, y)
    raise AssertionError(name)


@dataclass(frozen=True)
class _FoldModel:
    """One training fold's choice: held-out log p/q = a * raw(z(x)) + b - log(n1_val / n0_val)."""

    name: str
    transform: object  # x -> z (standardise, maybe PCA), fitted on the fit rows
    model: object  # None for "constant"
    a: float
    b: float
    offset: float
    val_losses: dict

    def log_ratio(self, x):
        if self.model is None:
            return np.zeros(len(x))
        if self.transform is None:  # a whole pipeline from raw inputs (the refitted quadratic model)
            return np.asarray(self.model.decision_function(x), dtype=np.float64) - self.offset
        s = self.model.decision_function(self.transform.transform(x).astype(np.float32))
        return self.a * np.asarray(s, dtype=np.float64) + self.b - self.offset


@dataclass(frozen=True)
class _FoldCandidates:
    """Every candidate fitted on one training fold, with its penalised inner-validation log loss."""

    transform: object  # x -> z (standardise, maybe PCA), fitted on the fit rows
    steps: tuple  # the unfitted transform steps, for a refit on the whole training fold
    fits: dict  # name -> (model, a, b); model None for "constant"
    losses: dict  # name -> penalised validation log loss (nats per row)
    row_losses: dict  # name -> each validation row's log loss (unpenalised), for paired comparisons
    offset: float  # log(n1_val / n0_val): the validation rows' prior, which Platt's b absorbed

    def finalise(self, name: str, x, y) -> _FoldModel:
        """The fold's model for the chosen candidate ``name``.

        A well-specified logistic model needs no calibration, and recalibrating its logits only
        shrinks them (Platt's slope regresses to the mean, biasing every d_pi low): a logistic
        winner is refitted on the whole training fold (fit + validation rows) and used as it is.
        """
        if name in _LOGISTIC_CANDIDATES or name in _PROBE_SETTINGS:
            from sklearn.base import clone

            model = _logistic_pipeline(name, [clone(step) for step in self.steps]).fit(x, y)
            n1 = int(y.sum())
            return _FoldModel(name=name, transform=None, model=model, a=1.0, b=0.0,
                              offset=math.log(n1 / (len(y) - n1)), val_losses=self.losses)
        model, a, b = self.fits[name]
        return _FoldModel(name=name, transform=self.transform, model=model, a=float(a), b=float(b),
                          offset=self.offset, val_losses=self.losses)


def _fit_auto(x, y, seed: int, candidates, probes: bool = True) -> _FoldCandidates:
    """Fit every candidate on one training fold and score it by penalised inner-validation log loss."""
    from sklearn.base import clone
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fit_idx, val_idx = train_test_split(np.arange(len(x)), test_size=_INNER_VALIDATION, stratify=y,
                                        random_state=seed)
    x_fit, y_fit, x_val, y_val = x[fit_idx], y[fit_idx], x[val_idx], y[val_idx]
    steps = [StandardScaler()]
    if x.shape[1] > _AUTO_MAX_DIM:
        steps += [PCA(_AUTO_MAX_DIM, svd_solver="randomized", random_state=seed), StandardScaler()]
    transform = make_pipeline(*[clone(step) for step in steps]).fit(x_fit)
    # float32 after standardising: float32 and float64 inputs then give the same boosting bins
    z_fit = transform.transform(x_fit).astype(np.float32)
    z_val = transform.transform(x_val).astype(np.float32)
    n_val = len(y_val)
    n1_val = int(y_val.sum())
    prior = float(y_fit.mean())
    t = y_val.astype(np.float64)
    fits, losses, row_losses = {}, {}, {}
    if "constant" in candidates:
        # the prior-only model, fitted on the fit rows and evaluated honestly on the validation rows
        row_losses["constant"] = -(t * np.log(prior) + (1 - t) * np.log1p(-prior))
        losses["constant"] = float(row_losses["constant"].mean())
        fits["constant"] = (None, 1.0, 0.0)
    # the calibration is fitted on the validation rows themselves, so under P = Q a noise-fitted
    # classifier still gains a little over the constant: a margin of _CONSTANT_MARGIN nats per fold
    penalty = _CONSTANT_MARGIN / n_val
    for name in candidates:
        if name == "constant" or (name == "mlp" and len(candidates) > 1 and z_fit.shape[1] > _MLP_MAX_DIM):
            continue
        if name.partition("@")[0] == "quartic" and z_fit.shape[1] > _QUARTIC_MAX_DIM:
            continue
        if name == "spline" and z_fit.shape[1] > _SPLINE_MAX_DIM:
            continue
        if name == "rbf" and z_fit.shape[1] > _RBF_MAX_DIM:
            continue
        if name == "knn" and (z_fit.shape[1] > _KNN_MAX_DIM or min(np.bincount(y_fit, minlength=2)) < 50):
            continue  # (the 10-th neighbour of a handful of rows is no density estimate)
        fits[name], loss, row_losses[name] = _fit_scored(name, z_fit, y_fit, z_val, y_val, seed)
        losses[name] = loss + penalty
    for family in (f for f in _PROBES if f in fits and probes):
        # probes: fitted and calibrated like a candidate, but not scored for the choice (see _PROBES)
        probe_names = [probe for probe, _, _ in _PROBES[family]] + ([_MIXTURE_PROBE] if family == "rbf" else [])
        for name in (probe for probe in probe_names if probe not in fits):  # (a candidate is fitted already)
            fits[name] = _fit_scored(name, z_fit, y_fit, z_val, y_val, seed)[0]
    if probes and "gbdt" in fits and "rbf" not in fits and z_fit.shape[1] <= _MIXTURE_MAX_DIM:
        # above 3-d, next to boosting (no "rbf" to stand next to): see _MIXTURE_MAX_DIM
        fits[_MIXTURE_PROBE] = _fit_scored(_MIXTURE_PROBE, z_fit, y_fit, z_val, y_val, seed)[0]
    return _FoldCandidates(transform=transform, steps=tuple(steps), fits=fits, losses=losses, row_losses=row_losses,
                           offset=math.log(n1_val / (n_val - n1_val)))


def _fit_scored(name, z_fit, y_fit, z_val, y_val, seed):
    """((model, Platt a, b), mean validation log loss, each validation row's log loss) of one candidate."""
    model = _fit_candidate(name, z_fit, y_fit, z_val, y_val, seed)
    s = np.asarray(model.decision_function(z_val), dtype=np.float64)
    a, b, loss = _platt(s, y_val)
    z = a * s + b
    return (model, a, b), loss, np.logaddexp(0.0, z) - y_val * z


def _less_ridge_pays(fitted, name: str) -> bool:
    """Whether the less-penalised candidate ``name`` fits the validation rows materially better than its
    fully penalised twin: by more than ``_SIMPLER_MARGIN`` standard errors of the paired per-row losses and
    by at least ``_LESS_RIDGE_SHARE`` of the twin's own gain over the constant model (see `_LESS_RIDGE`)."""
    twin = _LESS_RIDGE[name]
    losses = {c: np.concatenate([f.row_losses[c] for f in fitted]) for c in (name, twin, "constant")
              if c in fitted[0].row_losses}
    if twin not in losses:
        return True
    diff = losses[twin] - losses[name]
    explained = float(np.mean(losses["constant"] - losses[twin])) if "constant" in losses else 0.0
    return bool(diff.mean() > max(_SIMPLER_MARGIN * diff.std(ddof=1) / math.sqrt(len(diff)),
                                  _LESS_RIDGE_SHARE * explained))


def _choose(fitted) -> str:
    """The candidate every fold uses: lowest penalised validation loss summed over the folds, except that a
    logistic candidate is kept over a non-parametric winner that is not clearly better.

    One choice for every fold: per-fold choices flip between near-equal candidates by noise (a
    boosting fold among quadratic ones biases a Gaussian world's d_pi low), and the pooled loss is
    cv times less noisy. "Clearly better" is a paired comparison of the validation rows' log losses
    (pooled over folds): boosting's or k-NN's mean loss must be lower by more than
    ``_SIMPLER_MARGIN`` standard errors. Why: the logistic candidates carry the fit-error terms (bias
    correction, interval, paired tests) and are unbiased when they contain the ratio, while boosting
    and k-NN are smooth-ratio biased low (6-18%) and carry no fit-error term. Measured in the
    shift-10d world at n = 2,000: boosting won the plain pooled loss in 19 of 150 seeds, those
    estimates were 15% low and their intervals covered the truth in 21-37% of them. A less-penalised
    candidate (`_LESS_RIDGE`) that wins without gaining materially over its twin is passed over.
    """
    total = {c: sum(f.losses[c] for f in fitted) for c in fitted[0].losses}
    winner = min(total, key=total.get)
    if winner in _LESS_RIDGE and not _less_ridge_pays(fitted, winner):
        del total[winner]  # the next best (not necessarily its twin)
        winner = min(total, key=total.get)
    if winner not in ("gbdt", "knn"):
        return winner
    best = np.concatenate([f.row_losses[winner] for f in fitted])
    for name in _LOGISTIC_CANDIDATES:
        if name not in total:
            continue
        diff = np.concatenate([f.row_losses[name] for f in fitted]) - best
        if diff.mean() <= _SIMPLER_MARGIN * diff.std(ddof=1) / math.sqrt(len(diff)):
            return name
    return winner


# --------------------------------------------------------------------------- plug-in estimates

def _contributions(ell_real, ell_gen, pis):
    """Per-row terms a (k, n_real), b (k, n_generated) with d_pi estimate = a.mean(1) + b.mean(1).

    One contiguous row per pi, so a value does not depend on which other pis are evaluated.
    """
    pis = np.asarray(pis, dtype=np.float64)
    a = np.empty((len(pis), len(ell_real)))
    b = np.empty((len(pis), len(ell_gen)))
    for j, pi in enumerate(pis):
        if pi == 0.0:
            a[j], b[j] = ell_real, 0.0
        elif pi == 1.0:
            a[j], b[j] = 0.0, -ell_gen
        else:
            # logaddexp and log1p keep each term accurate to rounding for pi near 0 or 1
            log_pi, log_1m = np.log(pi), np.log1p(-pi)
            a[j] = -np.logaddexp(log_pi, log_1m - ell_real) / (1.0 - pi)
            b[j] = -np.logaddexp(log_pi + ell_gen, log_1m) / pi
            # near ell = 0 the log1p(expm1) form is exact (0 at ell = 0: P = Q gives exactly 0)
            near_r, near_g = np.abs(ell_real) < 1.0, np.abs(ell_gen) < 1.0
            a[j, near_r] = -np.log1p((1.0 - pi) * np.expm1(-ell_real[near_r])) / (1.0 - pi)
            b[j, near_g] = -np.log1p(pi * np.expm1(ell_gen[near_g])) / pi
    return a, b


def _bootstrap_means(terms, n_bootstrap: int, rng: np.random.Generator):
    """Means of ``terms`` (k, n) over ``n_bootstrap`` resamples of its columns: (n_bootstrap, k)."""
    n = terms.shape[1]
    out = np.empty((n_bootstrap, terms.shape[0]))
    for start in range(0, n_bootstrap, _BOOT_BLOCK):
        stop = min(start + _BOOT_BLOCK, n_bootstrap)
        idx = rng.integers(0, n, size=(stop - start, n), dtype=np.int32 if n < 2**31 else np.int64)
        # resample counts instead of gathering rows: one matrix product covers every pi at once
        flat = (idx + n * np.arange(stop - start, dtype=np.int64)[:, None]).ravel()
        counts = np.bincount(flat, minlength=(stop - start) * n).reshape(stop - start, n)
        out[start:stop] = counts.astype(np.float64) @ terms.T / n
    return out


def _ci_method(gap: float, below: float = 0.0) -> str:
    method = "bootstrap-percentile over held-out rows"
    if gap > 0:
        method += f"; upper end raised by the approximation gap {gap:.4g}"
    if below > 0:
        method += f"; lower end lowered by {below:.4g} (a model that fits the rows as well)"
    return method


def _percentile_ci(boot, level):
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


@dataclass(frozen=True)
class _Support:
    """Evidence that one side has mass the other lacks, for one direction (KL(P||Q) or KL(Q||P))."""

    direction: str  # "KL(P||Q)" or "KL(Q||P)"
    ratio_mean: float  # mean of p/q over generated rows (resp. q/p over real rows); 1 if supports agree
    ratio_se: float
    saturated: float  # share of real (resp. generated) rows whose estimated ratio exceeds the other set's size
    # the other set's rows in this side's tail (the rows beyond its quantile 1 - tail_share of the
    # log-ratio): found, and expected by the fitted ratio; of the _TAIL_SHARES, the most significant deficit
    tail_found: int = 0
    tail_expected: float = 0.0
    tail_share: float = _TAIL_SHARES[0]
    # a model that fits the held-out rows at least as well and puts this end far higher (`_end_rivals`):
    # its name, its end and the winner's (both as fitted on the fit rows); None when there is none
    rival: tuple | None = None
    # the side's rows beyond every row of the other set, and whether the model's ratio there is only its
    # regularisation's (a winner without fit-error terms: see _VOID_ROWS)
    void: int = 0
    regularised: bool = False
    void_share: float = 0.0  # the share of the end's plug-in those rows carry (`_BEYOND_SHARE`)
    unchecked_share: float = 0.0  # the share of the end's plug-in above the log of the other set's size
    # the side's coordinate values past the other set's range, how many the same tails would give, and
    # whether the model continues its ratio flat there (boosting: `_OUTSIDE_FACTOR`)
    outside: int = 0
    outside_expected: float = 0.0
    flat: bool = False

    @property
    def beyond_regularised(self) -> bool:
        """Many rows beyond every row of the other set, where the model's ratio is its regularisation's."""
        return self.regularised and self.void >= _VOID_ROWS

    @property
    def beyond_range(self) -> bool:
        """The side's rows reach past the other set's range far more often than the same tails would, where the
        model continues its ratio flat (`_OUTSIDE_FACTOR`)."""
        return self.flat and self.outside >= max(_OUTSIDE_MIN, _OUTSIDE_FACTOR * self.outside_expected)

    @property
    def unchecked(self) -> bool:
        """A tenth of the end's plug-in or more lies above ratios no sample of the other set could check."""
        return self.unchecked_share >= _UNCHECKED_SHARE

    @property
    def beyond_carried(self) -> bool:
        """The rows beyond every row of the other set carry most of the end: it rests on extrapolation."""
        return self.void_share >= _BEYOND_SHARE

    @property
    def tail_deficit(self) -> bool:
        """The fitted ratio is not steep enough in this side's tail: far fewer of the other set's rows
        there than it predicts, so the true log-ratio falls further and this direction is under-stated."""
        return _tail_p(self.tail_found, self.tail_expected) < _TAIL_P

    @property
    def lower(self) -> bool:
        # E_Q[p/q] = P(q > 0): a mean clearly below 1 is P-mass outside Q's support (KL(P||Q) = inf);
        # a heavy-tailed but finite ratio also gives a low mean, but with a large standard error
        return (self.ratio_mean + 3.0 * self.ratio_se < 1.0 - _MASS_DEFICIT or self.saturated >= _SATURATED_SHARE
                or self.tail_deficit or self.rival is not None or self.beyond_regularised or self.beyond_carried
                or self.beyond_range or self.unchecked)


def _supports(fit: _CrossFit, real, generated) -> tuple[_Support, _Support]:
    """The support evidence of (KL(P||Q), KL(Q||P)) from one cross-fit of ``real`` against ``generated``."""
    n_gen = len(fit.ell) - fit.n_real
    rival_p, rival_q = _end_rivals(fit)
    regularised = fit.without_fit_error
    flat = set(fit.chosen) == {"gbdt"}  # boosting continues its ratio flat past the rows (`_OUTSIDE_FACTOR`)
    return (_support("KL(P||Q)", fit.ell_gen, fit.ell_real, n_gen, rival_p, regularised,
                     _outside(real, generated), flat),
            _support("KL(Q||P)", -fit.ell_real, -fit.ell_gen, fit.n_real, rival_q, regularised,
                     _outside(generated, real), flat))


def _outside(side, other) -> tuple[int, float]:
    """(found, expected): ``side``'s coordinate values above ``other``'s largest or below its smallest, summed
    over the coordinates, and the count two samples with the same marginals give (`_OUTSIDE_FACTOR`)."""
    found = int(np.sum(side > other.max(axis=0)) + np.sum(side < other.min(axis=0)))
    return found, 2.0 * side.shape[1] * len(side) / (len(other) + 1)


def _support(direction, w, ell_side, n_other, rival=None, regularised=False, outside=(0, 0.0), flat=False):
    """The support evidence of one direction: ``ell_side`` its side's held-out log-ratios and ``w`` the
    other set's, both oriented towards the side (log p/q for KL(P||Q), log q/p for KL(Q||P)); ``rival``
    from `_end_rivals`; ``regularised`` for a model without fit-error terms (`_VOID_ROWS`); ``outside`` from
    `_outside`, and ``flat`` for a model that continues its ratio flat past the rows (`_OUTSIDE_FACTOR`)."""
    tails = [_tail_count(ell_side, w, share) for share in _TAIL_SHARES]
    found, expected, share = min(tails, key=lambda t: _tail_p(t[0], t[1]))
    with np.errstate(over="ignore"):
        ratio = np.exp(np.minimum(w, 700.0))
    beyond = ell_side > w.max()
    plug_in = float(ell_side.mean())
    cap = math.log(n_other)  # a larger ratio is one no sample of the other set's size can check
    return _Support(direction=direction, ratio_mean=float(ratio.mean()),
                    ratio_se=float(ratio.std() / math.sqrt(len(ratio))),
                    saturated=float(np.mean(ell_side > cap)), tail_found=found, tail_expected=expected,
                    tail_share=share, rival=rival, void=int(beyond.sum()), regularised=regularised,
                    void_share=float(ell_side[beyond].sum() / len(ell_side) / plug_in) if plug_in > 0 else 0.0,
                    outside=outside[0], outside_expected=outside[1], flat=flat,
                    unchecked_share=float(np.maximum(ell_side - cap, 0.0).mean() / plug_in) if plug_in > 0 else 0.0)


def _tail_count(ell_side, w, share: float) -> tuple[int, float, float]:
    """(found, expected, share): the other set's held-out rows at or beyond the side's quantile 1 - share
    of the log-ratio, and how many the fitted ratio expects there (the pooled rows' P(other | x), with the
    two sets' sizes as prior)."""
    edge = np.quantile(ell_side, 1.0 - share)
    tail = np.concatenate([ell_side[ell_side >= edge], w[w >= edge]])
    expected = float(np.sum(_sigmoid(-(tail + math.log(len(ell_side) / len(w))))))
    return int(np.sum(w >= edge)), expected, share


def _tail_p(found: int, expected: float) -> float:
    """The Poisson p of so few rows found where ``expected`` were, or 1 unless at most _TAIL_DEFICIT of them."""
    if found > _TAIL_DEFICIT * expected:
        return 1.0
    return float(stats.poisson.cdf(found, expected))


def _rival_dict(rival) -> dict | None:
    return None if rival is None else {"model": rival[0], "value": rival[1], "chosen_value": rival[2]}


def _end_models(fit: _CrossFit, bounds=(False, False)) -> tuple:
    """((name, KL(P||Q), KL(Q||P)) of every model that fits the held-out rows at least as well as the
    winner, (the winner's KL(P||Q), KL(Q||P))), all as fitted on the fit rows; an end of ``bounds``
    (KL(P||Q), KL(Q||P)) as its lower bound (`_end_terms`).

    Every probe of "auto" is a model fitted on the same fit rows and evaluated on the same held-out rows as
    the winner's own probe (`_probe_cross_fit`). One that scores at least as high at pi = 0.5 fits those
    rows at least as well, by the variational criterion every interior d_pi is: the rows cannot prefer the
    winner's ends to its. The less-ridge probes are left out (at the ends a tenth of the ridge only adds
    noise: see `_RIVAL_MARGIN`).
    """
    half = np.array([0.5])

    def scores(ell):
        a, b = _contributions(ell[: fit.n_real], ell[fit.n_real:], half)
        return (float(a.mean() + b.mean()), *_end_values(ell[: fit.n_real], ell[fit.n_real:], bounds))

    if not fit.probes:
        return (), (math.nan, math.nan)
    (_, own), others = fit.probes[0], fit.probes[1:]
    base, own_kl, own_rkl = scores(own)
    models = []
    for name, ell in others:
        if _PROBE_SETTINGS.get(name, (None, 1.0))[1] == 1.0:
            half_value, kl, rkl = scores(ell)
            if half_value >= base:
                models.append((name, kl, rkl))
    return tuple(models), (own_kl, own_rkl)


def _end_rivals(fit: _CrossFit) -> tuple:
    """(rival of KL(P||Q), rival of KL(Q||P)): each (name, its end, the winner's end) or None: the model
    of `_end_models` that puts the end highest, where that is more than `_RIVAL_MARGIN` above the winner's
    (the rows then do not determine that end: see the constant's comment)."""
    models, own = _end_models(fit)
    best = [None, None]
    for name, *ends in models:
        for j, (end, mine) in enumerate(zip(ends, own)):
            if end > mine + max(_RIVAL_MARGIN * abs(mine), _RIVAL_FLOOR) and (best[j] is None or end > best[j][1]):
                best[j] = (name, end, mine)
    return tuple(best)


def _end_shifts(fit: _CrossFit, pis, bounds=(False, False)) -> tuple[np.ndarray, tuple]:
    """((models, k), names): the ends of each model that fits the held-out rows at least as well as the
    winner, minus the winner's, an end of ``bounds`` as its lower bound (`_end_models`); 0 for 0 < pi < 1.

    The models of `_end_models`, and the winner's less-ridge refits (`_ridge_gaps`) whose bias-corrected
    d_0.5 is at least the winner's. The ends are plug-ins, not bounds, so no model's end shows the truth's
    side; but the rows cannot prefer the winner to these models, so the ends' intervals span them
    (`_Estimate.gap`, `_Estimate.gap_below`). Measured at n = 2,000 (30 draws): 6 modes of width 0.6 on a
    circle of radius 4 against their ML Gaussian, KL(P||Q) covered 0.80 without this (the rbf fit a few
    percent high), 1.00 with it; a 2-D correlation change 0.90 -> 0.93. A banana (s = 1, b = 0.8) against
    its ML Gaussian, whose quartic KL(Q||P) the ridge shrinks (the refit's is 0.07-0.2 higher in every
    draw): 0.70 -> 0.93 with the refit. Worlds whose ends covered already: unchanged.
    """
    models, own = _end_models(fit, bounds)
    rows = [(name, kl - own[0], rkl - own[1]) for name, kl, rkl in models]
    if fit.refits:
        half = np.array([0.5])

        def corrected(f):
            a, b = _contributions(f.ell_real, f.ell_gen, half)
            return float(a.mean() + b.mean() + _fit_error(f, half)[0][0])

        base, own_ends = corrected(fit), _end_values(fit.ell_real, fit.ell_gen, bounds)
        for name, refit in fit.refits:
            if corrected(refit) >= base:
                kl, rkl = _end_values(refit.ell_real, refit.ell_gen, bounds)
                rows.append((f"{name} refit", kl - own_ends[0], rkl - own_ends[1]))
    out = np.zeros((len(rows), len(pis)))
    for i, (_, d_kl, d_rkl) in enumerate(rows):
        out[i] = np.where(pis == 0.0, d_kl, 0.0) + np.where(pis == 1.0, d_rkl, 0.0)
    return out, tuple(name for name, *_ in rows)


#: near-copy diagnostic: a generated row is "near-copied" when the ratio of its distances to its 1st
#: and 10th nearest generated neighbours is below the 5% quantile of the same ratio among real rows;
#: flagged when that share is >= _COPY_SHARE with a binomial p < 1e-3 against 5% (measured: a
#: memorising model 0.25-0.32; every smooth model and world of the tests 0.03-0.064)
_COPY_SHARE = 0.15
#: the diagnostic's nearest-neighbour searches run on (a fixed random projection to) this many dimensions
_COPY_DIM = 8
#: rows of each set whose neighbour ratios are computed (all rows are searched)
_COPY_QUERIES = 2000


@dataclass(frozen=True)
class _Copies:
    """Near-copies among the generated rows: structure finer than the sample spacing (module notes)."""

    share: float  # share of generated rows whose 1st/10th neighbour distance ratio is below the real 5% quantile
    pvalue: float  # binomial, against the 5% expected when both sets are smooth samples
    flagged: bool


def _near_copies(real, generated) -> _Copies:
    """The near-copy diagnostic of the generated rows (a scale-free local test: no bandwidth, no dimension).

    For a sample from a smooth density the ratio r_1 / r_10 of a row's distances to its 1st and 10th
    nearest neighbours in its own set has the same distribution whatever the density (locally the
    sample is a Poisson process), so it is compared with the real rows' own ratios. Generated rows
    with a neighbour far closer than their local density implies are near-copies of one another:
    a model that memorised its training points emits each one several times with small noise.
    """
    n, m = len(real), len(generated)
    if min(n, m) < 50:
        return _Copies(0.0, 1.0, False)
    from sklearn.neighbors import NearestNeighbors

    x, y = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if x.shape[1] > _COPY_DIM:
        # a fixed Gaussian projection: near-copies stay near, and tree searches stay fast
        proj = np.random.default_rng(0x5EED).normal(size=(x.shape[1], _COPY_DIM))
        x, y = x @ proj, y @ proj

    pick = np.random.default_rng(0x5EED)

    def ratio(z):
        # every row is in the tree (a near-copy's twin must be there), but at most _COPY_QUERIES rows
        # ask: the share is a proportion, and 2000 rows pin it to +-1% at 5%
        ask = z if len(z) <= _COPY_QUERIES else z[pick.choice(len(z), _COPY_QUERIES, replace=False)]
        dist, _ = NearestNeighbors(n_neighbors=11).fit(z).kneighbors(ask)
        return dist[:, 1] / np.maximum(dist[:, 10], 1e-300)

    low = np.quantile(ratio(x), 0.05)
    asked = ratio(y)
    hits = int(np.sum(asked < low))
    share = hits / len(asked)
    pvalue = float(stats.binom.sf(hits - 1, len(asked), 0.05))
    return _Copies(share, pvalue, share >= _COPY_SHARE and pvalue < 1e-3)


@dataclass(frozen=True)
class _Estimate:
    fit: _CrossFit
    pis: np.ndarray
    values: np.ndarray
    boot: np.ndarray | None  # (n_bootstrap, k) replicate values or None
    correction: np.ndarray | None = None  # per pi: the fit-error bias correction added to values
    terms: tuple | None = None  # per-row terms (a, b): _contributions plus each row's fit influence
    reference: str = ""  # fingerprint of the real rows
    copies: _Copies = _Copies(0.0, 1.0, False)
    alternative: tuple | None = None  # (a, b, correction) of fit.alternative, when the constant model won
    # (candidates, k): each other candidate's held-out d_pi minus the winner's (interior pis; 0 at the ends)
    advantages: np.ndarray | None = None
    advantage_names: tuple = ()  # the candidate or probe of each row of advantages
    # (models, k): the ends of the models that fit the held-out rows as well, minus the winner's (`_end_shifts`)
    end_shifts: np.ndarray | None = None
    end_names: tuple = ()
    # when the constant model won: the best non-constant fit's replicates (`interval`)
    null_boot: np.ndarray | None = None
    # the support evidence of (KL(P||Q), KL(Q||P)): `_supports`
    supports: tuple = ()

    def _shifts(self, weights) -> tuple[np.ndarray, tuple]:
        rows = [m for m in (self.advantages, self.end_shifts) if m is not None]
        if not rows:
            return np.zeros(0), ()
        return np.vstack(rows) @ np.asarray(weights, dtype=np.float64), self.advantage_names + self.end_names

    def gap(self, weights) -> float:
        """How far the interval of ``weights @ d_pi`` (weights >= 0) reaches above its bootstrap upper end.

        For 0 < pi < 1 every classifier's held-out d_pi is a variational lower bound (see `variational`),
        so a candidate that scores higher on the same rows shows that the winner's model misses at least
        that much of the truth: the largest such advantage (0 if none). At the ends, the largest excess of
        a model that fits the rows as well (`_end_shifts`).
        """
        shifts, _ = self._shifts(weights)
        return max(0.0, float(shifts.max())) if len(shifts) else 0.0

    def gap_below(self, weights) -> float:
        """How far the interval reaches below its bootstrap lower end: at the ends, the largest shortfall
        of a model that fits the rows as well (`_end_shifts`); 0 for 0 < pi < 1, where a lower score is
        only a worse classifier."""
        if self.end_shifts is None or not len(self.end_shifts):
            return 0.0
        return max(0.0, -float((self.end_shifts @ np.asarray(weights, dtype=np.float64)).min()))

    def interval(self, weights, level) -> tuple[float, float, str]:
        """(low, high, method): the interval of ``weights @ d_pi`` (weights >= 0; needs ``boot``).

        The bootstrap percentile interval, its upper end raised by :meth:`gap` and its lower end lowered
        by :meth:`gap_below`. When the constant model won, the value is exactly 0: the rows show no
        difference, which is not evidence of none, so the interval runs from 0 (every d_pi is >= 0) to
        the upper end of the best non-constant fit's interval. Before, it was [0, 0], a confident 0 also
        where the truth is not: with 1% of a 3-D normal's mass missing from the generated side
        (n = 10,000; c2st p 0.3) every d_pi, infinite KL(Q||P) included, came back as [0, 0].
        """
        w = np.asarray(weights, dtype=np.float64)
        if self.null_boot is not None:
            return 0.0, max(0.0, float(_percentile_ci(self.null_boot @ w, level)[1])), _NULL_CI_METHOD
        lo, hi = _percentile_ci(self.boot @ w, level)
        gap, below = self.gap(w), self.gap_below(w)
        return float(lo) - below, float(hi) + gap, _ci_method(gap, below)

    def gap_source(self, weights) -> str | None:
        """The candidate or probe that shows :meth:`gap` (None when no candidate scores higher)."""
        if self.gap(weights) == 0.0:
            return None
        shifts, names = self._shifts(weights)
        return names[int(np.argmax(shifts))]

    def row_terms(self, weights) -> "RowTerms":
        """The value ``weights @ values`` as per-row terms, for paired model comparisons.

        When the constant model won (value exactly 0), the terms are those of the best non-constant
        fit, and ``RowTerms.value`` is that fit's estimate.
        """
        w = np.asarray(weights, dtype=np.float64)
        if self.alternative is not None:
            a, b, correction = self.alternative
            constant = float(w @ correction)
            return RowTerms(real=w @ a, generated=w @ b, constant=constant, reference=self.reference,
                            value=float(w @ (a.mean(axis=1) + b.mean(axis=1))) + constant,
                            chosen=self.fit.alternative.chosen[0], seed_dependent=self.fit.alternative.without_fit_error)
        a, b = self.terms
        # without logistic fold fits the terms carry no fit error (boosting, k-NN ratio): the seed's
        # split then moves the value by what the rows do not show
        return RowTerms(real=w @ a, generated=w @ b, constant=float(w @ self.correction), reference=self.reference,
                        seed_dependent=self.fit.without_fit_error)

    @property
    def interior(self) -> np.ndarray:
        return (self.pis > 0.0) & (self.pis < 1.0)

    @property
    def variational(self) -> bool:
        """True when the interior values are only lower bounds: the fit has no fit-error terms.

        For 0 < pi < 1, d_pi = JS_pi / (pi (1 - pi)) and JS_pi = max over classifiers D of
        pi E_P[log D] + (1 - pi) E_Q[log(1 - D)] + H(pi); the held-out plug-in of any fixed classifier
        is that objective, so its expectation is at most the true d_pi, short by the classifier's
        approximation gap. A logistic model (quadratic, quartic, rbf) carries its fit error and no
        flexible candidate beat it, so its interval is two-sided; boosting, the k-NN ratio, the MLP
        and a user's estimator carry no measure of the gap (boosting measured 3-20% low on curved
        or sharp ratios: rings of modes, a disc inside a square), so theirs is a lower bound. (Where
        one side has mass the other lacks, a logistic winner is misspecified too; but the interior
        is insensitive to how small a tiny ratio is, and flagging it on the mass-deficit diagnostic
        flagged the ring against its ML Gaussian, whose rbf interior is 1-2% low.)
        """
        return self.fit.without_fit_error

    @property
    def too_flat(self) -> bool:
        """True when a logistic winner is shown not to contain the log-ratio: its fitted ratio is flatter
        than the rows in a side's tail (`_Support.tail_deficit`).

        Its two-sided interior interval rests on that containment (plus the gap other models show), so
        the interior is then only the variational lower bound any classifier's is. Measured at n = 2,000
        (20 draws): a disc inside a square, the quartic interior 22-44% low, flagged in 16 draws; the
        banana 3 draws (1.6-8.4% low), and no draw of the other worlds of the tests.
        """
        return bool(self.fit.fold_fits) and any(sup.tail_deficit for sup in self.supports)

    @property
    def lower(self) -> np.ndarray:
        """Per pi: True where the value is only a lower bound.

        An end whose direction lacks support; the interior when the fit is :attr:`variational` or
        :attr:`too_flat`; or every pi when the generated rows hold near-copies (structure below the
        sample spacing that no classifier fitted on these rows can resolve).
        """
        to_p, to_q = self.supports
        return (((self.pis == 0.0) & to_p.lower) | ((self.pis == 1.0) & to_q.lower)
                | (self.interior & (self.variational or self.too_flat)) | self.copies.flagged)

    def warn(self, stacklevel=4) -> None:
        n_others = {0.0: len(self.fit.ell) - self.fit.n_real, 1.0: self.fit.n_real}
        for sup, pi in zip(self.supports, (0.0, 1.0)):
            if sup.lower and np.any(self.pis == pi):
                side, other = ("real", "generated") if pi == 0.0 else ("generated", "real")
                rival = ""
                if sup.rival is not None:
                    name, end, mine = sup.rival
                    rival = (f" A model that fits the held-out rows at least as well ({name}) puts it at {end:.3g} "
                             f"where the chosen one puts it at {mine:.3g}: the rows do not pin this end down (it "
                             f"rests on how the ratio is extrapolated where the {other} rows are too few).")
                void = ""
                if sup.beyond_regularised:
                    void = (f" {sup.void} {side} rows lie beyond every {other} row, where the chosen model's ratio "
                            f"is set by its regularisation, not by the rows (they only show it is large).")
                if sup.beyond_carried:
                    void += (f" The {sup.void} {side} rows beyond every {other} row carry {sup.void_share:.0%} of "
                             f"the plug-in: it rests on how the model extrapolates where no {other} row is.")
                if sup.unchecked:
                    void += (f" {sup.unchecked_share:.0%} of the plug-in lies above log-ratio "
                             f"{math.log(n_others[pi]):.1f} (the log of the {other} set's size), where no {other} "
                             f"row can check the fit: it is the model's extrapolation alone.")
                if sup.beyond_range:
                    void += (f" The {side} rows reach past the {other} set's range {sup.outside} times (over the "
                             f"coordinates; {sup.outside_expected:.1f} with the same tails), and there the chosen "
                             f"model continues its ratio flat: a ratio that keeps rising in that tail is cut off.")
                warnings.warn(
                    f"{sup.direction} (pi = {pi:g}) is only a lower bound: {sup.saturated:.1%} of the {side} rows "
                    f"have an estimated density ratio above the {other} set's size (saturated), the "
                    f"{other} rows' mean ratio is {sup.ratio_mean:.3f} +- {sup.ratio_se:.3f} (1 when both "
                    f"supports agree), and where the fitted ratio is surest a row is {side} (its top "
                    f"{sup.tail_share:.0%}) it expects "
                    f"{sup.tail_expected:.1f} {other} rows and finds {sup.tail_found}: the {side} data have mass "
                    f"the {other} data lack or a ratio steeper than the fit, and the true {sup.direction} may "
                    f"be infinite.{void}{rival} The result carries bound='lower'.",
                    MetricWarning, stacklevel=stacklevel)
        if self.variational and self.interior.any() and not self.copies.flagged:
            chosen = sorted(set(self.fit.chosen))
            what = f"the {'/'.join(chosen)} fit" if chosen else "a classifier without fit-error terms"
            warnings.warn(
                f"d_pi for 0 < pi < 1 (JS_pi) is only a lower bound: {what} carries no estimate of its "
                "approximation error, and a classifier's held-out JS_pi is at most the true one up to "
                "noise (the variational bound it maximises); boosting was 3-20% low on curved or sharp "
                "density ratios. The result carries bound='lower' for those pi.", MetricWarning,
                stacklevel=stacklevel)
        elif self.too_flat and self.interior.any() and not self.copies.flagged:
            chosen = "/".join(sorted(set(self.fit.chosen)))
            whose = f"the {chosen} model's" if chosen else "the model's"
            warnings.warn(
                f"d_pi for 0 < pi < 1 (JS_pi) is only a lower bound: {whose} fitted ratio is flatter "
                "than the rows where it is surest (the tail check above), so the model does not contain the "
                "log-ratio, and a classifier's held-out JS_pi is at most the true one up to noise (the "
                "variational bound it maximises); a disc inside a square came back 22-44% low. The result "
                "carries bound='lower' for those pi.", MetricWarning, stacklevel=stacklevel)
        if self.copies.flagged:
            warnings.warn(
                f"every d_pi (KL(P||Q), JS_pi, KL(Q||P)) is only a lower bound: {self.copies.share:.1%} of the "
                "generated rows have a generated neighbour far closer than their local density implies (5% "
                f"expected, p = {self.copies.pvalue:.1e}): near-copies, as from a model that memorised its "
                "training points. Its density has structure below the sample spacing, which no classifier "
                "fitted on these rows can resolve, so the true divergences may be much larger (KL(P||Q) "
                "especially). The result carries bound='lower'; the memorisation metrics, which see the "
                "training set, can confirm it.", MetricWarning, stacklevel=stacklevel)

    def bound_extras(self) -> dict:
        to_p, to_q = self.supports
        return {"saturated_real": to_p.saturated, "saturated_generated": to_q.saturated,
                "tail_generated_found": to_p.tail_found, "tail_generated_expected": to_p.tail_expected,
                "tail_real_found": to_q.tail_found, "tail_real_expected": to_q.tail_expected,
                "tail_generated_share": to_p.tail_share, "tail_real_share": to_q.tail_share,
                # the real (generated) rows beyond every generated (real) row (see _VOID_ROWS)
                "beyond_generated_real": to_p.void, "beyond_real_generated": to_q.void,
                "beyond_generated_real_share": to_p.void_share, "beyond_real_generated_share": to_q.void_share,
                # the share of each end's plug-in above the log of the other set's size (`_UNCHECKED_SHARE`)
                "unchecked_share_kl": to_p.unchecked_share, "unchecked_share_reverse_kl": to_q.unchecked_share,
                # the real (generated) coordinate values past the generated (real) set's range (`_outside`)
                "outside_generated_range_real": to_p.outside, "outside_real_range_generated": to_q.outside,
                "outside_range_expected_real": to_p.outside_expected,
                "outside_range_expected_generated": to_q.outside_expected,
                # the rival model of each end (`_end_rivals`): {"model", "value", "chosen_value"} or None
                "rival_kl": _rival_dict(to_p.rival), "rival_reverse_kl": _rival_dict(to_q.rival),
                "lower_bound_kl": bool(to_p.lower or self.copies.flagged),
                "lower_bound_reverse_kl": bool(to_q.lower or self.copies.flagged),
                "lower_bound_interior": bool(self.variational or self.too_flat or self.copies.flagged),
                "near_copies_generated": self.copies.share, "near_copies_pvalue": self.copies.pvalue}

    def diagnostics(self) -> dict:
        fit = self.fit
        with np.errstate(over="ignore"):
            norm_gen = float(np.mean(np.exp(fit.ell_gen)))
            norm_real = float(np.mean(np.exp(-fit.ell_real)))
        out = {"ratio_mean_generated": norm_gen, "inverse_ratio_mean_real": norm_real}
        if fit.chosen:
            out["chosen"] = list(fit.chosen)
        if self.correction is not None and self.correction.any():
            out["bias_correction"] = [float(v) for v in self.correction]
        return out


def _check_common(real, generated, classifier, cv, seed):
    real, generated = check_pair(real, generated)
    classifier = _check_classifier(classifier)
    smaller = min(len(real), len(generated))
    cv = check_int(cv, "cv", low=2, high=max(2, smaller),
                   hint=f"Each fold needs rows of both sets; the smaller set has {smaller} rows.")
    if smaller < cv:
        raise InputError(
            f"`real` and `generated` need at least `cv` = {cv} rows each for stratified folds; the smaller "
            f"set has {smaller}. Pass more samples or a smaller `cv`."
        )
    return real, generated, classifier, cv, check_seed(seed)


def _check_pis(pis) -> np.ndarray:
    if isinstance(pis, (str, bytes)) or pis is None:
        raise InputError(f"`pis` must be a 1-D sequence of numbers in [0, 1]; got {pis!r}.")
    try:
        arr = np.atleast_1d(np.asarray(pis, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"`pis` must be a 1-D sequence of numbers in [0, 1]; got {pis!r}.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"`pis` must be a non-empty 1-D sequence; got shape {arr.shape}.")
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        raise InputError(f"`pis` must lie in [0, 1] (class prior of the real data); got {float(arr[bad][0])}.")
    return arr


def _estimate(real, generated, pis, classifier, cv, n_bootstrap, rng) -> _Estimate:
    pis = np.asarray(pis, dtype=np.float64)
    fit = _cross_fit(real, generated, classifier, cv, rng)
    copies, supports = _near_copies(real, generated), _supports(fit, real, generated)
    bounds = (supports[0].lower or copies.flagged, supports[1].lower or copies.flagged)
    a, b = _contributions(fit.ell_real, fit.ell_gen, pis)
    ends = _end_terms(fit.ell_real, fit.ell_gen, bounds)
    a[pis == 0.0], b[pis == 0.0] = ends[0]
    a[pis == 1.0], b[pis == 1.0] = ends[1]
    correction, influence, grads = _fit_error(fit, pis)
    values = a.mean(axis=1) + b.mean(axis=1) + correction
    terms = _with_influence(fit, a, b, influence, pis)
    boot = _replicates(fit, a, b, terms, correction, grads, n_bootstrap, rng) if n_bootstrap else None
    alternative = None
    advantages, names = None, ()
    end_shifts, end_names = None, ()
    if fit.probes:
        advantages = np.vstack([_approximation_gaps(fit, pis), _ridge_gaps(fit, pis, values)])
        names = tuple(name for name, _ in fit.probes[1:]) + tuple(f"{name} refit" for name, _ in fit.refits)
        end_shifts, end_names = _end_shifts(fit, pis, bounds)
    null_boot = None
    if fit.alternative is not None:
        a2, b2 = _contributions(fit.alternative.ell_real, fit.alternative.ell_gen, pis)
        correction2, influence2, grads2 = _fit_error(fit.alternative, pis)
        terms2 = _with_influence(fit.alternative, a2, b2, influence2, pis)
        alternative = (*terms2, correction2)
        if n_bootstrap:
            null_boot = _replicates(fit.alternative, a2, b2, terms2, correction2, grads2, n_bootstrap, rng)
    return _Estimate(fit=fit, pis=pis, values=values, boot=boot, correction=correction, terms=terms,
                     reference=_fingerprint(real), copies=copies, alternative=alternative,
                     advantages=advantages, advantage_names=names, end_shifts=end_shifts, end_names=end_names,
                     null_boot=null_boot, supports=supports)


def _end_terms(ell_real, ell_gen, bounds=(False, False)) -> tuple:
    """Per-row terms ((real, generated) of KL(P||Q), (real, generated) of KL(Q||P)) from held-out log-ratios.

    An end that is not in ``bounds`` (KL(P||Q) flagged, KL(Q||P) flagged) is the plug-in: KL(P||Q) =
    mean_real(ell), KL(Q||P) = mean_generated(-ell). A flagged end is reported as a lower bound, and the
    plug-in is none: the fit extrapolates the log-ratio into the regions the other set's rows leave
    empty or sparse, often far too steeply. Measured (rbf winner, n = 10,000): 6 modes on a ring against 3
    of them, KL(P||Q) 8.89-9.13 over three seeds for a true 6.22; 9 grid modes against 5 of them, 8.59
    for 4.81; 3 modes on a line against one Gaussian in the middle, 3.34 for 2.76 (at n = 2,000 above
    the truth in 10 of 10 draws, by up to 44%: ``benchmarks/lower_bounds.py``). So a flagged end uses f,
    the held-out log-ratio capped at the log of the other set's size (a larger ratio is one no sample of
    that size can check), and where the other set's rows show f too large on average, normalises it:
    for KL(P||Q), with M = mean_Q(exp f) over the generated rows, the value is mean_P(f) - log M when
    M > 1 (E_Q[p/q] <= 1, so a larger mean shows f too large; mean_P(f) - log M is the plug-in of the
    Donsker-Varadhan bound KL(P||Q) >= E_P[f] - log E_Q[exp f], which holds for every f), else
    mean_P(f). Both are lower bounds up to noise: the capped plug-in where the other set's rows cannot
    check the fit, the normalised one where they can; taking the smaller errs towards the claim holding
    (the Donsker-Varadhan plug-in alone is biased upward on small samples, by the log of a heavy-tailed
    mean). The same fits: 3.72, 3.12, 2.66; at n = 2,000 (10 draws) 1 of the 96 flagged ends of that
    script's 10 is above its truth: a banana's KL(P||Q), by 3% (its plug-ins: 4 of 10 above, by up to
    40%). A normalised value below 0 is reported as 0, which every KL is at least: a single row of the
    other set at the cap adds 1 to M when both sets are equally large (a 2-d Student t(5) against its ML
    Gaussian at n = 10,000: one generated row fitted at log-ratio 30, true 4.5, and M = 2.0 +- 1.0 took
    the value to -0.60). The row terms of the normalised value, (f - log M, 1 - exp(f) / M), average to
    it exactly and carry its first-order noise. KL(Q||P) the same way with the roles swapped.
    """
    ell_real, ell_gen = np.asarray(ell_real, np.float64), np.asarray(ell_gen, np.float64)
    out = []
    for flagged, side, other, sign in ((bounds[0], ell_real, ell_gen, 1.0), (bounds[1], -ell_gen, -ell_real, -1.0)):
        terms = (side, np.zeros(len(other)))
        if flagged:
            cap = math.log(len(other))
            f, ratio = np.minimum(side, cap), np.exp(np.minimum(other, cap))
            norm = float(ratio.mean())
            terms = (f - math.log(norm), 1.0 - ratio / norm) if norm > 1.0 else (f, np.zeros(len(other)))
            if terms[0].mean() + terms[1].mean() < 0.0:
                terms = (np.zeros(len(side)), np.zeros(len(other)))
        out.append(terms if sign > 0 else terms[::-1])
    return tuple(out)


def _end_values(ell_real, ell_gen, bounds=(False, False)) -> tuple[float, float]:
    """(KL(P||Q), KL(Q||P)) of `_end_terms`."""
    (a0, b0), (a1, b1) = _end_terms(ell_real, ell_gen, bounds)
    return float(a0.mean() + b0.mean()), float(a1.mean() + b1.mean())


def _replicates(fit: _CrossFit, a, b, terms, correction, grads, n_bootstrap: int, rng) -> np.ndarray:
    """(n_bootstrap, k) bootstrap replicates of the d_pi of one fit: its per-row terms resampled, plus its
    coefficient error (``grads`` from `_fit_error`)."""
    # a fit without coefficients (boosting, k-NN): the ends' replicates carry the KL influence of
    # the other side's rows as well (their first-order fit noise, see _with_influence; the terms
    # are centred, so the value is unchanged). Measured: KL(Q||P) = log 2 in the support-mismatch
    # world at n = 10,000, interval [0.6846, 0.6922] without them, which missed the truth 0.6931
    ta, tb = terms if fit.without_fit_error else (a, b)
    boot = _bootstrap_means(ta, n_bootstrap, rng) + _bootstrap_means(tb, n_bootstrap, rng) + correction
    # the classifier's coefficient error moves every d_pi to first order unless the model
    # contains the true ratio (then the interior's derivative vanishes and only the second-order
    # loss, corrected above, is left): add it to each replicate as a parametric bootstrap, drawn
    # in coefficient space so that every pi sees the same draws (a spectrum row equals the
    # single-pi result). Fold errors are treated as one fit on all rows: the fold average, times
    # (cv - 1) / cv for the larger training set.
    shrink = (fit.cv - 1) / fit.cv / fit.cv
    for g, sigma in grads:
        lam, vec = np.linalg.eigh(sigma)
        root = vec * np.sqrt(np.clip(lam, 0.0, None) * shrink)
        boot += (rng.standard_normal((n_bootstrap, len(lam))) @ root.T) @ g.T
    return boot


def _approximation_gaps(fit: _CrossFit, pis) -> np.ndarray:
    """(candidates, k): each other candidate's held-out d_pi minus the winner's, 0 at pi = 0 and 1.

    All from the fit-row models on the same held-out rows (`_probe_cross_fit`), so the difference is
    the model classes' and mostly free of the rows' noise. The ends are direct plug-ins, not bounds: a
    higher value there says nothing about the truth.
    """
    interior = (pis > 0.0) & (pis < 1.0)

    def values(ell):
        a, b = _contributions(ell[: fit.n_real], ell[fit.n_real:], pis)
        return a.mean(axis=1) + b.mean(axis=1)

    (_, own), others = fit.probes[0], fit.probes[1:]
    base = values(own)
    return np.array([np.where(interior, values(ell) - base, 0.0) for _, ell in others]).reshape(len(others), len(pis))


def _ridge_gaps(fit: _CrossFit, pis, values) -> np.ndarray:
    """(refits, k): each less-ridge refit's bias-corrected d_pi minus the winner's (``values``), 0 at the ends.

    The probes of `_approximation_gaps` compare raw held-out values, and a less-penalised model pays
    more second-order estimation loss there, which hides the shrinkage it removes (the banana's quartic
    interior is 2.5-2.9% low at C = 1, about 1% at C = 10, but the raw probe showed 1.1-1.6% on average).
    Each refit here is the winner's model fitted exactly like it on the whole training folds, with a
    tenth of the ridge, and both values carry their own correction: the difference compares two
    estimates of the same kind (each a lower bound on the truth at its model's limit).
    """
    interior = (pis > 0.0) & (pis < 1.0)
    rows = []
    for _, refit in fit.refits:
        a, b = _contributions(refit.ell_real, refit.ell_gen, pis)
        value = a.mean(axis=1) + b.mean(axis=1) + _fit_error(refit, pis)[0]
        rows.append(np.where(interior, value - values, 0.0))
    return np.array(rows).reshape(len(rows), len(pis))


def _with_influence(fit: _CrossFit, a, b, influence, pis):
    """Per-row terms (a, b) plus each row's influence on the fitted classifiers (when there is one).

    For paired comparisons each row's term also carries its influence on the fitted classifiers
    (centred within its class: stratified folds fix the class counts), so that two models' fit
    errors covary through the reference rows they share; the value is unchanged.

    Folds without coefficients to differentiate (boosting, the k-NN ratio, the MLP, a scikit-learn
    estimator passed as ``classifier``) carry none of that. There the ends get the
    influence a locally consistent ratio fit has, which is the efficient influence function of the
    KL functional: KL(P||Q) = E_P[log r] (r = p/q) moves by (1 - r(y)) / m when a generated row y
    joins the fit, KL(Q||P) by (1 - 1/r(x)) / n for a real row x, so their variances gain
    Var_Q(r) / m resp. Var_P(1/r) / n (chi^2 divergences) beyond the evaluation terms. Without it a
    boosting winner's KL was "significantly different" between two equal-quality models in 14 of 100
    seeds (``widen-4d`` construction, n = 2,000; the re-runs with other seeds see only the split's
    share of the fit noise: at first order the cross-fitted value weighs every training row 1/n
    whatever the split). The interior d_pi are Neyman-orthogonal: their fit influence vanishes at
    the true ratio.
    """
    if influence is None:
        if not fit.without_fit_error:
            return a, b
        a, b = a.copy(), b.copy()
        with np.errstate(over="ignore"):
            r_gen = np.exp(np.minimum(fit.ell_gen, 700.0))
            inv_real = np.exp(np.minimum(-fit.ell_real, 700.0))
        for j, pi in enumerate(np.asarray(pis, dtype=np.float64)):
            if pi == 0.0:
                b[j] -= r_gen - r_gen.mean()
            elif pi == 1.0:
                a[j] -= inv_real - inv_real.mean()
        return a, b
    n_real = fit.n_real
    tau_r, tau_g = influence[:, :n_real], influence[:, n_real:]
    return (a + n_real * (tau_r - tau_r.mean(axis=1, keepdims=True)),
            b + (len(fit.ell) - n_real) * (tau_g - tau_g.mean(axis=1, keepdims=True)))


def _fit_error(fit: _CrossFit, pis):
    """The logistic fold models' coefficient error: (bias correction, per-row influence, per-fold (g, Sigma)).

    **Second order (bias).** The interior d_pi plug-in is a variational lower bound, maximal at the
    true log-ratio ell, so a fitted ell_hat = ell + delta loses, to second order,

        E d_pi(ell_hat) - d_pi = -1/2 E_{M_pi}[D_pi (1 - D_pi) delta^2] / (pi (1 - pi)),
        D_pi = sigmoid(ell + logit pi),  M_pi = pi P + (1 - pi) Q,

    with E delta(x)^2 = phi(x)^T Sigma phi(x) (``fit.fit_var``). For a model with k coefficients this
    is about k / n_train: the "1.4 x parameters / n" low bias of issue 12, which is added back. The
    expectation over M_pi is taken over the held-out rows (real rows weighted pi, generated 1 - pi),
    with D_pi at the estimated ratio; a row whose error spans tens of nats loses the smaller of that
    and its loss over the Gaussian error (`_second_order_loss`).
    The ends are direct plug-ins without that loss: 0.

    **First order (variance).** A value's derivative in the coefficients is
    g_pi = mean_real[a_pi'(ell) phi] + mean_generated[b_pi'(ell) phi] (a' = (1 - D_pi) / (1 - pi),
    b' = -D_pi / pi; at the ends a' = 1 resp. b' = -1), which vanishes in expectation when the model
    contains the true ratio (interior) but not at the ends or under misspecification. With
    theta_hat - theta* ~ J^-1 sum_i s_i over the fold's training rows (s_i = (y_i - p_i) phi_i), every
    training row i gets the influence sum over the folds that trained on it of g J^-1 s_i / cv, so
    the value's fit error is a sum over rows like its evaluation error (used by the paired tests:
    two models' fits covary through the reference rows they share). The intervals draw it instead
    from g Sigma g^T per fold (measured: the row-influence bootstrap under-covered the ends, e.g.
    KL(Q||P) in the scale-10d world 0.84 against 0.94 over the same 50 seeds). Returns
    (zeros, None, []) without logistic folds.
    """
    k = len(pis)
    if not fit.fold_fits:
        return np.zeros(k), None, []
    influence = np.zeros((k, len(fit.ell)))
    grads = []
    is_real = np.arange(len(fit.ell)) < fit.n_real
    correction = _second_order_loss(fit, pis)
    for f in fit.fold_fits:
        phi, ell, real_rows = f.phi_test, fit.ell[f.test], is_real[f.test]
        grad = np.empty((k, phi.shape[1]))
        for j, pi in enumerate(pis):
            if pi == 0.0:
                da, db = np.ones(len(ell)), np.zeros(len(ell))
            elif pi == 1.0:
                da, db = np.zeros(len(ell)), -np.ones(len(ell))
            else:
                d = _sigmoid(ell + math.log(pi) - math.log1p(-pi))
                da, db = (1.0 - d) / (1.0 - pi), -d / pi
            grad[j] = (da[real_rows] @ phi[real_rows]) / real_rows.sum() + (db[~real_rows] @ phi[~real_rows]) / (~real_rows).sum()
        # this fold's model serves 1/cv of the rows: its coefficient error theta_hat - theta* ~
        # j_inv @ (sum of its training rows' scores) moves the value by grad @ that / cv
        influence[:, f.train] += (grad @ f.j_inv) @ f.scores.T / fit.cv
        # the intervals use the prospective covariance: with the case-control one the ends'
        # intervals under-covered (measured: KL and reverse KL in the corr-2d world 0.84 and 0.84 of
        # 50 seeds; with this one 0.94 and 0.98), so the reduction is left out there
        grads.append((grad, f.prospective))
    return correction, influence, grads


#: Gauss-Hermite nodes for the expected loss of a row's fit error (`_second_order_loss`)
_LOSS_NODES = 24


def _second_order_loss(fit: _CrossFit, pis) -> np.ndarray:
    """Per pi: the expected shortfall of the interior plug-in from each row's fit error (0 at the ends).

    With a row's fitted log-ratio off by delta ~ N(0, v) (v = ``fit.fit_var``), its term loses
    E[f(ell) - f(ell + delta)]: to second order 1/2 D_pi (1 - D_pi) v / (1 - pi) for a real row and
    / pi for a generated one (the expansion in `_fit_error`). That expansion holds for small v only. A
    quartic model's variance at its most outlying held-out rows reaches v = 1,000-8,000 (banana worlds,
    n = 2,000-10,000), and two things go wrong there, each caught by one of the two forms:

    * an outlying row that is not saturated (D_pi (1 - D_pi) near 1/4, e.g. far out along a 3-d
      banana's noise coordinate): the log loss is linear, not quadratic, that far from its optimum, so
      the row loses about sqrt(v), not v. The expansion added 7% of the truth for a realised loss of
      0.6%; the Gaussian loss (by quadrature) 1.4%;
    * a saturated row far out (a real row at log-ratio 30): its error extrapolates the ratio's
      size, and the Gaussian over v, which would flip its sign, put the less-ridge refit's loss on the
      banana at 0.026-0.059 for a realised 0.014-0.018 (the expansion: 0.007).

    So each row's loss is the smaller of the two. Where every v is below 1 (the quadratic model in
    10-d) both agree to 0.1% of the truth.
    """
    pis = np.asarray(pis, dtype=np.float64)
    interior = (pis > 0.0) & (pis < 1.0)
    loss = np.zeros(len(pis))
    if not interior.any():
        return loss
    inner = pis[interior][:, None]
    real = np.arange(len(fit.ell)) < fit.n_real
    v = fit.fit_var

    def terms(ell):  # (interior pis, rows): each row's term of d_pi, real rows first
        return np.hstack(_contributions(ell[real], ell[~real], inner[:, 0]))

    nodes, weights = np.polynomial.hermite_e.hermegauss(_LOSS_NODES)
    weights = weights / weights.sum()
    gaussian = terms(fit.ell) - sum(w * terms(fit.ell + x * np.sqrt(v)) for x, w in zip(nodes, weights))
    d = _sigmoid(fit.ell + np.log(inner) - np.log1p(-inner))
    expansion = 0.5 * d * (1.0 - d) * v / np.where(real, 1.0 - inner, inner)
    row = np.minimum(gaussian, expansion)
    loss[interior] = row[:, real].mean(axis=1) + row[:, ~real].mean(axis=1)
    return loss


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow


def _auc(fit: _CrossFit) -> float:
    # Mann-Whitney form: probability a real row has a higher log-ratio than a generated one (ties 1/2)
    ranks = stats.rankdata(fit.ell)
    n1, n0 = fit.n_real, len(fit.ell) - fit.n_real
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _fingerprint(x) -> str:
    import hashlib

    x = np.ascontiguousarray(x)
    return f"{x.shape}:{x.dtype}:" + hashlib.blake2b(x.tobytes(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class RowTerms:
    """A classifier divergence as per-row terms: ``value = mean(real) + mean(generated) + constant``.

    Carried in memory beside the result (``MetricResult.replicates``) so that two models scored
    against the same reference can be compared row by row (:func:`paired_divergence_test`).

    Attributes
    ----------
    real, generated : ndarray
        Each row's term: its held-out contribution (scored by a classifier that never saw it) plus,
        for logistic fold models, its influence on the classifiers it trained (real rows in the
        order given).
    constant : float
        The fit-error bias correction (interior pi).
    reference : str
        Fingerprint of the real rows: comparisons pair rows only between results on the same reference.
    value : float or None
        The estimate these terms add up to, when it is not the result's value: where ``"auto"`` kept
        the constant model (value exactly 0: no difference seen), the terms are those
        of the best non-constant candidate (``chosen``), and comparisons use its estimate. Without
        it, a model whose classifier saw nothing was "significantly better" than an equal-quality
        model whose classifier saw its divergence (skew construction, n = 500: 13 of 60 seeds).
    chosen : str or None
        That candidate.
    seed_dependent : bool
        The value also depends on the seed's random split of the rows into folds (C2ST: each row's
        hit is scored by the classifier of the other fold, so which rows trained which classifier
        moves the value by about as much as the rows themselves). The row terms hold the classifiers
        fixed and miss that part; a comparison adds it (:func:`paired_divergence_test`'s
        ``extra_variance``, from re-runs with other seeds in :func:`genbench.significance.compare`).
    """

    real: np.ndarray
    generated: np.ndarray
    constant: float
    reference: str
    value: float | None = None
    chosen: str | None = None
    seed_dependent: bool = False


def paired_divergence_test(value_a: float, terms_a: RowTerms, value_b: float, terms_b: RowTerms, *,
                           level: float = 0.95, extra_variance: float = 0.0, extra_df: int | None = None):
    """Paired test of ``E[T_A] = E[T_B]`` for two classifier divergences against the same reference.

    Parameters
    ----------
    value_a, value_b : float
        The two models' values (KL, reverse KL, JS, d_pi or the spectrum mean).
    terms_a, terms_b : RowTerms
        Their per-row terms (``MetricResult.replicates`` of the classifier metrics).
    level : float
        Level of the interval for ``value_a - value_b``.
    extra_variance : float, default 0
        Variance of the difference that the row terms do not carry (for ``seed_dependent`` terms: the
        spread of the values over re-runs with other seeds, both models added).
    extra_df : int, optional
        Degrees of freedom of ``extra_variance`` (re-runs - 1 per model, summed); the test is then a t
        test with Satterthwaite's degrees of freedom, the row part counted as exact.

    Returns
    -------
    metrics.resampling.DifferenceTest
        Normal test (the reference has hundreds of rows or more) of the difference, or t with
        ``extra_variance``.

    Notes
    -----
    Each value is, to first order, a mean over rows of their terms: the held-out contribution of a
    row plus its influence on the logistic classifiers it helped train (for the interior pi with a
    well-specified model that influence vanishes: the mixture form is Neyman-orthogonal, and the
    remaining second-order bias is corrected and shared in expectation by models of equal quality).
    A reference row enters both models' values, so the difference is a mean of *paired*
    reference-row differences (their common log p(x) part cancels, their training influences
    covary as they should) plus two independent generated-row means:

        Var D ~ var_i(a_A(r_i) - a_B(r_i)) / n + var(b_A) / m_A + var(b_B) / m_B.

    Terms without a fit error (``seed_dependent``: C2ST's hits, boosting and k-NN fits) miss the
    variance of the seed's split of the rows into folds; ``extra_variance`` adds it.

    Disjoint folds (the black-box route) are not used here because a classifier fitted on a tenth
    of the rows estimates a different, smaller divergence, so fold differences do not scale like the
    full-size difference.
    """
    from .resampling import DifferenceTest

    level = check_level(level)
    if terms_a.reference != terms_b.reference or len(terms_a.real) != len(terms_b.real):
        raise InputError("the two results were computed against different reference rows; a paired comparison "
                         "needs the same reference set for both models.")
    n = len(terms_a.real)
    paired = terms_a.real - terms_b.real
    with np.errstate(over="ignore", invalid="ignore"):  # a non-finite variance gives p = nan, below
        rows = (paired.var(ddof=1) / n + terms_a.generated.var(ddof=1) / len(terms_a.generated)
                + terms_b.generated.var(ddof=1) / len(terms_b.generated))
    extra_variance = float(extra_variance)
    if not (extra_variance >= 0.0):
        raise InputError(f"`extra_variance` must be a non-negative number; got {extra_variance!r}.")
    var = rows + extra_variance
    # Satterthwaite: the row part has hundreds of degrees of freedom, the re-run part only a few
    df = math.inf if extra_variance == 0.0 or not extra_df else var ** 2 / (extra_variance ** 2 / extra_df)
    # a model whose classifier kept the constant (value 0) is tested by its best non-constant fit
    tested_a = float(value_a) if terms_a.value is None else terms_a.value
    tested_b = float(value_b) if terms_b.value is None else terms_b.value
    diff = tested_a - tested_b
    se = math.sqrt(max(var, 0.0))
    if not (math.isfinite(diff) and math.isfinite(se)):
        p, half = math.nan, math.nan
    elif se == 0.0:
        p, half = (1.0 if diff == 0.0 else 0.0), 0.0
    else:
        p = float(2.0 * stats.t.sf(abs(diff) / se, df))
        half = float(stats.t.ppf(0.5 + level / 2.0, df) * se)
    method = "paired row terms z (cross-fitted held-out terms; reference rows paired)"
    extras = {"n": n}
    if extra_variance > 0.0:
        method = (f"paired row terms + re-run variance, Satterthwaite t ({df:.1f} df; reference rows paired, "
                  f"the seed's split of the rows from re-runs)")
        extras.update(row_variance=rows, extra_variance=extra_variance, df=df)
    substituted = [f"{side}: {t.chosen} fit {t.value:.4g}" for side, t in (("A", terms_a), ("B", terms_b))
                   if t.value is not None]
    if substituted:
        method += "; a constant-model value (0) tested by its best non-constant fit"
        extras["tested"] = ", ".join(substituted)
        extras["difference_tested"] = diff
    ci = ConfidenceInterval(diff - half, diff + half, level, method)
    return DifferenceTest(float(value_a) - float(value_b), se, n - 1 if math.isinf(df) else df, p, ci, method,
                          extras)


# --------------------------------------------------------------------------- public API

def adversarial_divergence(real, generated, *, pi=0.5, classifier="auto", cv=5, n_bootstrap=1000,
                           level=0.95, seed=0) -> MetricResult:
    """Estimate d_pi = JS_pi / (pi (1 - pi)) between real (P) and generated (Q) samples with a classifier.

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples (or features) of the data distribution P and the model Q. Asymmetric: pi = 0 gives
        KL(real || generated).
    pi : float in [0, 1], default 0.5
        Weight of the real data in M = pi P + (1 - pi) Q. 0 gives KL(P||Q), 1 gives KL(Q||P),
        0.5 gives 4 JS.
    classifier : {"auto", "quadratic", "logistic", "mlp", "gbdt"} or scikit-learn classifier, default "auto"
        Log-ratio model (module docstring). ``"auto"`` chooses per fold among the constant model, a
        quadratic (or, up to 3-d, quartic) logistic regression and gradient boosting by penalised
        inner-validation log loss, calibrated, with PCA to 64 dimensions above 64; ``extras["chosen"]``
        says what each fold used. A custom estimator needs ``fit`` and ``predict_proba``; it is cloned
        per fold, placed after a ``StandardScaler`` fitted on the training folds, and given
        ``random_state`` from ``seed`` if it has one left at None.
    cv : int, default 5
        Number of cross-fitting folds (>= 2).
    n_bootstrap : int, default 1000
        Bootstrap resamples of the held-out rows for the confidence interval; 0 for none.
    level : float, default 0.95
        Confidence level of the interval.
    seed : int or numpy.random.Generator, default 0
        Fold assignment, classifier seeds and bootstrap draws.

    Returns
    -------
    MetricResult
        ``metric="adversarial_divergence"``, ``value`` = d_pi estimate in nats (lower is better;
        exactly 0 when "auto" keeps the constant model; other classifiers can give slightly negative
        values when P = Q, they are not clipped), ``ci`` a bootstrap-percentile interval, ``extras``
        with ``pi``, ``js_pi`` = pi (1 - pi) d_pi, the classifier, and the calibration diagnostics
        ``ratio_mean_generated`` and ``inverse_ratio_mean_real`` (means of the estimated p/q over
        generated rows and q/p over real rows; both 1 for a perfect ratio), ``saturated_real`` /
        ``saturated_generated`` and ``lower_bound_kl`` / ``lower_bound_reverse_kl``. At pi = 0 or 1
        with one side's mass missing from the other, ``bound="lower"``, ``extras["bound"]``, a
        no two-sided interval (``ci=None``; ``extras["ci_low_one_sided"]`` holds the lower end) and a
        :class:`~metrics.MetricWarning` (module docstring).

    Notes
    -----
    Estimator, prior correction and cross-fitting are described in the module docstring. The plug-in
    is consistent when the classifier's log-odds model contains the true log-ratio; a misspecified
    classifier biases it (usually downwards). For the logistic models the interior's second-order
    fit loss is added back and the interval covers evaluation noise plus their first-order fit error
    (module notes); boosting and nearest-neighbour folds add neither.

    References
    ----------
    Huszar, "How (not) to train your generative model: scheduled sampling, likelihood, adversary?",
    arXiv:1511.05101, 2015. Sugiyama, Suzuki & Kanamori, "Density ratio estimation in machine
    learning", 2012. Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017.
    Chernozhukov et al., "Double/debiased machine learning for treatment and structural
    parameters", Econometrics Journal 2018 (cross-fitting with orthogonal scores).

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> real, generated = rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2)) + [1.0, 0.0]
    >>> r = metrics.adversarial_divergence(real, generated, pi=0.0)   # KL = 0.5 exactly
    >>> round(r.value, 1)
    0.5
    """
    real, generated, classifier, cv, rng = _check_common(real, generated, classifier, cv, seed)
    pi_arr = _check_pis(pi)
    if np.ndim(pi) != 0:
        raise InputError(f"`pi` must be a single number in [0, 1]; got {pi!r}. Use divergence_spectrum for a grid.")
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=0)
    level = check_level(level)
    est = _estimate(real, generated, pi_arr, classifier, cv, n_bootstrap, rng)
    return _result("adversarial_divergence", est, 0, level, classifier, cv, scale=1.0)


def _result(name, est: _Estimate, j: int, level, classifier, cv, *, scale: float, extras=None):
    value = float(est.values[j]) * scale
    lower = bool(est.lower[j])
    weights = np.zeros(len(est.pis))
    weights[j] = scale
    gap, below = est.gap(weights), est.gap_below(weights)
    ci = None
    if est.boot is not None:
        lo, hi, method = est.interval(weights, level)
        # a lower bound has no two-sided interval (and JSON has no inf): its lower end goes to extras
        ci = None if lower else ConfidenceInterval(lo, hi, level, method)
        if lower:
            extras = {**(extras or {}), "ci_low_one_sided": float(lo), "ci_method": _LOWER_CI_METHOD}
    if lower:
        est.warn()
    pi = float(est.pis[j])
    info = {
        "pi": pi,
        "d_pi": float(est.values[j]),
        "js_pi": float(pi * (1 - pi) * est.values[j]),
        "classifier": _classifier_name(classifier),
        "cv": cv,
        "n_bootstrap": 0 if est.boot is None else len(est.boot),
        **est.diagnostics(),
        **est.bound_extras(),
        **({"bound": "lower"} if lower else {}),
        **({"approximation_gap": gap, "approximation_gap_from": est.gap_source(weights),
            "approximation_gap_below": below} if est.advantages is not None else {}),
        **(extras or {}),
    }
    return MetricResult(name, value, higher_is_better=False, ci=ci,
                        n=(est.fit.n_real, len(est.fit.ell) - est.fit.n_real), extras=info,
                        bound="lower" if lower else None, replicates=est.row_terms(weights))


@dataclass(frozen=True)
class DivergenceSpectrum:
    """The estimated d_pi curve, one row per pi, with bootstrap intervals.

    Attributes
    ----------
    pis, d_pi : tuple of float
        The grid and the d_pi estimates (nats). ``pi = 0`` is KL(real||generated), ``pi = 1`` is
        KL(generated||real), ``pi = 0.5`` is 4 JS.
    ci_low, ci_high : tuple of float or None
        Bootstrap-percentile bounds (``None`` when ``n_bootstrap=0``). All pis share the same
        bootstrap draws, so the band is coherent across the curve.
    level : float
        Confidence level of the bounds.
    n : tuple of int
        ``(n_real, n_generated)``.
    classifier : str
        Classifier used.
    extras : dict
        ``accuracy`` and ``auc`` of the held-out predictions (C2ST statistics for free), the
        calibration diagnostics, ``cv`` and ``n_bootstrap``.
    """

    pis: tuple
    d_pi: tuple
    ci_low: tuple
    ci_high: tuple
    level: float
    n: tuple
    classifier: str
    extras: dict = field(default_factory=dict)
    bound: tuple = ()

    def _bounds(self):
        return self.bound or (None,) * len(self.pis)

    def rows(self) -> list[dict]:
        """JSON-friendly rows ``{"pi", "d_pi", "ci_low", "ci_high", "bound"}``, one per pi.

        A lower-bound row (``bound="lower"``) has ``ci_high=None``: nothing bounds it from above.
        """
        return [{"pi": p, "d_pi": d, "ci_low": lo, "ci_high": None if b == "lower" else hi, "bound": b}
                for p, d, lo, hi, b in zip(self.pis, self.d_pi, self.ci_low, self.ci_high, self._bounds())]

    def to_frame(self):
        """The rows as a pandas DataFrame with columns pi, d_pi, ci_low, ci_high, bound."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["pi", "d_pi", "ci_low", "ci_high", "bound"])

    @property
    def results(self) -> tuple[MetricResult, ...]:
        """One :class:`MetricResult` per pi (``metric="adversarial_divergence"``)."""
        out = []
        for p, d, lo, hi, b in zip(self.pis, self.d_pi, self.ci_low, self.ci_high, self._bounds()):
            ci = None
            if lo is not None and b != "lower":  # a lower bound has no two-sided interval
                ci = ConfidenceInterval(lo, hi, self.level, "bootstrap-percentile over held-out rows")
            out.append(MetricResult("adversarial_divergence", d, higher_is_better=False, ci=ci, n=self.n,
                                    extras={"pi": p, "js_pi": p * (1 - p) * d, "classifier": self.classifier},
                                    bound=b))
        return tuple(out)


def divergence_spectrum(real, generated, *, pis=DEFAULT_PIS, classifier="auto", cv=5, n_bootstrap=1000,
                        level=0.95, seed=0) -> DivergenceSpectrum:
    """Estimate the whole d_pi spectrum (KL ... JS ... reverse KL) from one set of cross-fitted classifiers.

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples (or features) of the data P and the model Q.
    pis : sequence of float in [0, 1], default 0, 0.1, ..., 1
        Where to evaluate d_pi.
    classifier, cv, n_bootstrap, level, seed
        As in :func:`adversarial_divergence`. With the same arguments, each row equals
        ``adversarial_divergence(real, generated, pi=pi, ...)`` exactly.

    Returns
    -------
    DivergenceSpectrum
        ``.rows()`` (JSON-friendly), ``.to_frame()`` (pandas), ``.results`` (MetricResults).

    Notes
    -----
    The classifiers are fitted once (``cv`` fits); each pi only re-averages the held-out
    log-ratios, so the cost of the curve is that of a single divergence plus O(n len(pis)).
    Low d_pi at small pi with high d_pi at large pi means the model covers the data but puts mass
    where the data have none (blurry samples); the opposite means it drops modes.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> real, generated = rng.normal(size=(4000, 2)), 1.5 * rng.normal(size=(4000, 2))
    >>> s = metrics.divergence_spectrum(real, generated, pis=[0.0, 0.5, 1.0], n_bootstrap=0)
    >>> [round(v, 2) for v in s.d_pi]
    [0.24, 0.27, 0.42]
    >>> from metrics.divergences import gaussian_d_pi
    >>> gaussian_d_pi([0, 0], 1.0, [0, 0], 1.5**2, [0.0, 0.5, 1.0]).round(2).tolist()
    [0.26, 0.28, 0.44]
    >>> s.to_frame().columns.tolist()
    ['pi', 'd_pi', 'ci_low', 'ci_high', 'bound']
    """
    real, generated, classifier, cv, rng = _check_common(real, generated, classifier, cv, seed)
    pis = _check_pis(pis)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=0)
    level = check_level(level)
    est = _estimate(real, generated, pis, classifier, cv, n_bootstrap, rng)
    return _spectrum_object(est, level, classifier, cv, stacklevel=3)


def _spectrum_object(est: _Estimate, level, classifier, cv, *, stacklevel=4) -> DivergenceSpectrum:
    k = len(est.pis)
    gaps = [est.gap(np.eye(k)[j]) for j in range(k)]
    below = [est.gap_below(np.eye(k)[j]) for j in range(k)]
    if est.boot is not None:
        lo, hi, _ = zip(*(est.interval(np.eye(k)[j], level) for j in range(k)))
    else:
        lo = hi = (None,) * k
    fit = est.fit
    extras = {
        "accuracy": float(np.mean((fit.logit > 0) == (fit.labels == 1))),
        "auc": _auc(fit),
        "cv": cv,
        "n_bootstrap": 0 if est.boot is None else len(est.boot),
        **est.diagnostics(),
        **est.bound_extras(),
        **({"approximation_gap": gaps, "approximation_gap_from": [est.gap_source(np.eye(k)[j]) for j in range(k)],
            "approximation_gap_below": below} if est.advantages is not None else {}),
    }
    lower = est.lower
    if lower.any():
        est.warn(stacklevel=stacklevel)
    return DivergenceSpectrum(
        pis=tuple(float(p) for p in est.pis), d_pi=tuple(float(v) for v in est.values), ci_low=lo, ci_high=hi,
        level=level, n=(fit.n_real, len(fit.ell) - fit.n_real), classifier=_classifier_name(classifier),
        extras=extras, bound=tuple("lower" if b else None for b in lower),
    )


@metric("c2st", needs="features", higher_is_better=False, group="classifier")
def c2st(real, generated, *, classifier="auto", cv=2, n_permutations=0, seed=0) -> MetricResult:
    """Classifier two-sample test: held-out accuracy and an exact binomial p-value (Lopez-Paz & Oquab 2017).

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        The two samples (features). Symmetric up to the label names.
    classifier : {"auto", "quadratic", "logistic", "mlp", "gbdt"} or scikit-learn classifier, default "auto"
        See :func:`adversarial_divergence`. ``"logistic"`` is the linear test of the paper; the
        default also sees spread, correlation, curvature and multimodality, which a linear classifier
        cannot. For the test "auto" chooses among its non-constant candidates only (a constant
        score would carry no information).
    cv : int, default 2
        Cross-fitting folds; every row is scored once by a classifier that did not see it. The exact
        test uses the first fold (1 / cv of the rows), so the default 2 is the paper's half/half
        split; more folds train on more data but test on fewer rows.
    n_permutations : int, default 0
        If > 0, ``pvalue`` is instead the permutation p-value of the cross-fitted accuracy: the whole
        cross-fit is repeated on ``n_permutations`` label permutations (``cv`` fits each). Exact and
        uses every row, at ``n_permutations`` times the cost.
    seed : int or numpy.random.Generator, default 0
        Folds, classifier seeds and permutations.

    Returns
    -------
    MetricResult
        ``value`` = cross-fitted held-out accuracy over all rows (0.5 = indistinguishable, lower is
        better), ``pvalue`` of the one-sided test of H0: P = Q, ``ci`` the Clopper-Pearson interval
        of ``value``, ``extras`` with ``auc`` (of the held-out log-ratios), ``chance`` (the null
        accuracy), ``n_correct``, the first fold's ``test_auc`` / ``pvalue_rank`` (the test) /
        ``test_accuracy`` / ``n_test`` / ``pvalue_binomial`` (the paper's accuracy test, kept for
        comparison) and the classifier. ``replicates`` holds the per-row held-out hits as
        :class:`RowTerms` (``seed_dependent``) for paired comparisons of two models' accuracies.

    Notes
    -----
    Null and test. A classifier fitted on the other ``cv - 1`` folds scores the first fold. Under
    H0: P = Q the first fold's labels are exchangeable given that classifier, so every assignment of
    its ranks to the real and generated rows is equally likely, and the one-sided Mann-Whitney U test
    (AUC > 1/2) of the held-out log-ratios is exact and distribution-free at every sample size (exact
    null for small folds, normal approximation otherwise). Ties (piecewise-constant boosted scores)
    are broken by an independent seeded uniform key, which keeps the p-value continuous, so it is
    uniform under H0. The paper's binomial test of accuracy, kept as ``pvalue_binomial``, is
    discrete and conservative (3.1% rejections at the 5% level over 1000 seeds); ranks use the whole
    score, not only its sign, which is also where the extra power comes from. The accuracy pooled
    over all folds is the better estimate of how separable the sets are, but pooled predictions are
    *not* exchangeable under H0 (every fold's classifier was trained on the other folds' labels;
    measured: 9.5% rejections at 5% with a binomial test), so it carries the value and the interval
    while the p-value uses one fold, or the permutation null when asked. p-values below the smallest
    positive double are reported as that number.

    References
    ----------
    Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(500, 3)), rng.normal(size=(500, 3)) + [0.5, 0, 0]
    >>> r = metrics.c2st(x, y)
    >>> r.value > 0.55, r.pvalue < 0.01
    (True, True)
    """
    real, generated, classifier, cv, rng = _check_common(real, generated, classifier, cv, seed)
    n_permutations = check_int(n_permutations, "n_permutations", low=0)
    # a test needs scores that can differ: "auto" chooses among its non-constant candidates here
    fit = _cross_fit(real, generated, classifier, cv, rng, allow_constant=False, probes=False)
    hit = (fit.logit > 0) == (fit.labels == 1)
    correct = int(hit.sum())
    n = len(fit.ell)
    chance = max(fit.n_real, n - fit.n_real) / n
    # the test: the first fold only, scored by a classifier that saw none of its labels
    first = fit.fold == 0
    n_test, correct_test = int(first.sum()), int(hit[first].sum())
    n_test_real = int((fit.labels[first] == 1).sum())
    chance_test = max(n_test_real, n_test - n_test_real) / n_test
    p_binom = max(float(stats.binom.sf(correct_test - 1, n_test, chance_test)), np.finfo(float).tiny)
    p_mw, auc_test = _rank_test(fit.ell[first], fit.labels[first], rng)
    ci = stats.binomtest(correct, n).proportion_ci(confidence_level=0.95, method="exact")
    extras = {
        "auc": _auc(fit),
        "chance": chance,
        "n_correct": correct,
        "test_auc": auc_test,
        "test_accuracy": correct_test / n_test,
        "n_test": n_test,
        "pvalue_rank": p_mw,
        "pvalue_binomial": p_binom,
        "null": "Mann-Whitney U on the first fold's held-out log-ratios (ties broken at random)",
        "classifier": _classifier_name(classifier),
        "cv": cv,
        **({"chosen": list(fit.chosen)} if fit.chosen else {}),
    }
    pvalue = p_mw
    if n_permutations:
        pooled = np.vstack([real, generated])
        hits = 0
        for _ in range(n_permutations):
            perm = rng.permutation(n)
            f = _cross_fit(pooled[perm[: fit.n_real]], pooled[perm[fit.n_real:]], classifier, cv, rng,
                           allow_constant=False, probes=False)
            hits += int(np.sum((f.logit > 0) == (f.labels == 1))) >= correct
        pvalue = (1 + hits) / (1 + n_permutations)
        extras.update(null="permutation", n_permutations=n_permutations)
    # per-row hits, weighted so that mean(real) + mean(generated) = accuracy: what a paired comparison
    # of two models' accuracies against this reference needs (with the seed's split, seed_dependent)
    row_hits = hit.astype(np.float64)
    terms = RowTerms(real=row_hits[: fit.n_real] * (fit.n_real / n),
                     generated=row_hits[fit.n_real:] * ((n - fit.n_real) / n),
                     constant=0.0, reference=_fingerprint(real), seed_dependent=True)
    return MetricResult("c2st", correct / n, higher_is_better=False,
                        ci=ConfidenceInterval(float(ci.low), float(ci.high), 0.95,
                                              "Clopper-Pearson (treats the cross-fitted predictions as independent)"),
                        pvalue=pvalue, n=(fit.n_real, n - fit.n_real), extras=extras, replicates=terms)


def _rank_test(score, label, rng):
    """One-sided Mann-Whitney p-value that real rows (label 1) score higher, and the AUC; ties broken at random.

    Given the classifier (fitted on other rows), the held-out labels are exchangeable under H0: P = Q,
    so every assignment of the ranks is equally likely and the U statistic has its exact
    distribution-free null. Breaking ties by an independent uniform key keeps that null continuous
    (uniform p-values) even when the scores are piecewise constant (boosted trees).
    """
    order = np.lexsort((rng.random(len(score)), score))
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    pos, neg = ranks[label == 1], ranks[label == 0]
    res = stats.mannwhitneyu(pos, neg, alternative="greater", method="auto")
    auc = float(res.statistic) / (len(pos) * len(neg))
    return max(float(res.pvalue), np.finfo(float).tiny), auc


@metric("kl", needs="features", higher_is_better=False, group="classifier")
def classifier_kl(real, generated, *, classifier="auto", cv=5, n_bootstrap=1000, level=0.95,
                  seed=0) -> MetricResult:
    """KL(real || generated) in nats, estimated with a cross-fitted classifier (the max-likelihood direction).

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples of the data P and the model Q.
    classifier, cv, n_bootstrap, level, seed
        As in :func:`adversarial_divergence`.

    Returns
    -------
    MetricResult
        ``adversarial_divergence(..., pi=0)`` under the registry name ``kl``: the mean held-out
        log-ratio over real rows. High when the model misses regions the data occupy.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.get_metric("kl")(rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2)) + [1.0, 0.0])
    >>> round(r.value, 1)   # exact 0.5
    0.5
    """
    return _single("kl", real, generated, 0.0, classifier, cv, n_bootstrap, level, seed)


@metric("reverse_kl", needs="features", higher_is_better=False, group="classifier")
def classifier_reverse_kl(real, generated, *, classifier="auto", cv=5, n_bootstrap=1000, level=0.95,
                          seed=0) -> MetricResult:
    """KL(generated || real) in nats, estimated with a cross-fitted classifier (the sample-quality direction).

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples of the data P and the model Q.
    classifier, cv, n_bootstrap, level, seed
        As in :func:`adversarial_divergence`.

    Returns
    -------
    MetricResult
        ``adversarial_divergence(..., pi=1)`` under the registry name ``reverse_kl``: minus the mean
        held-out log-ratio over generated rows. High when the model puts samples where the data have
        none.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.get_metric("reverse_kl")(rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2)) + [1.0, 0.0])
    >>> round(r.value, 1)   # exact 0.5
    0.5
    """
    return _single("reverse_kl", real, generated, 1.0, classifier, cv, n_bootstrap, level, seed)


@metric("js", needs="features", higher_is_better=False, group="classifier")
def classifier_js(real, generated, *, classifier="auto", cv=5, n_bootstrap=1000, level=0.95,
                  seed=0) -> MetricResult:
    """Jensen-Shannon divergence JS = JS_0.5 in nats (<= log 2), estimated with a cross-fitted classifier.

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples of the data P and the model Q.
    classifier, cv, n_bootstrap, level, seed
        As in :func:`adversarial_divergence`.

    Returns
    -------
    MetricResult
        ``value`` = JS in nats, i.e. d_0.5 / 4 (``extras["d_pi"]`` holds d_0.5 = 4 JS); the CI is
        scaled the same way. Symmetric in the two sets and bounded by log 2, so it saturates when the
        sets are easily told apart; KL and reverse KL keep growing.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.get_metric("js")(rng.normal(size=(4000, 2)), rng.normal(size=(4000, 2)) + [1.0, 0.0])
    >>> round(r.value, 2)   # exact 0.1114
    0.12
    """
    return _single("js", real, generated, 0.5, classifier, cv, n_bootstrap, level, seed, scale=0.25)


def _single(name, real, generated, pi, classifier, cv, n_bootstrap, level, seed, *, scale=1.0):
    real, generated, classifier, cv, rng = _check_common(real, generated, classifier, cv, seed)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=0)
    level = check_level(level)
    est = _estimate(real, generated, np.array([pi]), classifier, cv, n_bootstrap, rng)
    return _result(name, est, 0, level, classifier, cv, scale=scale)


@metric("spectrum", needs="features", higher_is_better=False, group="classifier")
def classifier_spectrum(real, generated, *, n_pis=11, classifier="auto", cv=5, n_bootstrap=1000,
                        level=0.95, seed=0) -> MetricResult:
    """The d_pi spectrum from KL(real||generated) (pi=0) to KL(generated||real) (pi=1); value = its interior mean.

    Parameters
    ----------
    real, generated : array_like of shape (n, d) and (m, d)
        Samples of the data P and the model Q.
    n_pis : int, default 11
        Grid size: pi = 0, 1/(n_pis - 1), ..., 1 (>= 3).
    classifier, cv, n_bootstrap, level, seed
        As in :func:`adversarial_divergence`.

    Returns
    -------
    MetricResult
        ``value`` = the mean of d_pi over the interior grid points (0 < pi < 1; 0.1, ..., 0.9 by
        default): one number that weighs the mode-covering side (small pi, towards KL) and the
        mode-seeking side (large pi, towards reverse KL) equally, and stays finite where an end is
        infinite (the ends themselves are the registered ``kl`` and ``reverse_kl``, with their own
        lower-bound flags); its CI comes from the same bootstrap replicates. A lower bound
        (``bound="lower"``) only when the generated rows hold near-copies (module notes). ``extras["spectrum"]`` is the curve as a list of
        ``{"pi", "d_pi", "ci_low", "ci_high"}`` rows for leaderboards and plots; ``extras`` also
        holds ``kl``, ``reverse_kl``, ``d_0.5`` (= 4 JS; odd ``n_pis`` only), ``accuracy`` and ``auc``.

    See Also
    --------
    divergence_spectrum : the same curve as a :class:`DivergenceSpectrum` (DataFrame, MetricResults).

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.get_metric("spectrum")(rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)) + [1.0, 0.0])
    >>> len(r.extras["spectrum"]), round(r.extras["kl"], 1)
    (11, 0.5)
    """
    real, generated, classifier, cv, rng = _check_common(real, generated, classifier, cv, seed)
    n_pis = check_int(n_pis, "n_pis", low=3, hint="The grid needs both ends (pi = 0 and pi = 1) and at least one "
                      "interior point, whose mean is the value.")
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=0)
    level = check_level(level)
    pis = np.linspace(0.0, 1.0, n_pis)
    est = _estimate(real, generated, pis, classifier, cv, n_bootstrap, rng)
    spec = _spectrum_object(est, level, classifier, cv, stacklevel=4)
    # the mean over the interior points: bounded (d_pi <= -log(pi) / (1 - pi) - log(1 - pi) / pi), so one
    # model's infinite KL does not swamp the summary; the ends are the registered kl and reverse_kl
    w = np.full(n_pis, 1.0 / (n_pis - 2))
    w[[0, -1]] = 0.0
    value = float(est.values @ w)
    lower = bool(est.lower[1:-1].any())  # near-copies, a fit without fit-error terms or too flat
    ci = None
    gap = est.gap(w)
    if est.boot is not None:
        spectrum_low, hi, method = est.interval(w, level)
        ci = None if lower else ConfidenceInterval(spectrum_low, hi, level, method)
    extras = {
        "summary": "mean of d_pi over the interior grid points 0 < pi < 1",
        "spectrum": spec.rows(),
        "kl": spec.d_pi[0],
        "reverse_kl": spec.d_pi[-1],
        **({"d_0.5": float(est.values[n_pis // 2])} if n_pis % 2 else {}),
        "classifier": spec.classifier,
        "level": level,
        **spec.extras,
        **({"approximation_gap": gap, "approximation_gap_from": est.gap_source(w)}
           if est.advantages is not None else {}),
        **({"bound": "lower", "ci_low_one_sided": spectrum_low, "ci_method": _LOWER_CI_METHOD}
           if lower and est.boot is not None else {"bound": "lower"} if lower else {}),
    }
    return MetricResult("spectrum", value, higher_is_better=False, ci=ci, n=spec.n, extras=extras,
                        bound="lower" if lower else None, replicates=est.row_terms(w))
