"""Where an object's start-of-episode point cloud lies now, from its tracked keypoints.

The loop chooses a top-down grasp's closing axis from the object's observed cloud (see
:func:`rekep.robot.closing_axis_from_points`). The cloud was observed once, at the start;
by the time of a (re)grasp the object may have been pushed, turned or knocked over to a new
spot, and only its keypoints are tracked. This module moves the cloud with them:

* three or more keypoints spanning a plane fix a rigid motion (Kabsch);
* keypoints along a line (a pen's, a book's top edge) fix the turn about the vertical
  only: objects resting on the table turn about the vertical, and a top-down grasp needs
  nothing else;
* otherwise the cloud is shifted by the keypoints' mean motion.

A turn smaller than :data:`TURNED_RAD` is treated as tracking noise (shift only).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.poses import rotation_angle
from rekep.tracking.rigid import kabsch

TURNED_RAD = 0.35
"""Keypoints turned more than this (radians) turn the object's cloud as well."""
PLANE_SPREAD_M = 0.01
"""Second singular value of the centred keypoints above this: they span a plane."""
LINE_LENGTH_M = 0.03
"""Keypoints along a line whose horizontal extent is at least this fix a yaw."""


def _yaw_matrix(angle: float) -> NDArray[np.float64]:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _line_yaw(before: NDArray[np.float64], now: NDArray[np.float64]) -> float | None:
    """Turn about the vertical (radians) of the two farthest-apart keypoints, or None when
    they are too short or too steep to tell."""
    gaps = np.linalg.norm(before[:, None, :] - before[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
    d0, d1 = (before[j] - before[i])[:2], (now[j] - now[i])[:2]
    if min(np.linalg.norm(d0), np.linalg.norm(d1)) < LINE_LENGTH_M:
        return None
    return float(np.arctan2(d0[0] * d1[1] - d0[1] * d1[0], d0 @ d1))


def moved_cloud(cloud: ArrayLike, before: ArrayLike, now: ArrayLike) -> NDArray[np.float64]:
    """The (N, 3) ``cloud`` moved as its object's (M, 3) keypoints moved from ``before`` to
    ``now`` (world metres, same order); see the module docstring for the rules."""
    pts = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(before, dtype=np.float64).reshape(-1, 3)
    n = np.asarray(now, dtype=np.float64).reshape(-1, 3)
    if b.shape != n.shape:
        raise ValueError(f"before {b.shape} and now {n.shape} keypoints differ in shape")
    if len(b) == 0:
        return pts.copy()
    shift = n.mean(axis=0) - b.mean(axis=0)
    if len(b) >= 2:
        spread = np.linalg.svd(b - b.mean(axis=0), compute_uv=False)
        if len(b) >= 3 and spread[1] > PLANE_SPREAD_M:
            T = kabsch(b, n)
            if rotation_angle(np.eye(3), T[:3, :3]) > TURNED_RAD:
                return np.asarray(pts @ T[:3, :3].T + T[:3, 3])
        else:
            yaw = _line_yaw(b, n)
            if yaw is not None and abs(yaw) > TURNED_RAD:
                centre = b.mean(axis=0)
                return np.asarray((pts - centre) @ _yaw_matrix(yaw).T + centre + shift)
    return pts + shift
