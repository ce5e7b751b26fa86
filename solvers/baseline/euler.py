"""Pose <-> the original's decision variables: position + Euler angles, scaled to [-1, 1].

The ReKep recipe optimizes ``[x, y, z, roll, pitch, yaw]`` with extrinsic (static-axis)
x-y-z Euler angles, each variable mapped linearly from its bounds to [-1, 1]. Only this
baseline uses Euler angles (the rest of the package uses rotation vectors); we reproduce
the choice, including its wrap-around at +-pi, to measure the original faithfully.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from rekep.errors import SolverError

FloatArray = NDArray[np.float64]
EULER_SEQUENCE = "xyz"
"""SciPy sequence: lower case = extrinsic rotations about the fixed x, y then z axes."""


def pose_to_euler_vector(T: ArrayLike) -> FloatArray:
    """(4, 4) pose -> (6,) ``[p (m), euler xyz (rad, each in [-pi, pi])]``."""
    arr = np.asarray(T, dtype=np.float64)
    euler = Rotation.from_matrix(arr[:3, :3]).as_euler(EULER_SEQUENCE)
    return np.concatenate([arr[:3, 3], euler])


def euler_vector_to_pose(v: ArrayLike) -> FloatArray:
    """(6,) ``[p, euler xyz]`` -> (4, 4) pose."""
    vec = np.asarray(v, dtype=np.float64).reshape(6)
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler(EULER_SEQUENCE, vec[3:]).as_matrix()
    T[:3, 3] = vec[:3]
    return T


def euler_vectors_to_poses(v: ArrayLike) -> FloatArray:
    """(N, 6) ``[p, euler]`` rows -> (N, 4, 4) poses."""
    vec = np.asarray(v, dtype=np.float64).reshape(-1, 6)
    out = np.tile(np.eye(4), (len(vec), 1, 1))
    if len(vec):
        out[:, :3, :3] = Rotation.from_euler(EULER_SEQUENCE, vec[:, 3:]).as_matrix()
        out[:, :3, 3] = vec[:, :3]
    return out


@dataclass(frozen=True, eq=False)
class VariableScaling:
    """Linear map between variables in ``[lower, upper]`` and normalized values in [-1, 1].

    Attributes:
        lower: (n,) lower bounds (same units as the variables).
        upper: (n,) upper bounds, ``upper > lower`` element-wise.
    """

    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        lo = np.array(self.lower, dtype=np.float64).reshape(-1)
        hi = np.array(self.upper, dtype=np.float64).reshape(-1)
        if lo.shape != hi.shape or not np.all(np.isfinite(lo) & np.isfinite(hi)) or not np.all(
            lo < hi
        ):
            raise SolverError(
                "VariableScaling needs finite bounds of equal length with lower < upper"
            )
        lo.setflags(write=False)
        hi.setflags(write=False)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def size(self) -> int:
        """Number of variables n."""
        return int(self.lower.shape[0])

    def normalize(self, values: ArrayLike) -> FloatArray:
        """(n,) variables -> (n,) values in [-1, 1] (inside the bounds)."""
        v = np.asarray(values, dtype=np.float64).reshape(self.size)
        return (v - self.lower) / (self.upper - self.lower) * 2.0 - 1.0

    def unnormalize(self, normalized: ArrayLike) -> FloatArray:
        """(n,) values in [-1, 1] -> (n,) variables."""
        u = np.asarray(normalized, dtype=np.float64).reshape(self.size)
        return (u + 1.0) / 2.0 * (self.upper - self.lower) + self.lower

    def tiled(self, count: int) -> VariableScaling:
        """The same bounds repeated ``count`` times (for ``count`` stacked poses)."""
        return VariableScaling(np.tile(self.lower, count), np.tile(self.upper, count))


def pose_scaling(workspace_lower: ArrayLike, workspace_upper: ArrayLike) -> VariableScaling:
    """(6,) scaling of one pose: the workspace box for position, [-pi, pi] per Euler angle."""
    lo = np.concatenate([np.asarray(workspace_lower, dtype=np.float64).reshape(3),
                         np.full(3, -math.pi)])  # fmt: skip
    hi = np.concatenate([np.asarray(workspace_upper, dtype=np.float64).reshape(3),
                         np.full(3, math.pi)])  # fmt: skip
    return VariableScaling(lo, hi)
