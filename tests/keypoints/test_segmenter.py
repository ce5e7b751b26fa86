"""The weight-free RGB-D segmenter (support-plane RANSAC + DBSCAN, open3d)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

pytest.importorskip("open3d")

from keypoints.mask_sources import MASK_SOURCES, resolve_masks
from keypoints.segmenter import (
    SegmenterConfig,
    segment_rgbd,
    segment_rgbd_with_reasons,
)
from rekep.errors import ConfigurationError, KeypointError

VIEWS = {
    "top_down": ((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),
    "front_oblique": ((0.0, -0.55, 0.85), (0.0, 0.0, 0.0)),
    "diagonal": ((0.4, -0.4, 0.7), (0.0, 0.0, 0.0)),
}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _best_match(masks: dict, truth: np.ndarray) -> tuple[int, float]:
    scores = {k: _iou(m, truth) for k, m in masks.items()}
    best = max(scores, key=scores.__getitem__)
    return best, scores[best]


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_recovers_box_and_tray_as_separate_masks(view, scene_factory):
    scene = scene_factory(*VIEWS[view])
    masks = segment_rgbd(scene.rgbd)
    box_id, box_iou = _best_match(masks, scene.masks[scene.BOX])
    tray_id, tray_iou = _best_match(masks, scene.masks[scene.TRAY])
    assert box_iou > 0.8 and tray_iou > 0.8 and box_id != tray_id
    table = scene.seg == scene.TABLE
    for m in masks.values():
        assert m.shape == scene.seg.shape and m.dtype == np.bool_
        assert (m & table).sum() < 0.02 * m.sum()  # the support plane is not an object
    assert sorted(masks) == list(range(1, len(masks) + 1))


def test_deterministic(oblique_scene):
    a = segment_rgbd(oblique_scene.rgbd)
    b = segment_rgbd(oblique_scene.rgbd)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_finds_the_support_plane(scene):
    result = segment_rgbd_with_reasons(scene.rgbd)
    assert result.plane is not None
    np.testing.assert_allclose(result.plane, [0.0, 0.0, 1.0, 0.0], atol=1e-3)


@pytest.mark.parametrize("bad_value", [np.nan, 0.0])
def test_invalid_depth_pixels_are_left_out(oblique_scene, bad_value):
    scene = oblique_scene
    depth = scene.rgbd.depth.copy()
    hole = np.zeros_like(scene.masks[scene.BOX])
    rows = np.nonzero(scene.masks[scene.BOX])[0]
    hole[rows.min() : rows.min() + 15, :] = True
    depth[hole] = bad_value
    masks = segment_rgbd(dataclasses.replace(scene.rgbd, depth=depth))
    assert not any((m & hole).any() for m in masks.values())
    _, iou = _best_match(masks, scene.masks[scene.BOX] & ~hole)
    assert iou > 0.8


def test_small_and_background_sized_clusters_are_dropped(scene):
    box_area = int(scene.masks[scene.BOX].sum())
    result = segment_rgbd_with_reasons(scene.rgbd, SegmenterConfig(min_area_px=box_area + 500))
    assert len(result.masks) == 1 and any("too small" in r for r in result.dropped.values())
    result = segment_rgbd_with_reasons(scene.rgbd, SegmenterConfig(max_area_fraction=0.001))
    assert result.masks == {} and "all dropped" in result.reason
    assert any("background-sized" in r for r in result.dropped.values())


def test_empty_table_gives_no_masks_with_a_reason(scene, caplog):
    plain = np.full_like(scene.rgbd.rgb, 150)
    flat = dataclasses.replace(scene.rgbd, rgb=plain, depth=np.ones_like(scene.rgbd.depth))
    with caplog.at_level(logging.WARNING, logger="keypoints.segmenter"):
        assert segment_rgbd(flat) == {}
    assert "nothing above the support plane" in caplog.text


def test_flat_objects_are_found_by_colour_on_the_support_plane(scene):
    # the box and tray flattened into the table (a printed sheet): only colour tells them
    flat = dataclasses.replace(scene.rgbd, depth=np.ones_like(scene.rgbd.depth))
    masks = segment_rgbd(flat)
    for obj in (scene.BOX, scene.TRAY):
        _, iou = _best_match(masks, scene.masks[obj])
        assert iou > 0.8
    off = segment_rgbd_with_reasons(flat, SegmenterConfig(flat_color_delta=0.0))
    assert off.masks == {} and "nothing above" in off.reason


def test_almost_no_valid_depth_gives_no_masks(scene):
    depth = np.full_like(scene.rgbd.depth, np.nan)
    depth[:2, :2] = 1.0
    result = segment_rgbd_with_reasons(dataclasses.replace(scene.rgbd, depth=depth))
    assert result.masks == {} and "valid-depth pixels" in result.reason


def test_bad_arguments(scene):
    with pytest.raises(KeypointError, match="RGBD"):
        segment_rgbd(scene.rgbd.depth)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="SegmenterConfig"):
        segment_rgbd(scene.rgbd, {"cluster_eps": 0.02})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"cluster_eps": 0.0}, {"plane_distance": -1.0}, {"min_area_px": 0},
               {"max_area_fraction": 0.0}, {"min_plane_fraction": 2.0}, {"max_points": 1.5},
               {"max_range": 0.0}, {"seed": "a"}, {"flat_color_delta": -1.0},
               {"flat_color_delta": float("nan")}],
)  # fmt: skip
def test_bad_config(kwargs):
    with pytest.raises(ConfigurationError):
        SegmenterConfig(**kwargs)


def test_mask_sources(scene):
    assert set(MASK_SOURCES) == {"given", "segmenter"}
    found, reason = resolve_masks("segmenter", scene.rgbd, None)
    assert reason == "" and len(found) >= 2
    given, _ = resolve_masks("given", scene.rgbd, scene.seg)  # a segmentation image
    assert set(given) == {scene.TABLE, scene.BOX, scene.TRAY}
    with pytest.raises(KeypointError, match="segmenter"):
        resolve_masks("segmenter", scene.rgbd, scene.masks)
    with pytest.raises(KeypointError, match="no masks"):
        resolve_masks("given", scene.rgbd, None)
    with pytest.raises(KeypointError, match="shape"):
        resolve_masks("given", scene.rgbd, scene.seg[:, :-1])
    with pytest.raises(KeypointError, match="valid"):
        resolve_masks("sam", scene.rgbd, None)
