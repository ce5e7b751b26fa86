"""Pixels + depth -> world points, robust to holes and edges (shared by image trackers).

The depth under a tracked pixel is read from a small window around it: the window's valid
values (finite, > 0) give a median; when the four pixels around the sub-pixel location are
valid and agree with that median (within ``tolerance_m``) the depth is interpolated
bilinearly instead, which keeps slanted surfaces accurate to a fraction of a pixel. A pixel
whose window holds too few valid values, or that lies outside the image, has no depth.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.observation import RGBD
from rekep.poses import transform_points


def depth_at_pixels(
    depth: NDArray[np.float32],
    pixels: ArrayLike,
    *,
    radius: int = 2,
    min_valid_fraction: float = 0.5,
    tolerance_m: float = 0.01,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Depth under (N, 2) pixels (u, v) of an (H, W) depth image in metres.

    Args:
        depth: (H, W) metres; 0 or NaN marks invalid pixels.
        pixels: (N, 2) continuous pixel coordinates (u = column, v = row); pixel centres
            are at integer coordinates.
        radius: the window is (2 radius + 1)^2 pixels around the nearest pixel.
        min_valid_fraction: fewer valid window pixels than this fraction -> no depth.
        tolerance_m: bilinear interpolation is used only when the four neighbours are
            within this distance of the window median (otherwise the median is used).

    Returns:
        ((N,) depth in metres, NaN where unknown; (N,) bool, True where known).
    """
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    H, W = depth.shape
    z_out = np.full(pix.shape[0], np.nan)
    ok = np.zeros(pix.shape[0], dtype=bool)
    need = max(1, int(np.ceil(min_valid_fraction * (2 * radius + 1) ** 2)))
    for i, (u, v) in enumerate(pix):
        if not (np.isfinite(u) and np.isfinite(v)) or not (0 <= u <= W - 1 and 0 <= v <= H - 1):
            continue
        c, r = round(float(u)), round(float(v))
        win = depth[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1]
        vals = win[np.isfinite(win) & (win > 0)]
        if vals.size < need:
            continue
        med = float(np.median(vals))
        z_out[i] = _bilinear(depth, u, v, med, tolerance_m)
        ok[i] = True
    return z_out, ok


def _bilinear(depth: NDArray[np.float32], u: float, v: float, fallback: float, tol: float) -> float:
    """Bilinear depth at (u, v) when the 4 neighbours are valid and near ``fallback``."""
    H, W = depth.shape
    c0, r0 = int(np.floor(u)), int(np.floor(v))
    c1, r1 = min(c0 + 1, W - 1), min(r0 + 1, H - 1)
    quad = np.array(
        [depth[r0, c0], depth[r0, c1], depth[r1, c0], depth[r1, c1]], dtype=np.float64
    )
    if not np.all(np.isfinite(quad)) or np.any(quad <= 0) or np.any(np.abs(quad - fallback) > tol):
        return fallback
    a, b = u - c0, v - r0
    top = quad[0] * (1 - a) + quad[1] * a
    bottom = quad[2] * (1 - a) + quad[3] * a
    return float(top * (1 - b) + bottom * b)


def backproject(observation: RGBD, pixels: ArrayLike, depth_m: ArrayLike) -> NDArray[np.float64]:
    """(N, 2) pixels with (N,) depths (metres along z) -> (N, 3) world points, metres.

    Rows with a NaN depth come back NaN.
    """
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    z = np.asarray(depth_m, dtype=np.float64).reshape(-1)
    K = observation.intrinsics
    x = (pix[:, 0] - K[0, 2]) * z / K[0, 0]
    y = (pix[:, 1] - K[1, 2]) * z / K[1, 1]
    return transform_points(observation.T_world_camera, np.stack([x, y, z], axis=-1))


def camera_depth_of(observation: RGBD, points_world: ArrayLike) -> NDArray[np.float64]:
    """(N,) z of (N, 3) world points in the observation's camera frame, metres."""
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    cam = transform_points(np.linalg.inv(observation.T_world_camera), pts)
    return np.asarray(cam[:, 2])


def inside_image(
    pixels: ArrayLike, width: int, height: int, margin: float = 0.0
) -> NDArray[np.bool_]:
    """(N,) True where (N, 2) pixels are finite and at least ``margin`` px inside the image."""
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        return np.asarray(
            np.isfinite(pix).all(axis=1)
            & (pix[:, 0] >= margin)
            & (pix[:, 0] <= width - 1 - margin)
            & (pix[:, 1] >= margin)
            & (pix[:, 1] <= height - 1 - margin)
        )


def surface_visible(
    observation: RGBD,
    pixels: ArrayLike,
    points_world: ArrayLike,
    *,
    border_px: float = 3.0,
    radius: int = 2,
    min_valid_fraction: float = 0.5,
    occlusion_tolerance_m: float = 0.02,
) -> NDArray[np.bool_]:
    """(N,) True where (N, 3) points, at their (N, 2) pixels, are in view and unoccluded.

    A point is visible when its pixel is at least ``border_px`` inside the image and the
    depth there (see :func:`depth_at_pixels`) is within ``occlusion_tolerance_m`` of the
    point's own depth in the camera frame.
    """
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    ok = inside_image(pix, observation.width, observation.height, border_px)
    if ok.any():
        z, has_z = depth_at_pixels(
            observation.depth, pix[ok], radius=radius, min_valid_fraction=min_valid_fraction,
            tolerance_m=occlusion_tolerance_m,
        )
        expected = camera_depth_of(observation, pts[ok])
        with np.errstate(invalid="ignore"):
            ok[ok] = has_z & (np.abs(z - expected) <= occlusion_tolerance_m)
    return ok
