"""Seeded table placements shared by the pick-and-place tasks of the suite.

Seed convention (the same for every task of the suite): seeds in :data:`TRAIN_SEEDS`
(0-999) are for tuning and development, seeds in :data:`TEST_SEEDS` (1000-1999) are for
reported benchmark numbers. A task's ``reset(seed)`` accepts any seed >= 0; the ranges
are a convention, not an enforcement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SimulationError
from rekep.poses import make_pose
from rekep.sim.world import BoxPart

TRAIN_SEEDS = range(0, 1000)
"""Seeds for development and tuning."""
TEST_SEEDS = range(1000, 2000)
"""Seeds for reported benchmark numbers (disjoint from :data:`TRAIN_SEEDS`)."""

Box2 = tuple[tuple[float, float], tuple[float, float]]
"""An xy sampling box ((x_min, x_max), (y_min, y_max)), metres."""


def yaw_pose(xy: Sequence[float] | NDArray[np.float64], z: float, yaw: float) -> NDArray[
    np.float64
]:
    """(4, 4) pose at ``(x, y, z)`` metres rotated by ``yaw`` radians about world z."""
    c, s = np.cos(yaw), np.sin(yaw)
    return make_pose([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], [xy[0], xy[1], z])


def sample_apart(
    rng: np.random.Generator, boxes: Sequence[Box2], min_separation: float, seed: int
) -> list[NDArray[np.float64]]:
    """One (2,) xy point per sampling box, every pair at least ``min_separation`` m apart.

    Raises:
        SimulationError: no such placement was found in 1000 draws (boxes too small).
    """
    lows = [np.array([b[0][0], b[1][0]]) for b in boxes]
    highs = [np.array([b[0][1], b[1][1]]) for b in boxes]
    for _ in range(1000):
        points = [rng.uniform(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
        if all(
            np.linalg.norm(points[i] - points[j]) >= min_separation
            for i in range(len(points))
            for j in range(i)
        ):
            return points
    raise SimulationError(
        f"could not place {len(boxes)} objects {min_separation} m apart for seed {seed}; "
        "widen the sampling boxes or lower the separation"
    )


def nearest_rest_error(height: float, half_sizes: Sequence[float]) -> float:
    """Distance (m) from ``height`` to the nearest of the resting centre heights
    ``half_sizes`` (a body resting on a face has its centre one half size above it)."""
    return float(min(abs(height - h) for h in half_sizes))


def tilt_rad(T_world_body: NDArray[np.float64]) -> float:
    """Angle (rad) between a body's z axis and world z."""
    return float(np.arccos(np.clip(T_world_body[2, 2], -1.0, 1.0)))


def open_box_parts(
    inner_half: float,
    wall: float,
    wall_height: float,
    floor: float,
    rgba: tuple[float, float, float, float],
) -> list[BoxPart]:
    """Floor and four walls of an open box (tray, bin), in its frame (origin: centre of the
    floor's underside); ``inner_half`` is half the inner side, all sizes in metres."""
    outer = inner_half + wall
    wall_z = floor + wall_height / 2
    half_w, half_h = wall / 2, wall_height / 2
    mid = inner_half + half_w
    return [
        BoxPart((outer, outer, floor / 2), (0.0, 0.0, floor / 2), rgba=rgba),
        BoxPart((half_w, outer, half_h), (mid, 0.0, wall_z), rgba=rgba),
        BoxPart((half_w, outer, half_h), (-mid, 0.0, wall_z), rgba=rgba),
        BoxPart((inner_half, half_w, half_h), (0.0, mid, wall_z), rgba=rgba),
        BoxPart((inner_half, half_w, half_h), (0.0, -mid, wall_z), rgba=rgba),
    ]
