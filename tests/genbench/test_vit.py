"""dinov2-vitl14 and clip-vitl14-336: weights lookup, ids, and parity with transformers on random weights."""

import numpy as np
import pytest
import torch

from genbench.extractors import get_extractor
from genbench.extractors import vit
from genbench.extractors._vit_testing import hf_clip, hf_dinov2, random_clip_state, random_dinov2_state
from metrics.errors import InputError


def _transformers():
    """Import transformers' reference models, or skip. The inert torchvision stand-in that
    benchmarks/peers.py may have installed (for other tests) is hidden meanwhile: transformers
    probes torchvision's version at import and fails on the stand-in."""
    import sys

    finders = [f for f in sys.meta_path if type(f).__name__ == "_InertFinder"]
    saved = {n: m for n, m in sys.modules.items() if n == "torchvision" or n.startswith("torchvision.")}
    for f in finders:
        sys.meta_path.remove(f)
    for n in saved:
        del sys.modules[n]
    try:
        tf = pytest.importorskip("transformers")
        from transformers import CLIPVisionModelWithProjection, Dinov2Model  # noqa: F401  (load them now)
        return tf
    finally:
        sys.meta_path[:0] = finders
        sys.modules.update(saved)


def _images(n, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture
def tiny_size(monkeypatch):
    """Reduced networks: a 2 x 2 patch grid, i.e. 28-px inputs, for both extractors."""
    monkeypatch.setattr(vit.DINOv2ViTL14, "input_size", 28)
    monkeypatch.setattr(vit.CLIPViTL14336, "input_size", 28)


@pytest.fixture
def weights(tmp_path):
    torch.save(random_dinov2_state(), tmp_path / vit.DINOV2_FILE)
    torch.save(random_clip_state(), tmp_path / vit.CLIP_FILE)
    return tmp_path


def _batch(ext, imgs):
    return np.stack([ext.prepare(i) for i in imgs])


def test_missing_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("GENBENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    with pytest.raises(InputError, match=r"dinov2-vitl14 needs the weights file dinov2_vitl14_pretrain\.pth; "
                                         r"not found at: .*w/dinov2_vitl14_pretrain\.pth; .*th/hub/checkpoints/"
                                         r"dinov2_vitl14_pretrain\.pth\. genbench never downloads\. Fetch "
                                         r"https://dl\.fbaipublicfiles\.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain"
                                         r"\.pth on a machine with internet and put it in a directory named by "
                                         r"\$GENBENCH_WEIGHTS_DIR or in torch hub's checkpoints folder, or pass "
                                         r"--weights PATH"):
        get_extractor("dinov2-vitl14")
    with pytest.raises(InputError, match=r"clip-vitl14-336 needs the weights file ViT-L-14-336px\.pt; not found at: "
                                         r".*\.cache/clip/ViT-L-14-336px\.pt\. genbench never downloads\. Fetch "
                                         r"https://openaipublic\.azureedge\.net/clip/models/3035c92b"):
        get_extractor("clip-vitl14-336")


def test_weights_found_in_env_dir_and_torch_hub(tmp_path, weights, monkeypatch):
    monkeypatch.setenv("GENBENCH_WEIGHTS_DIR", str(weights))
    a = get_extractor("dinov2-vitl14")
    monkeypatch.delenv("GENBENCH_WEIGHTS_DIR")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    (tmp_path / "th" / "hub" / "checkpoints").mkdir(parents=True)
    (weights / vit.DINOV2_FILE).rename(tmp_path / "th" / "hub" / "checkpoints" / vit.DINOV2_FILE)
    b = get_extractor("dinov2-vitl14")
    assert a.identifier == b.identifier


def test_identifiers_carry_hash_and_preprocessing(weights):
    from genbench.cache import file_sha256

    d = get_extractor("dinov2-vitl14", weights=weights)
    h = file_sha256(weights / vit.DINOV2_FILE)[:16]
    assert d.identifier == (f"dinov2-vitl14(weights=sha256:{h},resize=pil-bicubic-224,normalise=imagenet,"
                            "features=cls)")
    with pytest.warns(vit.WeightsWarning, match="not OpenAI's 3035c92b35095992"):
        c = get_extractor("clip-vitl14-336", weights=weights / vit.CLIP_FILE)
    h = file_sha256(weights / vit.CLIP_FILE)[:16]
    assert c.identifier == (f"clip-vitl14-336(weights=sha256:{h},resize=center-crop+pil-bicubic-336,"
                            "normalise=clip,features=image-embeds-l2)")


def test_bad_files_and_options(tmp_path, weights):
    torch.save(random_clip_state(), tmp_path / "clip_as_dino.pth")
    with pytest.raises(InputError, match=r"clip_as_dino\.pth: not a DINOv2 ViT state dict \(missing 'cls_token'\)"):
        get_extractor("dinov2-vitl14", weights=tmp_path / "clip_as_dino.pth")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.pt: cannot read as a torch state dict or TorchScript archive"):
        get_extractor("dinov2-vitl14", weights=tmp_path / "junk.pt")
    with pytest.raises(InputError, match=r"`pooling` must be one of \['cls', 'cls\+patchmean'\]; got 'mean'"):
        get_extractor("dinov2-vitl14", weights=weights, pooling="mean")


def test_preprocessing():
    img = _images(1, 30, 50)[0]
    sq = vit.center_square(img)
    assert sq.shape == (30, 30, 3) and np.array_equal(sq, img[:, 10:40])


def test_dinov2_parity_with_transformers(weights, tiny_size):
    _transformers()
    state = random_dinov2_state()
    ref = hf_dinov2(state, image_size=28)
    ext = get_extractor("dinov2-vitl14", weights=weights, pooling="cls+patchmean")
    imgs = _images(6, 40, 33)
    batch = _batch(ext, imgs)
    ours, probs = ext(batch)
    assert probs is None and ours.shape == (6, 256)
    with torch.no_grad():
        x = vit._normalised_batch(batch, vit.IMAGENET_MEAN, vit.IMAGENET_STD)
        out = ref(pixel_values=x)
    theirs = torch.cat([out.pooler_output, out.last_hidden_state[:, 1:].mean(1)], 1).numpy()
    scale = np.abs(theirs).max()
    assert np.abs(ours - theirs).max() <= 1e-5 * scale
    cls_only, _ = get_extractor("dinov2-vitl14", weights=weights)(batch)
    np.testing.assert_array_equal(cls_only, ours[:, :128])
    # batch-size independence (one image at a time)
    one = np.concatenate([ext(batch[i:i + 1])[0] for i in range(6)])
    assert np.abs(one - ours).max() <= 1e-5 * scale


def test_clip_parity_with_transformers(weights, tiny_size):
    _transformers()
    ref = hf_clip(random_clip_state())
    with pytest.warns(vit.WeightsWarning):
        ext = get_extractor("clip-vitl14-336", weights=weights)
    batch = _batch(ext, _images(6, 28, 40))
    ours, _ = ext(batch)
    with torch.no_grad():
        e = ref(pixel_values=vit._normalised_batch(batch, vit.CLIP_MEAN, vit.CLIP_STD)).image_embeds.double()
    theirs = (e / e.norm(dim=1, keepdim=True)).numpy()
    assert ours.shape == (6, 64)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-12)
    assert np.abs(ours - theirs).max() <= 1e-5  # unit vectors: scale 1


