"""genbench demo: every suite at reduced size, with the conclusions it publishes asserted."""

import json
import re
import math

import numpy as np
import pytest
from scipy import integrate

from genbench import demo
from genbench.demo import digits, gaussian_fit, mixture, scheduled_sampling
from metrics import InputError


# ---- gaussian-fit ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gfit(tmp_path_factory):
    out = tmp_path_factory.mktemp("gfit")
    summary = demo.run(out, suites=["gaussian-fit"], quick=True, progress=False)["gaussian-fit"]
    return out / "gaussian-fit", summary


def test_gaussian_fit_switches_for_a4_between_05_and_07_and_never_for_a2(gfit):
    _, summary = gfit
    lo, hi = summary["switch"][4.0]
    assert 0.5 <= lo < hi <= 0.7
    assert summary["switch"][2.0] is None
    a2 = [r for r in summary["rows"] if r["a"] == 2.0]
    assert max(r["mu"] for r in a2) < 1e-4


@pytest.mark.parametrize("a", [2.0, 4.0])
def test_gaussian_fit_at_pi0_is_moment_matching(gfit, a):
    # KL(P||Q) over Gaussians is minimised by matching mean and variance: mu = 0, s^2 = 1 + a^2
    row = next(r for r in gfit[1]["rows"] if r["a"] == a and r["pi"] == 0.0)
    assert row["mu"] == pytest.approx(0.0, abs=1e-5)
    assert row["s"] == pytest.approx(math.sqrt(1 + a * a), rel=1e-6)
    # closed form: KL(P||Q) = -H(P) + 1/2 log(2 pi e (1 + a^2)), H(P) by independent quadrature
    h_p = integrate.quad(lambda x: -np.exp(gaussian_fit.log_p(x, a)) * gaussian_fit.log_p(x, a), -a - 20, a + 20,
                         epsabs=1e-13, limit=400)[0]
    assert row["d_pi"] == pytest.approx(-h_p + 0.5 * math.log(2 * math.pi * math.e * (1 + a * a)), rel=1e-8)


def test_gaussian_fit_grid_rule_matches_adaptive_quadrature(gfit):
    for r in gfit[1]["rows"]:
        assert r["d_pi"] == pytest.approx(r["d_pi_quad"], rel=1e-8, abs=1e-12)


def test_gaussian_fit_reverse_kl_locks_on_one_mode():
    r = gaussian_fit.fit(4.0, 1.0)
    assert r["mu"] == pytest.approx(4.0, abs=2e-3) and r["s"] == pytest.approx(1.0, abs=2e-3)
    assert len(r["local_minima"]) == 2  # covering is a local minimum too: multi-start matters


def test_gaussian_fit_d_pi_is_continuous_at_the_kl_limits():
    grid = gaussian_fit.Grid(4.0)
    for pi, near in [(0.0, 1e-7), (1.0, 1 - 1e-7)]:
        assert grid.d_pi(1.0, 2.0, near) == pytest.approx(grid.d_pi(1.0, 2.0, pi), rel=1e-5)


def test_gaussian_fit_writes_table_figure_and_readme(gfit):
    out, summary = gfit
    assert (out / "gaussian_fit.png").stat().st_size > 1000
    lines = (out / "fits.csv").read_text().splitlines()
    assert lines[0] == "a,pi,mu,s,d_pi,d_pi_quad,n_local_minima" and len(lines) == 1 + len(summary["rows"])
    text = (out / "README.md").read_text()
    assert "python -m genbench.demo --out leaderboards --suite gaussian-fit --quick" in text
    assert "a = 4: the fit jumps from covering" in text and "a = 2: the fit never leaves" in text


# ---- scheduled-sampling ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ss(tmp_path_factory):
    out = tmp_path_factory.mktemp("ss")
    return out, scheduled_sampling.run(out, quick=True)


def test_scheduled_sampling_converges_to_the_product_of_marginals(ss):
    rows = ss[1]["rows"]
    for world in {r["world"] for r in rows}:
        tf = next(r for r in rows if r["world"] == world and r["method"] == "teacher-forcing")
        sched = next(r for r in rows if r["world"] == world and r["method"] == "scheduled-sampling")
        assert tf["kl_to_p"] < 1e-6  # maximum likelihood recovers P
        assert sched["kl_to_product"] < 0.01
        assert sched["kl_to_p"] == pytest.approx(sched["total_correlation"], rel=0.01)
        assert tf["kl_to_product"] > 0.4


