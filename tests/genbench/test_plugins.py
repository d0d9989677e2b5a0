"""Third-party metrics register through a real ``genbench.metrics`` entry point and run from the CLI.

Each test builds a tiny installed distribution (a module plus a ``*.dist-info`` folder with
``entry_points.txt``) in a temporary directory and puts it on ``PYTHONPATH`` of a fresh
``genbench`` process, which is exactly how ``pip install some-plugin`` exposes it.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import metrics

PLUGIN = '''
import numpy as np
from metrics import MetricResult, metric

@metric("mean_gap", needs="features", higher_is_better=False, group="kernel")
def mean_gap(real, generated):
    """Euclidean distance between the two mean vectors (a third-party example)."""
    real, generated = np.asarray(real, float), np.asarray(generated, float)
    gap = float(np.linalg.norm(real.mean(0) - generated.mean(0)))
    return MetricResult("mean_gap", gap, higher_is_better=False, n=(len(real), len(generated)))
'''


def _install_dist(site: Path, dist: str, module: str, source: str, entry: str) -> None:
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[genbench.metrics]\n{entry} = {module}\n")


def _genbench(*args, site: Path):
    exe = shutil.which("genbench", path=str(Path(sys.executable).parent)) or shutil.which("genbench")
    assert exe, "the genbench console script is not installed (pip install -e .)"
    env = {"PYTHONPATH": str(site), "PATH": str(Path(sys.executable).parent), "COLUMNS": "200"}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture()
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_dist(site, "genbench_mean_gap", "genbench_mean_gap", PLUGIN, "mean_gap")
    return site


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + [3.0, 4.0, 0.0]
    np.save(tmp_path / "real.npy", real)
    np.savez(tmp_path / "fake.npz", fake)
    return tmp_path / "real.npy", tmp_path / "fake.npz", real, fake


def test_plugin_metric_listed_and_scored_from_cli(site, arrays):
    real_path, fake_path, real, fake = arrays
    listing = _genbench("metrics", site=site)
    assert listing.returncode == 0, listing.stderr
    assert "mean_gap" in listing.stdout and "third-party example" in listing.stdout
    out = _genbench("score", str(real_path), str(fake_path), "--metrics", "mean_gap,fid", "--format", "json",
                    site=site)
    assert out.returncode == 0, out.stderr
    rows = {r["metric"]: r for r in json.loads(out.stdout)}
    assert rows["mean_gap"]["value"] == pytest.approx(np.linalg.norm(real.mean(0) - fake.mean(0)), rel=1e-12)
    assert rows["mean_gap"]["model"] == "fake" and rows["mean_gap"]["n"] == [200, 150]
    assert rows["fid"]["value"] == pytest.approx(metrics.fid(real, fake).value, rel=1e-12)


def test_broken_plugin_warns_and_the_rest_work(site, arrays):
    _install_dist(site, "genbench_broken", "genbench_broken", "raise ImportError('needs libfoo')\n", "broken")
    real_path, fake_path, *_ = arrays
    out = _genbench("score", str(real_path), str(fake_path), "--metrics", "mean_gap", "--format", "csv", site=site)
    assert out.returncode == 0
    assert "could not load plugin 'broken'" in out.stderr and "needs libfoo" in out.stderr
    assert out.stdout.splitlines()[0].startswith("model,metric,value")
    assert ",mean_gap," in out.stdout


def test_unknown_metric_suggests_and_lists(site, arrays):
    real_path, fake_path, *_ = arrays
    out = _genbench("score", str(real_path), str(fake_path), "--metrics", "mean_gpa", site=site)
    assert out.returncode == 2
    assert "unknown metric 'mean_gpa'. Did you mean 'mean_gap'?" in out.stderr
    assert "Available:" in out.stderr and "fid" in out.stderr


def test_score_against_saved_statistics(site, arrays, tmp_path):
    real_path, fake_path, real, fake = arrays
    metrics.GaussianStats.from_features(real).save(tmp_path / "stats.npz")
    out = _genbench("score", str(tmp_path / "stats.npz"), str(fake_path), "--metrics", "fid", "--format", "json",
                    site=site)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["value"] == pytest.approx(metrics.fid(real, fake).value, rel=1e-10)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file or directory"),
        ("nan", "non-finite values (nan) first at row 3"),
        ("dims", "has 4 features but the reference"),
        ("shape", "expected a 2-D numeric array"),
    ],
)
def test_bad_input_exits_2_with_one_line(site, arrays, tmp_path, case, message):
    real_path, fake_path, real, fake = arrays
    bad = tmp_path / f"{case}.npy"
    if case == "nan":
        fake = fake.copy()
        fake[3, 0] = np.nan
        np.save(bad, fake)
    elif case == "dims":
        np.save(bad, np.ones((10, 4)))
    elif case == "shape":
        np.save(bad, np.ones((2, 3, 4)))
    out = _genbench("score", str(real_path), str(bad), "--metrics", "fid", site=site)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
