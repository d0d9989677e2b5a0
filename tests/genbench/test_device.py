"""Devices and numerics policies, on a machine without a GPU (the GPU side: benchmarks/gpu_check.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genbench.extractors import get_extractor
from genbench.extractors._torch import DeviceError, numerics_scope, resolve_device
from genbench.features import load_features, plan_set

NO_GPU = not torch.cuda.is_available()


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture()
def images(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return d


def test_cpu_and_auto_resolve_on_a_machine_without_gpu():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("CPU ") == "cpu"
    if NO_GPU:
        assert resolve_device("auto") == "cpu"
    else:
        assert resolve_device("auto", local_rank=0) == "cuda:0"


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
def test_cuda_without_gpu_is_an_input_error():
    with pytest.raises(DeviceError, match=r"`device` 'cuda' asked for, but torch sees no CUDA GPU on this machine "
                                          r"\(torch .*\)\. Use --device cpu or --device auto\."):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match=r"`device` 'cuda:1' asked for, but torch sees no CUDA GPU"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("bad, message", [
    ("gpu", r"`device` must be auto, cpu, cuda, cuda:N or mps; got 'gpu'\."),
    ("cuda:x", r"`device` must look like cuda:N with N a GPU index; got 'cuda:x'\."),
    (3, r"`device` must be a string \(auto, cpu, cuda, cuda:N or mps\); got 3\."),
])
def test_bad_device_spellings(bad, message):
    with pytest.raises(DeviceError, match=message):
        resolve_device(bad)


def test_bad_numerics():
    with pytest.raises(DeviceError, match=r"`numerics` must be one of \['reference', 'fast', 'fast\+compile'\]; "
                                          r"got 'fastest'\. Use 'reference' \(default, reproducible\) or 'fast'\."):
        get_extractor("random-cnn").to("cpu", "fastest")


def test_numerics_scope_sets_and_restores_the_switches():
    b = torch.backends
    before = (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark,
              torch.get_float32_matmul_precision())
    with numerics_scope("reference"):
        assert (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark) == (
            False, False, True, False)
        assert torch.get_float32_matmul_precision() == "highest"
    with numerics_scope("fast"):
        assert (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.benchmark) == (True, True, True)
    assert (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32, b.cudnn.deterministic, b.cudnn.benchmark,
            torch.get_float32_matmul_precision()) == before


def test_numerics_in_identifier_and_cache_key(images):
    ref = plan_set(images, extractor="random-cnn", numerics="reference")
    fast = plan_set(images, extractor="random-cnn", numerics="fast")
    assert ref.extractor.run_identifier.endswith(";numerics=reference")
    assert fast.extractor.run_identifier.endswith(";numerics=fast")
    assert set(ref.keys).isdisjoint(fast.keys)
    assert plan_set(images, extractor="pixels").extractor.run_identifier.endswith("layout=hwc)")  # no network


def test_fast_on_cpu_equals_reference_and_is_recorded(images):
    """On the CPU, ``fast`` changes no kernel (no TF32, bfloat16 or channels_last there)."""
    ref = load_features(images, extractor="random-cnn", progress=False)
    fast = load_features(images, extractor="random-cnn", numerics="fast", progress=False)
    np.testing.assert_array_equal(ref.features, fast.features)
    assert fast.extractor.endswith(";numerics=fast") and fast.device == "cpu"
    assert "features extracted on cpu (numerics=fast)" in fast.notes


def test_batch_size_changes_only_float32_rounding_and_is_in_the_key(images):
    """CPU kernels differ by batch size in the last bits (measured: 4e-7 absolute on features of
    size ~1), so the batch size is part of every shard key and entries of two sizes never mix."""
    a = load_features(images, extractor="random-cnn", batch_size=1, progress=False)
    b = load_features(images, extractor="random-cnn", batch_size=8, progress=False)
    np.testing.assert_allclose(a.features, b.features, rtol=0, atol=2e-6 * np.abs(b.features).max())
    assert "features read from the cache" not in " ".join(b.notes)
    assert set(plan_set(images, extractor="random-cnn", batch_size=1).keys).isdisjoint(
        plan_set(images, extractor="random-cnn", batch_size=8).keys)


def _genbench(*args, env=None):
    exe = Path(sys.executable).parent / "genbench"
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full, timeout=300)


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
def test_cli_device_cuda_without_gpu_one_line_exit_2_and_cpu_auto_work(images, tmp_path):
    out = _genbench("score", str(images), str(images), "--features", "random-cnn", "--device", "cuda",
                    env={"GENBENCH_CACHE": str(tmp_path / "c")})
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genbench: error: `device` 'cuda' asked for, but torch sees no "
                                                   "CUDA GPU on this machine")
    from genbench import score

    ok = _genbench("score", str(images), f"m={images}", "--features", "random-cnn", "--device", "auto",
                   "--metrics", "fid", "--format", "json", "-q", env={"GENBENCH_CACHE": str(tmp_path / "c")})
    assert ok.returncode == 0, ok.stderr
    cpu = score(images, {"m": images}, "fid", features="random-cnn", device="cpu", cache=False)
    assert json.loads(ok.stdout)[0]["value"] == cpu["value"].iloc[0]


def test_suite_file_takes_device_options(tmp_path):
    from genbench.suite import load_suite
    from metrics import InputError

    np.save(tmp_path / "r.npy", np.zeros((4, 2)))
    text = ('[suite]\nreference = "r.npy"\nmetrics = ["fid"]\noutput = "out"\ndevice = "cpu"\n'
            'numerics = "fast"\nworkers = 0\nshard_size = 128\n[models]\nm = "r.npy"\n')
    (tmp_path / "s.toml").write_text(text)
    suite = load_suite(tmp_path / "s.toml")
    assert (suite.device, suite.numerics, suite.workers, suite.shard_size) == ("cpu", "fast", 0, 128)
    (tmp_path / "s.toml").write_text(text.replace("workers = 0", 'workers = "many"'))
    with pytest.raises(InputError, match=r"s\.toml: `workers` must be a non-negative int; got 'many'\."):
        load_suite(tmp_path / "s.toml")