def test_scheduled_sampling_total_correlation_is_the_mutual_information():
    p1, (cond,) = scheduled_sampling.worlds()["pair (T=2)"]
    joint = p1[:, None] * cond
    mi = sum(joint[i, j] * math.log(joint[i, j] / (joint[i].sum() * joint[:, j].sum()))
             for i in range(3) for j in range(3))
    ms = scheduled_sampling.marginals(p1, [cond])
    assert scheduled_sampling._kl(joint, scheduled_sampling.product(ms)) == pytest.approx(mi, rel=1e-12)


def test_scheduled_sampling_curves_and_figure(ss):
    out, summary = ss
    curve = summary["curves"][("pair (T=2)", "scheduled-sampling")]
    assert curve[0]["eps"] == 1.0 and curve[-1]["eps"] == 0.0
    assert (out / "scheduled_sampling.png").stat().st_size > 1000
    assert (out / "curves.csv").read_text().startswith("world,method,step,eps,kl_to_p,kl_to_product")


# ---- mixture -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mix(mixture_quick):
    return mixture_quick  # shared with the browser test (conftest.py): the suite runs once


def _value(df, model, metric):
    row = df[(df["model"] == model) & (df["metric"] == metric)]
    assert len(row) == 1 and row["status"].iloc[0] == "ok", row
    return float(row["value"].iloc[0])


def test_mixture_ml_gaussian_wins_likelihood_but_loses_precision_significantly(mix):
    _, s = mix
    truth, df = s["truth"], s["results"]
    assert truth["ml-gaussian"]["nll"] < truth["mode-dropper"]["nll"] - 5
    assert _value(df, "ml-gaussian", "log_likelihood") == pytest.approx(-truth["ml-gaussian"]["nll"], rel=1e-12)
    assert _value(df, "ml-gaussian", "precision") < _value(df, "mode-dropper", "precision") - 0.5
    dis = s["disagreements"]
    hit = dis[(dis["better_likelihood"] == "ml-gaussian") & (dis["better_quality"] == "mode-dropper")
              & (dis["quality_metric"] == "precision")]
    assert len(hit) == 1 and bool(hit["significant"].iloc[0])
    assert hit["likelihood_pvalue"].iloc[0] < 0.01 and hit["quality_pvalue"].iloc[0] < 0.05


def test_mixture_memoriser_and_over_dispersed(mix):
    _, s = mix
    truth, df = s["truth"], s["results"]
    # Theis et al.: near-perfect samples, terrible likelihood
    assert truth["memoriser"]["nll"] > truth["oracle"]["nll"] + 10
    assert _value(df, "memoriser", "precision") > 0.9
    # 10% broad noise: the likelihood barely moves (at most -log 0.9 per point), precision drops
    assert truth["over-dispersed"]["nll"] - truth["oracle"]["nll"] < -math.log(0.9) + 0.05
    assert _value(df, "over-dispersed", "precision") < _value(df, "oracle", "precision") - 0.04


def test_mixture_true_spectrum_closed_forms(mix):
    truth = mix[1]["truth"]
    assert np.all(np.abs(truth["oracle"]["d_pi"]) < 1e-15)  # Q = P: every log-ratio is exactly 0
    # exact copy of half the (well separated) modes: q = 2p on its support, so KL(Q||P) = log 2
    assert truth["mode-dropper"]["d_pi"][-1] == pytest.approx(math.log(2), abs=1e-3)
    # 0.9 P + 0.1 broad: q ~ 0.9 p on P's mass, so KL(P||Q) ~ -log 0.9
    assert truth["over-dispersed"]["d_pi"][0] == pytest.approx(-math.log(0.9), abs=0.01)


def test_mixture_adversarial_prior_moves_from_covering_to_seeking(mix):
    truth = mix[1]["truth"]
    low, high = truth["adversarial-pi0.1"], truth["adversarial-pi0.9"]
    assert high["nll"] > low["nll"]
    assert high["scale"] < low["scale"]


