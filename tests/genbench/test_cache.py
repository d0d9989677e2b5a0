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



def _entry(path, **kw):
    from genbench.features import plan_set

    (key,) = plan_set(path, extractor="counting-test", **kw).keys
    return FeatureCache().path(key)


def test_entry_copied_over_another_key_is_rejected_and_recomputed_once(tmp_path):
    """Issue 16 item 5: the key lives inside the entry; a sound file under another key's name is refused."""
    rng = np.random.default_rng(1)
    np.save(tmp_path / "a.npy", rng.normal(size=(6, 2)))
    np.save(tmp_path / "b.npy", rng.normal(size=(6, 2)) + 5)
    load_features(tmp_path / "a.npy", extractor="counting-test", progress=False)
    b = load_features(tmp_path / "b.npy", extractor="counting-test", progress=False)
    ea, eb = _entry(tmp_path / "a.npy"), _entry(tmp_path / "b.npy")
    eb.write_bytes(ea.read_bytes())  # a's features, checksum intact, under b's key
    CALLS.clear()
    again = load_features(tmp_path / "b.npy", extractor="counting-test", progress=False)
    assert CALLS == [6]  # recomputed, not served
    np.testing.assert_array_equal(again.features, b.features)
    assert ("1 cache entry written under another key (a copied or renamed file) rejected and recomputed"
            in again.notes)
    third = load_features(tmp_path / "b.npy", extractor="counting-test", progress=False)
    assert CALLS == [6]
    assert third.notes == [n for n in third.notes if "another key" not in n and "corrupt cache" not in n]  # said once


def test_corrupt_note_is_not_replayed_on_later_hits(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    e = _entry(tmp_path / "x.npy")
    e.write_bytes(e.read_bytes()[:-3])
    assert "a corrupt cache entry was found, discarded and recomputed" in load_features(
        tmp_path / "x.npy", extractor="counting-test", progress=False).notes
    later = load_features(tmp_path / "x.npy", extractor="counting-test", progress=False)
    assert "a corrupt cache entry was found, discarded and recomputed" not in later.notes


def test_notes_of_the_current_scan_replayed_on_a_hit(tmp_path):
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(d / f"{i}.png")
    first = load_features(d, extractor="pixels", progress=False)
    assert not any("ignored" in n for n in first.notes)
    (d / "notes.md").write_text("a file that is not a sample")  # the scan changes, the samples do not
    hit = load_features(d, extractor="pixels", progress=False)
    assert hit.input_hash == first.input_hash
    assert hit.notes[0] == "ignored files that are not samples: 1 .md"
    assert hit.notes[-1].startswith("features read from the cache")
    resized = load_features(d, extractor="pixels", image_size=(4, 4), progress=False)
    hit2 = load_features(d, extractor="pixels", image_size=(4, 4), progress=False)
    assert resized.notes[:2] == hit2.notes[:2] and "brought to the reference's size 4x4" in hit2.notes[1]


def test_key_binding_in_the_cache_itself(tmp_path):
    cache = FeatureCache()
    k1, k2 = make_key(a=1), make_key(a=2)
    cache.put(k1, {"features": np.ones((2, 2))}, {"notes": []})
    cache.path(k2).parent.mkdir(parents=True, exist_ok=True)
    cache.path(k2).write_bytes(cache.path(k1).read_bytes())
    assert cache.get(k2) is None and not cache.path(k2).exists()
    assert cache.misplaced == [str(cache.path(k2))] and cache.dropped == []
    assert cache.get(k1)[1] == {"notes": []}  # the key is checked, not returned
