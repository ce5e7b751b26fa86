"""Rigid carrying of lost keypoints by their still-tracked neighbours (``flow`` tracker).

A keypoint on a flat, uniformly coloured surface (a target pad, a tray floor) has no
texture under it, so once lost it cannot be found again by patch matching
(:func:`rekep.tracking.lk.search_patch` refuses flat templates). When such an object jumps
(knocked, moved by someone), the points LK kept following land at the new place while the
lost ones would stay where the object was. :func:`carried_position` predicts where a lost
point is from the median motion of the neighbours that were tracked with it when it was
lost and still are; :func:`is_flat` tells when the patch is too plain for NCC, in which
case the tracker accepts that prediction where the image shows a surface at the predicted
depth. Only tracked positions and images are used, never simulator state.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

FLAT_STD = 1.0
"""Grey-level standard deviation below which a patch is textureless (used by
:func:`rekep.tracking.lk.search_patch`)."""


def is_flat(patch: NDArray[np.uint8] | None, min_std: float = FLAT_STD) -> bool:
    """Whether a grey ``patch`` (2r+1, 2r+1) has too little texture for NCC (None: no)."""
    return patch is not None and float(np.asarray(patch, np.float64).std()) < min_std


def carried_position(
    k: int, anchor_pos: FloatArray, anchor_vis: NDArray[np.bool_], pos: FloatArray,
    vis: NDArray[np.bool_], radius_m: float, groups: NDArray[np.int64] | None = None,
) -> tuple[FloatArray, bool]:
    """Where lost point ``k`` should be now.

    Args:
        k: the lost point's index.
        anchor_pos, anchor_vis: (K, 3) positions (metres) and (K,) visibility of all
            points when ``k`` was last tracked.
        pos, vis: (K, 3) positions and (K,) visibility now.
        radius_m: neighbours were within this distance of ``k`` then.
        groups: (K,) object ids; when given and ``k``'s id is >= 0, only points of the
            same object count as neighbours (a point on the table does not carry one on
            a pad that jumped).

    Returns:
        ((1, 3) its last position moved by the median motion of its neighbours that were
        visible then and are visible now (its last position when none), whether such
        neighbours exist).
    """
    near = np.linalg.norm(anchor_pos - anchor_pos[k], axis=1) <= radius_m
    near &= anchor_vis & vis
    if groups is not None and groups[k] >= 0:
        near &= groups == groups[k]
    near[k] = False
    if not near.any():
        return pos[k : k + 1].copy(), False
    motion = np.median(pos[near] - anchor_pos[near], axis=0)
    return pos[k : k + 1] + motion, True
