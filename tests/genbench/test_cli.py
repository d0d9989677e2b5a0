"""The ``genbench`` command end to end on real files: score -> results.jsonl -> leaderboard --publish.

The end-to-end cases run the installed console script in a subprocess; bad-input cases call the same
``main`` in-process (identical code path after the console-script shim) to keep the suite fast, with
one of them also through the subprocess to pin the real exit status.
"""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metrics
from genbench.cli import main
from genbench.results import load_results

HERE = Path(__file__).parent
GENBENCH = shutil.which("genbench")


def genbench(*args, cwd):
    assert GENBENCH, "the genbench console script is not installed (pip install -e .)"
    return subprocess.run([GENBENCH, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def case(tmp_path):
    """Three models whose orders are known: likelihood a > b > c, sample quality c > b > a.

    Model samples are the reference distribution shifted by 1.0 (a), 0.5 (b), 0 (c); their test
    log-probs are one shared base plus 1.0 / 0.5 / 0 nats. This is Huszar's situation in miniature.
    """
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.normal(size=(400, 4)))
    base = rng.normal(-6.0, 1.0, size=300)
    for name, shift in [("a", 1.0), ("b", 0.5), ("c", 0.0)]:
        np.save(tmp_path / f"{name}.npy", rng.normal(size=(400, 4)) + shift)
        np.save(tmp_path / f"{name}.log_probs.npy", base + 2 * shift + 0.05 * rng.normal(size=300))
    return tmp_path


def _metrics_for_case():
    names = ["log_likelihood", "fid"]
    return names + [m for m in ("precision",) if m in metrics.available_metrics()]


def test_score_then_publish_end_to_end(case):
    names = _metrics_for_case()
    run = genbench("score", "real.npy", "a.npy", "b.npy", "c.npy", "--metrics", ",".join(names),
                   "--significance", "log_likelihood,fid", "--out", "results.jsonl",
                   "--format", "json", "-q", cwd=case)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert len(rows) == 3 * len(names) and {r["status"] for r in rows} == {"ok"}
    assert f"wrote {3 * len(names)} results to results.jsonl (6 comparisons beside it)" in run.stderr
    assert len((case / "comparisons.jsonl").read_text().splitlines()) == 6  # 3 pairs x 2 metrics

    run = genbench("leaderboard", "results.jsonl", "--publish", "board", cwd=case)
    assert run.returncode == 0, run.stderr
    board = case / "board"
    assert sorted(p.name for p in board.iterdir()) == sorted(
        ["leaderboard.md", "leaderboard.html", "leaderboard.tex", "leaderboard.csv", "leaderboard.json",
         "results.jsonl", "comparisons.jsonl", "provenance.json", "likelihood_vs_quality.png"])

    csv = pd.read_csv(board / "leaderboard.csv").set_index("model")
    assert csv.index.tolist() == ["a", "b", "c"]  # sorted by the likelihood
    assert csv["log_likelihood_rank"].tolist() == [1, 2, 3]
    assert csv["fid_rank"].tolist() == [3, 2, 1]
    if "precision" in names:
        assert csv["precision_rank"].tolist() == [3, 2, 1]

    md = (board / "leaderboard.md").read_text()
    assert "| 1 | a | " in md and "## Likelihood vs sample quality" in md
    assert "| log_likelihood | -1.00 |" in md  # Kendall tau against fid: exactly opposite orders
    # a beats c on the likelihood while c beats a on fid, both significant after Holm over the 3 pairs
    finding = next(line for line in md.splitlines() if line.startswith("| a | log_likelihood |"))
    assert "| c | fid |" in finding and finding.count("p=") + finding.count("p<") == 2
    assert '<table class="sortable">' in (board / "leaderboard.html").read_text()
    assert r"\begin{tabular}" in (board / "leaderboard.tex").read_text()

    prov = json.loads((board / "provenance.json").read_text())
    # the hash scheme is the sample loader's; provenance must carry it, one per input, all distinct
    hashes = {r["model"]: r["input_hash"] for r in rows}
    assert prov["inputs"] == hashes and len(set(hashes.values())) == 3 and all(hashes.values())
    assert prov["reference_hashes"] == [rows[0]["reference_hash"]] and rows[0]["reference_hash"] not in hashes.values()
    assert prov["seeds"] == [0] and prov["extractors"] == ["identity"] and prov["python"]
    published = load_results(board / "results.jsonl")
    assert published == load_results(case / "results.jsonl")  # rows and comparisons, unchanged


def test_golden_markdown_through_the_cli(tmp_path):
    run = genbench("leaderboard", HERE / "fixtures" / "results_v2.jsonl", "--format", "markdown",
                   "--title", "Golden board", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (HERE / "golden" / "leaderboard.md").read_text(encoding="utf-8")


def test_suite_run_publishes_and_reports_failures(case):
    np.save(case / "c.log_probs.npy", np.array([-1.0, np.nan, -2.0]))  # makes log_likelihood fail on c
    (case / "suite.toml").write_text(
        '[suite]\ntitle = "Toy"\nreference = "real.npy"\nmetrics = ["log_likelihood", "fid"]\n'
        'output = "out/board"\nseed = 3\nsignificance = "none"\n\n[models]\nb = "b.npy"\nc = "c.npy"\n')
    (case / "out").mkdir()
    run = genbench("run", "suite.toml", "-q", cwd=case)
    assert run.returncode == 1, run.stderr  # a metric failed; everything else still published
    assert "metric failed: log_likelihood on c: InputError: `log_probs` contains non-finite values" in run.stderr
    board = case / "out" / "board"
    prov = json.loads((board / "provenance.json").read_text())
    assert prov["suite"]["sha256"] == hashlib.sha256((case / "suite.toml").read_bytes()).hexdigest()
    assert prov["seeds"] == [3]
    md = (board / "leaderboard.md").read_text()
    assert md.startswith("# Toy\n") and "- log_likelihood failed on c: InputError:" in md


def test_unknown_metric_exit_code_through_the_entry_point(case):
    run = genbench("score", "real.npy", "a.npy", "--metrics", "fdi", cwd=case)
    assert run.returncode == 2 and run.stdout == ""
    assert "genbench: error: unknown metric 'fdi'. Did you mean 'fid'" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["score", "real.npy", "a.npy", "--metrics", "fdi"], r"unknown metric 'fdi'\. Did you mean 'fid'"),
    (["score", "missing.npy", "a.npy"], r"reference set 'missing.npy': no such file or directory\. Check the path\."),
    (["score", "real.npy", "wide.npy"],
     r"model 'wide' \(wide.npy\) has 6 features but the reference \(real.npy\) has 4\. "
     r"Both must come from the same extractor\."),
    (["score", "real.npy", "a.npy", "a=b.npy"],
     r"duplicate model names \['a'\]; name models explicitly with NAME=PATH\."),
    (["score", "real.npy", "a.npy", "--out", "a.npy/results.jsonl"],
     r"cannot write 'a.npy/results.jsonl': directory '.*a.npy' does not exist or is not writable\."),
    (["leaderboard", "results.jsonl", "--publish", "a.npy/board"],
     r"cannot publish to '.*a.npy/board': directory '.*a.npy' does not exist or is not writable\."),
    (["leaderboard", "nothere.jsonl"], r"results file 'nothere.jsonl': no such file\. Check the path\."),
    (["leaderboard", "results.jsonl", "--sort", "fdi"], r"cannot sort by 'fdi': not in these results\."),
    (["run", "suite.toml"], r"suite.toml: unknown key `metric` in \[suite\]\. Did you mean 'metrics'\?"),
], ids=["unknown-metric", "ref-missing", "dims-differ", "duplicate-names", "unwritable-out",
        "unwritable-publish", "results-missing", "unknown-sort", "suite-key"])
