"""Leaderboard: ranks per direction, rank agreement, disagreements, renderers, plots, atomic publish.

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
from genbench.publish import FILES, publish
from metrics import InputError

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


def test_disagreements_with_significance(board):
    d = board.disagreements()
    assert d[["quality_metric", "better_likelihood", "better_quality", "significant"]].values.tolist() == [
        ["fid", "flow", "vae", True], ["precision", "flow", "vae", False]]
    first = d.iloc[0]
    assert first["likelihood_diff"] == 5.0 and first["quality_diff"] == -10.0  # preferred minus other
    assert first["likelihood_pvalue"] == 0.0002 and first["quality_pvalue"] == 0.004
    assert math.isnan(d.iloc[1]["quality_pvalue"])
    assert board.disagreement_sentences()[0] == (
        "flow beats vae on log_likelihood (p < 0.001) while vae beats flow on fid (p < 0.01) - both significant")
    strict = Leaderboard(FIXTURE, alpha=0.001)
    assert not strict.disagreements()["significant"].any()  # fid p = 0.004 is not < 0.001


def test_no_disagreement_when_orders_agree():
    lb = Leaderboard(_rows({"a": {"ll": -1.0, "mmd": 0.1}, "b": {"ll": -2.0, "mmd": 0.2}}))
    assert lb.disagreements().empty
    assert "None: every likelihood metric orders every pair of models like every quality metric." in lb.to_markdown()


def test_markdown_matches_golden_file(board):
    text = board.to_markdown()
    if os.environ.get("GENBENCH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_html_is_standalone_and_well_formed(board):
    page = board.to_html()

    class Check(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.rows, self.external = [], 0, []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.stack.append(tag)
            self.rows += tag == "tr"
            self.external += [v for k, v in attrs if k in ("src", "href")]

        def handle_endtag(self, tag):
            assert self.stack.pop() == tag

    check = Check()
    check.feed(page)
    assert check.stack == [] and check.external == []
    assert check.rows == (1 + 4) + (1 + 2)  # leaderboard and agreement tables, header rows included
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page


def test_latex_escapes_and_csv_is_wide(board):
    tex = board.to_latex()
    assert r"log\_likelihood $\uparrow$" in tex and r"\begin{tabular}{r l l l l}" in tex
    assert "log_likelihood $" not in tex
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
    assert [ax.get_title() for ax in axes] == ["fid vs log_likelihood", "precision vs log_likelihood"]
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
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert (out / "leaderboard.md").read_text() == board.to_markdown()
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["comparisons"]["vae"]["pvalue"] == 0.0002
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["flow"] == "hash-flow" and prov["seeds"] == [0] and prov["extractors"] == ["identity"]
    assert prov["reference_hashes"] == ["hash-reference"] and prov["genbench_version"]
    assert [m["name"] for m in prov["metrics"]] == ["log_likelihood", "fid", "precision"]
    assert Leaderboard(out / "results.jsonl", title="Golden board").to_markdown() == board.to_markdown()


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
        d = board.disagreements().set_index(["quality_metric", "better_likelihood", "better_quality"])
        assert d.loc[("precision", "cover", "mode"), "significant"]  # Huszar's point, with both tests
    assert "cover" in capsys.readouterr().out
