"""The feature-clustering proposer (geometric features unless stated) on synthetic scenes."""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import pytest

from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import FeatureProposer
from keypoints.features import GeometricExtractor
from keypoints.proposer import PROPOSERS, Proposer, get_proposer
from rekep.errors import ConfigurationError, KeypointError, RekepError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD

VIEWS = {
    "top_down": ((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),
    "front_oblique": ((0.0, -0.55, 0.85), (0.0, 0.0, 0.0)),
    "diagonal": ((0.4, -0.4, 0.7), (0.0, 0.0, 0.0)),
}


def _proposer(**kwargs) -> FeatureProposer:
    cfg = FeatureProposalConfig(extractor="geometric", annotate=False, **kwargs)
    return FeatureProposer(cfg, extractor=GeometricExtractor())


def _assert_consistent(kp: Keypoints, rgbd: RGBD, seg: np.ndarray) -> None:
    u, v = kp.pixels[:, 0].astype(int), kp.pixels[:, 1].astype(int)
    np.testing.assert_array_equal(kp.pixels, np.stack([u, v], axis=1))
    np.testing.assert_array_equal(seg[v, u], kp.object_ids)
    np.testing.assert_allclose(kp.positions, rgbd.points_world()[v, u], atol=1e-9)
    rows_cols = [(p[1], p[0]) for p in kp.pixels.tolist()]
    assert rows_cols == sorted(rows_cols)


def test_registered_and_builds_from_the_registry(scene):
    assert "features" in PROPOSERS and "simple" in PROPOSERS
    proposer = get_proposer("features", config=FeatureProposalConfig(annotate=False),
                            extractor=GeometricExtractor())  # fmt: skip
    assert isinstance(proposer, Proposer)
    assert len(proposer.propose(scene.rgbd, scene.masks)) > 0


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_keypoints_lie_on_their_objects_sorted_by_row_then_column(view, scene_factory):
    scene = scene_factory(*VIEWS[view])
    cfg = FeatureProposalConfig()
    kp, report = _proposer().propose_with_report(scene.rgbd, scene.masks)
    _assert_consistent(kp, scene.rgbd, scene.seg)
    assert set(kp.object_ids.tolist()) == {scene.BOX, scene.TRAY}
    assert 2 <= len(kp) <= 2 * (cfg.k + 1 + cfg.extremes) and report.reason == ""
    assert report.candidates >= len(kp) and set(report.timings_ms) >= {"features", "clusters"}


def test_deterministic_and_independent_of_mask_order(oblique_scene):
    scene, p = oblique_scene, _proposer()
    a = p.propose(scene.rgbd, scene.masks)
    b = p.propose(scene.rgbd, dict(reversed(list(scene.masks.items()))))
    c = _proposer().propose(scene.rgbd, scene.masks)
    for x, y in ((a, b), (a, c)):
        np.testing.assert_array_equal(x.positions, y.positions)
        np.testing.assert_array_equal(x.object_ids, y.object_ids)


def test_object_ids_are_the_mask_ids(scene):
    masks = {7: scene.masks[scene.BOX], 42: scene.masks[scene.TRAY]}
    kp = _proposer().propose(scene.rgbd, masks)
    assert set(kp.object_ids.tolist()) == {7, 42}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_centre_candidates_find_the_box_top_and_tray_floor_centres(view, scene_factory):
    scene = scene_factory(*VIEWS[view])
    kp = _proposer().propose(scene.rgbd, scene.masks)
    for obj, point in ((scene.BOX, scene.box_top_centre), (scene.TRAY, scene.tray_floor_centre)):
        d = np.linalg.norm(kp.positions[kp.object_ids == obj] - point, axis=1)
        assert d.min() < 0.03, (obj, d.min())


def test_extremes_reach_the_far_ends_of_each_object(oblique_scene):
    scene = oblique_scene
    kp = _proposer(k=1, centre=False, extremes=4, merge_radius=0.0, top_face=False).propose(
        scene.rgbd, scene.masks
    )
    without = _proposer(k=1, centre=False, extremes=0, merge_radius=0.0, top_face=False).propose(
        scene.rgbd, scene.masks
    )
    points = scene.rgbd.points_world()
    for obj in (scene.BOX, scene.TRAY):
        pts = points[scene.masks[obj] & scene.rgbd.valid_depth()]
        spread = np.linalg.norm(pts - pts.mean(0), axis=1).max()
        mine = kp.positions[kp.object_ids == obj]
        assert 3 <= len(mine) <= 5  # k-means representative + up to 4 extremities
        far = np.linalg.norm(mine - pts.mean(0), axis=1).max()
        assert far > 0.9 * spread  # the farthest point of the object is a keypoint
        assert len(without.positions[without.object_ids == obj]) == 1


def test_more_clusters_give_more_candidates(oblique_scene):
    p1 = _proposer(k=1, merge_radius=0.0, centre=False, extremes=0, top_face=False)
    p8 = _proposer(k=8, merge_radius=0.0, centre=False, extremes=0, top_face=False)
    assert len(p1.propose(oblique_scene.rgbd, oblique_scene.masks)) == 2
    assert len(p8.propose(oblique_scene.rgbd, oblique_scene.masks)) > 8


def test_dbscan_merging_leaves_keypoints_of_one_object_apart(oblique_scene):
    scene, radius = oblique_scene, 0.04
    unmerged = _proposer(k=8, merge_radius=0.0).propose(scene.rgbd, scene.masks)
    merged = _proposer(k=8, merge_radius=radius, merge_method="dbscan").propose(
        scene.rgbd, scene.masks
    )
    assert len(merged) < len(unmerged)
    for obj_id in (scene.BOX, scene.TRAY):
        pts = merged.positions[merged.object_ids == obj_id]
        d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        assert np.all(d[~np.eye(len(pts), dtype=bool)] >= radius)
    originals = {tuple(p) for p in unmerged.positions.tolist()}
    assert all(tuple(p) in originals for p in merged.positions.tolist())


def test_meanshift_merging_reduces_and_never_mixes_objects(oblique_scene):
    scene = oblique_scene
    kp, report = _proposer(k=8, merge_radius=1.0).propose_with_report(scene.rgbd, scene.masks)
    assert sorted(kp.object_ids.tolist()) == [scene.BOX, scene.TRAY]
    assert report.merged_away == report.candidates - 2


def test_workspace_filter(scene, caplog):
    kp = _proposer(workspace_min=(0.0, -1.0, -1.0), workspace_max=(1.0, 1.0, 1.0)).propose(
        scene.rgbd, scene.masks
    )
    assert len(kp) > 0 and set(kp.object_ids.tolist()) == {scene.BOX}
    far = _proposer(workspace_min=(2.0, 2.0, 2.0), workspace_max=(3.0, 3.0, 3.0))
    with caplog.at_level(logging.WARNING, logger="keypoints.feature_proposer"):
        kp, report = far.propose_with_report(scene.rgbd, scene.masks)
    assert len(kp) == 0 and "outside the workspace" in report.reason
    assert "outside the workspace" in caplog.text


def test_cap_lets_every_object_keep_a_keypoint(scene):
    kp, report = _proposer(k=6, max_keypoints=2).propose_with_report(scene.rgbd, scene.masks)
    assert sorted(kp.object_ids.tolist()) == [scene.BOX, scene.TRAY] and report.capped > 0


def test_background_of_a_segmentation_image_is_dropped(scene):
    kp, report = _proposer().propose_with_report(scene.rgbd, scene.seg)
    assert set(kp.object_ids.tolist()) == {scene.BOX, scene.TRAY}
    assert "background-sized" in report.masks_dropped[scene.TABLE]


def test_annotated_image(scene):
    pytest.importorskip("cv2")
    p = FeatureProposer(FeatureProposalConfig(extractor="geometric"))
    kp = p.propose(scene.rgbd, scene.masks)
    assert kp.annotated_image is not None and kp.annotated_image.shape == scene.rgbd.rgb.shape
    assert np.any(kp.annotated_image != scene.rgbd.rgb)


def test_with_the_segmenter_as_mask_source(oblique_scene):
    pytest.importorskip("open3d")
    scene = oblique_scene
    kp = _proposer(mask_source="segmenter").propose(scene.rgbd)
    u, v = kp.pixels[:, 0].astype(int), kp.pixels[:, 1].astype(int)
    assert len(kp) >= 2 and set(scene.seg[v, u].tolist()) == {scene.BOX, scene.TRAY}


def test_with_tiny_dinov2_features(oblique_scene):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from keypoints.features import Dinov2Extractor

    scene = oblique_scene
    cfg = FeatureProposalConfig(annotate=False)
    kp = FeatureProposer(cfg, extractor=Dinov2Extractor.tiny()).propose(scene.rgbd, scene.masks)
    _assert_consistent(kp, scene.rgbd, scene.seg)
    assert set(kp.object_ids.tolist()) == {scene.BOX, scene.TRAY}


# ----------------------------------------------------------------------------- bad input


def test_no_masks_or_malformed_masks_raise(scene):
    p = _proposer()
    with pytest.raises(KeypointError, match="no masks"):
        p.propose(scene.rgbd, {})
    with pytest.raises(KeypointError, match="no masks"):
        p.propose(scene.rgbd, None)
    with pytest.raises(KeypointError, match="shape"):
        p.propose(scene.rgbd, {1: scene.masks[scene.BOX][:-1]})
    with pytest.raises(KeypointError, match="boolean"):
        p.propose(scene.rgbd, {1: scene.masks[scene.BOX].astype(np.uint8)})
    with pytest.raises(KeypointError, match="RGBD"):
        p.propose(scene.rgbd.rgb, scene.masks)  # type: ignore[arg-type]


def test_all_invalid_depth_inside_masks_gives_empty_result_with_reason(scene):
    depth = scene.rgbd.depth.copy()
    depth[scene.masks[scene.BOX] | scene.masks[scene.TRAY]] = np.nan
    kp, report = _proposer().propose_with_report(
        dataclasses.replace(scene.rgbd, depth=depth), scene.masks
    )
    assert len(kp) == 0 and "no valid depth" in report.reason


def _tiny_rgbd(h: int, w: int, gray: bool = False) -> RGBD:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if gray:
        rgb[:] = rgb[..., :1]
    depth = (0.8 + 0.01 * rng.random((h, w))).astype(np.float32)
    K = np.array([[50.0, 0.0, w / 2], [0.0, 50.0, h / 2], [0.0, 0.0, 1.0]])
    return RGBD(rgb=rgb, depth=depth, intrinsics=K)


def test_tiny_images_give_empty_result_or_few_keypoints():
    rgbd = _tiny_rgbd(4, 4)
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    kp, report = _proposer().propose_with_report(rgbd, {1: mask})
    assert len(kp) == 0 and "too small" in report.reason
    kp = _proposer(min_mask_area_px=1, k=10, max_mask_fraction=1.0).propose(rgbd, {1: mask})
    assert 1 <= len(kp) <= 4
    one = np.zeros((4, 4), dtype=bool)
    one[2, 3] = True
    kp = _proposer(min_mask_area_px=1).propose(rgbd, {5: one})
    assert kp.pixels.tolist() == [[3.0, 2.0]] and kp.object_ids.tolist() == [5]


def test_grayscale_images():
    rgbd = _tiny_rgbd(40, 60, gray=True)
    mask = np.zeros((40, 60), dtype=bool)
    mask[10:30, 10:40] = True
    kp = _proposer().propose(rgbd, {1: mask})
    assert len(kp) >= 1 and np.all(np.isfinite(kp.positions))
    with pytest.raises(RekepError, match="rgb"):
        RGBD(rgb=rgbd.rgb[..., 0], depth=rgbd.depth, intrinsics=rgbd.intrinsics)


def test_nan_intrinsics_are_rejected_before_proposal(scene):
    K = scene.rgbd.intrinsics.copy()
    K[0, 0] = np.nan
    with pytest.raises(RekepError, match="NaN"):
        RGBD(rgb=scene.rgbd.rgb, depth=scene.rgbd.depth, intrinsics=K)


def test_extractor_returning_nan_is_reported(scene):
    class Broken(GeometricExtractor):
        def extract_at(self, image, rows, cols):
            return np.full((len(np.asarray(rows)), 10), np.nan, dtype=np.float32)

    p = FeatureProposer(FeatureProposalConfig(annotate=False), extractor=Broken())
    with pytest.raises(KeypointError, match="NaN"):
        p.propose(scene.rgbd, scene.masks)


@pytest.mark.parametrize(
    "kwargs",
    [{"k": 0}, {"k": 2.5}, {"pca_dims": 0}, {"merge_method": "kmeans"},
     {"merge_radius": -0.1}, {"merge_radius": math.inf}, {"mask_source": "sam"},
     {"max_keypoints": 0}, {"max_mask_fraction": 0.0}, {"min_mask_area_px": True},
     {"workspace_min": (0, 0, 1), "workspace_max": (1, 1, 1)}, {"extractor": ""},
     {"max_samples_per_mask": 1}, {"position_weight": -1.0}, {"seed": 1.5},
     {"extremes": -1}, {"extremes": 1.5}, {"centre": 1}, {"top_face": 1},
     {"top_band": -0.01}, {"spine_spacing": math.nan}],
)  # fmt: skip
def test_bad_config(kwargs):
    with pytest.raises(ConfigurationError):
        FeatureProposalConfig(**kwargs)


def test_bad_constructor_arguments():
    with pytest.raises(ConfigurationError, match="FeatureProposalConfig"):
        FeatureProposer({"k": 3})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="FeatureExtractor"):
        FeatureProposer(extractor="geometric")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="valid names"):
        FeatureProposer(FeatureProposalConfig(extractor="sift"))
