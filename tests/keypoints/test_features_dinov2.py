"""The DINOv2 extractor with tiny randomly initialized weights, and its offline loader."""

from __future__ import annotations

import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from keypoints.features import (  # noqa: E402
    Dinov2Extractor,
    auto_feature_extractor,
    dinov2_weights_available,
)
from keypoints.features.dinov2 import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    dinov2_config,
    variant_name,
)
from rekep.errors import ConfigurationError, KeypointError  # noqa: E402


@pytest.fixture(scope="module")
def tiny() -> Dinov2Extractor:
    return Dinov2Extractor.tiny(seed=0)


@pytest.fixture()
def offline(monkeypatch):
    """No network: HF offline mode and any socket connection fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the DINOv2 loader tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_features_have_pixel_resolution(tiny):
    rgb = np.random.default_rng(0).integers(0, 256, (50, 73, 3), dtype=np.uint8)
    ex = Dinov2Extractor(tiny.model, short_side=None)
    assert ex.input_size(50, 73) == (56, 70)
    feats = ex.extract(rgb)
    assert feats.shape == (50, 73, 32) and feats.dtype == np.float32
    assert np.all(np.isfinite(feats))
    assert ex.patch_features(rgb).shape == (4, 5, 32)


def test_upsampling_is_bilinear_and_extract_at_agrees(scene, tiny):
    feats = tiny.extract(scene.rgbd)
    assert feats.shape == (480, 640, 32)
    grid = tiny.patch_features(scene.rgbd)
    assert grid.shape == (20, 27, 32)  # short side 280 -> 20 x 27 patches
    # every pixel value lies between the patch features it interpolates
    assert feats.min() >= grid.min() - 1e-5 and feats.max() <= grid.max() + 1e-5
    rows, cols = np.nonzero(scene.masks[scene.TRAY])
    np.testing.assert_allclose(tiny.extract_at(scene.rgbd, rows, cols), feats[rows, cols],
                               atol=1e-5)  # fmt: skip
    # features vary across the image: the patches carry spatial information
    assert np.abs(feats[100, 100] - feats[400, 600]).max() > 1e-3


def test_imagenet_normalization_is_applied(tiny):
    mean_img = np.broadcast_to(np.round(np.array(IMAGENET_MEAN) * 255), (28, 42, 3))
    x = tiny.preprocess(mean_img.astype(np.uint8))
    assert tuple(x.shape) == (1, 3, 280, 420)
    assert float(x.abs().max()) < 0.01
    white = tiny.preprocess(np.full((28, 28, 3), 255, dtype=np.uint8))
    expected = (1.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(white[0, :, 5, 5].numpy(), expected, rtol=1e-5)


def test_random_init_is_deterministic_per_seed(scene):
    a = Dinov2Extractor.tiny(seed=3).patch_features(scene.rgbd)
    b = Dinov2Extractor.tiny(seed=3).patch_features(scene.rgbd)
    c = Dinov2Extractor.tiny(seed=4).patch_features(scene.rgbd)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_real_architecture_configs():
    cfg = dinov2_config("vits14")
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.patch_size) == (
        384, 12, 6, 14,
    )  # fmt: skip
    assert dinov2_config("large").hidden_size == 1024
    assert variant_name("ViT-B/14") == "vitb14" and variant_name("dinov2_vitg14") == "vitg14"
    with pytest.raises(ConfigurationError, match="vits14"):
        variant_name("vit-h/16")


def test_grayscale_input_is_rejected(tiny):
    with pytest.raises(KeypointError, match="grayscale"):
        tiny.extract(np.zeros((28, 28), dtype=np.uint8))


def test_missing_weights_raise_configuration_error_offline(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("REKEP_DINOV2_PATH", str(tmp_path / "empty"))
    assert not dinov2_weights_available()
    with pytest.raises(ConfigurationError, match="REKEP_DINOV2_PATH"):
        Dinov2Extractor.from_pretrained("vits14")
    monkeypatch.delenv("REKEP_DINOV2_PATH")
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    assert not dinov2_weights_available(cache_dir=cache)
    with pytest.raises(ConfigurationError, match="REKEP_DINOV2_PATH"):
        Dinov2Extractor.from_pretrained("small", cache_dir=cache)


def test_local_directory_weights_are_found_and_chosen_automatically(
    tmp_path, monkeypatch, offline, tiny, scene
):
    folder = tmp_path / "dinov2-small"
    tiny.model.save_pretrained(folder)
    monkeypatch.setenv("REKEP_DINOV2_PATH", str(tmp_path))  # parent folder works too
    assert dinov2_weights_available("vits14")
    loaded = auto_feature_extractor()
    assert isinstance(loaded, Dinov2Extractor) and loaded.dim == 32
    np.testing.assert_allclose(loaded.patch_features(scene.rgbd), tiny.patch_features(scene.rgbd),
                               atol=1e-5)  # fmt: skip


def test_bad_short_side():
    with pytest.raises(ConfigurationError, match="short_side"):
        Dinov2Extractor(object(), short_side=5)


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 30, 3)])
def test_tiny_images_still_give_pixel_features(tiny, shape):
    rgb = np.full(shape, 90, dtype=np.uint8)
    feats = tiny.extract(rgb)
    assert feats.shape == (*shape[:2], 32) and np.all(np.isfinite(feats))
