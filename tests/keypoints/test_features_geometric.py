"""The weight-free geometric feature extractor and the extractor registry."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from keypoints.features import (
    FEATURE_EXTRACTORS,
    FeatureExtractor,
    GeometricConfig,
    GeometricExtractor,
    auto_feature_extractor,
    get_feature_extractor,
    rgb_to_lab,
)
from keypoints.features import registry as registry_module
from rekep.errors import ConfigurationError, KeypointError
from rekep.observation import RGBD

K = np.array([[500.0, 0.0, 79.5], [0.0, 500.0, 59.5], [0.0, 0.0, 1.0]])


def _plane_rgbd(normal_cam: np.ndarray, distance: float = 0.8) -> RGBD:
    """A 120x160 view of the plane {p : n.p = -distance} (camera frame), camera rotated."""
    n = normal_cam / np.linalg.norm(normal_cam)
    u, v = np.meshgrid(np.arange(160.0), np.arange(120.0))
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    depth = -distance / (rays @ n)  # z of the ray's hit: n.(z * ray) = -distance
    angle = 0.4
    T = np.eye(4)
    T[:3, :3] = [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    T[:3, 3] = [0.1, -0.2, 1.0]
    rgb = np.full((120, 160, 3), 128, dtype=np.uint8)
    return RGBD(rgb=rgb, depth=depth.astype(np.float32), intrinsics=K, T_world_camera=T)


@pytest.mark.parametrize("normal", [(0.0, 0.0, -1.0), (0.3, -0.2, -1.0), (-0.5, 0.4, -0.8)])
def test_normals_of_a_plane_point_along_its_normal_and_curvature_is_zero(normal):
    rgbd = _plane_rgbd(np.array(normal))
    feats = GeometricExtractor().extract(rgbd)
    expected = rgbd.T_world_camera[:3, :3] @ (np.array(normal) / np.linalg.norm(normal))
    inner = feats[5:-5, 5:-5]
    cos = inner[..., 3:6].reshape(-1, 3) @ expected
    assert cos.min() > 0.999  # unit, world frame, towards the camera
    assert np.abs(inner[..., 6]).max() < 1e-3
    np.testing.assert_allclose(inner[..., 7:10], rgbd.points_world()[5:-5, 5:-5], atol=1e-5)


def test_shapes_dtype_and_finite(oblique_scene):
    feats = GeometricExtractor().extract(oblique_scene.rgbd)
    assert feats.shape == (480, 640, 10) and feats.dtype == np.float32
    assert np.all(np.isfinite(feats))


def test_curvature_marks_the_box_edges(scene):
    feats = GeometricExtractor().extract(scene.rgbd)
    box = scene.masks[scene.BOX]
    rows, cols = np.nonzero(box)
    interior = feats[(rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2, 6]
    edge = feats[rows.min(), (cols.min() + cols.max()) // 2, 6]
    assert interior < 0.01 and edge > 0.1


def test_extract_at_equals_extract_at_those_pixels(oblique_scene):
    ex = GeometricExtractor()
    full = ex.extract(oblique_scene.rgbd)
    rng = np.random.default_rng(1)
    rows = np.concatenate([rng.integers(100, 300, 200), [0, 479, 0, 479]])
    cols = np.concatenate([rng.integers(200, 400, 200), [0, 639, 639, 0]])
    np.testing.assert_allclose(ex.extract_at(oblique_scene.rgbd, rows, cols), full[rows, cols],
                               atol=1e-6)  # fmt: skip
    mask = oblique_scene.masks[oblique_scene.BOX]
    r, c = np.nonzero(mask)
    np.testing.assert_allclose(ex.extract_at(oblique_scene.rgbd, r, c), full[r, c], atol=1e-6)


def test_lab_of_known_colours():
    lab = rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], dtype=np.uint8))
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=0.05)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)


def test_plain_rgb_gets_colour_only_and_invalid_depth_gets_no_geometry(scene):
    ex = GeometricExtractor()
    rgb_only = ex.extract(scene.rgbd.rgb)
    assert rgb_only.shape == (480, 640, 10) and np.all(rgb_only[..., 3:] == 0)
    np.testing.assert_allclose(rgb_only[..., :3], ex.extract(scene.rgbd)[..., :3])
    depth = scene.rgbd.depth.copy()
    depth[:100] = np.nan
    feats = ex.extract(dataclasses.replace(scene.rgbd, depth=depth))
    assert np.all(feats[:100, :, 3:] == 0) and np.all(np.isfinite(feats))


def test_weights_scale_the_channel_groups(scene):
    base = GeometricExtractor().extract_at(scene.rgbd, [200, 240], [300, 320])
    cfg = GeometricConfig(color_weight=2.0, normal_weight=0.0, position_weight=10.0)
    scaled = GeometricExtractor(cfg).extract_at(scene.rgbd, [200, 240], [300, 320])
    np.testing.assert_allclose(scaled[:, :3], 2 * base[:, :3], rtol=1e-6)
    assert np.all(scaled[:, 3:6] == 0)
    np.testing.assert_allclose(scaled[:, 7:], 10 * base[:, 7:], rtol=1e-6)


@pytest.mark.parametrize(
    "image",
    [np.zeros((20, 30), np.uint8), np.zeros((20, 30, 1), np.uint8), np.zeros((20, 30, 3))],
)
def test_grayscale_or_float_images_are_rejected_clearly(image):
    with pytest.raises(KeypointError, match="RGB"):
        GeometricExtractor().extract(image)


def test_pixels_outside_the_image_are_rejected(scene):
    with pytest.raises(KeypointError, match="outside"):
        GeometricExtractor().extract_at(scene.rgbd, [480], [0])


@pytest.mark.parametrize(
    "kwargs", [{"color_weight": -1.0}, {"normal_weight": float("nan")}, {"normal_step": 0},
               {"curvature_window": 2.5}],
)  # fmt: skip
def test_bad_geometric_config(kwargs):
    with pytest.raises(ConfigurationError):
        GeometricConfig(**kwargs)


def test_registry_errors_name_the_valid_extractors():
    assert isinstance(get_feature_extractor("geometric"), GeometricExtractor)
    with pytest.raises(ConfigurationError, match=r"valid names: .*geometric"):
        get_feature_extractor("sift")
    with pytest.raises(ConfigurationError, match="does not accept"):
        get_feature_extractor("geometric", bandwidth=3)
    assert {"auto", "geometric", "dinov2"} <= set(FEATURE_EXTRACTORS)


def test_auto_falls_back_to_geometric_with_one_notice(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("REKEP_DINOV2_PATH", str(tmp_path / "no-weights-here"))
    monkeypatch.setattr(registry_module, "_notice_given", False)
    with caplog.at_level(logging.WARNING, logger="keypoints.features.registry"):
        first = auto_feature_extractor()
        second = get_feature_extractor("auto")
    assert isinstance(first, GeometricExtractor) and isinstance(second, FeatureExtractor)
    notices = [r for r in caplog.records if "REKEP_DINOV2_PATH" in r.getMessage()]
    assert len(notices) == 1 and "\n" not in notices[0].getMessage()


def test_default_extract_at_indexes_the_full_features(scene):
    class RowCol(FeatureExtractor):
        name = "rowcol"

        @property
        def dim(self) -> int:
            return 2

        def extract(self, image):
            h, w = np.asarray(image).shape[:2]
            rows, cols = np.mgrid[0:h, 0:w]
            return np.stack([rows, cols], axis=-1).astype(np.float32)

    got = RowCol().extract_at(scene.rgbd.rgb, [3, 470], [600, 2])
    np.testing.assert_array_equal(got, [[3, 600], [470, 2]])
    assert "rowcol" in repr(RowCol())
