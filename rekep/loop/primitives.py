"""Grasp and release primitives, ticked by the loop (never blocking).

Each primitive is a small phase machine. Every tick it reads the hand pose and gripper
width, may command the gripper, and returns a :class:`Step`: a TCP pose to stream towards
(or None to hold), and whether it is still running, succeeded or failed (with the reason).
Geometry follows :mod:`rekep.robot` (same :class:`~rekep.robot.GraspConfig`): descend
``depth_m`` past the sub-goal along the approach axis (never closer than ``clearance_m`` to
the lowest observed point of the object), close, verify by width, lift ``approach_m`` back
along the approach axis and verify again by width and by the held keypoints following the
hand (the :class:`~rekep.loop.held_model.HeldObjectModel` checks that every tick).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.grasp_geometry import GraspConfig, descent_target
from rekep.loop.held_model import HeldObjectModel
from rekep.loop.robot_interface import LoopRobot
from rekep.poses import rotation_angle

FloatArray = NDArray[np.float64]
OPEN_ENOUGH_M = 0.07
"""A gripper at least this wide counts as open, metres."""


@dataclass(frozen=True)
class Step:
    """One tick of a primitive: ``status`` is ``running``, ``ok`` or ``failed``."""

    status: str
    target: FloatArray | None = None
    reason: str = ""


def _near(T: FloatArray, target: FloatArray, pos_tol: float, ang_tol: float = 0.1) -> bool:
    return bool(
        np.linalg.norm(T[:3, 3] - target[:3, 3]) <= pos_tol
        and rotation_angle(T[:3, :3], target[:3, :3]) <= ang_tol
    )


class GraspPrimitive:
    """Descend, close, verify, lift, verify (see the module docstring).

    Args:
        keypoint: the grasped keypoint index.
        T_subgoal: (4, 4) grasp pose (closing axis chosen, centred:
            :func:`rekep.grasp_geometry.grasp_pose`).
        object_points: (N, 3) observed points of the object, metres (may be empty).
        config: grasp geometry and the minimum held width.
        phase_timeout_s: robot seconds allowed for each phase.
    """

    def __init__(
        self,
        keypoint: int,
        T_subgoal: FloatArray,
        object_points: FloatArray,
        config: GraspConfig,
        phase_timeout_s: float = 2.0,
    ) -> None:
        self.keypoint = keypoint
        self.config = config
        self.timeout = phase_timeout_s
        self.target = descent_target(T_subgoal, object_points, config)
        self.phase = "descend"
        self._since: float | None = None
        self._last_width = np.inf
        self._still = 0
        self._lift: FloatArray | None = None
        self._start_positions: FloatArray | None = None

    def _enter(self, phase: str, time_s: float) -> None:
        self.phase, self._since = phase, time_s

    def tick(
        self, robot: LoopRobot, held: HeldObjectModel, positions: FloatArray, time_s: float
    ) -> Step:
        if self._since is None:
            self._since = time_s
            self._start_positions = np.array(positions, dtype=np.float64)
        T, width = robot.hand_pose(), robot.gripper_width()
        elapsed = time_s - self._since
        if self.phase == "descend":  # close once there with the fingers open (after a miss
            # or a knock-out they may still be opening)
            if (_near(T, self.target, 0.005) and width >= OPEN_ENOUGH_M) or elapsed > self.timeout:
                robot.command_gripper(close=True)
                self._enter("close", time_s)
            return Step("running", self.target)
        if self.phase == "close":
            self._still = self._still + 1 if abs(width - self._last_width) < 2e-4 else 0
            self._last_width = width
            if self._still < 3 and elapsed <= self.timeout:
                return Step("running", None)
            if width < self.config.min_width_m:
                robot.command_gripper(close=False)
                return Step("failed", None, f"gripper closed to {width * 1000:.1f} mm: missed")
            assert self._start_positions is not None  # set on the first step
            held.grasp(self.keypoint, T, self._start_positions)
            self._lift = T.copy()
            self._lift[:3, 3] = T[:3, 3] - self.config.approach_m * T[:3, 2]
            self._enter("lift", time_s)
            return Step("running", self._lift)
        assert self._lift is not None
        if not held.holding:
            robot.command_gripper(close=False)
            return Step("failed", None, f"object slipped while lifting ({held.last_event})")
        if _near(T, self._lift, 0.015) or elapsed > self.timeout:
            return Step("ok", None, f"holding keypoints {list(held.held)} at "
                        f"{width * 1000:.1f} mm")
        return Step("running", self._lift)


class ReleasePrimitive:
    """Finish the move to the solved sub-goal, open the gripper, forget the hold, back away
    along the approach axis.

    The stage machine acts once the measured sub-goal is within tolerance, which can come
    while the hand is still moving towards the solved pose (2 cm short at 0.25 m/s, measured
    on stack_blocks 1003 with proposed keypoints: the block was let go on the move and slid
    off its target). So the hand first settles at ``T_goal`` (within ``settle_tol_m``, at
    most ``phase_timeout_s``), then opens; ``on_open(T)`` is called with the hand pose when
    the fingers start to open.
    """

    def __init__(self, retreat_m: float = 0.10, phase_timeout_s: float = 1.5,
                 T_goal: FloatArray | None = None, settle_tol_m: float = 0.005,
                 on_open: Callable[[FloatArray], None] | None = None) -> None:  # fmt: skip
        self.on_open = on_open
        self.retreat_m = retreat_m
        self.timeout = phase_timeout_s
        self.goal = None if T_goal is None else np.array(T_goal, dtype=np.float64)
        self.settle_tol_m = settle_tol_m
        self.phase = "open" if self.goal is None else "settle"
        self._since: float | None = None
        self._back: FloatArray | None = None

    def tick(
        self, robot: LoopRobot, held: HeldObjectModel, positions: FloatArray, time_s: float
    ) -> Step:
        if self._since is None:
            self._since = time_s
        T = robot.hand_pose()
        elapsed = time_s - self._since
        if self.phase == "settle":
            assert self.goal is not None
            if not _near(T, self.goal, self.settle_tol_m) and elapsed <= self.timeout:
                return Step("running", self.goal)
            self.phase, self._since, elapsed = "open", time_s, 0.0
        if self.phase == "open":
            if self.on_open is not None:
                self.on_open(T)
                self.on_open = None
            robot.command_gripper(close=False)
            if robot.gripper_width() < OPEN_ENOUGH_M and elapsed <= self.timeout:
                return Step("running", None)
            held.release("released by the release primitive")
            self._back = T.copy()
            self._back[:3, 3] = T[:3, 3] - self.retreat_m * T[:3, 2]
            self.phase, self._since = "retreat", time_s
            return Step("running", self._back)
        assert self._back is not None
        if _near(T, self._back, 0.015) or elapsed > self.timeout:
            return Step("ok", None, "released and retreated")
        return Step("running", self._back)
