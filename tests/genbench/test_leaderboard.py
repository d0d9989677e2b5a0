"""Leaderboard: ranks per direction, rank groups, rank agreement, findings, report formats, plots, publish.

The golden file is regenerated with ``GENBENCH_UPDATE_GOLDEN=1 pytest tests/genbench`` (then review
the diff: it is the published format).
"""

import html.parser
import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genbench import Leaderboard
from genbench import publish as publish_mod
from genbench.errors import OutputError
from genbench.leaderboard import MixedResultsError, split_results
from genbench.publish import FILES, publish
from genbench.results import Comparison, ResultRow, ResultSet
from metrics import ConfidenceInterval, InputError

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "results_v2.jsonl"
GOLDEN = HERE / "golden" / "leaderboard.md"


def _rows(table):
    """Long rows from {model: {metric: value}} with directions from the metric name."""
    spec = {"ll": (True, "likelihood"), "ll2": (True, "likelihood"), "fid": (False, "perceptual"),
            "prec": (True, "perceptual"), "mmd": (False, "kernel")}
    return pd.DataFrame([
        {"model": model, "metric": metric, "value": value, "higher_is_better": spec[metric][0],
         "group": spec[metric][1], "status": "ok" if value == value else "n/a"}
        for model, values in table.items() for metric, value in values.items()
    ])


@pytest.fixture
def board():
    return Leaderboard(FIXTURE, title="Golden board")


def test_ranks_follow_each_metrics_direction():
    lb = Leaderboard(_rows({
        "a": {"ll": -1.0, "fid": 5.0, "prec": 0.5},
        "b": {"ll": -2.0, "fid": 1.0, "prec": 0.5},
        "c": {"ll": -3.0, "fid": 3.0, "prec": math.nan},
    }))
    ranks = lb.ranks()
    assert ranks["ll"].tolist() == [1, 2, 3]           # higher is better
    assert ranks["fid"].tolist() == [3, 1, 2]          # lower is better
    assert ranks["prec"].tolist()[:2] == [1, 1] and math.isnan(ranks.loc["c", "prec"])  # tie; missing unranked
    assert lb.sort == "ll" and lb.models == ["a", "b", "c"]
    assert Leaderboard(lb.results, sort="fid").models == ["b", "c", "a"]
    assert Leaderboard(lb.results, sort="prec").models == ["a", "b", "c"]  # tie by name, missing last


def test_table_never_fills_missing_values(board):
    table = board.table()
    assert table.index.tolist() == ["flow", "vae", "broken", "gan"]
    assert math.isnan(table.loc["gan", ("log_likelihood", "value")])
    assert table.loc["gan", ("log_likelihood", "status")] == "n/a"
    assert table.loc["broken", ("fid", "status")] == "failed" and math.isnan(table.loc["broken", ("fid", "rank")])
    assert table.loc["flow", ("log_likelihood", "ci_low")] == -81.0
    assert table.loc["gan", ("precision", "rank")] == 1 and table.loc["broken", ("precision", "rank")] == 4


def test_rank_agreement_hand_counted(board):
    ag = board.rank_agreement().set_index(["metric_a", "metric_b"])
    # log_likelihood orders flow > vae > broken; precision orders vae > flow > broken:
    # 2 concordant pairs, 1 discordant -> tau = 1/3; rank differences (1, 1, 0) -> rho = 1 - 6*2/(3*8) = 0.5
    row = ag.loc[("log_likelihood", "precision")]
    assert row["n_models"] == 3 and row["likelihood_vs_quality"]
    assert row["kendall_tau"] == pytest.approx(1 / 3) and row["spearman_rho"] == pytest.approx(0.5)
    assert ag.loc[("log_likelihood", "fid"), "kendall_tau"] == pytest.approx(-1.0)  # flow vs vae only
    assert ag.loc[("fid", "precision"), "kendall_tau"] == pytest.approx(1.0)
    assert not ag.loc[("fid", "precision"), "likelihood_vs_quality"]


