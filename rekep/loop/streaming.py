"""The next joint target the loop streams to the robot: a bounded step towards a pose.

Each tick the loop aims at a "carrot": the pose a bounded distance (``lookahead_m``,
``lookahead_rad``) from the hand along the way to the current waypoint, and sends the IK
solution of it. Near the edge of the arm's reach the carrot can have no IK solution while
the sub-goal itself has one (the joint-space solver found it): then the loop steps the
joints straight towards the sub-goal's joints instead, by at most ``lookahead_rad`` per
joint, rather than holding still until the stage times out. A hand that cannot move at
all for ``infeasible_timeout_s`` ends the episode ``infeasible`` (see the engine).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.poses import interpolate_poses, rotation_angle

FloatArray = NDArray[np.float64]


def carrot_pose(T: ArrayLike, target: ArrayLike, lookahead_m: float,
                lookahead_rad: float) -> FloatArray:  # fmt: skip
    """(4, 4) pose at most ``lookahead_m`` / ``lookahead_rad`` from hand pose ``T`` on the
    straight (screw-free, interpolated) way to ``target``."""
    T0, T1 = np.asarray(T, dtype=np.float64), np.asarray(target, dtype=np.float64)
    dist = float(np.linalg.norm(T1[:3, 3] - T0[:3, 3]))
    angle = rotation_angle(T0[:3, :3], T1[:3, :3])
    alpha = min(1.0, lookahead_m / max(dist, 1e-9), lookahead_rad / max(angle, 1e-9))
    return np.asarray(interpolate_poses(T0, T1, np.array([alpha]))[0])


def joint_step(q_from: ArrayLike, q_goal: ArrayLike, max_step_rad: float) -> FloatArray:
    """``q_from`` moved straight towards ``q_goal``, no joint by more than ``max_step_rad``."""
    q0, q1 = np.asarray(q_from, dtype=np.float64), np.asarray(q_goal, dtype=np.float64)
    if q0.shape != q1.shape:
        raise ValueError(f"joint vectors differ in shape: {q0.shape} vs {q1.shape}")
    largest = float(np.max(np.abs(q1 - q0))) if q0.size else 0.0
    scale = min(1.0, max_step_rad / max(largest, 1e-12))
    return q0 + scale * (q1 - q0)
