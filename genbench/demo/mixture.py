"""Suite ``mixture``: a 2-D world with a known density, models that trade likelihood for samples.

P is a mixture of 8 isotropic Gaussians on a ring. Every model has a tractable density (each is a
:class:`~genbench.demo._gmm.GaussianMixture`), so its exact test log-likelihood is known:

===================  ==========================================================================
oracle               an independent draw from P itself (the floor every metric should reach)
ml-gaussian          maximum-likelihood single Gaussian: covers every mode, samples fall between
gmm-3, gmm-8         ML Gaussian mixtures (EM) with too few / the right number of components
reverse-kl-gaussian  single Gaussian minimising KL(Q||P) (reparameterised gradient on exact
                     log p): mode seeking, one mode, terrible likelihood
adversarial-piX      3-component Gaussian-mixture generator trained against an MLP discriminator
                     with class prior pi = X in {0.1, 0.5, 0.9} (minimax objective, so the
                     generator minimises JS_pi): covering at 0.1, seeking at 0.9
memoriser            training points plus tiny noise (Theis et al. 2016): perfect-looking
                     samples, poor likelihood
over-dispersed       0.9 P + 0.1 broad noise: barely worse likelihood, clearly worse precision
mode-dropper         an exact copy of half of the modes: perfect precision, terrible likelihood
===================  ==========================================================================

Each model's samples (``samples.npy``) and exact test log-probabilities (``log_probs.npy``, on the
same test set for every model, so likelihood differences can be tested pairwise) are written into
sample directories and scored through :func:`genbench.score` - the path ``genbench score`` takes -
with every registered metric family, then published with :class:`genbench.Leaderboard`. The true
d_pi spectrum of every model is estimated by Monte Carlo from the exact densities (an independent
reference for the classifier-based estimates).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ._common import atomic_write_text, markdown_table, pyplot, readme_header, save_figure, torch_threads
from ._gmm import GaussianMixture, mixture_of

SUITE = "mixture"
N_MODES, RADIUS, MODE_SCALE = 8, 4.0, 0.3
#: Metrics scored (those registered when the suite runs; the rest are skipped with a note).
WANTED = ("log_likelihood", "parzen", "fid", "kid", "mmd_test", "c2st", "kl", "reverse_kl", "spectrum",
          "precision", "recall", "density", "coverage", "data_copying", "authenticity")
#: ``quick`` (the tests) keeps the metrics that cost milliseconds; the classifier family refits a
#: classifier per model and the KID default subset size needs 1000 points.
QUICK = ("log_likelihood", "parzen", "fid", "mmd", "precision", "recall", "density", "coverage", "data_copying",
         "authenticity")
#: The pair whose precision gets a permutation test (each permutation re-runs the k-NN metric, so
#: testing all 66 pairs would cost minutes): the suite's main disagreement.
STORY_PAIR = ("ml-gaussian", "mode-dropper")
PIS = np.round(np.linspace(0.0, 1.0, 11), 10)


def world() -> GaussianMixture:
    """P: 8 isotropic Gaussians (scale 0.3) evenly spaced on a ring of radius 4."""
    ang = 2 * np.pi * np.arange(N_MODES) / N_MODES
    return GaussianMixture.isotropic(np.ones(N_MODES), RADIUS * np.c_[np.cos(ang), np.sin(ang)], MODE_SCALE)


# ---- models ------------------------------------------------------------------------------------


def _gaussian(mean, cov) -> GaussianMixture:
    return GaussianMixture([1.0], np.asarray(mean)[None], np.asarray(cov)[None])


def fit_em(train: np.ndarray, k: int, seed: int) -> GaussianMixture:
    from sklearn.mixture import GaussianMixture as SkGMM

    gm = SkGMM(n_components=k, covariance_type="full", n_init=2, random_state=seed).fit(train)
    return GaussianMixture(gm.weights_, gm.means_, gm.covariances_)


def _torch_log_p(p: GaussianMixture):
    """log p(x) in torch for the isotropic, equal-scale world (used as an exact training signal)."""
    import torch

    means = torch.as_tensor(p.means)
    var = float(p.covs[0, 0, 0])
    logw = torch.as_tensor(np.log(p.weights))

    def log_p(x):
        d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
        return torch.logsumexp(logw - 0.5 * d2 / var, dim=1) - math.log(2 * math.pi * var)

    return log_p


def fit_reverse_kl(p: GaussianMixture, start: np.ndarray, seed: int, *, steps: int = 300,
                   batch: int = 512) -> GaussianMixture:
    """Single Gaussian minimising KL(Q||P) = E_Q[log q - log p] by the reparameterisation trick."""
    import torch

    g = torch.Generator().manual_seed(seed)
    log_p = _torch_log_p(p)
    mean = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    raw = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # log-diagonal and off-diagonal of L
    opt = torch.optim.Adam([mean, raw], lr=0.05)
    for _ in range(steps):
        chol = torch.stack([torch.stack([raw[0].exp(), torch.zeros((), dtype=torch.float64)]),
                            torch.stack([raw[2], raw[1].exp()])])
        z = torch.randn(batch, 2, generator=g, dtype=torch.float64)
        x = mean + z @ chol.T
        log_q = -0.5 * (z**2).sum(1) - raw[0] - raw[1] - math.log(2 * math.pi)
        loss = (log_q - log_p(x)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    chol = np.array([[math.exp(raw[0].item()), 0.0], [raw[2].item(), math.exp(raw[1].item())]])
    return _gaussian(mean.detach().numpy(), chol @ chol.T)


def train_adversarial(train: np.ndarray, pi: float, seed: int, *, k: int = 3, steps: int = 400,
                      d_steps: int = 2, batch: int = 256) -> GaussianMixture:
    """A k-component Gaussian-mixture generator trained against an MLP discriminator with prior pi.

    The discriminator maximises pi E_P[log D] + (1 - pi) E_Q[log(1 - D)]; the generator minimises
    the same (the minimax game whose value at the optimal D is JS_pi - H(pi)), so it is pulled
    towards the minimiser of JS_pi: KL(P||Q)-like covering at small pi, KL(Q||P)-like seeking at
    large pi. Samples are reparameterised (x = mu_c + sigma_c z, component c drawn uniformly), so
    the generator keeps an exact density.
    """
    import torch
    from torch.nn import functional as F

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the discriminator's initial weights
    # start from k training points with a small scale: every pi starts from the same state, so the
    # covering (small pi) or seeking (large pi) it ends in comes from the objective
    start = train[np.random.default_rng(seed).choice(len(train), size=k, replace=False)]
    mu = torch.nn.Parameter(torch.as_tensor(start, dtype=torch.float64).clone())
    log_s = torch.nn.Parameter(torch.full((k, 2), math.log(0.5), dtype=torch.float64))
    disc = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.LeakyReLU(0.2), torch.nn.Linear(32, 32),
                               torch.nn.LeakyReLU(0.2), torch.nn.Linear(32, 1)).double()
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-3, betas=(0.5, 0.9))
    opt_g = torch.optim.Adam([mu, log_s], lr=2e-2, betas=(0.5, 0.9))
    real = torch.as_tensor(train, dtype=torch.float64)

    def generate(n):
        c = torch.randint(k, (n,), generator=g)
        return mu[c] + log_s[c].exp() * torch.randn(n, 2, generator=g, dtype=torch.float64)

    for _ in range(steps):
        for _ in range(d_steps):
            xr = real[torch.randint(len(real), (batch,), generator=g)]
            xf = generate(batch).detach()
            loss_d = pi * F.softplus(-disc(xr)).mean() + (1 - pi) * F.softplus(disc(xf)).mean()
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = -(1 - pi) * F.softplus(disc(generate(batch))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    s = log_s.detach().exp().numpy()
    return GaussianMixture(np.ones(k), mu.detach().numpy(), np.stack([np.diag(v**2) for v in s]))


def build_models(p: GaussianMixture, train: np.ndarray, *, seed: int, quick: bool, progress=None,
                 task=None) -> dict[str, tuple[GaussianMixture, str]]:
    """Every model of the suite: name -> (density, one-line description)."""
    models = {}

    def add(name, model, text):
        models[name] = (model, text)
        if progress:
            progress.advance(task, description=f"{SUITE}: fitted {name}")

    add("oracle", p, "P itself (an independent draw)")
    add("ml-gaussian", _gaussian(train.mean(0), np.cov(train.T)), "maximum-likelihood single Gaussian")
    add("gmm-3", fit_em(train, 3, seed), "ML Gaussian mixture (EM), 3 components: too few")
    add("gmm-8", fit_em(train, N_MODES, seed), "ML Gaussian mixture (EM), 8 components: the right number")
    with torch_threads(1):
        add("reverse-kl-gaussian", fit_reverse_kl(p, train[0], seed, steps=150 if quick else 300),
            "single Gaussian minimising KL(Q||P) (mode seeking)")
        for pi in (0.1, 0.5, 0.9):
            add(f"adversarial-pi{pi}", train_adversarial(train, pi, seed, steps=250 if quick else 400),
                f"3-Gaussian generator vs MLP discriminator, class prior pi = {pi}")
    memo_scale = 0.01
    add("memoriser", GaussianMixture.isotropic(np.ones(len(train)), train, memo_scale),
        f"training points + N(0, {memo_scale}^2) noise")
    broad = GaussianMixture.isotropic([1.0], [[0.0, 0.0]], 2 * RADIUS)
    add("over-dispersed", mixture_of([(0.9, p), (0.1, broad)]), "0.9 P + 0.1 N(0, 8^2 I)")
    keep = np.arange(0, N_MODES, 2)
    add("mode-dropper", GaussianMixture(p.weights[keep], p.means[keep], p.covs[keep]),
        "exact copy of 4 of the 8 modes")
    return models


# ---- exact references ----------------------------------------------------------------------------


def true_spectrum(p: GaussianMixture, q: GaussianMixture, pis, n: int, rng) -> np.ndarray:
    """d_pi(P||Q) for each pi, by Monte Carlo over exact log-densities (n draws from each side).

    d_pi = E_P[log(p/m)] / (1 - pi) + E_Q[log(q/m)] / pi with m = pi p + (1 - pi) q; at pi = 0
    and 1 the limits KL(P||Q) and KL(Q||P).
    """
    xp, xq = p.sample(n, rng), q.sample(n, rng)
    lp_p, lq_p = p.log_prob(xp), q.log_prob(xp)
    lp_q, lq_q = p.log_prob(xq), q.log_prob(xq)
    out = []
    for pi in pis:
        if pi == 0.0:
            out.append(np.mean(lp_p - lq_p))
        elif pi == 1.0:
            out.append(np.mean(lq_q - lp_q))
        else:
            lm_p = np.logaddexp(np.log(pi) + lp_p, np.log1p(-pi) + lq_p)
            lm_q = np.logaddexp(np.log(pi) + lp_q, np.log1p(-pi) + lq_q)
            out.append(np.mean(lp_p - lm_p) / (1 - pi) + np.mean(lq_q - lm_q) / pi)
    return np.maximum(np.array(out), 0.0)


# ---- the suite -----------------------------------------------------------------------------------


def _metric_names(wanted=WANTED) -> tuple[list[str], list[str]]:
    """(registered metrics to run, wanted ones that are not registered)."""
    from metrics import available_metrics

    avail = available_metrics()
    names = [m for m in wanted if m in avail and avail[m].needs != "probs"]
    return names, [m for m in wanted if m not in avail]


def run(out_dir, *, quick: bool = False, seed: int = 0, progress=None) -> dict:
    """Build the world and models, write sample directories, score, publish, draw.

    Returns a summary: ``truth`` (model -> exact NLL and the true d_pi spectrum), ``results`` (the
    long DataFrame from :func:`genbench.score`), ``disagreements`` (from the Leaderboard) and
    ``metrics_missing`` (wanted metric names not registered in this installation).
    """
    import genbench
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = 500 if quick else 1000
    n_mc = 1000 if quick else 4000
    p = world()
    rng = np.random.default_rng([seed, 0])
    train, test = p.sample(n, rng), p.sample(n, rng)

    n_models = 11
    task = progress.task(f"{SUITE}: fitting", n_models * 2) if progress else None
    models = build_models(p, train, seed=seed, quick=quick, progress=progress, task=task)

    sample_root = out / "samples"
    ref_dir = sample_root / "reference"
    ref_dir.mkdir(parents=True, exist_ok=True)
    np.save(ref_dir / "samples.npy", test)
    (sample_root / "train").mkdir(parents=True, exist_ok=True)
    np.save(sample_root / "train" / "samples.npy", train)  # the memorisation metrics compare samples with it
    truth, samples = {}, {}
    for i, (name, (q, _)) in enumerate(models.items()):
        d = sample_root / name
        d.mkdir(parents=True, exist_ok=True)
        x = q.sample(n, np.random.default_rng([seed, 2, i]))
        samples[name] = x
        log_probs = q.log_prob(test)
        np.save(d / "samples.npy", x)
        np.save(d / "log_probs.npy", log_probs)
        spec = true_spectrum(p, q, PIS, n_mc, np.random.default_rng([seed, 3, i]))
        scale = float(np.sqrt(np.diagonal(q.covs, axis1=1, axis2=2)).mean(1) @ q.weights)
        truth[name] = {"nll": float(-log_probs.mean()), "d_pi": spec, "scale": scale}
        if progress:
            progress.advance(task, description=f"{SUITE}: sampled {name}")

    names, missing = _metric_names(QUICK if quick else WANTED)
    score_task = progress.task(f"{SUITE}: scoring {len(models)} models x {len(names)} metrics", 2) if progress else None
    model_dirs = {name: str(sample_root / name) for name in models}
    t0 = time.perf_counter()
    # pairwise tests: the sign-flip test of log-likelihoods is cheap enough for every pair (full
    # size); k-NN metrics re-run on every permutation, so only the story pair is tested for them
    # KID's default subset size (1000) is the whole set here: half of it lets the subsets differ
    run = genbench.score_run(str(ref_dir), model_dirs, metrics=names, features="identity", seed=seed,
                             significance="auto", train=str(sample_root / "train"),
                             options={"kid": {"subset_size": n // 2}} if "kid" in names else None)
    if progress:
        progress.advance(score_task)
    # metrics the run did not compare (a test that reruns the metric per permutation is too slow for
    # every pair) are compared for the suite's story pair only, from the same run: nothing is rescored
    done = {c.metric for c in run.comparisons}
    extra = [c for m in ("log_likelihood", "precision") if m in names and m not in done
             for c in run.compare(m, STORY_PAIR)]
    df = run.results
    if progress:
        progress.advance(score_task)
    seconds = time.perf_counter() - t0

    lb = genbench.Leaderboard(run.rows, list(run.comparisons) + extra, title="mixture: 8 Gaussians on a ring (2-D)")
    _publish(lb, out / "leaderboard")
    mlp_spectra = {} if quick else mlp_spectrum_estimates(test, samples, seed=seed, progress=progress)
    _figures(out, p, models, samples, truth, lb, mlp_spectra)
    disagreements = lb.disagreements()
    _readme(out, models, truth, lb, disagreements, missing, quick=quick, seed=seed, n=n, n_mc=n_mc,
            seconds=seconds)
    pd.DataFrame([{"model": m, "nll": t["nll"], **{f"d_pi@{pi:g}": v for pi, v in zip(PIS, t["d_pi"])}}
                  for m, t in truth.items()]).to_csv(out / "truth.csv", index=False, float_format="%.6g")
    return {"truth": truth, "results": df, "leaderboard": lb, "disagreements": disagreements,
            "metrics_missing": missing, "models": {m: d for m, (_, d) in models.items()}}


def estimated_spectra(df) -> dict:
    """model -> (pis, d_pi estimates) from the ``spectrum`` rows of a results table."""
    out = {}
    for r in df[(df["metric"] == "spectrum") & (df["status"] == "ok")].itertuples():
        points = r.extras.get("spectrum") or []
        if points:
            out[r.model] = (np.array([p["pi"] for p in points]), np.array([p["d_pi"] for p in points]))
    return out


def _spectrum_bounds(df) -> dict:
    """model -> per-pi lower-bound flags of the ``spectrum`` rows (figure markers, README text)."""
    out = {}
    for r in df[(df["metric"] == "spectrum") & (df["status"] == "ok")].itertuples():
        out[r.model] = [p.get("bound") == "lower" for p in (r.extras or {}).get("spectrum") or []]
    return out


def mlp_spectrum_estimates(test, samples, *, seed: int, progress=None) -> dict:
    """model -> (pis, d_pi) by :func:`metrics.divergence_spectrum` with the quadratic logistic classifier.

    (The name is historical.) The figure's third panel: the old default, blind to a ring of modes
    whose first two moments match, beside the registered metric's default and the exact curves.
    """
    import warnings

    from metrics import MetricWarning, divergence_spectrum

    task = progress.task(f"{SUITE}: quadratic-classifier spectrum estimates", len(samples)) if progress else None
    out = {}
    for name, x in samples.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # log of a clipped ratio for perfect fits
            # lower-bound warnings: the caption says these estimates are bounded by what it separates
            warnings.simplefilter("ignore", MetricWarning)
            r = divergence_spectrum(test, x, classifier="quadratic", seed=seed, n_bootstrap=0)
        out[name] = (np.asarray(r.pis), np.asarray(r.d_pi))
        if progress:
            progress.advance(task)
    return out


def _publish(lb, directory: Path) -> None:
    from genbench.publish import publish

    publish(lb, directory, suite={"suite": SUITE, "command": "genbench demo --suite mixture"})


def _figures(out: Path, p, models, samples, truth, lb, mlp_spectra) -> None:
    plt = pyplot()
    names = list(models)
    cols = 4
    rows = math.ceil(len(names) / cols)
    lim = RADIUS + 3
    g = np.linspace(-lim, lim, 160)
    gx, gy = np.meshgrid(g, g)
    dens = np.exp(p.log_prob(np.c_[gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 3.0 * rows))
    for ax, name in zip(axes.ravel(), names):
        ax.contourf(gx, gy, dens, levels=12, cmap="Greys")
        x = samples[name][:600]
        ax.scatter(x[:, 0], x[:, 1], s=2, color="C3", alpha=0.6)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\nNLL {truth[name]['nll']:.2f}", fontsize=9)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, out / "samples.png", dpi=70)

    panels = [("true d_pi(P||Q) (Monte Carlo on exact densities)",
               {m: (PIS, truth[m]["d_pi"]) for m in names})]
    est = estimated_spectra(lb.results)
    bounds = _spectrum_bounds(lb.results)
    if est:
        panels.append(("metric `spectrum` (default classifier 'auto'), from samples; o = lower bound", est))
    if mlp_spectra:
        panels.append(("divergence_spectrum(classifier='quadratic'), the old default", mlp_spectra))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False, sharey=True)
    for ax, (title, curves) in zip(axes[0], panels):
        for i, name in enumerate(names):
            if name in curves:
                xs, ys = curves[name]
                ax.semilogy(xs, np.maximum(ys, 1e-3), marker=".", color=f"C{i % 10}",
                            ls="-" if i < 10 else "--", label=name)
                if name in bounds:  # ends that are only lower bounds: open circles
                    lo = np.asarray(bounds[name], bool)
                    ax.semilogy(xs[lo], np.maximum(ys[lo], 1e-3), "o", mfc="none", color=f"C{i % 10}", ms=8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("pi   (0: KL(P||Q);  1: KL(Q||P))")
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, out / "spectrum.png", dpi=80)

    if lb.likelihood_metrics and lb.quality_metrics:
        fig = lb.plot("scatter")
        fig.savefig(out / "likelihood_vs_quality.png", dpi=80, bbox_inches="tight", metadata={"Software": None})


def _lower_bound_text(df) -> str:
    """Which registered classifier estimates are lower bounds, as a README clause."""
    names = []
    for r in df[df["metric"].isin(["kl", "reverse_kl", "spectrum"]) & (df["status"] == "ok")].itertuples():
        if r.bound == "lower":
            names.append(f"`{r.metric}` of `{r.model}`")
    return ("; lower bounds in this run: " + ", ".join(names)) if names else "; no estimate was flagged in this run"


def _readme(out: Path, models, truth, lb, dis, missing, *, quick, seed, n, n_mc, seconds) -> None:
    from genbench.report import fmt_pvalue

    text = readme_header(SUITE, "mixture: likelihood and sample quality on a 2-D world with a known density",
                         quick=quick, seed=seed)
    text += (
        f"P = 8 isotropic Gaussians (scale {MODE_SCALE}) on a ring of radius {RADIUS}. Every model has an "
        f"exact density. Train/test/model sets: {n} points each. Each model directory under `samples/` "
        "holds `samples.npy` and `log_probs.npy` (exact log q on the shared test set); they were scored "
        "with `genbench.score(reference, models, metrics=..., features='identity')`, the path of "
        "`genbench score`, and published with `genbench.Leaderboard` into [`leaderboard/`](leaderboard/"
        f"leaderboard.md) (also HTML, LaTeX, CSV, results.jsonl, provenance.json). Scoring took {seconds:.0f} s.\n\n"
    )
    text += "## Models and their exact divergences\n\n"
    text += (f"NLL is exact (nats per test point). KL, reverse KL and d_0.5 = 4 JS are Monte Carlo "
             f"averages of exact log-density ratios over {n_mc} draws from each side.\n\n")
    rows = []
    for name, (_, desc) in models.items():
        t = truth[name]
        rows.append([f"`{name}`", desc, t["nll"], t["d_pi"][0], t["d_pi"][len(PIS) // 2], t["d_pi"][-1]])
    text += markdown_table(["model", "what it is", "exact NLL", "KL(P||Q)", "d_0.5", "KL(Q||P)"], rows,
                           floatfmt=".3g")
    text += "\n## Likelihood vs sample quality\n\n"
    counts = lb.disagreement_counts()
    tested = sorted({c.metric for c in lb.comparisons})
    text += (f"{counts['total']} (pair, likelihood metric, quality metric) combinations are ordered oppositely; "
             f"{counts['significant']} of them with both differences significant after the multiplicity "
             f"adjustment (alpha = {lb.alpha}). Metrics compared pairwise: {', '.join(tested) or 'none'}; a metric "
             "that the significance module does not compare by default is compared for "
             f"{' vs '.join(f'`{m}`' for m in STORY_PAIR)} only. The strongest findings on the log-likelihood:\n\n")
    findings = lb.findings()
    focus = findings[findings["likelihood_metric"] == "log_likelihood"]
    for r in focus.head(12).itertuples():
        text += (f"- `{r.better_likelihood}` beats `{r.better_quality}` on {r.likelihood_metric} "
                 f"(by {r.likelihood_diff:.3g}, {fmt_pvalue(r.likelihood_pvalue, spaced=True)}) while "
                 f"`{r.better_quality}` beats `{r.better_likelihood}` on {r.quality_metric} (by "
                 f"{abs(r.quality_diff):.3g}, {fmt_pvalue(r.quality_pvalue, spaced=True)})\n")
    text += ("\nRank correlations between the likelihood columns and every sample-quality column, and "
             "every oppositely ordered pair, are in the leaderboard below.\n")
    text += ("\n## Figures\n\nSamples of each model (red) over the density of P (grey):\n\n![samples](samples.png)\n\n"
             "The d_pi spectrum of each model: exact (left); estimated from samples only by the registered "
             "`spectrum` metric with its default classifier `auto` (middle: one model for every fold, the "
             "constant model, a polynomial logistic regression, one on quadratic features plus Gaussian "
             "bumps, gradient boosting or a nearest-neighbour ratio, whichever has the lowest held-out log "
             "loss, calibrated); and, in full-size runs, by the "
             "old default `classifier='quadratic'` (right), which cannot see a ring of modes when the first "
             "two moments match and calls the ML Gaussian perfect. The registered `spectrum` value is the "
             "mean of the curve over 0 < pi < 1. Classifier estimates are bounded by what the classifier "
             "can tell apart: where one side has mass the other lacks, or a model that fits the held-out rows "
             "at least as well puts the end more than 25% higher (the end then rests on extrapolation into "
             "the voids between modes), the end of the curve is only a lower "
             "bound; where the winning model is gradient boosting or the nearest-neighbour ratio, which carry no "
             "estimate of their approximation error, the interior is (a classifier's held-out JS_pi is a "
             "variational lower bound); and where the generated rows hold near-copies (the memoriser) the whole "
             "curve is (open circles; `bound = lower` in the results and \"> value\" in the leaderboard)"
             + _lower_bound_text(lb.results) + ". Where another candidate scores higher than the winner on the same "
             "held-out rows, the winner demonstrably misses that much: the interval's upper end is raised by the "
             "largest such advantage (`approximation_gap` in the results). The ends are plug-ins, not bounds: "
             "their intervals span the ends of every model that fits the held-out rows as well, above and below "
             "(`approximation_gap`, `approximation_gap_below`).\n\n![spectrum](spectrum.png)\n\n")
    if (out / "likelihood_vs_quality.png").exists():
        text += "Likelihood against each quality metric:\n\n![likelihood vs quality](likelihood_vs_quality.png)\n\n"
    if missing:
        text += ("\nNot scored (not registered in the installation that produced this board): "
                 + ", ".join(f"`{m}`" for m in missing) + ".\n")
    text += "\n## Leaderboard\n\n" + lb.to_markdown()
    atomic_write_text(out / "README.md", text)
