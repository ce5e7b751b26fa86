"""Where an object's start-of-episode point cloud lies now, from its tracked keypoints.

The loop chooses a top-down grasp's closing axis from the object's observed cloud (see
:func:`rekep.robot.closing_axis_from_points`). The cloud was observed once, at the start;
by the time of a (re)grasp the object may have been pushed, turned or knocked over to a new
spot, and only its keypoints are tracked. This module moves the cloud with them:

* three or more keypoints spanning a plane fix a rigid motion (Kabsch);
* keypoints along a line (a pen's, a book's top edge) fix the line's direction: the cloud
  turns by the least rotation taking the line's old direction to its new one (for an
  object resting on the table, a turn about the vertical), about the keypoints' centre;
* otherwise the cloud is shifted by the keypoints' mean motion.

A turn smaller than ``turned_rad`` (default :data:`TURNED_RAD`) is treated as tracking
noise (shift only).
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
LINE_LENGTH_M = 0.02
"""Keypoints along a line at least this long (metres) fix its direction."""


def _line_turn(before: NDArray[np.float64], now: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """(3, 3) least rotation taking the direction between the two farthest-apart keypoints
    before to the same pair's direction now; None when too short, or flipped end for end
    (the tracker swapped them: no meaningful rotation)."""
    gaps = np.linalg.norm(before[:, None, :] - before[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(gaps)), gaps.shape)
    a, b = before[j] - before[i], now[j] - now[i]
    if min(np.linalg.norm(a), np.linalg.norm(b)) < LINE_LENGTH_M:
        return None
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -0.999:
        return None
    V = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.asarray(np.eye(3) + V + V @ V / (1.0 + c))


def moved_cloud(cloud: ArrayLike, before: ArrayLike, now: ArrayLike,
                turned_rad: float = TURNED_RAD) -> NDArray[np.float64]:  # fmt: skip
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
            if rotation_angle(np.eye(3), T[:3, :3]) > turned_rad:
                return np.asarray(pts @ T[:3, :3].T + T[:3, 3])
        else:
            R = _line_turn(b, n)
            if R is not None and rotation_angle(np.eye(3), R) > turned_rad:
                centre = b.mean(axis=0)
                return np.asarray((pts - centre) @ R.T + centre + shift)
    return pts + shift
