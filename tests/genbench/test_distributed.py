"""Sharded, resumable extraction and ``torchrun``: the same bits for any world size and history.

The fast tests drive the shard machinery in one process (plans, claims, resume). The ``torchrun``
tests start real ranks with ``python -m torch.distributed.run`` (what the ``torchrun`` script runs)
and gloo on the CPU; one of them is in the default suite, the heavier ones under ``-m slow``.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genbench.cache import FeatureCache
from genbench.distributed import Context, extract_claimed
from genbench.errors import SampleError
from genbench.features import assemble, load_features, plan_set

METRICS = "fid,kid,precision,recall,density,coverage"


def _images(d: Path, n: int, shift: float, seed: int, size: int = 12) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    for i in range(n):
        a = np.clip(rng.normal(128 + shift, 50, size=(size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(d / f"{i:03d}.png")
    return d


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def sets(tmp_path):
    return _images(tmp_path / "real", 37, 0.0, 0), _images(tmp_path / "fake", 29, 30.0, 1)


def _plan(path, **kw):
    opts = dict(extractor="random-cnn", batch_size=4, shard_size=8)
    opts.update(kw)
    return plan_set(path, **opts)


# ---------------------------------------------------------------------------------------------
# shards in one process


def test_shards_cover_every_index_once_without_padding(sets):
    plan = _plan(sets[0])
    assert plan.n_items == 37 and plan.n_shards == 5
    ranges = [plan.shard_range(i) for i in range(plan.n_shards)]
    assert ranges == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 37)]
    assert len(set(plan.keys)) == 5


def test_features_do_not_depend_on_shard_size(sets):
    whole = load_features(sets[0], extractor="random-cnn", batch_size=4, shard_size=40, cache=False, progress=False)
    sharded = load_features(sets[0], extractor="random-cnn", batch_size=4, shard_size=4, cache=False, progress=False)
    np.testing.assert_array_equal(whole.features, sharded.features)
    np.testing.assert_array_equal(whole.samples, sharded.samples)
    assert whole.notes == sharded.notes and whole.extractor == sharded.extractor


def test_shard_size_must_be_a_multiple_of_the_batch_size(sets):
    with pytest.raises(SampleError, match=r"`shard_size` must be a multiple of `batch_size` \(4\) .*; got 6\. Use 8\."):
        _plan(sets[0], shard_size=6)


def test_ranks_sharing_claims_give_the_one_process_result(sets, tmp_path):
    """Three simulated ranks of one run claim shards in turn; nothing is computed twice."""
    store = FeatureCache()
    plans = [_plan(sets[0]), _plan(sets[1], image_size=(12, 12))]
    total = sum(p.n_shards for p in plans)
    # rank 2 claims two shards of the first set ahead of everyone (as if it were fastest)
    assert store.claim(plans[0].keys[0], "run1") and store.claim(plans[0].keys[1], "run1")
    counts = [extract_claimed(Context(rank=r, world_size=3), "run1", plans, store) for r in (0, 1)]
    assert counts[0]["extracted"] == total - 2 and counts[0]["claimed_elsewhere"] == 2
    assert counts[1] == {"extracted": 0, "cached": total - 2, "claimed_elsewhere": 2}
    for k in plans[0].keys[:2]:  # rank 2 now does its two
        store.release(k)
    c2 = extract_claimed(Context(rank=2, world_size=3), "run1", plans, store)
    assert c2["extracted"] == 2 and c2["cached"] == total - 2
    assert not list((tmp_path / "cache").rglob("*.claim-*"))
    got = assemble(plans[0], name="real", store=store)
    one = load_features(sets[0], extractor="random-cnn", batch_size=4, shard_size=8, cache=False, progress=False)
    np.testing.assert_array_equal(got.features, one.features)
    assert got.notes[-1] == f"features read from the cache (5 shards under {store.root})"


def test_stale_claims_of_a_dead_run_are_ignored_and_cleaned(sets, tmp_path):
    store = FeatureCache()
    plan = _plan(sets[0])
    assert store.claim(plan.keys[3], "dead-run")
    assert not store.claim(plan.keys[3], "dead-run")  # exclusive within a run
    counts = extract_claimed(Context(), "new-run", [plan], store)
    assert counts == {"extracted": 5, "cached": 0, "claimed_elsewhere": 0}
    assert not list((tmp_path / "cache").rglob("*.claim-*"))


def test_resume_recomputes_only_missing_and_corrupt_shards(sets, tmp_path):
    first = load_features(sets[0], extractor="random-cnn", batch_size=4, shard_size=8, progress=False)
    plan = _plan(sets[0])
    store = FeatureCache()
    store.path(plan.keys[1]).unlink()  # lost in flight
    data = store.path(plan.keys[4]).read_bytes()
    store.path(plan.keys[4]).write_bytes(data[:-9])  # torn
    kept = {k: store.path(k).stat().st_ino for k in (plan.keys[0], plan.keys[2], plan.keys[3])}
    again = load_features(sets[0], extractor="random-cnn", batch_size=4, shard_size=8, progress=False)
    np.testing.assert_array_equal(again.features, first.features)
    assert {k: store.path(k).stat().st_ino for k in kept} == kept  # untouched
    assert "3 of 5 feature shards read from the cache, 2 extracted" in again.notes
    assert "a corrupt cache entry was found, discarded and recomputed" in again.notes


def test_notes_are_the_same_for_any_sharding(tmp_path):
    from PIL import Image

    d = _images(tmp_path / "mixed", 11, 0.0, 3)
    Image.fromarray(np.zeros((20, 14, 3), np.uint8)).save(d / "005b.png")
    (d / "007b.png").write_bytes(b"not a png")
    (d / "readme.csv").write_text("x")
    notes = [load_features(d, extractor="random-cnn", batch_size=2, shard_size=s, skip_bad=True, cache=False,
                           progress=False).notes for s in (2, 4, 100)]
    assert notes[0] == notes[1] == notes[2]
    text = " | ".join(notes[0])
    assert "1 bad files skipped (--skip-bad)" in text and "1 of 12 images differ" in text


def test_feature_stats_fold_shard_moments_in_order(tmp_path):
    from genbench.features import feature_stats

    x = np.random.default_rng(5).normal(size=(1000, 6)) * [1, 2, 3, 4, 5, 6]
    np.save(tmp_path / "x.npy", x)
    a = feature_stats(tmp_path / "x.npy", batch_size=50, shard_size=150)
    b = feature_stats(tmp_path / "x.npy", batch_size=50, shard_size=150)  # from the cached shards
    np.testing.assert_array_equal(a.cov, b.cov)
    np.testing.assert_allclose(a.cov, np.cov(x, rowvar=False), rtol=1e-13)
    np.testing.assert_allclose(a.mean, x.mean(0), rtol=1e-13, atol=1e-15)
    assert a.n == 1000


def test_network_shards_store_float64_moments_that_fold_to_the_features_statistics(sets):
    from genbench.features import shard_stats
    from metrics import GaussianStats

    store = FeatureCache()
    plan = _plan(sets[0])
    fs = assemble(plan, name="real", store=store)
    arrays, meta = store.get(plan.keys[2])
    assert arrays["moments_mean"].dtype == np.float64 and arrays["moments_m2"].shape == (512, 512)
    assert meta["rows"] == 8 and (meta["start"], meta["stop"]) == (16, 24)
    folded = shard_stats(plan, store)
    whole = GaussianStats.from_features(fs.features)
    assert folded.n == 37
    np.testing.assert_allclose(folded.cov, whole.cov, rtol=1e-9, atol=1e-12 * np.abs(whole.cov).max())
    np.testing.assert_array_equal(shard_stats(plan, store).cov, folded.cov)  # same fold, same bits


# ---------------------------------------------------------------------------------------------
# real ranks under torchrun

SLOW_PLUGIN = '''
import os, signal, time
from genbench.extractors import extractor
from genbench.extractors.random_cnn import RandomCNN

BATCHES = [0]

@extractor("slow-cnn")
class SlowCNN(RandomCNN):
    """random-cnn that sleeps per batch, and can kill its own rank (test helper)."""

    def forward(self, batch):
        time.sleep(float(os.environ.get("SLOW_CNN_SLEEP", "0")))
        BATCHES[0] += 1
        kill = os.environ.get("SLOW_CNN_KILL", "")
        if kill:
            rank, after = map(int, kill.split(":"))
            if int(os.environ.get("RANK", "0")) == rank and BATCHES[0] > after:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().forward(batch)
'''


@pytest.fixture()
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "slow_cnn_plugin.py").write_text(SLOW_PLUGIN)
    info = site / "slow_cnn_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-cnn-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[genbench.extractors]\nslow = slow_cnn_plugin\n")
    return site


def _env(tmp_path, site=None, **extra):
    # as a user runs it: no OMP_NUM_THREADS (torchrun sets 1 for its ranks; rank 0 scores with the
    # thread count of one process, see genbench.distributed.threads_for_scoring)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_", "OMP_NUM_THREADS"))}
    env.update(GENBENCH_CACHE=str(tmp_path / "cache"), COLUMNS="200")
    if site is not None:
        env["PYTHONPATH"] = str(site)
    env.update(extra)
    return env


def _score_args(sets, features="random-cnn", batch=4, shard=8):
    return ["score", str(sets[0]), str(sets[1]), "--features", features, "--metrics", METRICS,
            "--option", "kid.subset_size=20", "--batch-size", str(batch), "--shard-size", str(shard), "--format", "json"]


def _one_process(args, env, timeout=300):
    exe = Path(sys.executable).parent / "genbench"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=timeout)


def _torchrun(nproc, args, env, timeout=300):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "-m", "genbench.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def _extracted(stderr: str) -> dict:
    found = re.findall(r"genbench: rank (\d+)/(\d+): extracted (\d+) of (\d+) shards", stderr)
    return {int(r): int(k) for r, _, k, _ in found}


def test_torchrun_two_ranks_byte_identical_to_one_process(sets, tmp_path):
    args = _score_args(sets)
    one = _one_process(args, _env(tmp_path, GENBENCH_CACHE=str(tmp_path / "c1")))
    assert one.returncode == 0, one.stderr
    two = _torchrun(2, args, _env(tmp_path, GENBENCH_CACHE=str(tmp_path / "c2")))
    assert two.returncode == 0, two.stderr
    assert two.stdout == one.stdout  # results JSON byte for byte (only rank 0 writes)
    rows = json.loads(two.stdout)
    assert sorted(r["metric"] for r in rows) == sorted(METRICS.split(","))
    assert all(r["status"] == "ok" for r in rows)
    done = _extracted(two.stderr)
    assert set(done) == {0, 1} and sum(done.values()) == 5 + 4  # every shard once: ceil(37/8) + ceil(29/8)


@pytest.mark.slow
def test_torchrun_three_ranks_odd_sizes_every_index_once(tmp_path, site):
    sets = _images(tmp_path / "real", 61, 0.0, 0), _images(tmp_path / "fake", 43, 25.0, 1)
    args = _score_args(sets, features="slow-cnn", batch=3, shard=9)
    one = _one_process(args, _env(tmp_path, site, GENBENCH_CACHE=str(tmp_path / "c1")))
    assert one.returncode == 0, one.stderr
    three = _torchrun(3, args, _env(tmp_path, site, GENBENCH_CACHE=str(tmp_path / "c3"), SLOW_CNN_SLEEP="0.05"))
    assert three.returncode == 0, three.stderr
    assert three.stdout == one.stdout
    done = _extracted(three.stderr)
    assert set(done) == {0, 1, 2} and sum(done.values()) == 7 + 5  # ceil(61/9) + ceil(43/9), none twice
    print(f"\n3 ranks: shards extracted per rank {done}")  # a late-starting rank may find no work left
    entries = list((tmp_path / "c3").rglob("*.gbc"))
    assert len(entries) == 12


@pytest.mark.slow
def test_killed_rank_fails_the_job_and_a_rerun_resumes(tmp_path, site):
    # rank 0 is killed: it surely extracts (rank 1 may start late on a busy machine and find no work)
    sets = _images(tmp_path / "real", 61, 0.0, 0), _images(tmp_path / "fake", 43, 25.0, 1)
    args = _score_args(sets, features="slow-cnn", batch=3, shard=9)
    one = _one_process(args, _env(tmp_path, site, GENBENCH_CACHE=str(tmp_path / "c1")))
    assert one.returncode == 0, one.stderr
    env = _env(tmp_path, site, GENBENCH_CACHE=str(tmp_path / "c2"), SLOW_CNN_SLEEP="0.1", SLOW_CNN_KILL="0:7",
               GENBENCH_DIST_TIMEOUT="60")
    start = time.monotonic()
    killed = _torchrun(2, args, env)
    assert killed.returncode != 0
    assert time.monotonic() - start < 120
    assert killed.stdout == ""  # no results from a failed job
    survivors = {p: p.stat().st_ino for p in (tmp_path / "c2").rglob("*.gbc")}
    assert 0 < len(survivors) < 12
    env.pop("SLOW_CNN_KILL")
    rerun = _torchrun(3, args, env)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout == one.stdout
    assert sum(_extracted(rerun.stderr).values()) == 12 - len(survivors)  # only the missing shards
    print(f"\nkill/resume: {len(survivors)} of 12 shards survived the kill; the 3-rank rerun extracted "
          f"{_extracted(rerun.stderr)}")
    assert all(p.stat().st_ino == ino for p, ino in survivors.items())
