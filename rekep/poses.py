"""The package's single pose convention.

* At API boundaries a pose is a (4, 4) homogeneous matrix ``T_a_b`` that maps points in
  frame ``b`` to frame ``a`` (``p_a = T_a_b @ p_b``); translations are in metres.
* Quaternions are ``(x, y, z, w)`` (the order of SciPy and PyBullet).
* Inside optimizers orientations are rotation vectors (axis * angle, radians); never Euler
  angles.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation, Slerp

from rekep.errors import PoseError

FloatArray = NDArray[np.float64]


def as_pose(T: ArrayLike, name: str = "pose") -> FloatArray:
    """Validate and return ``T`` as a float64 (4, 4) rigid transform."""
    arr = np.asarray(T, dtype=np.float64)
    if arr.shape != (4, 4):
        raise PoseError(f"{name} must be a (4, 4) homogeneous matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise PoseError(f"{name} contains NaN or inf")
    if not np.allclose(arr[3], [0.0, 0.0, 0.0, 1.0], atol=1e-6):
        raise PoseError(f"{name} last row must be [0, 0, 0, 1], got {arr[3].tolist()}")
    R = arr[:3, :3]
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-4) or np.linalg.det(R) < 0:
        raise PoseError(f"{name} rotation block is not a proper rotation (R R^T != I or det < 0)")
    return arr


def make_pose(rotation: ArrayLike, translation: ArrayLike) -> FloatArray:
    """Build a (4, 4) pose from a (3, 3) rotation matrix and a (3,) translation in metres."""
    T = np.eye(4)
    T[:3, :3] = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    T[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return T


def pose_from_pos_quat(position: ArrayLike, quat_xyzw: ArrayLike) -> FloatArray:
    """(3,) position in metres and (4,) quaternion (x, y, z, w) -> (4, 4) pose."""
    return make_pose(quat_to_matrix(quat_xyzw), position)


def pos_quat_from_pose(T: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(4, 4) pose -> ((3,) position, (4,) quaternion (x, y, z, w))."""
    arr = np.asarray(T, dtype=np.float64)
    return arr[:3, 3].copy(), matrix_to_quat(arr[:3, :3])


def pose_from_pos_rotvec(position: ArrayLike, rotvec: ArrayLike) -> FloatArray:
    """(3,) position and (3,) rotation vector (radians) -> (4, 4) pose."""
    return make_pose(Rotation.from_rotvec(np.array(rotvec, dtype=np.float64)).as_matrix(), position)


def rotvec_from_matrix(R: ArrayLike) -> FloatArray:
    """(3, 3) rotation -> (3,) rotation vector in radians."""
    return np.asarray(Rotation.from_matrix(np.array(R, dtype=np.float64)).as_rotvec())


def quat_to_matrix(quat_xyzw: ArrayLike) -> FloatArray:
    """(4,) quaternion (x, y, z, w), normalised here -> (3, 3) rotation."""
    q = np.asarray(quat_xyzw, dtype=np.float64).reshape(4)
    n = np.linalg.norm(q)
    if not np.isfinite(n) or n < 1e-9:
        raise PoseError(f"quaternion must be finite and non-zero, got {q.tolist()}")
    return np.asarray(Rotation.from_quat(q / n).as_matrix())


def matrix_to_quat(R: ArrayLike) -> FloatArray:
    """(3, 3) rotation -> (4,) unit quaternion (x, y, z, w) with w >= 0."""
    q = np.asarray(Rotation.from_matrix(np.array(R, dtype=np.float64)).as_quat())
    return -q if q[3] < 0 else q


def invert_pose(T: ArrayLike) -> FloatArray:
    """Inverse of a rigid transform, without a general matrix inverse."""
    arr = np.asarray(T, dtype=np.float64)
    R = arr[:3, :3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ arr[:3, 3]
    return out


def transform_points(T: ArrayLike, points: ArrayLike) -> FloatArray:
    """Apply a (4, 4) pose to (N, 3) points (or one (3,) point); returns the same shape."""
    arr = np.asarray(T, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    out = pts.reshape(-1, 3) @ arr[:3, :3].T + arr[:3, 3]
    return out.reshape(pts.shape)


def rotation_angle(R_a: ArrayLike, R_b: ArrayLike) -> float:
    """Geodesic angle in radians between two (3, 3) rotations, in [0, pi]."""
    Ra = np.asarray(R_a, dtype=np.float64)
    Rb = np.asarray(R_b, dtype=np.float64)
    cos = (np.trace(Ra.T @ Rb) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def interpolate_poses(T_start: ArrayLike, T_end: ArrayLike, fractions: ArrayLike) -> FloatArray:
    """Poses at ``fractions`` in [0, 1] between two poses: linear in position, slerp in rotation.

    Returns (N, 4, 4).
    """
    A = np.asarray(T_start, dtype=np.float64)
    B = np.asarray(T_end, dtype=np.float64)
    s = np.clip(np.asarray(fractions, dtype=np.float64).reshape(-1), 0.0, 1.0)
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([A[:3, :3], B[:3, :3]])))
    out = np.tile(np.eye(4), (len(s), 1, 1))
    out[:, :3, :3] = slerp(s).as_matrix()
    out[:, :3, 3] = (1.0 - s)[:, None] * A[:3, 3] + s[:, None] * B[:3, 3]
    return out
