"""Extractors: registry, determinism, batch-size independence, weights handling, peer agreement."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.extractors import UnknownExtractorError, available_extractors, get_extractor
from genbench.features import load_features
from metrics.errors import InputError


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache dir for the module, so the digits net trains once."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENBENCH_CACHE", str(root))
        yield root


@pytest.fixture(autouse=True)
def _cache(shared_cache, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(shared_cache))


def _images(n, h=12, w=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _run(ext, imgs, batch_size):
    out_f, out_p = [], []
    for start in range(0, len(imgs), batch_size):
        f, p = ext(np.stack([ext.prepare(i) for i in imgs[start:start + batch_size]]))
        out_f.append(f)
        out_p.append(p)
    return np.concatenate(out_f), (np.concatenate(out_p) if out_p[0] is not None else None)


# ---------------------------------------------------------------------------------------------
# registry


def test_builtins_registered():
    names = set(available_extractors())
    assert {"identity", "pixels", "random-cnn", "digits", "inception-fid", "inception-fid-clean", "minilm"} <= names
    assert available_extractors()["random-cnn"].options == ("seed", "size")


def test_unknown_name_suggests():
    with pytest.raises(UnknownExtractorError, match=r"unknown feature extractor 'random_cnn'\. Did you mean 'random-cnn'\?"):
        get_extractor("random_cnn")


def test_unknown_option():
    with pytest.raises(InputError, match=r"extractor 'pixels' takes no option\(s\) \['sead'\]; its options are \['size'\]"):
        get_extractor("pixels", sead=1)


def test_weights_refused_by_extractors_without_weights(tmp_path):
    np.save(tmp_path / "x.npy", _images(2))
    with pytest.raises(InputError, match=r"extractor 'random-cnn' takes none; got 'w\.pth'\. Drop --weights"):
        load_features(tmp_path / "x.npy", extractor="random-cnn", weights="w.pth", cache=False)


# ---------------------------------------------------------------------------------------------
# random-cnn


def test_random_cnn_weights_from_explicit_generator():
    state = torch.random.get_rng_state()
    a, b, c = get_extractor("random-cnn", seed=5), get_extractor("random-cnn", seed=5), get_extractor("random-cnn", seed=6)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched
    g = torch.Generator().manual_seed(5)
    first = a.net[0].weight
    np.testing.assert_allclose(first, torch.randn(first.shape, generator=g) * (2 / 27) ** 0.5, rtol=1e-6)
    assert a.identifier == b.identifier != c.identifier
    assert "seed=5" in a.identifier and "pil-bicubic-uint8-32" in a.identifier
    imgs = _images(3)
    np.testing.assert_array_equal(_run(a, imgs, 3)[0], _run(b, imgs, 3)[0])
    assert not np.allclose(_run(a, imgs, 3)[0], _run(c, imgs, 3)[0])


@pytest.mark.parametrize("name", ["pixels", "random-cnn", "digits"])
def test_image_extractors_batch_size_independent(tmp_path, name):
    for i, img in enumerate(_images(7, 10, 14)):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    a = load_features(tmp_path, extractor=name, batch_size=1, cache=False, progress=False)
    b = load_features(tmp_path, extractor=name, batch_size=4, cache=False, progress=False)
    np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)
    assert a.extractor == b.extractor
    if a.probs is not None:
        np.testing.assert_allclose(a.probs, b.probs, rtol=1e-5, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# digits


def test_digits_recognises_held_out_digits_from_png_files(tmp_path):
    from sklearn.datasets import load_digits

    data = load_digits()
    idx = np.arange(1437, 1797, 6)  # held out from training
    for k, i in enumerate(idx):
        img = np.rint(data.images[i] * 255 / 16).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / f"{k:03d}.png")
    fs = load_features(tmp_path, extractor="digits", progress=False)
    assert fs.features.shape == (len(idx), 64) and fs.probs.shape == (len(idx), 10)
    np.testing.assert_allclose(fs.probs.sum(axis=1), 1.0, rtol=1e-12)
    accuracy = (fs.probs.argmax(axis=1) == data.target[idx]).mean()
    assert accuracy >= 0.9
    ext = get_extractor("digits")
    assert ext.accuracy >= 0.9
    # the same digits as (n, 64) vectors in load_digits' [0, 16] scale give (nearly) the same output
    feats, probs = ext(data.data[idx])
    np.testing.assert_allclose(probs, fs.probs, atol=0.05)
    with pytest.raises(InputError, match=r"reads \(n, 64\) vectors as 8x8 images in \[0, 16\]; got 3 columns"):
        ext(np.zeros((2, 3)))


def test_digits_training_is_deterministic_and_cached(monkeypatch):
    from genbench.extractors import digits
    from genbench.extractors._torch import state_hash

    ext = get_extractor("digits")  # trained (or read) once for the module
    state, _ = digits.train()
    net = digits.empty_module(digits.build_net)
    net.load_state_dict(state)
    assert state_hash(net)[:16] in ext.identifier  # retraining gives bit-identical weights
    monkeypatch.setattr(digits, "train", lambda *a: pytest.fail("retrained despite the cache"))
    assert get_extractor("digits").identifier == ext.identifier


# ---------------------------------------------------------------------------------------------
# inception-fid


def _random_inception_state(seed=0):
    from genbench.extractors.inception import build_net

    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in build_net().state_dict().items():
        if k.endswith("num_batches_tracked"):
            state[k] = torch.tensor(0)
        elif k.endswith("running_var"):
            state[k] = 1 + 0.1 * torch.rand(v.shape, generator=g)
        elif k.endswith(("running_mean", "bn.bias", "fc.bias")):
            state[k] = 0.1 * torch.randn(v.shape, generator=g)
        elif k.endswith("bn.weight"):
            state[k] = 1 + 0.1 * torch.randn(v.shape, generator=g)
        else:
            state[k] = torch.randn(v.shape, generator=g) * (2.0 / np.prod(v.shape[1:])) ** 0.5
    return state


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(_random_inception_state(), path)
    return path


@pytest.fixture(scope="module")
def inception(inception_weights):
    from genbench.extractors.inception import WeightsWarning

    with pytest.warns(WeightsWarning, match=r"does not start with 6726825d: these are not the reference"):
        return get_extractor("inception-fid", weights=inception_weights)


@pytest.fixture(scope="module")
def fidelity_inception(inception_weights):
    peers = pytest.importorskip("peers")
    fe = peers.peer_or_skip("torch_fidelity.feature_extractor_inceptionv3")
    return fe.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(inception_weights)
    )


def test_inception_key_layout_matches_torch_fidelity(fidelity_inception):
    from genbench.extractors.inception import build_net

    ours = {k: tuple(v.shape) for k, v in build_net().state_dict().items()}
    theirs = fidelity_inception
    assert ours == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours["fc.weight"] == (1008, 2048) and ours["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)


def test_inception_features_equal_torch_fidelity(inception, fidelity_inception, monkeypatch):
    """Same random weights -> the same pool3 features and IS probabilities as torch-fidelity.

    Run at 75x75 (the smallest input Inception-v3 takes) to keep the test fast; the network, the
    TF1 resize and the normalisation are those of the 299 path.
    """
    from genbench.extractors.inception import resize_tf_bilinear

    imgs = _images(2, 20, 28)
    x = np.stack([resize_tf_bilinear(i, 75) for i in imgs])
    with torch.no_grad():
        ours_batch = inception.net((torch.from_numpy(x) - 128) / 128)
    theirs = fidelity_inception
    monkeypatch.setattr(theirs, "INPUT_IMAGE_SIZE", 75, raising=False)
    with torch.no_grad():
        f2, l2 = theirs(torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous())
    scale = float(f2.abs().max())
    assert scale > 0
    np.testing.assert_allclose(ours_batch[0].numpy(), f2.numpy(), atol=1e-5 * scale, rtol=0)
    np.testing.assert_allclose(ours_batch[1].numpy(), l2.numpy(), atol=1e-5 * float(l2.abs().max()), rtol=0)


def test_tf_resize_equals_torch_fidelity_and_clean_equals_clean_fid():
    peers = pytest.importorskip("peers")
    itf = peers.peer_or_skip("torch_fidelity.interpolate_compat_tensorflow")
    from genbench.extractors.inception import resize_clean, resize_tf_bilinear

    imgs = _images(2, 17, 40)
    ref = itf.interpolate_bilinear_2d_like_tensorflow1x(
        torch.from_numpy(imgs).permute(0, 3, 1, 2).float(), size=(299, 299), align_corners=False)
    np.testing.assert_array_equal(np.stack([resize_tf_bilinear(i) for i in imgs]), ref.numpy())
    cr = peers.peer_or_skip("cleanfid.resize")
    clean = cr.make_resizer("PIL", False, "bicubic", (299, 299))
    np.testing.assert_array_equal(resize_clean(imgs[0]), clean(imgs[0]).transpose(2, 0, 1))


def test_inception_through_loader_records_mode_and_weights(tmp_path, inception, inception_weights, monkeypatch):
    """The loader path (prepare, forward, provenance) at a 75x75 input for speed; batch size 1 in the
    loader against one batch of 2 checks batch-size independence."""
    from genbench.extractors.inception import InceptionFID, WeightsWarning

    monkeypatch.setattr(InceptionFID, "input_size", 75)
    monkeypatch.setattr(inception, "input_size", 75, raising=False)

    for i, img in enumerate(_images(2, 16, 16)):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightsWarning)
        fs = load_features(tmp_path, extractor="inception-fid", weights=inception_weights, batch_size=1,
                           cache=False, progress=False)
    assert fs.features.shape == (2, 2048) and fs.probs.shape == (2, 1008)
    assert "resize=tf1-bilinear-75" in fs.extractor and inception.weights_sha256[:16] in fs.extractor
    with torch.no_grad():
        x = (torch.from_numpy(np.stack([inception.prepare(i) for i in _images(2, 16, 16)])) - 128) / 128
        np.testing.assert_allclose(fs.features, inception.net(x)[0].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_inception_full_size_equals_torch_fidelity(tmp_path, inception_weights, fidelity_inception):
    """The whole 299x299 path from PNG files, against torch-fidelity on the same uint8 images."""
    from genbench.extractors.inception import WeightsWarning

    imgs = _images(4, 32, 32, seed=3)
    for i, img in enumerate(imgs):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightsWarning)
        fs = load_features(tmp_path, extractor="inception-fid", weights=inception_weights, batch_size=3,
                           cache=False, progress=False)
    with torch.no_grad():
        f2, l2 = fidelity_inception(torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous())
    np.testing.assert_allclose(fs.features, f2.numpy(), atol=1e-5 * float(f2.abs().max()), rtol=0)
    np.testing.assert_allclose(fs.probs, torch.softmax(l2.double(), 1).numpy(), atol=1e-6, rtol=0)


def test_inception_missing_weights_says_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(InputError, match=(
            r"inception-fid needs the weights file pt_inception-2015-12-05-6726825d\.pth \(expected SHA-256 "
            r"starting with 6726825d.*not found at: .*/w/pt_inception-2015-12-05-6726825d\.pth.*"
            r"/hub/checkpoints/.*genbench never downloads.*put it in \$GENBENCH_WEIGHTS_DIR")):
        get_extractor("inception-fid")


def test_inception_finds_weights_in_env_dir_then_hub(tmp_path, monkeypatch, inception_weights):
    from genbench.extractors.inception import WeightsWarning, find_weights

    monkeypatch.delenv("GENBENCH_WEIGHTS_DIR", raising=False)
    hub = tmp_path / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    alias = hub / "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's name for the same file
    alias.write_bytes(inception_weights.read_bytes())
    assert find_weights() == alias
    monkeypatch.setenv("GENBENCH_WEIGHTS_DIR", str(inception_weights.parent))
    assert find_weights() == inception_weights
    assert find_weights(inception_weights.parent) == inception_weights
    with pytest.warns(WeightsWarning):
        clean = get_extractor("inception-fid-clean")
    assert clean.mode == "clean" and "resize=pil-bicubic-float-299" in clean.identifier


def test_inception_rejects_a_foreign_state_dict(tmp_path):
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "x.pth")
    with pytest.raises(InputError, match=r"x\.pth: not an FID Inception-v3 state dict: 472 missing keys"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_extractor("inception-fid", weights=tmp_path / "x.pth")
    with pytest.raises(InputError, match=r"`mode` must be one of \['tf', 'clean'\]; got 'bilinear'"):
        get_extractor("inception-fid", weights=tmp_path / "x.pth", mode="bilinear")


# ---------------------------------------------------------------------------------------------
# minilm (optional extra)


@pytest.fixture(scope="module")
def minilm():
    import sys

    # benchmarks/peers.py (used above) installs an inert torchvision that transformers would take for
    # the real one; hide it while sentence-transformers imports
    meta = list(sys.meta_path)
    hidden = {k: sys.modules.pop(k) for k in [m for m in sys.modules if m.split(".")[0] == "torchvision"]}
    sys.meta_path[:] = [f for f in meta if type(f).__name__ != "_InertFinder"]
    try:
        return get_extractor("minilm")
    except InputError as exc:
        pytest.skip(str(exc))
    finally:
        sys.meta_path[:] = meta
        sys.modules.update(hidden)


def test_minilm_missing_extra_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kw):
        if name.startswith("sentence_transformers"):
            raise ImportError("No module named 'sentence_transformers'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InputError, match=r"minilm extractor needs the optional extra `text`: sentence-transformers"):
        get_extractor("minilm")


def test_minilm_embeddings(tmp_path, minilm):
    # published all-MiniLM-L6-v2 embedding of "hello world", first four coordinates
    f, _ = minilm(["hello world"])
    np.testing.assert_allclose(f[0, :4], [-0.0344772, 0.0310232, 0.0067350, 0.0261090], atol=2e-6)
    (tmp_path / "a.txt").write_text("hello world\na cat sat on the mat\n")
    (tmp_path / "b.jsonl").write_text('{"text": "a much longer sentence about generative models and their metrics"}\n')
    a = load_features(tmp_path, extractor="minilm", batch_size=1, cache=False, progress=False)
    b = load_features(tmp_path, extractor="minilm", batch_size=3, cache=False, progress=False)
    assert a.features.shape == (3, 384) and a.samples is None
    np.testing.assert_allclose(np.linalg.norm(a.features, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(a.features, b.features, atol=1e-5)
    np.testing.assert_allclose(a.features[0], f[0], atol=1e-6)
