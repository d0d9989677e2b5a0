"""The sample loader: kinds, conversion rules, layouts, bad input, streaming."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from genbench import features as features_mod
from genbench.errors import SampleError
from genbench.features import load_features
from genbench.samples import _image_layout, open_samples, to_rgb_uint8


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))


def _rgb(seed, h=4, w=4):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _pixels(path, **kw):
    return load_features(path, extractor="pixels", cache=False, progress=False, **kw)


# ---------------------------------------------------------------------------------------------
# image conversion rule


def test_sixteen_bit_grayscale_maps_by_division_by_257(tmp_path):
    v = np.array([[0, 257 * 100, 32896, 65535]], dtype=np.uint16)  # 32896 = 128 * 257
    Image.fromarray(v).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as img:
        assert img.mode.startswith("I")
        out = to_rgb_uint8(img)
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 100, 128, 255])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_rgba_alpha_dropped_grayscale_replicated_palette_expanded(tmp_path):
    Image.fromarray(np.array([[[10, 20, 30, 0]]], dtype=np.uint8), "RGBA").save(tmp_path / "a.png")
    Image.fromarray(np.array([[77]], dtype=np.uint8), "L").save(tmp_path / "b.png")
    pal = Image.new("P", (1, 1))
    pal.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.save(tmp_path / "c.png")
    fs = _pixels(tmp_path)
    np.testing.assert_array_equal(np.rint(fs.features * 255), [[10, 20, 30], [77, 77, 77], [200, 100, 50]])


def test_images_sorted_recursively_and_all_formats_decode(tmp_path):
    (tmp_path / "sub").mkdir()
    imgs = {"b.png": _rgb(1), "a.bmp": _rgb(2), "sub/c.png": _rgb(3)}
    for name, arr in imgs.items():
        Image.fromarray(arr).save(tmp_path / name)
    Image.fromarray(_rgb(4)).save(tmp_path / "d.webp", lossless=True)
    flat = np.full((4, 4, 3), (100, 150, 200), dtype=np.uint8)  # JPEG is lossy: a flat colour survives
    Image.fromarray(flat).save(tmp_path / "e.jpg", quality=95)
    fs = _pixels(tmp_path)
    got = np.rint(fs.features * 255).astype(np.uint8).reshape(-1, 4, 4, 3)
    # order: a.bmp, b.png, d.webp, e.jpg, sub/c.png (relative POSIX path)
    for row, arr in zip((0, 1, 2, 4), (_rgb(2), _rgb(1), _rgb(4), _rgb(3))):
        np.testing.assert_array_equal(got[row], arr)
    assert np.abs(got[3].astype(int) - flat).max() <= 3
    np.testing.assert_array_equal(fs.samples, fs.features)


# ---------------------------------------------------------------------------------------------
# arrays


@pytest.mark.parametrize("shape, layout", [
    ((2, 5), "vectors"), ((2,), "vectors"), ((2, 8, 8), "gray"), ((2, 3, 32, 32), "nchw"),
    ((2, 32, 32, 3), "nhwc"), ((2, 3, 4, 4), "nchw"), ((2, 4, 4, 3), "nhwc"), ((2, 3, 3, 3), "nhwc"),
    ((2, 1, 5, 5), "nchw"), ((2, 5, 5, 5), None), ((2, 2, 2, 2, 2), None),
])
def test_layout_rule(shape, layout):
    assert _image_layout(shape) == layout


def test_nhwc_nchw_float_and_uint8_arrays_agree(tmp_path):
    imgs = np.stack([_rgb(i) for i in range(3)])
    np.save(tmp_path / "nhwc.npy", imgs)
    np.save(tmp_path / "nchw.npy", imgs.transpose(0, 3, 1, 2).copy())
    np.save(tmp_path / "unit.npy", imgs.astype(np.float32) / 255)
    np.save(tmp_path / "signed.npy", imgs.astype(np.float64) / 127.5 - 1)
    torch.save(torch.from_numpy(imgs), tmp_path / "t.pt")
    ref = _pixels(tmp_path / "nhwc.npy").features
    np.testing.assert_array_equal(ref.reshape(3, 4, 4, 3), imgs / np.float32(255))
    for name in ("nchw.npy", "unit.npy", "signed.npy", "t.pt"):
        np.testing.assert_array_equal(_pixels(tmp_path / name).features, ref, err_msg=name)
    notes = " ".join(_pixels(tmp_path / "signed.npy").notes)
    assert "[-1, 1]" in notes and "NHWC" in notes


def test_float_pixels_out_of_range_rejected(tmp_path):
    np.save(tmp_path / "x.npy", np.full((2, 4, 4, 3), 255.0))
    with pytest.raises(SampleError, match=r"x\.npy: float pixel values must lie in \[0, 1\] or \[-1, 1\]; got range \[255, 255\]"):
        _pixels(tmp_path / "x.npy")


def test_nan_rejected_with_file_and_row(tmp_path):
    x = np.zeros((2000, 3))
    x[1500, 1] = np.nan
    np.save(tmp_path / "v.npy", x)
    with pytest.raises(SampleError, match=r"v\.npy: contains non-finite values \(nan\) first at row 1500"):
        load_features(tmp_path / "v.npy", cache=False)


def test_vectors_used_as_they_are_and_1d_is_a_column(tmp_path):
    x = np.random.default_rng(0).normal(size=(7, 3))
    np.save(tmp_path / "v.npy", x)
    np.save(tmp_path / "s.npy", x[:, 0])
    fs = load_features(tmp_path / "v.npy", cache=False)
    np.testing.assert_array_equal(fs.features, x)
    assert fs.samples is fs.features
    np.testing.assert_array_equal(load_features(tmp_path / "s.npy", cache=False).features, x[:, :1])


def test_adm_npz_shards_concatenate_in_order(tmp_path):
    imgs = np.stack([_rgb(i) for i in range(7)])
    d = tmp_path / "shards"
    d.mkdir()
    np.savez(d / "samples_0.npz", arr_0=imgs[:3], arr_1=np.arange(3))
    np.savez_compressed(d / "samples_1.npz", arr_0=imgs[3:])
    np.save(d / "log_probs.npy", np.zeros(7))  # reserved: metadata, not a shard
    (d / "likelihood.json").write_text("{}")
    fs = _pixels(d, batch_size=2)
    np.testing.assert_array_equal(fs.features.reshape(7, 4, 4, 3), imgs / np.float32(255))


def test_npz_streams_rows_equal_to_np_load(tmp_path):
    x = np.random.default_rng(1).normal(size=(2500, 4)).astype(np.float32)
    np.savez_compressed(tmp_path / "v.npz", x)
    np.testing.assert_array_equal(load_features(tmp_path / "v.npz", cache=False, batch_size=100).features, x)


@pytest.mark.parametrize("make, match", [
    (lambda d: np.savez(d / "x.npz", a=np.zeros((2, 2)), b=np.zeros(2)),
     r"x\.npz: the \.npz archive holds arrays \['a', 'b'\]; expected one array or an `arr_0` array"),
    (lambda d: (np.save(d / "a.npy", np.zeros((2, 3))), np.save(d / "b.npy", np.zeros((2, 4)))),
     r"b\.npy: shard shape \(2, 4\) disagrees with .*a\.npy \(2, 3\)"),
    (lambda d: np.save(d / "x.npy", np.zeros((2, 5, 5, 5))),
     r"x\.npy: cannot tell the layout of a 4-D array of shape \(2, 5, 5, 5\)"),
    (lambda d: np.save(d / "x.npy", np.array(["a", "b"])), r"x\.npy: expected a numeric array; got dtype <U1"),
    (lambda d: (d / "x.npy").write_bytes(b"\x93NUMPY garbage"), r"x\.npy: cannot read as an array file"),
    (lambda d: np.save(d / "x.npy", np.zeros((0, 3))), r"the arrays hold no samples \(shape \(0, 3\)\)"),
])
def test_bad_arrays(tmp_path, make, match):
    make(tmp_path)
    with pytest.raises(SampleError, match=match):
        load_features(tmp_path, cache=False)


# ---------------------------------------------------------------------------------------------
# text


def test_text_txt_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\nsecond line\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "third"}) + "\n" + json.dumps({"text": "fourth"}) + "\n")
    s = open_samples(tmp_path)
    assert s.kind == "text"
    assert list(s.texts()) == ["first line", "second line", "third", "fourth"]


def test_jsonl_bad_line_error_and_skip(tmp_path):
    (tmp_path / "b.jsonl").write_text('{"text": "ok"}\n{"txt": "no"}\n{"text": "fine"}\n')
    with pytest.raises(SampleError, match=r"b\.jsonl:2: expected a JSON object with a string `text` field"):
        list(open_samples(tmp_path).texts())
    s = open_samples(tmp_path, skip_bad=True)
    assert list(s.texts()) == ["ok", "fine"] and s.skipped == [f"{tmp_path / 'b.jsonl'}:2"]


def test_text_needs_a_text_extractor(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    with pytest.raises(SampleError, match=r"holds text, but extractor 'identity' takes vectors \(expected a 2-D numeric array of shape \(n, d\)\)\. Use a text extractor: minilm"):
        load_features(tmp_path, cache=False)


# ---------------------------------------------------------------------------------------------
# directories and bad files


def test_empty_directory(tmp_path):
    (tmp_path / "notes.md").write_text("hi")
    with pytest.raises(SampleError, match=r"the directory holds no samples \(looked for images \.png"):
        load_features(tmp_path, cache=False)


def test_mixed_kinds_rejected(tmp_path):
    Image.fromarray(_rgb(0)).save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", np.zeros((2, 2)))
    with pytest.raises(SampleError, match=r"mixes kinds of samples \(1 arrays files, 1 images files\)"):
        load_features(tmp_path, cache=False)


def test_unknown_file_type(tmp_path):
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(SampleError, match=r"x\.csv: unsupported file type '\.csv'"):
        load_features(tmp_path / "x.csv", cache=False)


def test_corrupt_image_named_then_skipped_with_count(tmp_path):
    for i in range(3):
        Image.fromarray(_rgb(i)).save(tmp_path / f"{i}.png")
    (tmp_path / "1.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(SampleError, match=r"1\.png: cannot decode image"):
        _pixels(tmp_path)
    fs = _pixels(tmp_path, skip_bad=True)
    assert fs.n == 2
    assert any(n.startswith("1 bad files skipped (--skip-bad): ") and "1.png" in n for n in fs.notes)


def test_mixed_sizes_resized_and_stated(tmp_path):
    Image.fromarray(_rgb(0, 4, 4)).save(tmp_path / "a.png")
    Image.fromarray(_rgb(1, 8, 6)).save(tmp_path / "b.png")
    fs = _pixels(tmp_path)
    assert fs.features.shape == (2, 48)
    expect = np.asarray(Image.fromarray(_rgb(1, 8, 6)).resize((4, 4), Image.BICUBIC))
    np.testing.assert_array_equal(np.rint(fs.features[1] * 255), expect.reshape(-1))
    assert any("1 of 2 images differ from the set's size 4x4" in n and "PIL bicubic" in n for n in fs.notes)


def test_streaming_batches_are_bounded_and_samples_limit(tmp_path, monkeypatch):
    for i in range(10):
        Image.fromarray(_rgb(i)).save(tmp_path / f"{i:02d}.png")
    s = open_samples(tmp_path)
    sizes = [len(b) for b, _ in s.batches(3, lambda im: im.reshape(-1))]
    assert sizes == [3, 3, 3, 1]
    fs = load_features(tmp_path, extractor="random-cnn", cache=False, progress=False)
    np.testing.assert_array_equal(fs.samples, _pixels(tmp_path).features)  # pixels in [0, 1]
    monkeypatch.setattr(features_mod, "SAMPLES_LIMIT", 10 * 48 - 1)
    fs = load_features(tmp_path, extractor="random-cnn", cache=False, progress=False)
    assert fs.samples is None and fs.features.shape == (10, 512)
    assert any("data-space samples not kept: 10 images x 4x4x3 exceed 479 values" in n for n in fs.notes)


def _top_rows(img):
    return img[:4].reshape(-1)


def test_worker_processes_give_the_same_batches_and_errors(tmp_path, monkeypatch):
    from genbench import samples

    for i in range(9):
        Image.fromarray(_rgb(i, 4 + i % 2, 4)).save(tmp_path / f"{i}.png")
    (tmp_path / "3.png").write_bytes(b"not an image")
    monkeypatch.setattr(samples, "PARALLEL_MIN_FILES", 0)

    def run(workers):
        s = open_samples(tmp_path, skip_bad=True)
        out = [b for b, _ in s.batches(4, _top_rows, workers=workers)]
        return out, s.skipped, dict(s._sizes)

    serial, parallel = run(0), run(2)
    assert [b.shape for b in parallel[0]] == [b.shape for b in serial[0]] == [(3, 48), (4, 48), (1, 48)]
    for a, b in zip(serial[0], parallel[0]):
        np.testing.assert_array_equal(a, b)
    assert parallel[1] == serial[1] == [str(tmp_path / "3.png")]
    assert parallel[2] == serial[2] == {(4, 4): 5, (5, 4): 3}
    with pytest.raises(SampleError, match=r"3\.png: cannot decode image"):
        list(open_samples(tmp_path).batches(4, None, workers=2))