def test_rank_agreement_is_nan_when_undefined():
    lb = Leaderboard(_rows({"a": {"ll": 1.0, "fid": 1.0}, "b": {"ll": 1.0, "fid": 2.0}}))
    row = lb.rank_agreement().iloc[0]
    assert row["n_models"] == 2 and math.isnan(row["kendall_tau"]) and math.isnan(row["spearman_rho"])


def test_disagreements_and_findings(board):
    d = board.disagreements()
    assert d[["quality_metric", "better_likelihood", "better_quality", "significant"]].values.tolist() == [
        ["fid", "flow", "vae", True], ["precision", "flow", "vae", False]]
    first = d.iloc[0]
    assert first["likelihood_diff"] == 5.0 and first["quality_diff"] == -10.0  # preferred minus other
    assert first["likelihood_pvalue"] == 0.0002 and first["quality_pvalue"] == 0.004
    # effect: the difference as a share of the metric's range over the models (220 and 30)
    assert first["likelihood_effect"] == pytest.approx(5 / 220) and first["quality_effect"] == pytest.approx(10 / 30)
    assert math.isnan(d.iloc[1]["quality_pvalue"])
    f = board.findings()
    assert f[["better_likelihood", "better_quality", "quality_metric"]].values.tolist() == [["flow", "vae", "fid"]]
    assert board.disagreement_counts() == {"total": 2, "significant": 1, "one_side": 0, "not_significant": 0,
                                           "not_compared": 1}
    strict = Leaderboard(FIXTURE, alpha=0.001)
    assert strict.findings().empty  # fid p = 0.004 is not < 0.001


def _board_with_comparisons(n_models=4, p=0.01):
    """Models m0 (best likelihood, worst fid) ... m3; every pair compared."""
    rows, comps = [], []
    names = [f"m{i}" for i in range(n_models)]
    for i, m in enumerate(names):
        rows.append(ResultRow(m, "ll", -1.0 - i, True, group="likelihood", ci=ConfidenceInterval(-1.1 - i, -0.9 - i)))
        rows.append(ResultRow(m, "fid", 10.0 - 2 * i, False, group="perceptual"))
    for i, a in enumerate(names):
        for j in range(i + 1, n_models):
            b = names[j]
            comps.append(Comparison("ll", a, b, float(j - i), p, True, pvalue_adjusted=p, adjustment="holm",
                                    ci=ConfidenceInterval(j - i - 0.1, j - i + 0.2)))
            comps.append(Comparison("fid", a, b, 2.0 * (j - i), p * (j - i), False, pvalue_adjusted=p * (j - i)))
    return Leaderboard(ResultSet(tuple(rows), tuple(comps)))


def test_rank_groups_are_statistical_ties():
    # ll: every pair separated (adjusted p 0.03 < 0.05): four groups
    lb = _board_with_comparisons(p=0.03)
    assert lb.rank_groups()["ll"].tolist() == [1, 2, 3, 4]
    # fid: neighbours (p = 0.03) are separated, so each model leads its own group as well
    assert lb.rank_groups()["fid"].loc[["m3", "m2", "m1", "m0"]].tolist() == [1, 2, 3, 4]
    # p = 0.02: neighbours separated on fid (0.02), ... ; p = 0.2: everything tied
    assert _board_with_comparisons(p=0.2).rank_groups()["ll"].tolist() == [1, 1, 1, 1]
    # fid with p = 0.03 * distance: m3 leads; m2 (0.03) is separated ... p = 0.01 * distance with alpha 0.025:
    # m3 | m2 (0.01 < 0.025) ...; with p = 0.015: m2 vs m3 0.015 separated, m1 vs m2 0.015 separated
    tied_pairs = Leaderboard(_board_with_comparisons(p=0.03).rows, _board_with_comparisons(p=0.03).comparisons,
                             alpha=0.04)
    assert tied_pairs.rank_groups()["fid"].loc[["m3", "m2", "m1", "m0"]].tolist() == [1, 2, 3, 4]
    partial = Leaderboard(lb.rows, lb.comparisons[:2])  # one pair compared: no groups, not "all tied"
    assert partial.rank_groups().isna().all().all()


