"""The weight-free geometric proposer on analytically rendered RGB-D scenes."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from keypoints.config import ProposalConfig
from keypoints.masks import masks_from_segmentation
from keypoints.simple import propose_keypoints
from rekep.errors import KeypointError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD

VIEWS = {
    "top_down": ((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),
    "front_oblique": ((0.0, -0.55, 0.85), (0.0, 0.0, 0.0)),
    "diagonal": ((0.4, -0.4, 0.7), (0.0, 0.0, 0.0)),
}


def _nearest_distance(kp: Keypoints, obj_id: int, point: np.ndarray) -> float:
    mine = kp.positions[kp.object_ids == obj_id]
    return float(np.linalg.norm(mine - point, axis=1).min())


def _with_depth(rgbd: RGBD, depth: np.ndarray) -> RGBD:
    return dataclasses.replace(rgbd, depth=depth.astype(np.float32))


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_keypoints_on_box_top_centre_and_tray_floor_centre(view, scene_factory):
    scene = scene_factory(*VIEWS[view])
    kp = propose_keypoints(scene.rgbd, scene.masks)
    assert _nearest_distance(kp, scene.BOX, scene.box_top_centre) < 0.01
    assert _nearest_distance(kp, scene.TRAY, scene.tray_floor_centre) < 0.01


def test_count_within_bounds_and_every_object_represented(scene):
    cfg = ProposalConfig()
    kp = propose_keypoints(scene.rgbd, scene.masks, cfg)
    assert 2 <= len(kp) <= min(cfg.max_keypoints, 2 * cfg.per_mask)
    assert set(kp.object_ids.tolist()) == {scene.BOX, scene.TRAY}


def test_object_ids_pixels_and_positions_are_consistent(oblique_scene):
    scene = oblique_scene
    kp = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=7))
    world = scene.rgbd.points_world()
    u, v = kp.pixels[:, 0].astype(int), kp.pixels[:, 1].astype(int)
    np.testing.assert_array_equal(kp.pixels, np.stack([u, v], axis=1))
    np.testing.assert_array_equal(scene.seg[v, u], kp.object_ids)
    np.testing.assert_allclose(kp.positions, world[v, u])


def test_deterministic_and_independent_of_mask_order(oblique_scene):
    scene = oblique_scene
    a = propose_keypoints(scene.rgbd, scene.masks)
    b = propose_keypoints(scene.rgbd, dict(reversed(list(scene.masks.items()))))
    for x, y in ((a, b), (a, propose_keypoints(scene.rgbd, scene.masks))):
        np.testing.assert_array_equal(x.positions, y.positions)
        np.testing.assert_array_equal(x.pixels, y.pixels)
        np.testing.assert_array_equal(x.object_ids, y.object_ids)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_sorted_by_pixel_row_then_column(view, scene_factory):
    scene = scene_factory(*VIEWS[view])
    kp = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=7, merge_radius=0.0))
    rows_cols = [(p[1], p[0]) for p in kp.pixels.tolist()]
    assert rows_cols == sorted(rows_cols)
    assert len(kp) > 4  # the check above is not vacuous


def test_merging_separates_keypoints_of_one_object(oblique_scene):
    scene = oblique_scene
    cfg = ProposalConfig(per_mask=7, merge_radius=0)
    unmerged = propose_keypoints(scene.rgbd, scene.masks, cfg)
    radius = 0.05
    merged = propose_keypoints(
        scene.rgbd, scene.masks, ProposalConfig(per_mask=7, merge_radius=radius)
    )
    assert len(merged) < len(unmerged)
    for obj_id in (scene.BOX, scene.TRAY):
        pts = merged.positions[merged.object_ids == obj_id]
        d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        assert np.all(d[~np.eye(len(pts), dtype=bool)] >= radius)
    # merged keypoints are a subset of the unmerged candidates (observed points, not averages)
    unmerged_rows = {tuple(p) for p in unmerged.positions.tolist()}
    assert all(tuple(p) in unmerged_rows for p in merged.positions.tolist())


def test_huge_merge_radius_leaves_the_centre_of_each_object(scene):
    kp = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=7, merge_radius=1.0))
    assert sorted(kp.object_ids.tolist()) == [scene.BOX, scene.TRAY]
    assert _nearest_distance(kp, scene.BOX, scene.box_top_centre) < 0.01
    assert _nearest_distance(kp, scene.TRAY, scene.tray_floor_centre) < 0.01


def test_per_mask_one_gives_one_keypoint_per_object(scene):
    kp = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=1))
    assert sorted(kp.object_ids.tolist()) == [scene.BOX, scene.TRAY]


def test_workspace_filter_drops_outside_candidates(scene):
    cfg = ProposalConfig(workspace_min=(0.0, -1.0, -1.0), workspace_max=(1.0, 1.0, 1.0))
    kp = propose_keypoints(scene.rgbd, scene.masks, cfg)
    assert len(kp) > 0 and set(kp.object_ids.tolist()) == {scene.BOX}  # the tray lies at x < 0
    assert np.all(kp.positions[:, 0] >= 0.0)


def test_workspace_excluding_everything_gives_empty_keypoints(scene, caplog):
    cfg = ProposalConfig(workspace_min=(2.0, 2.0, 2.0), workspace_max=(3.0, 3.0, 3.0))
    with caplog.at_level(logging.WARNING, logger="keypoints.simple"):
        kp = propose_keypoints(scene.rgbd, scene.masks, cfg)
    assert len(kp) == 0 and kp.positions.shape == (0, 3)
    assert "outside the workspace" in caplog.text


def test_cap_keeps_every_object_centre_first(scene):
    kp = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(per_mask=7, max_keypoints=2))
    assert sorted(kp.object_ids.tolist()) == [scene.BOX, scene.TRAY]
    assert _nearest_distance(kp, scene.BOX, scene.box_top_centre) < 0.01


def test_background_mask_from_segmentation_gets_no_keypoints(scene):
    kp = propose_keypoints(scene.rgbd, masks_from_segmentation(scene.seg))
    assert set(kp.object_ids.tolist()) == {scene.BOX, scene.TRAY}


@pytest.mark.parametrize("bad_value", [np.nan, 0.0])
def test_invalid_depth_pixels_never_become_keypoints(scene, bad_value):
    ref = propose_keypoints(scene.rgbd, scene.masks)
    depth = scene.rgbd.depth.copy()
    hole = np.zeros_like(scene.masks[scene.BOX])
    for u, v in ref.pixels.astype(int):  # knock out every keypoint found on clean depth
        hole[max(v - 4, 0) : v + 5, max(u - 4, 0) : u + 5] = True
    depth[hole] = bad_value
    kp = propose_keypoints(_with_depth(scene.rgbd, depth), scene.masks)
    assert len(kp) > 0 and np.all(np.isfinite(kp.positions))
    u, v = kp.pixels[:, 0].astype(int), kp.pixels[:, 1].astype(int)
    assert not np.any(hole[v, u])


def test_masks_with_only_invalid_depth_give_empty_keypoints_with_reason(scene, caplog):
    depth = scene.rgbd.depth.copy()
    depth[scene.masks[scene.BOX] | scene.masks[scene.TRAY]] = np.nan
    with caplog.at_level(logging.WARNING):
        kp = propose_keypoints(_with_depth(scene.rgbd, depth), scene.masks)
    assert len(kp) == 0
    assert "no valid depth" in caplog.text


def test_bad_inputs_raise_keypoint_error(scene):
    with pytest.raises(KeypointError, match="no masks"):
        propose_keypoints(scene.rgbd, {})
    with pytest.raises(KeypointError, match="shape"):
        propose_keypoints(scene.rgbd, {scene.BOX: scene.masks[scene.BOX][:, :-1]})
    with pytest.raises(KeypointError, match="RGBD"):
        propose_keypoints(scene.rgbd.depth, scene.masks)  # type: ignore[arg-type]


def test_annotated_image_is_filled(scene):
    pytest.importorskip("cv2")
    kp = propose_keypoints(scene.rgbd, scene.masks)
    assert kp.annotated_image is not None
    assert kp.annotated_image.shape == scene.rgbd.rgb.shape
    assert kp.annotated_image.dtype == np.uint8
    assert np.any(kp.annotated_image != scene.rgbd.rgb)
    no_image = propose_keypoints(scene.rgbd, scene.masks, ProposalConfig(annotate=False))
    assert no_image.annotated_image is None
