"""The small robot interface the executor talks to, and grasp/release primitives.

The PyBullet :class:`~rekep.sim.panda.Panda` implements :class:`Robot`; so can a user's real
arm. Poses are (4, 4) tool-centre-point (TCP) poses in the world frame: TCP z is the
approach direction (out of the hand), TCP x the finger closing direction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.poses import make_pose

logger = logging.getLogger(__name__)


class Robot(Protocol):
    """What the executor needs from an arm with a parallel gripper."""

    def hand_pose(self) -> NDArray[np.float64]: ...

    def move_to_pose(self, T_world_tcp: ArrayLike, *, speed_m_s: float = ...) -> bool: ...

    def open_gripper(self) -> float: ...

    def close_gripper(self) -> float: ...

    def gripper_width(self) -> float: ...


@dataclass(frozen=True)
class GraspConfig:
    """Grasp primitive settings (metres).

    ``depth_m``: how far past the sub-goal point the TCP goes along the approach axis (a
    surface keypoint is the top of the object; the fingers must close below it);
    ``clearance_m``: the TCP stays this far above the lowest observed point of the object;
    ``approach_m``: pre-grasp and retreat distance; ``min_width_m``: a closed gripper
    narrower than this holds nothing.
    """

    depth_m: float = 0.02
    clearance_m: float = 0.015
    approach_m: float = 0.10
    min_width_m: float = 0.005
    descend_speed_m_s: float = 0.15


def closing_axis_from_points(points: ArrayLike, preferred: ArrayLike) -> NDArray[np.float64]:
    """Unit closing direction (3,) in the world xy plane for a top-down grasp of an object.

    ``points`` (N, 3) are the object's observed surface points. The minimum-area bounding
    rectangle of their xy projection gives the object's faces; the fingers close across the
    narrower side. Of the two opposite directions, the one nearer ``preferred`` is returned
    (a parallel gripper is symmetric, and staying near the current yaw keeps the wrist
    joint away from its limits).
    """
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 3)[:, :2]
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    pref = np.asarray(preferred, dtype=np.float64)[:2]
    if len(xy) < 3:
        direction = pref
    else:
        centred = xy - xy.mean(axis=0)
        angles = np.deg2rad(np.arange(0.0, 90.0, 1.0))
        best = (np.inf, 0.0, 0.0, 0.0)
        for a in angles:
            c, s = np.cos(a), np.sin(a)
            u = centred @ np.array([c, s])
            v = centred @ np.array([-s, c])
            eu, ev = np.ptp(u), np.ptp(v)
            if eu * ev < best[0]:
                best = (eu * ev, a, eu, ev)
        _, a, eu, ev = best
        axis_u = np.array([np.cos(a), np.sin(a)])
        axis_v = np.array([-np.sin(a), np.cos(a)])
        candidates = [axis_u, axis_v] if abs(eu - ev) < 0.005 else [axis_u if eu < ev else axis_v]
        options = [d for c in candidates for d in (c, -c)]
        direction = max(options, key=lambda d: float(d @ pref))
    out = np.array([direction[0], direction[1], 0.0])
    return out / max(np.linalg.norm(out), 1e-12)


def with_closing_axis(T_world_tcp: ArrayLike, closing_axis: ArrayLike) -> NDArray[np.float64]:
    """Rotate a TCP pose about its approach axis so its x axis follows ``closing_axis``."""
    T = np.asarray(T_world_tcp, dtype=np.float64)
    z = T[:3, 2]
    d = np.asarray(closing_axis, dtype=np.float64)
    x = d - (d @ z) * z
    if np.linalg.norm(x) < 1e-6:  # closing axis along the approach: keep the pose
        return T.copy()
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(np.column_stack([x, y, z]), T[:3, 3])


@dataclass(frozen=True)
class GraspResult:
    """Outcome of :func:`grasp`: ``T_at_close`` is the TCP pose when the fingers closed (the
    held object moves rigidly with the hand from there on), or where the hand stopped."""

    held: bool
    width_m: float
    reason: str
    T_at_close: NDArray[np.float64]


def grasp(
    robot: Robot,
    T_subgoal: ArrayLike,
    object_points: ArrayLike,
    config: GraspConfig | None = None,
) -> GraspResult:
    """Approach, close and lift at a solved grasp sub-goal.

    The hold is verified without privileged state: by the gripper width after closing and
    again after lifting.
    """
    cfg = config or GraspConfig()
    pts = np.asarray(object_points, dtype=np.float64).reshape(-1, 3)
    T = with_closing_axis(T_subgoal, closing_axis_from_points(pts, robot.hand_pose()[:3, 0]))
    approach = T[:3, 2]
    target = T.copy()
    target[:3, 3] = T[:3, 3] + cfg.depth_m * approach
    if len(pts):  # never drive the fingertips into what lies under the object
        floor = float(np.nanmin(pts[:, 2])) + cfg.clearance_m
        target[2, 3] = max(target[2, 3], floor)
    pre = target.copy()
    pre[:3, 3] = target[:3, 3] - cfg.approach_m * approach
    robot.open_gripper()
    if not robot.move_to_pose(pre):
        return GraspResult(
            False, robot.gripper_width(), "pre-grasp pose unreachable", robot.hand_pose()
        )
    if not robot.move_to_pose(target, speed_m_s=cfg.descend_speed_m_s):
        logger.info("grasp: descent did not fully arrive; closing anyway")
    width = robot.close_gripper()
    T_close = robot.hand_pose()
    if width < cfg.min_width_m:
        robot.open_gripper()
        reason = f"gripper closed to {width * 1000:.1f} mm: nothing between the fingers"
        return GraspResult(False, width, reason, T_close)
    robot.move_to_pose(pre)
    width = robot.gripper_width()
    if width < cfg.min_width_m:
        return GraspResult(False, width, "object slipped out while lifting", T_close)
    return GraspResult(True, width, "held", T_close)


def release(robot: Robot, retreat_m: float = 0.10) -> None:
    """Open the gripper, then back away along the approach axis."""
    robot.open_gripper()
    T = robot.hand_pose()
    back = T.copy()
    back[:3, 3] = T[:3, 3] - retreat_m * T[:3, 2]
    robot.move_to_pose(back)
