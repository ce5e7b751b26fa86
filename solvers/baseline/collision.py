"""Collision term of the ReKep recipe: a distance field read at points that move with the hand.

The original samples up to 60 points on the gripper and the held object, carries them with
the candidate pose, reads a signed distance field there and sums ``max(0, margin - d)``.
Here the field is any callable ``sdf(points (N, 3)) -> distances (N,)`` in metres, positive
in free space; :func:`point_cloud_sdf` makes one from an obstacle point cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from rekep.errors import SolverError
from rekep.poses import invert_pose, transform_points

FloatArray = NDArray[np.float64]
SdfFn = Callable[[FloatArray], FloatArray]

HAND_POINTS_TCP = np.array(
    [
        [0.0, 0.04, 0.0], [0.0, -0.04, 0.0], [0.0, 0.04, -0.045], [0.0, -0.04, -0.045],
        [0.0, 0.0, -0.065], [0.0, 0.08, -0.065], [0.0, -0.08, -0.065],
        [0.03, 0.0, -0.065], [-0.03, 0.0, -0.065], [0.0, 0.0, -0.12],
    ]
)  # fmt: skip
"""(10, 3) points on a Panda-like hand in the TCP frame, metres (z points out of the hand)."""


def gripper_and_held_points(T_world_tcp: ArrayLike, held_points: ArrayLike) -> FloatArray:
    """(10 + H, 3) world points of the gripper (:data:`HAND_POINTS_TCP` at ``T_world_tcp``)
    and of the held object (``held_points`` (H, 3) world metres, e.g. its keypoints): what the
    original samples its collision points from."""
    T = np.asarray(T_world_tcp, dtype=np.float64)
    held = np.asarray(held_points, dtype=np.float64).reshape(-1, 3)
    return np.concatenate([transform_points(T, HAND_POINTS_TCP), held])


def farthest_point_sampling(points: ArrayLike, count: int) -> FloatArray:
    """Up to ``count`` of the (N, 3) ``points``, spread out (deterministic, starts at row 0)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(pts) <= count:
        return pts.copy()
    chosen = [0]
    dist = np.linalg.norm(pts - pts[0], axis=1)
    for _ in range(count - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(pts - pts[nxt], axis=1))
    return pts[chosen]


def point_cloud_sdf(obstacle_points: ArrayLike) -> SdfFn:
    """Distance (m) from each query point to the nearest of the (M, 3) obstacle points.

    An unsigned stand-in for the original's voxel SDF (free space is all we query). With no
    obstacle points the distance is +inf everywhere (no collision cost).
    """
    obstacles = np.asarray(obstacle_points, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(obstacles)):
        raise SolverError("obstacle points must be finite; drop invalid depth first")
    if len(obstacles) == 0:
        return lambda pts: np.full(np.asarray(pts).reshape(-1, 3).shape[0], np.inf)
    tree = cKDTree(obstacles)

    def sdf(points: FloatArray) -> FloatArray:
        distances, _ = tree.query(np.asarray(points, dtype=np.float64).reshape(-1, 3))
        return np.asarray(distances, dtype=np.float64)

    return sdf


@dataclass(frozen=True, eq=False)
class CollisionModel:
    """Collision points rigidly attached to the hand, and the distance field.

    Attributes:
        sdf: ``points (N, 3) -> (N,)`` distances in metres, positive in free space.
        points_tcp: (N, 3) points in the TCP frame, metres (N <= the sampling budget).
    """

    sdf: SdfFn
    points_tcp: FloatArray

    @classmethod
    def from_world(
        cls,
        sdf: SdfFn,
        points_world: ArrayLike | None,
        T_world_tcp: ArrayLike,
        max_points: int = 60,
    ) -> CollisionModel:
        """Points given in the world at the current pose ``T_world_tcp`` (None: the hand)."""
        if not callable(sdf):
            raise SolverError("sdf must be callable: points (N, 3) -> distances (N,)")
        if points_world is None:
            pts_tcp = HAND_POINTS_TCP.copy()
        else:
            pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
            pts_tcp = transform_points(invert_pose(np.asarray(T_world_tcp, dtype=np.float64)), pts)
        return cls(sdf, farthest_point_sampling(pts_tcp, max_points))

    def cost(self, poses: FloatArray, margin: float) -> float:
        """``sum max(0, margin - d)`` over the points carried by each (P, 4, 4) pose."""
        if len(poses) == 0 or len(self.points_tcp) == 0:
            return 0.0
        world = np.einsum("pij,nj->pni", poses[:, :3, :3], self.points_tcp) + poses[:, None, :3, 3]
        d = np.asarray(self.sdf(world.reshape(-1, 3)), dtype=np.float64)
        d = np.where(np.isfinite(d), d, np.inf)  # NaN or inf: free space
        return float(np.sum(np.maximum(0.0, margin - d)))