def test_dinov2_position_embedding_interpolation(weights, monkeypatch):
    """A 2 x 2 checkpoint grid at a 4 x 4 input: DINOv2's bicubic with the 0.1 scale offset."""
    from torch.nn import functional as F

    ext = get_extractor("dinov2-vitl14", weights=weights)
    pos = ext.net.pos_embed
    grid = pos[:, 1:].reshape(1, 2, 2, -1).permute(0, 3, 1, 2)
    want = F.interpolate(grid, scale_factor=(4.1 / 2, 4.1 / 2), mode="bicubic", antialias=False)
    got = ext.net.pos(4, 4)
    assert got.shape == (1, 17, 128)
    torch.testing.assert_close(got[:, 1:], want.permute(0, 2, 3, 1).reshape(1, 16, -1), rtol=0, atol=0)
    monkeypatch.setattr(vit.DINOv2ViTL14, "input_size", 56)
    f, _ = ext(_batch(ext, _images(2, 56, 56)))  # runs end to end at the interpolated grid
    assert f.shape == (2, 128) and np.isfinite(f).all()


def test_through_the_loader(tmp_path, weights, tiny_size, monkeypatch):
    from PIL import Image

    from genbench.features import load_features

    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "imgs"
    d.mkdir()
    for i, im in enumerate(_images(5, 20, 20)):
        Image.fromarray(im).save(d / f"{i}.png")
    fs = load_features(d, extractor="dinov2-vitl14", weights=str(weights))
    assert fs.features.shape == (5, 128) and fs.extractor.startswith("dinov2-vitl14(weights=sha256:")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["dinov2", "clip"])
def test_full_size_vitl14_parity_with_transformers(which):
    """The real ViT-L/14 configurations (1024 wide, 24 blocks) with random weights, against transformers."""
    _transformers()
    rng = np.random.default_rng(1)
    if which == "dinov2":
        state = random_dinov2_state(dim=1024, depth=24, grid=16)
        ours, ref = vit.build_dinov2(state), hf_dinov2(state, image_size=224)
        x = vit._normalised_batch(_images(2, 224, 224), vit.IMAGENET_MEAN, vit.IMAGENET_STD)
        with torch.no_grad():
            a = torch.cat(ours(x), 1).numpy()
            o = ref(pixel_values=x)
            b = torch.cat([o.pooler_output, o.last_hidden_state[:, 1:].mean(1)], 1).numpy()
    else:
        state = random_clip_state(dim=1024, depth=24, grid=24, out_dim=768)
        ours, ref = vit.build_clip_visual(state), hf_clip(state)
        x = vit._normalised_batch(_images(2, 336, 336), vit.CLIP_MEAN, vit.CLIP_STD)
        with torch.no_grad():
            a, b = ours(x).numpy(), ref(pixel_values=x).image_embeds.numpy()
    del rng
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
