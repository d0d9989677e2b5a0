"""Issue 16, hardening: one test (or a few) per item, through the real ``genbench`` console script
where the defect was seen there; messages pinned. The catalogue of every bad input with its exit
code is tests/genbench/test_bad_input.py.
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import genbench
from genbench.atomic import atomic_write, output_target
from genbench.cli import build_parser, main
from genbench.errors import OutputError
from genbench.publish import publish, remove_stale_staging
from genbench.samples import open_samples
from metrics import InputError

# the console script of the interpreter running the tests (its venv), else the one on PATH
GENBENCH = next((str(p) for p in [Path(sys.executable).parent / "genbench"] if p.is_file()), shutil.which("genbench"))
ROOT = Path(__file__).resolve().parents[2]


def genbench_cli(*args, cwd, **kwargs):
    assert GENBENCH, "the genbench console script is not installed (pip install -e .)"
    env = {**os.environ, "GENBENCH_CACHE": str(Path(cwd) / ".cache")}
    return subprocess.run([GENBENCH, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env, **kwargs)


def stray(folder: Path, allowed) -> list[str]:
    """Files and folders in ``folder`` beyond ``allowed`` (temporary files, staging folders ...)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in set(allowed))


# --- 1. large but finite features -------------------------------------------------------------


def test_issue_reproduction_large_features_kid_is_finite_and_written(tmp_path):
    rng = np.random.default_rng(4)
    np.save(tmp_path / "a.npy", (rng.normal(size=(300, 8)) * 1e20).astype("f4"))
    np.save(tmp_path / "b.npy", (rng.normal(size=(300, 8)) * 1e20 + 1e19).astype("f4"))
    run = genbench_cli("score", "a.npy", "b.npy", "--metrics", "kid,fid", "--option", "kid.subset_size=100",
                       "--out", "r.jsonl", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = {r["metric"]: r for r in map(json.loads, (tmp_path / "r.jsonl").read_text().splitlines())}
    assert rows["kid"]["status"] == "ok" and 1e117 < rows["kid"]["value"] < 1e119
    assert rows["kid"]["extras"]["dtype"] == "float64"
    assert rows["fid"]["status"] == "ok" and 1e38 < rows["fid"]["value"] < 1e41
    assert stray(tmp_path, ["a.npy", "b.npy", "r.jsonl", "r.comparisons.jsonl", ".cache"]) == []


def test_fid_beyond_float64_fails_naming_the_scale(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.normal(size=(50, 3)) * 1e160)
    np.save(tmp_path / "b.npy", rng.normal(size=(50, 3)) * 1e160)
    assert main(["score", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--metrics", "fid,mmd,energy",
                 "--no-cache", "-q", "--format", "json"]) == 1
    rows = {r["metric"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mmd"]["status"] == "ok" and rows["energy"]["status"] == "ok"
    assert rows["fid"]["status"] == "failed"
    assert rows["fid"]["error"].startswith("InputError: the Frechet distance is beyond the float64 range (inf) for "
                                           "features of magnitude up to 3.11e+160: it grows as the square")


# --- 2. outputs: symlinks, FIFOs, devices, modes ----------------------------------------------


@pytest.fixture
def two_sets(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.normal(size=(100, 3)))
    np.save(tmp_path / "fake.npy", rng.normal(size=(100, 3)) + 0.5)
    return tmp_path


def test_out_writes_through_a_symlink_and_keeps_it(two_sets, monkeypatch):
    monkeypatch.chdir(two_sets)
    (two_sets / "store").mkdir()
    (two_sets / "store" / "results.jsonl").write_text("old\n")
    os.chmod(two_sets / "store" / "results.jsonl", 0o644)
    os.symlink("store/results.jsonl", two_sets / "link.jsonl")
    assert main(["score", "real.npy", "fake.npy", "--out", "link.jsonl", "-q", "--no-cache"]) == 0
    assert (two_sets / "link.jsonl").is_symlink()
    target = two_sets / "store" / "results.jsonl"
    assert json.loads(target.read_text())["metric"] == "fid"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stray(two_sets / "store", ["results.jsonl"]) == []


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_out_refuses_what_is_not_a_regular_file(two_sets, capsys, kind):
    path = {"fifo": two_sets / "pipe", "device": Path("/dev/null"), "directory": two_sets / "folder"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    what = {"fifo": "a FIFO \\(named pipe\\)", "device": "a character device", "directory": "a directory"}[kind]
    assert main(["score", str(two_sets / "real.npy"), str(two_sets / "fake.npy"), "--out", str(path),
                 "--no-cache", "-q"]) == 2
    err = capsys.readouterr().err
    import re

    assert re.fullmatch(f"genbench: error: cannot write '{re.escape(str(path))}': it is {what}, not a regular "
                        "file. Choose a file path.\n", err), err
    assert stat.S_ISFIFO(os.stat(path).st_mode) if kind == "fifo" else True


def test_modes_kept_for_existing_files_and_umask_for_new_ones(tmp_path):
    old = os.umask(0o027)
    try:
        new = atomic_write(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
        (tmp_path / "shared.txt").write_text("y")
        os.chmod(tmp_path / "shared.txt", 0o664)
        atomic_write(tmp_path / "shared.txt", "z")
        assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o664
        assert (tmp_path / "shared.txt").read_text() == "z"
    finally:
        os.umask(old)
    os.symlink("missing-target.txt", tmp_path / "dangling")
    assert output_target(tmp_path / "dangling") == (tmp_path / "missing-target.txt", None)
    atomic_write(tmp_path / "dangling", "created")
    assert (tmp_path / "missing-target.txt").read_text() == "created"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "missing-target.txt", "new.txt", "shared.txt"]


def test_publish_through_a_symlinked_folder_keeps_the_link(tmp_path):
    board = genbench.Leaderboard(pd.DataFrame([{"model": "a", "metric": "fid", "value": 1.0,
                                                "higher_is_better": False}]))
    (tmp_path / "real-board").mkdir()
    os.symlink("real-board", tmp_path / "board")
    out = publish(board, tmp_path / "board")
    assert (tmp_path / "board").is_symlink() and out == tmp_path / "real-board"
    assert (tmp_path / "real-board" / "leaderboard.md").is_file()
    assert stray(tmp_path, ["board", "real-board"]) == []


# --- 3. symlinked folders and files: one rule -------------------------------------------------


def _pngs(folder: Path, count: int, seed: int):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")


def test_symlinked_folders_are_followed_like_files_with_a_note(tmp_path, monkeypatch, capsys):
    _pngs(tmp_path / "set", 40, 0)
    _pngs(tmp_path / "elsewhere", 10, 1)
    _pngs(tmp_path / "ref", 50, 2)
    os.symlink("../elsewhere", tmp_path / "set" / "more")  # a folder outside the set: followed
    os.symlink(".", tmp_path / "set" / "self")  # a loop: skipped
    os.symlink("nowhere.png", tmp_path / "set" / "broken.png")  # skipped
    monkeypatch.chdir(tmp_path)
    assert main(["score", "ref", "set", "--features", "pixels", "--metrics", "mmd", "--format", "json",
                 "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["n"] == [50, 50]  # 10 of them behind the symlinked folder
    assert ("set: symlinks: followed 0 symlinked file(s) and 1 symlinked folder(s); skipped 1 broken symlink(s); "
            "skipped 1 folder(s) already read (a symlink loop or a folder linked twice)") in err


def test_symlinked_subfolder_counts_every_image(tmp_path):
    _pngs(tmp_path / "set", 40, 0)
    _pngs(tmp_path / "other", 10, 1)
    os.symlink(tmp_path / "other", tmp_path / "set" / "linked")
    os.symlink(tmp_path / "other" / "00.png", tmp_path / "set" / "extra.png")
    s = open_samples(tmp_path / "set")
    assert len(s.files) == 51
    assert s.notes == ["symlinks: followed 1 symlinked file(s) and 1 symlinked folder(s)"]
    assert s.files[40] == tmp_path / "set" / "extra.png"


# --- 4. interrupts ----------------------------------------------------------------------------


def _slow_suite(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    # small sets, many permutations: seconds of work in short numpy calls, so a signal is handled at once
    np.save(tmp_path / "real.npy", rng.normal(size=(20, 3)))
    np.save(tmp_path / "m.npy", rng.normal(size=(20, 3)))
    (tmp_path / "suite.toml").write_text(
        '[suite]\nreference = "real.npy"\nmetrics = ["mmd_test"]\noutput = "deep/er/board"\n'
        '[models]\nm = "m.npy"\n[options.mmd_test]\nn_permutations = 20000000\n')
    return tmp_path / "suite.toml"


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "interrupted (SIGTERM)")])
def test_interrupt_prints_one_line_and_exits_128_plus_signal(tmp_path, sig, code, line):
    _slow_suite(tmp_path)
    env = {**os.environ, "GENBENCH_CACHE": str(tmp_path / ".cache")}
    # the default SIGINT disposition in the child: a shell without job control starts background jobs
    # (e.g. `pytest ... &` in a script) with SIGINT ignored, which the child would inherit
    proc = subprocess.Popen([GENBENCH, "run", "suite.toml", "-q"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (tmp_path / ".cache").is_dir() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # the feature cache appears once the run is scoring
    time.sleep(0.5)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()  # never leave the run behind, whatever happened
    assert proc.returncode == code, err
    assert err == line + "\n" and out == ""
    assert stray(tmp_path, ["real.npy", "m.npy", "suite.toml", ".cache"]) == []  # no output folders, no staging


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "interrupted\n"),
                                             (signal.SIGTERM, 143, "interrupted (SIGTERM)\n")])
def test_signal_during_publish_leaves_no_staging(tmp_path, monkeypatch, capsys, sig, code, line):
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps({"model": "a", "metric": "fid", "value": 1.0, "higher_is_better": False}) + "\n")

    def signal_self(fd):  # the signal arrives while the staging folder is being filled
        if sig == signal.SIGINT:  # what Python's SIGINT handler raises (another library in this
            raise KeyboardInterrupt  # process may have replaced that handler; the subprocess test above uses the real one)
        os.kill(os.getpid(), sig)  # main()'s own SIGTERM handler
        time.sleep(1)

    monkeypatch.setattr(os, "fsync", signal_self)
    assert main(["leaderboard", str(results), "--publish", str(tmp_path / "board"), "--format", "csv"]) == code
    assert capsys.readouterr().err == line
    assert stray(tmp_path, ["r.jsonl"]) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main() put the default handler back


def test_stale_staging_of_a_killed_publish_is_removed_next_time(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    for name in (f".board.publish-{pid}-x1", f".board.old-{pid}-x2", f".board.publish-{os.getpid()}-live",
                 ".board.publish-legacy", ".other.publish-1-x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "leaderboard.md").write_text("half")
    old = time.time() - 7200
    os.utime(tmp_path / ".board.publish-legacy", (old, old))
    board = genbench.Leaderboard(pd.DataFrame([{"model": "a", "metric": "fid", "value": 1.0,
                                                "higher_is_better": False}]))
    publish(board, tmp_path / "board")
    # a live process's staging (a concurrent publish) and other boards' folders stay
    assert stray(tmp_path, []) == sorted([".board.publish-" + str(os.getpid()) + "-live", ".other.publish-1-x",
                                          "board"])
    assert remove_stale_staging(tmp_path / "board") == []


# --- 6. defaults on small sets ----------------------------------------------------------------


def test_kid_default_works_on_small_sets_and_says_its_subset_size(two_sets, capsys):
    assert main(["score", str(two_sets / "real.npy"), str(two_sets / "fake.npy"), "--metrics", "kid",
                 "--no-cache", "-q", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["status"] == "ok" and row["extras"]["subset_size"] == 100
    assert row["extras"]["subset_size_rule"] == ("min(1000, n, m) = 100 (clean-fid's rule; pass subset_size to "
                                                 "change)")


def test_image_directories_with_the_default_extractor_name_the_options(tmp_path, monkeypatch, capsys):
    _pngs(tmp_path / "real", 5, 0)
    _pngs(tmp_path / "fake", 5, 1)
    monkeypatch.chdir(tmp_path)
    assert main(["score", "real", "fake", "--no-cache"]) == 2
    assert capsys.readouterr().err == (
        "genbench: error: real: holds images, but extractor 'identity' takes vectors (expected a 2-D numeric array "
        "of shape (n, d)). Pick an image extractor with --features (features= in Python): pixels (raw pixels), "
        "random-cnn (seeded random conv net, offline), inception-fid (the FID Inception-v3; needs its weights file) "
        "or digits (8x8 digits); `genbench extractors` lists them all.\n")


# --- 7. validation gaps (library side; the CLI cases are in the catalogue) --------------------


def test_score_with_metrics_none_is_an_input_error(two_sets):
    with pytest.raises(InputError, match=r"^`metrics` must be a metric name, a group or a list of them; got None\. "
                                         r"Pass e.g\. metrics='fid'"):
        genbench.score(two_sets / "real.npy", two_sets / "fake.npy", metrics=None)


# --- 8 + 9. provenance paths, python -m, --version, run creates parents, flags ----------------


def test_python_m_genbench_runs_a_suite_into_new_folders_without_home_paths(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "bench").mkdir()
    np.save(tmp_path / "bench" / "real.npy", rng.normal(size=(80, 2)))
    np.save(tmp_path / "bench" / "m.npy", rng.normal(size=(80, 2)))
    (tmp_path / "bench" / "suite.toml").write_text(
        '[suite]\nreference = "real.npy"\nmetrics = ["fid"]\noutput = "out/new/board"\n[models]\nm = "m.npy"\n')
    env = {**os.environ, "GENBENCH_CACHE": str(tmp_path / ".cache")}
    run = subprocess.run([sys.executable, "-m", "genbench", "run", "bench/suite.toml", "--no-progress"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    board = tmp_path / "bench" / "out" / "new" / "board"
    prov = json.loads((board / "provenance.json").read_text())
    assert prov["suite"]["path"] == "../../../suite.toml"
    for f in board.iterdir():
        assert str(tmp_path) not in f.read_text() and str(Path.home()) not in f.read_text(), f.name


def test_version_flag():
    from genbench import __version__

    run = subprocess.run([sys.executable, "-m", "genbench", "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == f"genbench {__version__}\n"


def test_one_progress_flag_spelling_with_the_old_ones_as_aliases():
    parser = build_parser()
    for flag in ("--no-progress", "-q", "--quiet"):
        assert parser.parse_args(["score", "r.npy", "f.npy", flag]).quiet is True
        assert parser.parse_args(["run", "s.toml", flag]).quiet is True
    from genbench.demo import main as demo_main

    with pytest.raises(SystemExit):  # --help of the demo names the same spelling
        demo_main(["--help"])


def test_score_help_mentions_image_directories(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "reference (real) set: an image directory (png/jpg/bmp/webp, with an image extractor in --features)" in out
    assert "--no-progress, -q, --quiet" in out


# --- 10. docstring examples run in the default test command -----------------------------------


def test_default_test_command_collects_the_docstring_examples():
    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in opts["addopts"]
    assert {"tests", "metrics", "genbench"} <= set(opts["testpaths"])
