"""Move proposed keypoints onto nearby texture corners, where a point tracker can hold them.

Cluster representatives sit in the middle of a part, and the middle of a plain face gives
an image tracker nothing to follow; a printed mark, a checker's X-corner or a label's corner
a centimetre or two away does. So each keypoint moves to the strongest *texture corner* of
its own object within ``radius_m`` (3D) of it, if there is one:

* a corner: a local maximum of the Shi-Tomasi score (the smaller eigenvalue of the grey
  image's structure tensor, Sobel gradients over a ``WINDOW_PX`` box) that reaches
  ``quality`` times the object's strongest score, placed at the middle of its plateau;
* inside the object: on the mask eroded by ``ERODE_PX`` pixels (the silhouette is where
  depth mixes object and background);
* on a flat patch: the 3D points of the ``PLANE_WINDOW_PX`` square around it fit a plane
  within ``plane_tolerance_m`` (RMS). This keeps out the geometric corners (a block's edges
  and vertices, where shading alone makes a corner and the depth bends): those are not
  texture, and moving a block's face-centre keypoint onto its edge would be a loss.

Two keypoints never move onto the same pixel (the first in order keeps it, the other stays).
Uses NumPy and SciPy only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from keypoints.backproject import world_points
from rekep.observation import RGBD

WINDOW_PX = 5
"""Side of the box over which the structure tensor is summed, pixels."""
ERODE_PX = 2
"""Mask erosion (iterations of a 3x3 cross) before looking for corners, pixels."""
PLANE_WINDOW_PX = 7
"""Side of the square whose 3D points must be planar around a corner, pixels."""
MAX_CORNERS = 300
"""Only an object's strongest score peaks are examined (bounds the time on busy images)."""


def corner_score(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """(H, W) Shi-Tomasi score of an (H, W, 3) uint8 image (grey levels in [0, 1])."""
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
    gx, gy = ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0)
    sxx = ndimage.uniform_filter(gx * gx, WINDOW_PX)
    syy = ndimage.uniform_filter(gy * gy, WINDOW_PX)
    sxy = ndimage.uniform_filter(gx * gy, WINDOW_PX)
    half_trace, diff = (sxx + syy) / 2.0, (sxx - syy) / 2.0
    return np.asarray(half_trace - np.sqrt(diff * diff + sxy * sxy))


def _planar(rgbd: RGBD, flat: int, valid: NDArray[np.bool_], tolerance_m: float) -> bool:
    half = PLANE_WINDOW_PX // 2
    r, c = divmod(int(flat), rgbd.width)
    rows = np.arange(max(r - half, 0), min(r + half + 1, rgbd.height))
    cols = np.arange(max(c - half, 0), min(c + half + 1, rgbd.width))
    idx = (rows[:, None] * rgbd.width + cols[None, :]).ravel()
    idx = idx[valid.ravel()[idx]]
    if len(idx) < PLANE_WINDOW_PX * PLANE_WINDOW_PX // 2:
        return False
    pts = world_points(rgbd, idx)
    pts -= pts.mean(axis=0)
    residual = np.linalg.svd(pts, compute_uv=False)[-1] / np.sqrt(len(pts))
    return bool(residual <= tolerance_m)


def texture_corners(
    rgbd: RGBD,
    mask: NDArray[np.bool_],
    score: NDArray[np.float64],
    quality: float,
    plane_tolerance_m: float,
    box: tuple[slice, slice] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Flat pixel indices of the texture corners in ``mask`` and their scores. ``box``: the
    part of the image (rows, columns) that holds the mask with a margin; work stays in it."""
    box = box or (slice(0, rgbd.height), slice(0, rgbd.width))
    valid = rgbd.valid_depth()
    inner = np.zeros_like(mask)
    inner[box] = ndimage.binary_erosion((mask & valid)[box], iterations=ERODE_PX)
    if not inner.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    peak = np.zeros_like(mask)
    peak[box] = score[box] == ndimage.maximum_filter(score[box], size=3)
    floor = quality * float(score[inner].max())
    flat = np.flatnonzero(inner & peak & (score >= floor) & (score > 0))
    flat = flat[np.argsort(-score.ravel()[flat], kind="stable")[:MAX_CORNERS]]
    centred = {_centre(int(f), score, inner) for f in flat}  # a plateau's peaks become one
    keep = sorted(f for f in centred if _planar(rgbd, f, valid, plane_tolerance_m))
    out = np.asarray(keep, dtype=np.int64)
    return out, score.ravel()[out]


def _box(mask: NDArray[np.bool_], margin: int = 8) -> tuple[slice, slice]:
    """Rows and columns of ``mask``'s bounding box grown by ``margin`` pixels (the filters
    reach 3 pixels, so nothing inside the mask sees the box's edge)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, h)),
            slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, w)))


def _centre(flat: int, score: NDArray[np.float64], inner: NDArray[np.bool_]) -> int:
    """The pixel nearest the centroid of the near-peak scores around the peak ``flat``: a
    sharp corner's score is a flat-topped plateau a few pixels wide, centred on the corner."""
    h, w = score.shape
    r, c = divmod(int(flat), w)
    r0, r1, c0, c1 = max(r - 3, 0), min(r + 4, h), max(c - 3, 0), min(c + 4, w)
    patch = score[r0:r1, c0:c1]
    rows, cols = np.nonzero(patch >= 0.9 * score[r, c])
    rc, cc = int(np.rint(rows.mean())) + r0, int(np.rint(cols.mean())) + c0
    return rc * w + cc if inner[rc, cc] else int(flat)


def snap_to_texture(
    rgbd: RGBD,
    masks: Mapping[int, NDArray[np.bool_]],
    flat: NDArray[np.int64],
    object_ids: NDArray[np.int64],
    radius_m: float,
    quality: float,
    plane_tolerance_m: float,
) -> NDArray[np.int64]:
    """The keypoints' flat pixel indices after snapping (see the module docstring).

    Args:
        rgbd: the observation.
        masks: {object id: (H, W) bool} the keypoints were proposed on.
        flat: (K,) flat pixel indices (row * W + col) of the keypoints.
        object_ids: (K,) their object ids (keys of ``masks``).
        radius_m: how far a keypoint may move, metres.
        quality: a corner's score must reach this fraction of its object's best.
        plane_tolerance_m: RMS plane-fit residual allowed around a corner, metres.
    """
    out = np.array(flat, dtype=np.int64, copy=True)
    if len(out) == 0 or radius_m <= 0:
        return out
    used = [masks[int(o)] for o in np.unique(object_ids) if int(o) in masks]
    if not used or not np.any(used):
        return out
    box = _box(np.logical_or.reduce(used))
    score = np.zeros((rgbd.height, rgbd.width))
    score[box] = corner_score(rgbd.rgb[box])
    taken = set(out.tolist())
    for obj in np.unique(object_ids):
        mask = masks.get(int(obj))
        if mask is None or not mask.any():
            continue
        corners, strength = texture_corners(rgbd, mask, score, quality, plane_tolerance_m,
                                            _box(mask))  # fmt: skip
        if len(corners) == 0:
            continue
        corner_pos = world_points(rgbd, corners)
        for i in np.flatnonzero(object_ids == obj):
            here = world_points(rgbd, out[i : i + 1])[0]
            near = np.flatnonzero(np.linalg.norm(corner_pos - here, axis=1) <= radius_m)
            free = [j for j in near if int(corners[j]) not in taken]
            if not free:
                continue
            best = int(corners[max(free, key=lambda j: strength[j])])
            taken.discard(int(out[i]))
            taken.add(best)
            out[i] = best
    return out
