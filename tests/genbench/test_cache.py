"""The content-addressed feature cache: atomic writes, corruption detected, no second extraction."""

import os

import numpy as np
import pytest

from genbench.cache import MAGIC, FeatureCache, cache_root, make_key, read_verified
from genbench.extractors import Extractor, extractor
from genbench.features import load_features

CALLS = []


@extractor("counting-test")
class Counting(Extractor):
    """Identity that counts its forward passes (test helper)."""

    inputs = ("vectors",)

    def forward(self, batch):
        CALLS.append(len(batch))
        return np.asarray(batch, dtype=np.float64) * 2, None


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))
    CALLS.clear()


def test_root_from_env(tmp_path, monkeypatch):
    assert cache_root() == tmp_path / "cache"
    monkeypatch.delenv("GENBENCH_CACHE")
    assert cache_root().parts[-2:] == (".cache", "genbench")


def test_roundtrip_and_no_temp_files_left(tmp_path):
    cache = FeatureCache()
    key = make_key(a=1)
    assert cache.get(key) is None
    assert cache.put(key, {"features": np.arange(6.0).reshape(2, 3), "probs": None}, {"notes": ["x"]})
    arrays, meta = cache.get(key)
    np.testing.assert_array_equal(arrays["features"], np.arange(6.0).reshape(2, 3))
    assert set(arrays) == {"features"} and meta == {"notes": ["x"]}
    assert os.listdir(cache.path(key).parent) == [cache.path(key).name]
    assert cache.path(key).read_bytes().startswith(MAGIC)


def test_key_is_order_independent_and_content_sensitive():
    assert make_key(a=1, b="x") == make_key(b="x", a=1)
    assert make_key(a=1, b="x") != make_key(a=1, b="y")


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "header"])
def test_damaged_entry_is_a_miss_and_deleted(damage):
    cache = FeatureCache()
    key = make_key(a=2)
    cache.put(key, {"features": np.ones((50, 4))}, {"notes": []})
    path = cache.path(key)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-10] ^= 0xFF
    elif damage == "empty":
        data = b""
    else:
        data[:5] = b"XXXXX"
    path.write_bytes(bytes(data))
    assert read_verified(path) is None
    assert not path.exists()
    assert FeatureCache().get(key) is None


def test_second_load_does_no_extraction(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 3))
    np.save(tmp_path / "x.npy", x)
    first = load_features(tmp_path / "x.npy", extractor="counting-test", batch_size=4, progress=False)
    assert CALLS == [4, 4, 2]
    second = load_features(tmp_path / "x.npy", extractor="counting-test", batch_size=4, progress=False)
    assert CALLS == [4, 4, 2]  # nothing extracted
    np.testing.assert_array_equal(second.features, first.features)
    np.testing.assert_array_equal(second.samples, x)
    assert second.input_hash == first.input_hash and second.extractor == "counting-test"
    assert "features read from the cache" in second.notes[-1]
    load_features(tmp_path / "x.npy", extractor="counting-test", cache=False, progress=False)
    assert len(CALLS) == 4  # --no-cache extracts again


def test_changed_input_misses(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    fs = load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    assert len(CALLS) == 2
    np.testing.assert_array_equal(fs.features, 2 * np.ones((3, 2)))


def test_corrupt_entry_recomputed_never_returned(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    entries = list((tmp_path / "cache").rglob("*.gbc"))
    assert len(entries) == 1
    entries[0].write_bytes(entries[0].read_bytes()[:-7])  # torn write
    fs = load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    assert len(CALLS) == 2
    np.testing.assert_array_equal(fs.features, 2 * np.ones((3, 2)))
    assert "a corrupt cache entry was found, discarded and recomputed" in fs.notes
    load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    assert len(CALLS) == 2  # the rewritten entry is good


def test_runner_second_score_extracts_nothing(tmp_path):
    from genbench.runner import score

    rng = np.random.default_rng(0)
    np.save(tmp_path / "ref.npy", rng.normal(size=(40, 2)))
    np.save(tmp_path / "m.npy", rng.normal(size=(40, 2)))
    first = score(tmp_path / "ref.npy", [str(tmp_path / "m.npy")], ["fid"], features="counting-test")
    n = len(CALLS)
    assert n == 2
    second = score(tmp_path / "ref.npy", [str(tmp_path / "m.npy")], ["fid"], features="counting-test")
    assert len(CALLS) == n
    assert first["value"].tolist() == second["value"].tolist()