def test_bad_input_exits_2_with_one_line(case, monkeypatch, capsys, args, message):
    import re

    monkeypatch.chdir(case)
    np.save("wide.npy", np.zeros((10, 6)))
    Path("results.jsonl").write_text((HERE / "fixtures" / "results_v1.jsonl").read_text())
    Path("suite.toml").write_text('[suite]\nreference = "real.npy"\nmetric = ["fid"]\noutput = "o"\n[models]\na = "a.npy"\n')
    assert main(args) == 2
    err = capsys.readouterr()
    assert err.out == ""
    lines = [ln for ln in err.err.splitlines() if ln.startswith("genbench: error:")]
    assert len(lines) == 1 and re.search(message, lines[0]), err.err
    assert "Traceback" not in err.err


def test_old_results_file_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", str(HERE / "fixtures" / "results_v1.jsonl"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    table = out["sections"][1]
    assert table["columns"] == ["#", "model", "fid ↓"] and [r[1]["text"] for r in table["rows"]] == ["b", "a"]
    kid = out["sections"][2]["rows"][0]
    assert kid[1]["text"] == "b" and kid[2] == {"text": "failed", "value": None, "group": None, "flag": None}


def _mixed_results(directory):
    a = [{"model": "a", "metric": "fid", "value": 1.0, "higher_is_better": False, "reference": "real.npy",
          "reference_hash": "aaaa1111", "extractor": "identity"}]
    b = [{"model": "b", "metric": "fid", "value": 2.0, "higher_is_better": "false", "reference": "other.npy",
          "reference_hash": "bbbb2222", "extractor": "inception-fid"}]
    for name, rows in (("a.jsonl", a), ("b.jsonl", b)):
        (directory / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_mixed_references_exit_2_naming_the_groups(tmp_path):
    _mixed_results(tmp_path)
    run = genbench("leaderboard", "a.jsonl", "b.jsonl", cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert ("genbench: error: these results were computed against 2 different references/extractors and cannot be "
            "ranked in one column: reference real.npy (aaaa1111) with extractor identity: a; reference other.npy "
            "(bbbb2222) with extractor inception-fid: b. Publish one board per group (`genbench leaderboard "
            "--split`") in run.stderr.replace("\n", "")


def test_split_publishes_one_board_per_group(tmp_path, monkeypatch, capsys):
    _mixed_results(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "a.jsonl", "b.jsonl", "--split", "--publish", "boards", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.count("# Leaderboard (reference real.npy (aaaa1111) with extractor identity)") == 1
    assert sorted(p.name for p in (tmp_path / "boards").iterdir()) == [
        "group-1-reference-real.npy-aaaa1111-with-extractor-identity",
        "group-2-reference-other.npy-bbbb2222-with-extractor-inception-fid"]
    md = (tmp_path / "boards" / "group-2-reference-other.npy-bbbb2222-with-extractor-inception-fid" /
          "leaderboard.md").read_text()
    assert "Reference: other.npy (sha256 bbbb2222). Extractor: inception-fid." in md


def test_image_directories_of_other_sizes_and_bad_files(tmp_path):
    """A model whose PNGs differ in size from the reference's is brought to the reference's size,
    with the rule stated on stderr; a corrupt file stops the run unless --skip-bad, which counts it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "ref").mkdir()
    (tmp_path / "gen").mkdir()
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "ref" / f"{i:02d}.png")
        size = 8 if i % 2 else 12
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(tmp_path / "gen" / f"{i:02d}.png")
    (tmp_path / "gen" / "zz_bad.png").write_bytes(b"not a png")
    args = ["score", "ref", "gen", "--features", "pixels", "--metrics", "mmd", "--no-cache", "--format", "json"]
    out = genbench(*args, cwd=tmp_path)
    assert out.returncode == 2 and "zz_bad.png" in out.stderr and "Traceback" not in out.stderr
    out = genbench(*args, "--skip-bad", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 bad files skipped (--skip-bad)" in out.stderr
    assert "images (12x12) brought to the reference's size 8x8" in out.stderr
    assert "6 of 12 images differ from the set's size 8x8" in out.stderr and "PIL bicubic" in out.stderr
    row = json.loads(out.stdout)[0]
    assert row["status"] == "ok" and row["n"] == [12, 12]


def test_extractors_listing(capsys):
    assert main(["extractors"]) == 0
    out = capsys.readouterr().out
    for name in ("identity", "pixels", "random-cnn", "digits", "inception-fid"):
        assert name in out


def test_metric_options_from_the_command_line(case, capsys):
    args = ["score", str(case / "real.npy"), str(case / "a.npy"), "--metrics", "kid", "--format", "json", "-q",
            "--option", "kid.subset_size=50", "--option", "kid.subsets=7"]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)[0]
    expected = metrics.kid(np.load(case / "real.npy"), np.load(case / "a.npy"), subset_size=50, subsets=7, seed=0)
    assert row["value"] == pytest.approx(expected.value, rel=1e-12)
    assert main(args[:-2] + ["--option", "kid.subsets"]) == 2
    assert "`--option` must look like METRIC.OPTION=VALUE" in capsys.readouterr().err
