"""Where object masks come from: the caller (or the simulator's segmentation) or the
weight-free RGB-D segmenter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from keypoints.masks import BoolMask, masks_from_segmentation
from keypoints.segmenter import SegmenterConfig, segment_rgbd_with_reasons
from rekep.errors import KeypointError
from rekep.observation import RGBD

#: name -> what it means
MASK_SOURCES: dict[str, str] = {
    "given": "masks passed by the caller: {id: (H, W) bool}, or an (H, W) int segmentation "
    "image such as the simulator's (ids < 0 are background)",
    "segmenter": "the weight-free RGB-D segmenter (support-plane RANSAC + DBSCAN, open3d)",
}


def resolve_masks(
    source: str,
    rgbd: RGBD,
    masks: Mapping[int, Any] | np.ndarray | None,
    segmenter: SegmenterConfig | None = None,
) -> tuple[Mapping[int, Any], str]:
    """The masks to propose keypoints on, and a reason when there are none.

    Raises:
        KeypointError: unknown source, ``given`` without masks, or ``segmenter`` with masks.
    """
    if source == "given":
        if masks is None:
            raise KeypointError(
                "no masks given: pass {object id: (H, W) bool mask} or an (H, W) segmentation "
                "image, or use mask_source='segmenter' to segment the RGB-D frame"
            )
        if isinstance(masks, np.ndarray):
            if masks.shape != (rgbd.height, rgbd.width):
                raise KeypointError(
                    f"segmentation image has shape {masks.shape} but the image is "
                    f"{(rgbd.height, rgbd.width)}; it must be registered to the colour image"
                )
            return masks_from_segmentation(masks), ""
        return masks, ""
    if source == "segmenter":
        if masks is not None:
            raise KeypointError(
                "mask_source='segmenter' computes the masks itself; pass masks=None, or use "
                "mask_source='given' to propose on your own masks"
            )
        result = segment_rgbd_with_reasons(rgbd, segmenter)
        found: dict[int, BoolMask] = result.masks
        return found, ("" if found else f"the segmenter found no object: {result.reason}")
    raise KeypointError(f"unknown mask source {source!r}; valid: {', '.join(MASK_SOURCES)}")
