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

from rekep.grasp_geometry import (
    GraspConfig,
    closing_axis_from_points,
    descent_target,
    grasp_pose,
    with_closing_axis,
)

__all__ = ["GraspConfig", "GraspResult", "Robot", "closing_axis_from_points", "grasp", "release",
           "with_closing_axis"]

logger = logging.getLogger(__name__)


class Robot(Protocol):
    """What the executor needs from an arm with a parallel gripper."""

    def hand_pose(self) -> NDArray[np.float64]: ...

    def move_to_pose(self, T_world_tcp: ArrayLike, *, speed_m_s: float = ...) -> bool: ...

    def open_gripper(self) -> float: ...

    def close_gripper(self) -> float: ...

    def gripper_width(self) -> float: ...


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
    axis = closing_axis_from_points(pts, robot.hand_pose()[:3, 0])
    T, _ = grasp_pose(T_subgoal, pts, axis, cfg)
    target = descent_target(T, pts, cfg)
    approach = T[:3, 2]
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