def test_findings_sorted_by_effect_with_intervals():
    lb = _board_with_comparisons(p=0.001)
    f = lb.findings()
    assert len(f) == 6 and f["significant"].all()
    key = np.minimum(f["likelihood_effect"], f["quality_effect"]).to_numpy()
    assert (np.diff(key) <= 0).all() and (f.iloc[0]["better_likelihood"], f.iloc[0]["better_quality"]) == ("m0", "m3")
    # the likelihood interval comes from the comparison, oriented as preferred minus other
    assert (f.iloc[0]["likelihood_ci_low"], f.iloc[0]["likelihood_ci_high"]) == (2.9, 3.2)
    md = lb.to_markdown()
    assert "| m0 | ll | +3.00 [2.90, 3.20] | p=0.001 | m3 | fid | -6.00 | p=0.003 | 1.00 |" in md


def test_mixed_references_are_refused_and_can_be_split():
    rows = (ResultRow("a", "fid", 1.0, False, reference="real.npy", reference_hash="aaaa1111", extractor="identity"),
            ResultRow("b", "fid", 2.0, False, reference="other.npy", reference_hash="bbbb2222", extractor="pixels"))
    with pytest.raises(MixedResultsError, match=r"computed against 2 different references/extractors and cannot be "
                                                r"ranked in one column: reference real.npy \(aaaa1111\) with extractor "
                                                r"identity: a; reference other.npy \(bbbb2222\) with extractor "
                                                r"pixels: b\."):
        Leaderboard(list(rows))
    parts = split_results(ResultSet(rows))
    assert [Leaderboard(p).models for p in parts.values()] == [["a"], ["b"]]


def test_no_disagreement_when_orders_agree():
    lb = Leaderboard(_rows({"a": {"ll": -1.0, "mmd": 0.1}, "b": {"ll": -2.0, "mmd": 0.2}}))
    assert lb.disagreements().empty
    assert "None: every likelihood metric orders every pair of models like every quality metric." in lb.to_markdown()
    assert lb.findings().empty


