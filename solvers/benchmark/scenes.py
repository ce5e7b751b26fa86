"""Geometry helpers for the benchmark scenes (Panda base at the world origin, table at z = 0)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from rekep.poses import make_pose, transform_points

FloatArray = NDArray[np.float64]
DOWN = np.diag([1.0, -1.0, -1.0])
"""TCP orientation pointing straight down (TCP z = world -z, TCP x = world x)."""
HOME = (0.4, 0.0, 0.35)
"""Usual TCP position between stages, metres."""

# Points of held objects in the TCP frame (z out of the hand), metres.
HELD_BLOCK_TCP = ((0.0, 0.0, 0.01), (0.0, 0.0, 0.05))  # top, bottom
HELD_PEG_TCP = ((0.0, 0.0, 0.01), (0.0, 0.0, 0.13))  # top end, bottom end
HELD_MUG_TCP = ((0.0, 0.0, 0.005), (0.10, 0.0, -0.03), (0.06, 0.0, 0.06))  # handle, rim, bottom
HELD_BOTTLE_TCP = ((0.0, 0.0, 0.01), (0.0, 0.0, 0.21))  # cap, base


def tcp_pose(position: ArrayLike, *, yaw_deg: float = 0.0, tilt_deg: float = 0.0) -> FloatArray:
    """(4, 4) TCP pose at ``position`` (m): pointing down, turned ``yaw_deg`` about world z,
    then tilted ``tilt_deg`` about world x."""
    R = Rotation.from_euler("x", tilt_deg, degrees=True).as_matrix() @ (
        Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix() @ DOWN
    )
    return make_pose(R, position)


def held(T_world_tcp: FloatArray, points_tcp: ArrayLike) -> FloatArray:
    """(N, 3) world positions of points fixed in the hand."""
    return transform_points(T_world_tcp, np.asarray(points_tcp, dtype=np.float64))


def tcp_for_held_point(point_world: ArrayLike, point_tcp: ArrayLike, R: FloatArray) -> FloatArray:
    """(4, 4) TCP pose with orientation R that puts the hand point ``point_tcp`` at
    ``point_world``."""
    p = np.asarray(point_world, dtype=np.float64) - R @ np.asarray(point_tcp, dtype=np.float64)
    return make_pose(R, p)


def ring(centre: ArrayLike, radius: float, count: int = 4) -> FloatArray:
    """(count, 3) points on a horizontal circle (e.g. a bowl rim), metres."""
    c = np.asarray(centre, dtype=np.float64)
    a = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
    return c + radius * np.stack([np.cos(a), np.sin(a), np.zeros(count)], axis=1)


def box_points(centre: ArrayLike, size: ArrayLike, spacing: float = 0.03) -> FloatArray:
    """(N, 3) points on the surface of an axis-aligned box (obstacle cloud), metres."""
    c = np.asarray(centre, dtype=np.float64)
    half = np.asarray(size, dtype=np.float64) / 2.0
    axes = [np.linspace(-h, h, max(2, int(np.ceil(2 * h / spacing)) + 1)) for h in half]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    on_surface = np.any(np.isclose(np.abs(grid), half), axis=1)
    return grid[on_surface] + c