def test_mixture_publishes_leaderboard_samples_and_figures(mix):
    out, s = mix
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.tex", "leaderboard.csv", "results.jsonl",
                 "provenance.json"):
        assert (out / "leaderboard" / name).stat().st_size > 0
    assert json.loads((out / "leaderboard" / "provenance.json").read_text())["suite"]["suite"] == "mixture"
    for model in s["models"]:
        x = np.load(out / "samples" / model / "samples.npy")
        lp = np.load(out / "samples" / model / "log_probs.npy")
        assert x.shape == (500, 2) and lp.shape == (500,)
    for fig in ("samples.png", "spectrum.png"):
        assert (out / fig).stat().st_size > 1000
    text = (out / "README.md").read_text()
    assert "## Likelihood vs sample quality" in text
    # Huszar's point as a finding: a pair ordered one way by the likelihood and the other way by a
    # sample-quality metric, both differences significant after the multiplicity adjustment
    assert re.search(r"- `([\w.-]+)` beats `([\w.-]+)` on log_likelihood \(by [^)]*\) while `\2` beats `\1` on "
                     r"(precision|density)", text), text


# ---- digits -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dig(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits")
    return out, digits.run(out, quick=True)


def test_digits_scores_png_directories(dig):
    out, s = dig
    from PIL import Image

    pngs = sorted((out / "samples" / "reference").glob("*.png"))
    assert len(pngs) == 400 and Image.open(pngs[0]).size == (8, 8)
    for model in s["models"]:
        assert len(list((out / "samples" / model).glob("*.png"))) == 400
        has_density = (out / "samples" / model / "log_probs.npy").exists()
        assert has_density == (model in s["nll_bits_per_dim"])
    assert set(s["nll_bits_per_dim"]) == {"pca-gaussian", "gmm", "real+noise", "class-dropper"}
    assert (out / "leaderboard" / "leaderboard.md").exists() and (out / "samples.png").exists()


def test_digits_conclusions(dig):
    _, s = dig
    df = s["results"]
    # memorised real images look real to every sample metric
    assert _value(df, "memoriser", "fid") < _value(df, "pca-gaussian", "fid")
    # dropping half the classes: fewer classes seen (IS), lower recall, terrible likelihood, high precision
    assert _value(df, "class-dropper", "inception_score") < _value(df, "gmm", "inception_score") - 1
    assert _value(df, "class-dropper", "recall") < _value(df, "gmm", "recall") - 0.2
    assert _value(df, "class-dropper", "precision") > _value(df, "gmm", "precision")
    assert s["nll_bits_per_dim"]["class-dropper"] > s["nll_bits_per_dim"]["gmm"] + 1
    # the likelihood-best model is not the FID-best one
    ll_best = max(s["nll_bits_per_dim"], key=lambda m: -s["nll_bits_per_dim"][m])
    assert ll_best == "pca-gaussian"
    assert _value(df, "pca-gaussian", "fid") > _value(df, "real+noise", "fid")
    dis = s["disagreements"]
    hit = dis[(dis["better_likelihood"] == "pca-gaussian") & (dis["better_quality"] == "gmm")
              & (dis["quality_metric"] == "fid")]
    assert len(hit) == 1 and bool(hit["significant"].iloc[0])


# ---- entry points ----------------------------------------------------------------------------------


def test_main_passes_its_arguments_to_the_suite(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(gaussian_fit, "run", lambda out, **kw: calls.append((out, kw)) or {})
    argv = ["--out", str(tmp_path), "--suite", "gaussian-fit", "--quick", "--seed", "3", "--no-progress"]
    assert demo.main(argv) == 0
    assert calls == [(tmp_path / "gaussian-fit", {"quick": True, "seed": 3, "progress": calls[0][1]["progress"]})]
    assert not (tmp_path / "mixture").exists()


def test_run_via_the_package_entry(gfit):
    # the fixture ran the suite through demo.run, the function main calls
    out, summary = gfit
    assert out.name == "gaussian-fit" and summary["rows"]


def test_unknown_suite_is_refused(tmp_path, capsys):
    with pytest.raises(InputError, match=r"unknown demo suite\(s\) \['nope'\]; available: .*'gaussian-fit'"):
        demo.run(tmp_path, suites=["nope"], progress=False)
    with pytest.raises(SystemExit) as exc:
        demo.main(["--out", str(tmp_path), "--suite", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