def test_markdown_matches_golden_file(board):
    text = board.to_markdown()
    if os.environ.get("GENBENCH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.tables, self.external, self.text = [], 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "img"):
            self.stack.append(tag)
        self.tables += tag == "table"
        self.external += [v for k, v in attrs if k in ("src", "href") and not v.startswith("data:")]

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag

    def handle_data(self, data):
        if self.stack and self.stack[-1] not in ("script", "style"):
            self.text.append(data)


def test_html_is_standalone_and_well_formed(board):
    page = board.to_html()
    check = _Page()
    check.feed(page)
    assert check.stack == [] and check.external == []
    assert check.tables == 4  # likelihood, sample quality, rank agreement, findings
    text = "".join(check.text)
    assert "`" not in text and "Reference: reference (sha256 hash-referen). Extractor: identity." in text
    assert "Seed: 0. genbench " in text and "n per model: 500–1000 (reference 500)" in text
    assert '<td class="num best" data-v="-80.0" title="95% CI [-81, -79] (normal-t)">-80<span class="ci">±1</span>' \
           '<sup class="g">a</sup></td>' in page  # flow is separated from vae and broken: its own group
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "table.sortable" in page
    grouped = _board_with_comparisons(p=0.2).to_html()
    assert '<td class="num best" data-v="-2.0" title="95% CI [-2.1, -1.9] (method not recorded)">-2.00' \
           '<span class="ci">±0.10</span><sup class="g">a</sup></td>' in grouped  # tied with the best (p = 0.2)


def test_cells_mark_bounds_noise_and_test_pvalues():
    rows = [ResultRow("a", "kid", -0.002, False, group="kernel", ci=ConfidenceInterval(-0.004, 0.001)),
            ResultRow("b", "kid", 0.5, False, group="kernel", ci=ConfidenceInterval(0.4, 0.6)),
            ResultRow("a", "kl", 1.25, False, group="classifier", bound="lower"),
            ResultRow("b", "kl", 0.5, False, group="classifier"),
            ResultRow("a", "c2st", 0.71, False, group="classifier", pvalue=0.0004),
            ResultRow("b", "c2st", 0.52, False, group="classifier", pvalue=0.31)]
    lb = Leaderboard(rows, sort="kid")
    md = lb.to_markdown()
    assert "| 1 | a | -0.0020 ≈0 [-0.0040, 0.0010] |" in md  # noise level, asymmetric interval
    assert "| 1 | a | > 1.25 | 0.710 (p<0.001) |" in md and "| 2 | b | 0.50 | 0.520 (p=0.31) |" in md
    assert math.isnan(lb.ranks().loc["a", "kl"]) and lb.ranks().loc["b", "kl"] == 1  # a bound is not ranked
    page = lb.to_html()
    assert '<td class="num noise"' in page and '<td class="num bound"' in page and "&gt; 1.25" in page


def test_notebook_display(board):
    assert board._repr_markdown_() == board.to_markdown()
    assert board._repr_html_().startswith('<div class="genbench-board"><style>') and "<table" in board._repr_html_()
    assert repr(board) == "<Leaderboard 'Golden board': 4 models x 3 metrics, 6 comparisons, sorted by log_likelihood>"
    styled = board.style().to_html()
    assert "log_likelihood ↑" in styled and "text-align: right" in styled


def test_json_and_terminal_from_the_same_sections(board):
    from rich.console import Console

    data = board.to_json()
    assert [s["kind"] for s in data["sections"]][:3] == ["p", "table", "table"]
    assert data["counts"]["significant"] == 1 and data["findings"][0]["quality_metric"] == "fid"
    console = Console(record=True, width=200)
    board.report().print(console)
    out = console.export_text()
    assert "Golden board" in out and "Findings" in out and "-80 ±1" in out


def test_latex_escapes_and_csv_is_wide(board):
    tex = board.to_latex()
    assert r"log\_likelihood $\uparrow$" in tex and r"\begin{tabular}{rlr}" in tex and r"\toprule" in tex
    assert r"\textbf{-80} {\scriptsize $\pm$1}" in tex and "log_likelihood $" not in tex
    csv = pd.read_csv(io.StringIO(board.to_csv()), dtype=str, keep_default_na=False)
    assert csv["model"].tolist() == ["flow", "vae", "broken", "gan"]
    assert csv["fid_rank"].tolist() == ["3", "2", "", "1"] and csv["rank"].tolist() == ["1", "2", "3", ""]
    assert csv.loc[3, "log_likelihood_status"] == "n/a" and csv.loc[0, "log_likelihood_ci_low"] == "-81.0"


def test_bad_leaderboard_input():
    with pytest.raises(InputError, match=r"cannot sort by 'fdi': not in these results\. Did you mean 'fid'"):
        Leaderboard(FIXTURE, sort="fdi")
    with pytest.raises(InputError, match=r"model 'a' has more than one 'll' result; give the models distinct names"):
        Leaderboard(_rows({"a": {"ll": 1.0}}).pipe(lambda df: pd.concat([df, df])))
    with pytest.raises(InputError, match=r"`alpha` must be a float in \(0, 1\); got 5"):
        Leaderboard(FIXTURE, alpha=5)


# ---- plots -----------------------------------------------------------------------------------


def test_scatter_plot(board, tmp_path):
    fig = board.plot(path=tmp_path / "scatter.png")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes if ax.get_visible()] == ["fid ↓", "precision ↑"]
    assert [t.get_text() for t in axes[0].texts] == ["flow", "vae"]  # only models with both values
    assert (tmp_path / "scatter.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match=r"`kind` must be 'scatter' or 'spectrum'; got 'pie'"):
        board.plot("pie")


def test_spectrum_plot_from_curves():
    df = _rows({"a": {"fid": 1.0}, "b": {"fid": 2.0}})
    df["extras"] = [json.dumps({"curve": {"x": [0, 0.5, 1], "y": [0, i + 0.5, 1]}}) for i in range(2)]
    fig = Leaderboard(df).plot("spectrum")
    lines = fig.get_axes()[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["a", "b"] and lines[1].get_ydata()[1] == 1.5
    with pytest.raises(InputError, match=r"no metric in these results returned a curve"):
        Leaderboard(_rows({"a": {"fid": 1.0}})).plot("spectrum")


def test_divergence_spectrum_plot_with_band():
    df = _rows({"a": {"fid": 1.0}})
    points = [{"pi": p, "d_pi": 0.2 + p / 10, "ci_low": 0.1, "ci_high": 0.4} for p in (0.0, 0.5, 1.0)]
    df["extras"] = [json.dumps({"spectrum": points})]
    ax = Leaderboard(df).plot("spectrum").get_axes()[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.2, 0.25, 0.3], rtol=1e-12)
    assert len(ax.collections) == 1 and ax.get_xlabel() == "pi" and ax.get_ylabel() == "d_pi"


# ---- publish ---------------------------------------------------------------------------------


def test_publish_writes_every_file(board, tmp_path):
    out = publish(board, tmp_path / "board")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES + ("likelihood_vs_quality.png",))
    md = (out / "leaderboard.md").read_text()
    assert md == board.to_markdown().replace("## Notes", "![Likelihood against each sample-quality metric, "
                                             "one point per model.](likelihood_vs_quality.png)\n\n## Notes")
    assert 'src="data:image/png;base64,iVBOR' in (out / "leaderboard.html").read_text()
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 12 and "comparisons" not in json.loads(lines[0])
    comps = [json.loads(line) for line in (out / "comparisons.jsonl").read_text().splitlines()]
    assert comps[0]["model_a"] == "flow" and comps[0]["pvalue"] == 0.0002 and len(comps) == 6
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["flow"] == "hash-flow" and prov["seeds"] == [0] and prov["extractors"] == ["identity"]
    assert prov["reference_hashes"] == ["hash-reference"] and prov["genbench_version"]
    assert [m["name"] for m in prov["metrics"]] == ["log_likelihood", "fid", "precision"]
    again = Leaderboard(out / "results.jsonl", title="Golden board")
    assert again.to_markdown() == board.to_markdown() and again.comparisons == board.comparisons


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_publish_replaces_previous_board(board, tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(publish_mod, "_exchange", lambda a, b: False)
    target = tmp_path / "board"
    publish(Leaderboard(_rows({"old": {"fid": 1.0}})), target)
    publish(board, target)
    assert "flow" in (target / "leaderboard.md").read_text() and "old" not in (target / "leaderboard.csv").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board"]  # no staging or old copies left


def test_interrupted_publish_leaves_previous_board_intact(board, tmp_path, monkeypatch):
    target = tmp_path / "board"
    publish(Leaderboard(_rows({"old": {"fid": 1.0}})), target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    calls = []

    def interrupted_fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # half-way through writing the new files
            raise KeyboardInterrupt

    monkeypatch.setattr(publish_mod.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        publish(board, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board"]


def test_publish_refuses_bad_targets(board, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"cannot publish to '.*file/board': directory '.*file' does not exist "
                                          r"or is not writable"):
        publish(board, tmp_path / "file" / "board")
    with pytest.raises(OutputError, match=r"cannot publish to '.*file': it exists and is not a directory"):
        publish(board, tmp_path / "file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match=r"it holds files genbench did not write \(notes.txt\)"):
        publish(board, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_walkthrough_runs_top_to_bottom(capsys):
    import runpy

    import metrics

    ns = runpy.run_path(str(HERE.parent.parent / "examples" / "walkthrough.py"), run_name="__main__")
    board, figure = ns["board"], ns["figure"]
    assert board.models == ["truth", "cover", "mode"]  # ranked by the exact test log-likelihood
    assert len(figure.get_axes()) == len(board.quality_metrics)
    if "precision" in metrics.available_metrics():
        f = board.findings()
        hit = f[(f["quality_metric"] == "precision") & (f["better_likelihood"] == "cover")]
        assert hit["better_quality"].tolist() == ["mode"]  # Huszar's point, with both tests
    assert "cover" in capsys.readouterr().out
