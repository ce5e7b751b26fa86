"""Forward model of keypoints during one solve.

Keypoints on a held object move rigidly with the hand that holds it; every other keypoint
stays where it was observed. Which keypoints are held is fixed for one solve (the caller
decides it from the grasp state before solving).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from rekep.poses import as_pose, invert_pose, transform_points

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def as_keypoints(keypoints: ArrayLike, name: str = "keypoints") -> FloatArray:
    """Validate (K, 3) finite keypoint positions in metres and return a float64 copy."""
    arr = np.array(keypoints, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise SolverError(f"{name} must be a (K, 3) array of world positions, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SolverError(f"{name} contain NaN or inf; drop or re-track those keypoints first")
    return arr


def as_held_mask(held_mask: ArrayLike | None, num_keypoints: int) -> BoolArray:
    """Validate a (K,) boolean mask of held keypoints (None means nothing is held)."""
    if held_mask is None:
        return np.zeros(num_keypoints, dtype=bool)
    arr = np.asarray(held_mask)
    if arr.shape != (num_keypoints,):
        raise SolverError(
            f"held_mask must have shape ({num_keypoints},) (one flag per keypoint), got {arr.shape}"
        )
    if arr.dtype != np.bool_:
        if not np.all(np.isin(arr, (0, 1))):
            raise SolverError("held_mask must be boolean (or 0/1 integers)")
        arr = arr.astype(bool)
    return arr.copy()


def move_held_keypoints(
    keypoints: ArrayLike,
    held_mask: ArrayLike,
    T_world_tcp_now: ArrayLike,
    T_world_tcp_new: ArrayLike,
) -> FloatArray:
    """Keypoints after the hand moves from ``T_world_tcp_now`` to ``T_world_tcp_new``.

    Args:
        keypoints: (K, 3) world positions in metres, observed with the hand at ``..._now``.
        held_mask: (K,) bool, True for keypoints on the held object.
        T_world_tcp_now: (4, 4) current TCP pose.
        T_world_tcp_new: (4, 4) candidate TCP pose.

    Returns:
        (K, 3) world positions: held keypoints transformed by
        ``T_new @ inv(T_now)`` (rigidly attached to the hand), the others unchanged.
    """
    pts = as_keypoints(keypoints)
    mask = as_held_mask(held_mask, pts.shape[0])
    now = as_pose(T_world_tcp_now, "T_world_tcp_now")
    new = as_pose(T_world_tcp_new, "T_world_tcp_new")
    if mask.any():
        pts[mask] = transform_points(new @ invert_pose(now), pts[mask])
    return pts


class HeldKeypointModel:
    """Precomputed forward model for many candidate poses in one solve (no per-call checks).

    Held keypoints are stored in the TCP frame of ``T_world_tcp_now``;
    :meth:`at_pose` maps them to the world for a candidate pose. Equivalent to
    :func:`move_held_keypoints`, but cheap enough for an optimizer's inner loop.
    """

    def __init__(
        self, keypoints: ArrayLike, held_mask: ArrayLike | None, T_world_tcp_now: ArrayLike
    ):
        self.keypoints = as_keypoints(keypoints)
        self.held_mask = as_held_mask(held_mask, self.keypoints.shape[0])
        now = as_pose(T_world_tcp_now, "T_world_tcp_now")
        self.held_in_tcp = transform_points(invert_pose(now), self.keypoints[self.held_mask])

    @property
    def any_held(self) -> bool:
        """True when at least one keypoint moves with the hand."""
        return bool(self.held_mask.any())

    def at(self, rotation: FloatArray, position: FloatArray) -> FloatArray:
        """(K, 3) keypoints with the TCP at (rotation (3, 3), position (3,) metres); a new array."""
        pts = self.keypoints.copy()
        if self.held_in_tcp.shape[0]:
            pts[self.held_mask] = self.held_in_tcp @ rotation.T + position
        return pts

    def at_pose(self, T_world_tcp: FloatArray) -> FloatArray:
        """(K, 3) keypoints with the TCP at the (4, 4) pose ``T_world_tcp``."""
        return self.at(T_world_tcp[:3, :3], T_world_tcp[:3, 3])
