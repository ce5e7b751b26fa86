"""Which lost points are merely hidden: something nearer the camera covers where they were.

A tracker loses a point for two different reasons: it no longer knows where the point is
(LK slid off, the object moved away), or the point is behind something (the arm, a held
object passing in front). In the second case the depth image says so: where the point's
last position projects, the observed surface is clearly nearer than the point. Such a point
keeps its last position, like any lost point, but the loop need not give up on it after a
timeout: a hidden static point (a shelf's corner behind the book being stowed) is where it
was. Only the RGB-D observation is used, so this holds for a real camera too.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.observation import RGBD
from rekep.poses import transform_points
from rekep.tracking.backprojection import depth_at_pixels


def hidden_behind_surface(
    observation: RGBD,
    points_world: ArrayLike,
    *,
    margin_m: float = 0.02,
    border_px: int = 4,
) -> NDArray[np.bool_]:
    """(N,) bool: True where a (N, 3) world point projects inside the image and the observed
    depth there is more than ``margin_m`` metres nearer than the point (an occluder).

    Points behind the camera, outside the image (or within ``border_px`` of its edge), or
    over invalid depth are never reported hidden: nothing shows what is in front of them.
    """
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    if margin_m <= 0:
        raise ValueError(f"margin_m must be > 0, got {margin_m}")
    hidden = np.zeros(len(pts), dtype=bool)
    if not len(pts):
        return hidden
    z_point = transform_points(np.linalg.inv(observation.T_world_camera), pts)[:, 2]
    pix = observation.project(pts)
    h, w = observation.depth.shape
    inside = (
        np.isfinite(pix).all(axis=1) & (z_point > 0)
        & (pix[:, 0] >= border_px) & (pix[:, 0] <= w - 1 - border_px)
        & (pix[:, 1] >= border_px) & (pix[:, 1] <= h - 1 - border_px)
    )  # fmt: skip
    if not inside.any():
        return hidden
    observed, valid = depth_at_pixels(observation.depth, pix[inside])
    hidden[inside] = valid & (observed < z_point[inside] - margin_m)
    return hidden
