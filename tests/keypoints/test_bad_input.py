"""Bad input on every proposal path: a RekepError that says what is wrong, or an empty
result with the reason; never a crash inside k-means or open3d."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import FeatureProposer
from keypoints.features import GeometricExtractor
from keypoints.simple import SimpleProposer
from rekep.errors import KeypointError, ObservationError, RekepError
from rekep.observation import RGBD


def _features(source: str = "given") -> FeatureProposer:
    cfg = FeatureProposalConfig(extractor="geometric", annotate=False, mask_source=source)
    return FeatureProposer(cfg, extractor=GeometricExtractor())


def _propose(path: str, rgbd: RGBD, masks):  # type: ignore[no-untyped-def]
    """(keypoints, reason) on one path; reason '' when the path gives none."""
    if path == "simple":
        return SimpleProposer().propose(rgbd, masks), ""
    if path == "segmenter":
        pytest.importorskip("open3d")
        kp, report = _features("segmenter").propose_with_report(rgbd, None)
        return kp, report.reason
    kp, report = _features().propose_with_report(rgbd, masks)
    return kp, report.reason


PATHS = ("simple", "features", "segmenter")


@pytest.mark.parametrize("path", ("simple", "features"))
@pytest.mark.parametrize("masks", [{}, None])
def test_no_masks_is_a_keypoint_error(scene, path, masks):
    with pytest.raises(KeypointError, match=r"no masks|mapping"):
        _propose(path, scene.rgbd, masks)


def test_segmenter_path_rejects_given_masks(scene):
    pytest.importorskip("open3d")
    with pytest.raises(KeypointError, match="segmenter"):
        _features("segmenter").propose(scene.rgbd, scene.masks)


@pytest.mark.parametrize("path", PATHS)
def test_invalid_depth_gives_an_error_or_an_empty_result(scene, path, caplog):
    with pytest.raises(ObservationError, match="no valid pixel"):
        dataclasses.replace(scene.rgbd, depth=np.full_like(scene.rgbd.depth, np.nan))
    depth = scene.rgbd.depth.copy()
    depth[scene.seg != scene.TABLE] = np.nan  # only the table keeps depth
    kp, reason = _propose(path, dataclasses.replace(scene.rgbd, depth=depth), scene.masks)
    assert len(kp) == 0
    if path == "features":
        assert "no valid depth" in reason
    elif path == "segmenter":
        assert "nothing above the support plane" in reason
    else:
        assert "no valid depth" in caplog.text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("size", [(1, 1), (3, 4)])
def test_tiny_images_give_an_empty_result_or_few_keypoints(path, size):
    h, w = size
    rgb = np.full((h, w, 3), 120, dtype=np.uint8)
    depth = np.full((h, w), 0.8, dtype=np.float32)
    K = np.array([[50.0, 0.0, w / 2], [0.0, 50.0, h / 2], [0.0, 0.0, 1.0]])
    rgbd = RGBD(rgb=rgb, depth=depth, intrinsics=K)
    kp, _ = _propose(path, rgbd, {1: np.ones((h, w), dtype=bool)})
    assert len(kp) <= h * w and np.all(np.isfinite(kp.positions))


@pytest.mark.parametrize("path", ("simple", "features"))
def test_masks_of_another_shape_are_rejected(scene, path):
    small = {1: scene.masks[scene.BOX][::2, ::2]}
    with pytest.raises(KeypointError, match="shape"):
        _propose(path, scene.rgbd, small)
    with pytest.raises(KeypointError, match="shape"):
        _features().propose(scene.rgbd, scene.seg[:, :-1])


def test_grayscale_and_nan_intrinsics_are_rejected_at_the_observation(scene):
    gray = scene.rgbd.rgb[..., 0]
    with pytest.raises(ObservationError):
        RGBD(rgb=gray, depth=scene.rgbd.depth, intrinsics=scene.rgbd.intrinsics)
    K = scene.rgbd.intrinsics.copy()
    K[1, 2] = np.nan
    with pytest.raises(RekepError, match="NaN"):
        RGBD(rgb=scene.rgbd.rgb, depth=scene.rgbd.depth, intrinsics=K)
    with pytest.raises(KeypointError, match="grayscale"):
        GeometricExtractor().extract(gray)


@pytest.mark.parametrize("path", PATHS)
def test_same_input_same_keypoints_and_ids_from_the_masks(oblique_scene, path):
    scene = oblique_scene
    a, _ = _propose(path, scene.rgbd, scene.masks)
    b, _ = _propose(path, scene.rgbd, scene.masks)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.object_ids, b.object_ids)
    u, v = a.pixels[:, 0].astype(int), a.pixels[:, 1].astype(int)
    if path == "segmenter":  # segmenter ids: each id sits on one true object
        for obj in np.unique(a.object_ids):
            assert len(set(scene.seg[v, u][a.object_ids == obj].tolist())) == 1
    else:
        np.testing.assert_array_equal(scene.seg[v, u], a.object_ids)
