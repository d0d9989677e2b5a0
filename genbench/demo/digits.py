"""Suite ``digits``: images end to end, from PNG directories, the path a user takes.

Real data: scikit-learn's bundled 8x8 handwritten digits (1797 images, integer pixels in [0, 16]),
split at random into a training set (797) and a held-out reference set (1000), written as PNG
directories (8-bit grayscale, ``round(v * 255 / 16)``, which the ``digits`` extractor maps back
exactly). Models live in pixel space and write PNG directories too:

===============  ============================================================================
pca-gaussian     probabilistic PCA (20 components) fitted to the dequantised training images
gmm              10-component full-covariance Gaussian mixture (EM) on the same
real+noise       training images plus N(0, 1.5^2) pixel noise (a Gaussian kernel density)
blurred          training images blurred (Gaussian filter, 0.8 px): no tractable density
memoriser        exact copies of training images: indistinguishable from real ones by samples
class-dropper    the Gaussian mixture fitted to digits 0-4 only: realistic, half the classes
===============  ============================================================================

Sampled pixel values are floored and clipped to [0, 16] before they are written. Models with a
density also write ``log_probs.npy`` (and ``likelihood.json`` with ``n_dims = 64``): the uniformly
dequantised test log-likelihood log q(v + u), u ~ U[0, 1)^64, a lower bound on the log-probability
the discretised model gives the test image (Theis et al. 2016). The directories are then scored with
:func:`genbench.score` and the ``digits`` extractor (a small CNN trained offline on the same data)
and published with :class:`genbench.Leaderboard`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ._common import atomic_write_text, markdown_table, pyplot, readme_header, save_figure
from ._gmm import GaussianMixture

SUITE = "digits"
WANTED = ("log_likelihood", "fid", "kid", "inception_score", "precision", "recall", "density", "coverage",
          "c2st", "data_copying", "authenticity")
#: ``quick``: 400 reference images, below KID's default subset size of 1000.
QUICK = ("log_likelihood", "fid", "inception_score", "precision", "recall", "density", "coverage",
         "data_copying", "authenticity")
NOISE, BLUR, PCA_K, GMM_K = 1.5, 0.8, 20, 10
#: The pair whose FID and Inception Score get permutation tests (cheap metrics on shared features):
#: the likelihood-best model against a mixture with better samples.
STORY_PAIR = ("pca-gaussian", "gmm")


def write_pngs(directory: Path, images: np.ndarray) -> None:
    """Write (n, 64) integer images in [0, 16] as 8x8 8-bit grayscale PNGs ``00000.png`` ..."""
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    pix = np.rint(np.clip(images, 0, 16) * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 8, 8)
    width = max(5, len(str(len(pix))))
    for i, im in enumerate(pix):
        Image.fromarray(im, mode="L").save(directory / f"{i:0{width}d}.png", optimize=False)


def quantise(x: np.ndarray) -> np.ndarray:
    """Continuous samples on the dequantised scale -> integer pixels in [0, 16]."""
    return np.clip(np.floor(x), 0, 16)


def _ppca(train: np.ndarray, k: int, seed: int) -> GaussianMixture:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=seed).fit(train)
    return GaussianMixture([1.0], pca.mean_[None], pca.get_covariance()[None])


def _em(train: np.ndarray, k: int, seed: int) -> GaussianMixture:
    from sklearn.mixture import GaussianMixture as SkGMM

    gm = SkGMM(n_components=k, covariance_type="full", reg_covar=1e-2, random_state=seed).fit(train)
    return GaussianMixture(gm.weights_, gm.means_, gm.covariances_)


def build_models(train: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, seed: int):
    """name -> (integer samples (n, 64), density or None, description)."""
    from scipy.ndimage import gaussian_filter

    deq = train + rng.random(train.shape)  # uniform dequantisation of the training images
    models = {}
    ppca = _ppca(deq, PCA_K, seed)
    models["pca-gaussian"] = (quantise(ppca.sample(n, rng)), ppca, f"probabilistic PCA, {PCA_K} components")
    gmm = _em(deq, GMM_K, seed)
    models["gmm"] = (quantise(gmm.sample(n, rng)), gmm, f"Gaussian mixture, {GMM_K} full-covariance components")
    kde = GaussianMixture.isotropic(np.ones(len(deq)), deq, NOISE)
    models["real+noise"] = (quantise(kde.sample(n, rng)), kde, f"training images + N(0, {NOISE}^2) noise")
    pick = rng.choice(len(train), size=n, replace=n > len(train))
    blurred = gaussian_filter(train[pick].reshape(-1, 8, 8), sigma=(0, BLUR, BLUR), mode="constant")
    models["blurred"] = (np.rint(blurred).reshape(n, 64), None, f"training images blurred ({BLUR} px)")
    models["memoriser"] = (train[pick].copy(), None, "exact copies of training images")
    low = labels < 5
    dropper = _em(deq[low], GMM_K, seed)
    models["class-dropper"] = (quantise(dropper.sample(n, rng)), dropper,
                               "the Gaussian mixture fitted to digits 0-4 only")
    return models


def run(out_dir, *, quick: bool = False, seed: int = 0, progress=None) -> dict:
    """Write the PNG directories, score them with the ``digits`` extractor, publish, draw.

    Returns a summary: ``results`` (long DataFrame), ``leaderboard``, ``nll_bits_per_dim`` (model ->
    dequantised test NLL in bits per pixel, for the models with a density) and ``metrics_missing``.
    """
    import genbench
    from metrics import available_metrics
    from sklearn.datasets import load_digits

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_digits()
    x, y = data.data.astype(np.float64), data.target
    rng = np.random.default_rng([seed, 4])
    order = rng.permutation(len(x))
    n_train = 797 if not quick else 500
    n_ref = len(x) - 797 if not quick else 400
    tr, te = order[:n_train], order[n_train:n_train + n_ref]
    train, labels, test = x[tr], y[tr], x[te]
    task = progress.task(f"{SUITE}: models and PNGs", 9) if progress else None

    root = out / "samples"
    write_pngs(root / "reference", test)
    write_pngs(root / "train", train)  # the memorisation metrics compare samples with it
    if progress:
        progress.advance(task, description=f"{SUITE}: wrote reference PNGs")
    models = build_models(train, labels, n_ref, rng, seed)
    if progress:
        progress.advance(task, description=f"{SUITE}: fitted models")
    test_deq = test + np.random.default_rng([seed, 5]).random(test.shape)
    nll_bpd = {}
    for name, (samples, density, _) in models.items():
        d = root / name
        write_pngs(d, samples)
        for stale in ("log_probs.npy", "likelihood.json"):
            (d / stale).unlink(missing_ok=True)
        if density is not None:
            lp = density.log_prob(test_deq)
            np.save(d / "log_probs.npy", lp)
            (d / "likelihood.json").write_text(json.dumps({"n_dims": 64, "base": "e"}) + "\n")
            nll_bpd[name] = float(-lp.mean() / (64 * np.log(2)))
        if progress:
            progress.advance(task, description=f"{SUITE}: wrote {name}")

    avail = available_metrics()
    wanted = QUICK if quick else WANTED
    names = [m for m in wanted if m in avail]
    missing = [m for m in wanted if m not in avail]
    t0 = time.perf_counter()
    run = genbench.score_run(str(root / "reference"), {m: str(root / m) for m in models}, metrics=names,
                             features="digits", seed=seed, significance="auto", train=str(root / "train"),
                             options={"kid": {"subset_size": n_ref // 2}} if "kid" in names else None)
    # metrics the run did not compare are compared for the story pair only, from the same run
    done = {c.metric for c in run.comparisons}
    extra = [c for m in ("log_likelihood", "fid", "inception_score") if m in names and m not in done
             for c in run.compare(m, STORY_PAIR)]
    df = run.results
    seconds = time.perf_counter() - t0
    if progress:
        progress.advance(task, description=f"{SUITE}: scored")
    lb = genbench.Leaderboard(run.rows, list(run.comparisons) + extra, title="digits: 8x8 images from PNG directories")
    from genbench.publish import publish

    publish(lb, out / "leaderboard", suite={"suite": SUITE, "command": "genbench demo --suite digits"})
    _figures(out, test, models, lb)
    disagreements = lb.disagreements()
    _readme(out, models, nll_bpd, lb, disagreements, missing, quick=quick, seed=seed, n_train=n_train, n_ref=n_ref,
            seconds=seconds)
    return {"results": df, "leaderboard": lb, "disagreements": disagreements, "nll_bits_per_dim": nll_bpd,
            "metrics_missing": missing,
            "models": {m: desc for m, (_, _, desc) in models.items()}}


def _figures(out: Path, test, models, lb) -> None:
    plt = pyplot()
    rows = [("real (reference)", test)] + [(m, s) for m, (s, _, _) in models.items()]
    k = 12
    fig, axes = plt.subplots(len(rows), k, figsize=(k * 0.6, len(rows) * 0.66))
    for i, (name, imgs) in enumerate(rows):
        for j in range(k):
            ax = axes[i, j]
            ax.imshow(imgs[j].reshape(8, 8), cmap="gray", vmin=0, vmax=16, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    save_figure(fig, out / "samples.png", dpi=80)
    if lb.likelihood_metrics and lb.quality_metrics:
        fig = lb.plot("scatter")
        fig.savefig(out / "likelihood_vs_quality.png", dpi=80, bbox_inches="tight", metadata={"Software": None})


def _readme(out: Path, models, nll_bpd, lb, dis, missing, *, quick, seed, n_train, n_ref, seconds) -> None:
    from genbench.report import fmt_pvalue

    text = readme_header(SUITE, "digits: images end to end, scored from PNG directories", quick=quick, seed=seed)
    text += (
        f"scikit-learn's 8x8 digits, split at random into {n_train} training and {n_ref} reference images, "
        "written as PNG directories under `samples/`; every model writes a PNG directory of "
        f"{n_ref} images. All sets were scored from the PNG files with `genbench.score(..., "
        f"features='digits')` in {seconds:.0f} s and published into [`leaderboard/`](leaderboard/leaderboard.md). "
        "Likelihoods are uniformly dequantised test log-likelihoods of the model's continuous density "
        "(a lower bound on the discrete model's log-probability), in `log_probs.npy` beside the PNGs.\n\n"
    )
    rows = [[f"`{m}`", desc, nll_bpd.get(m, float("nan"))] for m, (_, _, desc) in models.items()]
    text += markdown_table(["model", "what it is", "dequantised NLL (bits/pixel)"], rows, floatfmt=".3f")
    text += "\n## Likelihood vs sample quality\n\n"
    counts = lb.disagreement_counts()
    text += (f"{counts['total']} (pair, quality metric) combinations are ordered oppositely by the likelihood and a "
             f"sample-quality metric; {counts['significant']} with both differences significant after the "
             "multiplicity adjustment. Only the models with a density have a likelihood. A metric the significance "
             f"module does not compare by default is compared for {' vs '.join(f'`{m}`' for m in STORY_PAIR)} "
             "only.\n\n")
    for r in lb.findings().head(10).itertuples():
        text += (f"- `{r.better_likelihood}` beats `{r.better_quality}` on {r.likelihood_metric} "
                 f"({fmt_pvalue(r.likelihood_pvalue, spaced=True)}) while `{r.better_quality}` beats "
                 f"`{r.better_likelihood}` on {r.quality_metric} ({fmt_pvalue(r.quality_pvalue, spaced=True)})\n")
    text += "\n## Samples\n\nFirst 12 images of each set:\n\n![samples](samples.png)\n\n"
    if (out / "likelihood_vs_quality.png").exists():
        text += "![likelihood vs quality](likelihood_vs_quality.png)\n\n"
    if missing:
        text += ("Not scored (not registered in the installation that produced this board): "
                 + ", ".join(f"`{m}`" for m in missing) + ".\n\n")
    text += "## Leaderboard\n\n" + lb.to_markdown()
    atomic_write_text(out / "README.md", text)
