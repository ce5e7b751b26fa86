"""Masks: from a segmentation image, validation, and filtering for proposal."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from keypoints.masks import filter_masks, filter_masks_with_reasons, masks_from_segmentation
from rekep.errors import KeypointError


def test_masks_from_segmentation_splits_ids_and_ignores_background(scene):
    seg = scene.seg.copy()
    seg[:5, :5] = -1
    masks = masks_from_segmentation(seg)
    assert list(masks) == [scene.TABLE, scene.BOX, scene.TRAY]
    for obj_id, mask in masks.items():
        assert mask.dtype == np.bool_ and mask.shape == seg.shape
        np.testing.assert_array_equal(mask, seg == obj_id)


def test_masks_from_segmentation_with_ids_skips_negative_and_absent(scene):
    masks = masks_from_segmentation(scene.seg, ids=[scene.TRAY, -1, 99, scene.BOX])
    assert list(masks) == [scene.BOX, scene.TRAY]


@pytest.mark.parametrize(
    "seg", [np.zeros((4, 4), dtype=np.float32), np.zeros((4, 4, 2), dtype=np.int32)]
)
def test_masks_from_segmentation_rejects_bad_images(seg):
    with pytest.raises(KeypointError, match="segmentation"):
        masks_from_segmentation(seg)


def test_filter_drops_background_sized_masks(scene):
    masks = masks_from_segmentation(scene.seg)
    result = filter_masks_with_reasons(masks, scene.rgbd.valid_depth())
    assert set(result.kept) == {scene.BOX, scene.TRAY}
    assert "background" in result.dropped[scene.TABLE]
    # a larger allowed fraction keeps the table
    kept = filter_masks(masks, scene.rgbd.valid_depth(), max_area_fraction=1.0)
    assert scene.TABLE in kept


def test_filter_drops_tiny_masks_with_configurable_threshold(scene):
    speck = np.zeros_like(scene.masks[scene.BOX])
    speck[10:13, 10:13] = True  # 9 pixels of table
    masks = {**scene.masks, 7: speck}
    valid = scene.rgbd.valid_depth()
    result = filter_masks_with_reasons(masks, valid, min_area_px=20)
    assert 7 not in result.kept and "too small" in result.dropped[7]
    assert 7 in filter_masks(masks, valid, min_area_px=9)


def test_filter_removes_invalid_depth_pixels(scene):
    valid = scene.rgbd.valid_depth().copy()
    rows, cols = np.nonzero(scene.masks[scene.BOX])
    valid[rows[::3], cols[::3]] = False
    kept = filter_masks(scene.masks, valid)
    np.testing.assert_array_equal(kept[scene.BOX], scene.masks[scene.BOX] & valid)
    assert kept[scene.BOX].sum() < scene.masks[scene.BOX].sum()
    assert not np.any(kept[scene.BOX] & ~valid)


def test_mask_with_only_invalid_depth_is_dropped_with_reason(scene, caplog):
    valid = scene.rgbd.valid_depth() & ~scene.masks[scene.BOX] & ~scene.masks[scene.TRAY]
    with caplog.at_level(logging.WARNING, logger="keypoints.masks"):
        result = filter_masks_with_reasons(scene.masks, valid)
    assert result.kept == {}
    assert "no valid depth" in result.dropped[scene.BOX]
    assert "no valid depth" in caplog.text


def test_filter_rejects_shape_mismatch(scene):
    masks = {scene.BOX: scene.masks[scene.BOX][:-1]}
    with pytest.raises(KeypointError, match="shape"):
        filter_masks(masks, scene.rgbd.valid_depth())


def test_filter_rejects_non_boolean_masks(scene):
    masks = {scene.BOX: scene.masks[scene.BOX].astype(np.uint8)}
    with pytest.raises(KeypointError, match="boolean"):
        filter_masks(masks, scene.rgbd.valid_depth())


def test_filter_rejects_empty_mapping_and_bad_ids(scene):
    with pytest.raises(KeypointError, match="no masks"):
        filter_masks({}, scene.rgbd.valid_depth())
    with pytest.raises(KeypointError, match="ids must be ints"):
        filter_masks({"box": scene.masks[scene.BOX]}, scene.rgbd.valid_depth())  # type: ignore[dict-item]


def test_filter_rejects_non_boolean_valid_depth(scene):
    with pytest.raises(KeypointError, match="valid_depth"):
        filter_masks(scene.masks, scene.rgbd.depth)
