"""--train (memorisation metrics) and --n-samples through the console script, suites and the library."""

import json
import shutil
import subprocess

import numpy as np
import pytest

import genbench
import metrics
from genbench.cli import main

GENBENCH = shutil.which("genbench")


def run(*args, cwd):
    assert GENBENCH, "the genbench console script is not installed (pip install -e .)"
    return subprocess.run([GENBENCH, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def sets(tmp_path):
    """A training set, a held-out test set, a copier (training points + small noise) and fresh samples."""
    rng = np.random.default_rng(0)
    train = rng.normal(size=(600, 3))
    np.save(tmp_path / "train.npy", train)
    np.save(tmp_path / "test.npy", rng.normal(size=(300, 3)))
    np.save(tmp_path / "copier.npy", train[rng.permutation(600)[:300]] + rng.normal(scale=0.01, size=(300, 3)))
    np.save(tmp_path / "fresh.npy", rng.normal(size=(300, 3)))
    return tmp_path


def _rows(stdout):
    return {(r["model"], r["metric"]): r for r in json.loads(stdout)}


def test_score_with_train_and_n_samples(sets):
    """The console script: the copier is flagged, fresh samples are not; --n-samples cuts the scored sets
    (the training set stays whole)."""
    res = run("score", "test.npy", "copier.npy", "fresh.npy", "--train", "train.npy", "--metrics",
              "memorisation,fid", "--n-samples", "250", "--format", "json", "-q", cwd=sets)
    assert res.returncode == 0, res.stderr
    rows = _rows(res.stdout)
    dc, au = rows["copier", "data_copying"], rows["copier", "authenticity"]
    assert dc["status"] == "ok" and dc["value"] < -3 and dc["pvalue"] < 1e-3 and dc["n"] == [250, 250, 600]
    assert au["value"] < 0.2 and au["pvalue"] < 1e-3 and au["group"] == "memorisation"
    assert rows["fresh", "data_copying"]["pvalue"] > 1e-3 and rows["fresh", "authenticity"]["pvalue"] > 1e-3
    fid = rows["copier", "fid"]
    assert fid["n"] == [250, 250] and fid["extras"]["n_samples"] == 250
    ref, gen = np.load(sets / "test.npy")[:250], np.load(sets / "copier.npy")[:250]
    assert fid["value"] == pytest.approx(metrics.fid(ref, gen).value, rel=1e-12)


def test_memorisation_without_train_is_not_applicable():
    rng = np.random.default_rng(0)
    df = genbench.score(rng.normal(size=(50, 2)), {"m": rng.normal(size=(50, 2))}, metrics="data_copying,fid")
    row = df.set_index("metric").loc["data_copying"]
    assert row["status"] == "n/a"
    assert row["error"] == "data_copying needs the model's training set; pass --train TRAIN (train=...)."
    assert df.set_index("metric").loc["fid", "status"] == "ok"


def test_bad_n_samples_and_missing_train(sets, capsys, monkeypatch):
    monkeypatch.chdir(sets)
    assert main(["score", "test.npy", "copier.npy", "--n-samples", "1", "-q"]) == 2
    assert "`n_samples` must be an int >= 2; got 1. It is how many items of each set are scored." in capsys.readouterr().err
    assert main(["score", "test.npy", "copier.npy", "--train", "nope.npy", "-q"]) == 2
    assert "training set 'nope.npy': no such file or directory" in capsys.readouterr().err


def test_library_train_arrays_and_small_sets():
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(400, 2)), rng.normal(size=(200, 2))
    df = genbench.score(test, {"copier": train[:200] + 1e-3, "fresh": rng.normal(size=(200, 2))},
                        metrics="memorisation", train=train, n_samples=1000)
    v = df.set_index(["model", "metric"])
    assert v.loc[("copier", "authenticity"), "value"] == 0.0
    assert tuple(v.loc[("copier", "authenticity"), "n"]) == (200, 200, 400)  # fewer than n_samples: all used
    assert v.loc[("fresh", "data_copying"), "pvalue"] > 1e-3


def test_suite_with_train_publishes_memorisation_section(sets, monkeypatch):
    (sets / "suite.toml").write_text(
        '[suite]\nreference = "test.npy"\nmetrics = ["fid", "memorisation"]\noutput = "board"\n'
        'train = "train.npy"\nn_samples = 250\nsort = "fid"\n[models]\ncopier = "copier.npy"\nfresh = "fresh.npy"\n')
    monkeypatch.chdir(sets)
    assert main(["run", "suite.toml", "-q", "--format", "markdown"]) == 0
    md = (sets / "board" / "leaderboard.md").read_text()
    assert "## Memorisation" in md
    assert "- copier: data_copying = " in md and "flagged: closer to its training set than fresh data (p < 0.001" in md
    assert "- fresh: authenticity = " in md
    rows = [json.loads(line) for line in (sets / "board" / "results.jsonl").read_text().splitlines()]
    assert {tuple(r["n"]) for r in rows if r["metric"] == "fid"} == {(250, 250)}
