"""Object masks: from a segmentation image, validated, and filtered for keypoint proposal.

A mask is an (H, W) bool array, True on the object's pixels; a set of masks is a mapping
from an int object id to its mask. Ids are kept as the keypoints' ``object_ids``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import KeypointError

logger = logging.getLogger(__name__)

BoolMask = NDArray[np.bool_]


def masks_from_segmentation(
    segmentation: ArrayLike, ids: Iterable[int] | None = None
) -> dict[int, BoolMask]:
    """Split an id image into one mask per object.

    Args:
        segmentation: (H, W) integer image of object ids; ids < 0 are background.
        ids: the ids to extract; None = every id >= 0 present in the image. Negative ids
            are ignored; ids absent from the image are skipped with a log message.

    Returns:
        {id: (H, W) bool mask}, sorted by id.
    """
    seg = np.asarray(segmentation)
    if seg.ndim != 2:
        raise KeypointError(
            f"segmentation must be an (H, W) image of integer object ids, got shape {seg.shape}; "
            "for an (H, W, 1) image pass segmentation[..., 0]"
        )
    if not (np.issubdtype(seg.dtype, np.integer) or seg.dtype == np.bool_):
        raise KeypointError(
            f"segmentation must hold integer object ids, got dtype {seg.dtype}; "
            "convert with segmentation.astype(np.int64) if the values are whole numbers"
        )
    present = {int(i) for i in np.unique(seg)}
    wanted = sorted(i for i in present if i >= 0) if ids is None else sorted({int(i) for i in ids})
    masks: dict[int, BoolMask] = {}
    for obj_id in wanted:
        if obj_id < 0:
            logger.debug("segmentation id %d is background (< 0); ignored", obj_id)
            continue
        if obj_id not in present:
            logger.info("segmentation id %d does not appear in the image; skipped", obj_id)
            continue
        masks[obj_id] = seg == obj_id
    return masks


def validate_masks(masks: Mapping[int, ArrayLike], shape: tuple[int, int]) -> dict[int, BoolMask]:
    """Check that ``masks`` is a non-empty {int id: (H, W) bool} mapping matching ``shape``.

    Raises:
        KeypointError: empty mapping, a non-integer id, a non-boolean mask, or a mask whose
            shape differs from the image's (H, W).
    """
    if not isinstance(masks, Mapping):
        raise KeypointError(
            "masks must be a mapping {object id: (H, W) bool array}, got "
            f"{type(masks).__name__}; "
            "build one with keypoints.masks.masks_from_segmentation(segmentation)"
        )
    if len(masks) == 0:
        raise KeypointError(
            "no masks given: keypoints are proposed per object mask; pass at least one "
            "{object id: (H, W) bool mask}, e.g. from masks_from_segmentation(segmentation)"
        )
    out: dict[int, BoolMask] = {}
    for key, mask in masks.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise KeypointError(f"mask ids must be ints (object ids), got {key!r}")
        arr = np.asarray(mask)
        if arr.shape != tuple(shape):
            raise KeypointError(
                f"mask {int(key)} has shape {arr.shape} but the image is {tuple(shape)}; "
                "masks must be registered to the colour image at the same resolution"
            )
        if arr.dtype != np.bool_:
            raise KeypointError(
                f"mask {int(key)} must be boolean, got dtype {arr.dtype}; "
                "convert with mask.astype(bool) or mask > 0"
            )
        out[int(key)] = arr
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class MaskFilterResult:
    """What :func:`filter_masks_with_reasons` kept and why it dropped the rest.

    Attributes:
        kept: {id: (H, W) bool mask} restricted to valid-depth pixels, sorted by id.
        dropped: {id: human-readable reason}.
    """

    kept: dict[int, BoolMask] = field(default_factory=dict)
    dropped: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line listing every dropped mask and its reason ('' when none dropped)."""
        return "; ".join(f"mask {k}: {why}" for k, why in self.dropped.items())


def filter_masks_with_reasons(
    masks: Mapping[int, ArrayLike],
    valid_depth: ArrayLike,
    *,
    min_area_px: int = 50,
    max_area_fraction: float = 0.5,
) -> MaskFilterResult:
    """Like :func:`filter_masks`, but also returns the reason for every dropped mask."""
    valid = np.asarray(valid_depth)
    if valid.ndim != 2 or valid.dtype != np.bool_:
        raise KeypointError(
            f"valid_depth must be an (H, W) bool array, got shape {valid.shape} dtype "
            f"{valid.dtype}; use RGBD.valid_depth()"
        )
    if min_area_px < 1:
        raise KeypointError(f"min_area_px must be >= 1, got {min_area_px}")
    if not 0.0 < max_area_fraction <= 1.0:
        raise KeypointError(f"max_area_fraction must be in (0, 1], got {max_area_fraction}")
    checked = validate_masks(masks, (valid.shape[0], valid.shape[1]))
    image_area = valid.size
    kept: dict[int, BoolMask] = {}
    dropped: dict[int, str] = {}
    for obj_id, mask in checked.items():
        area = int(mask.sum())
        fraction = area / image_area
        if fraction > max_area_fraction:
            dropped[obj_id] = (
                f"background-sized ({fraction:.0%} of the image > {max_area_fraction:.0%})"
            )
            continue
        usable = mask & valid
        n_valid = int(usable.sum())
        if area > 0 and n_valid == 0:
            dropped[obj_id] = f"no valid depth (all {area} pixels have depth 0 or NaN)"
            continue
        if n_valid < min_area_px:
            dropped[obj_id] = f"too small ({n_valid} valid-depth pixels < {min_area_px})"
            continue
        kept[obj_id] = usable
    result = MaskFilterResult(kept=kept, dropped=dropped)
    if dropped:
        logger.info("dropped %d of %d masks: %s", len(dropped), len(checked), result.summary())
    if not kept:
        logger.warning("no mask left after filtering: %s", result.summary())
    return result


def filter_masks(
    masks: Mapping[int, ArrayLike],
    valid_depth: ArrayLike,
    *,
    min_area_px: int = 50,
    max_area_fraction: float = 0.5,
) -> dict[int, BoolMask]:
    """Keep the masks worth proposing keypoints on, restricted to valid-depth pixels.

    Args:
        masks: {object id: (H, W) bool mask}.
        valid_depth: (H, W) bool, True where depth is usable (``RGBD.valid_depth()``).
        min_area_px: drop masks with fewer valid-depth pixels than this (tiny specks,
            segmentation noise).
        max_area_fraction: drop masks covering more than this fraction of the image
            (background: table, floor, walls).

    Returns:
        {id: (H, W) bool} with invalid-depth pixels removed, sorted by id. May be empty;
        then the reasons are logged at WARNING level.

    Raises:
        KeypointError: no masks, a mask that is not boolean or not (H, W), or a
            malformed ``valid_depth``.
    """
    return filter_masks_with_reasons(
        masks, valid_depth, min_area_px=min_area_px, max_area_fraction=max_area_fraction
    ).kept
