"""The bimanual act primitive: a stage's grasps and releases, ticked by the loop.

Geometry follows :mod:`rekep.bimanual_episode` and :mod:`rekep.loop.primitives` (same
:class:`~rekep.robot.GraspConfig`). Phases, each bounded by ``phase_timeout_s`` robot seconds:

* ``descend``: the grasping hands go ``depth_m`` past their solved grasp poses along the
  approach axis (never closer than ``clearance_m`` to the lowest observed point of the object);
  the other hands hold their targets;
* ``close``: the grasping grippers squeeze until their widths settle; a width under
  ``min_width_m`` is a miss (grippers reopen, ``failed``); otherwise the hands' held models
  take the grasped objects;
* ``lift``: hands that picked up a free object (held by no hand before) move ``approach_m``
  back along their approach axis; a hold lost on the way fails;
* ``open`` / ``retreat``: the releasing hands open, forget their holds and back ``retreat_m``
  away along their approach axis.

Every tick returns a :class:`BiStep`: per arm a (4, 4) TCP target or None (hold), and the
status ``running``, ``ok`` or ``failed`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.grasp_geometry import GraspConfig, descent_target
from rekep.loop.bimanual.arms import ArmPair
from rekep.loop.bimanual.hands import HandHolds
from rekep.loop.primitives import OPEN_ENOUGH_M
from rekep.poses import rotation_angle

FloatArray = NDArray[np.float64]
ARMS = ("left", "right")
Targets = tuple[FloatArray | None, FloatArray | None]


@dataclass(frozen=True)
class BiStep:
    """One tick of the act primitive (``status`` is ``running``, ``ok`` or ``failed``)."""

    status: str
    targets: Targets = (None, None)
    reason: str = ""


def near(T: FloatArray, target: FloatArray, pos_tol: float, ang_tol: float = 0.1) -> bool:
    """Whether the (4, 4) pose ``T`` is within ``pos_tol`` metres and ``ang_tol`` rad."""
    return bool(np.linalg.norm(T[:3, 3] - target[:3, 3]) <= pos_tol
                and rotation_angle(T[:3, :3], target[:3, :3]) <= ang_tol)  # fmt: skip


def backed_off(T: FloatArray, distance_m: float) -> FloatArray:
    """``T`` moved ``distance_m`` back along its approach (TCP z) axis."""
    out = np.array(T, dtype=np.float64)
    out[:3, 3] -= distance_m * out[:3, 2]
    return out


class BimanualActPrimitive:
    """Grasps then releases of one stage (see the module docstring).

    Args:
        grasps / releases: ``[left, right]`` keypoint indices (-1: that hand does not).
        goals: (2, 4, 4) grasp poses (closing axes chosen, centred:
            :func:`rekep.grasp_geometry.grasp_pose`) [left, right].
        object_points: per arm the (N, 3) observed points of the object it grasps (may be
            empty).
        free_before: per arm whether the object it grasps was held by no hand before.
        positions: (K, 3) keypoints when the primitive starts (the hands are at their grasp
            poses, the objects still well seen): the held models take them at the close
            (tracks under a descending hand drift).
    """

    def __init__(self, grasps: tuple[int, int], releases: tuple[int, int], goals: FloatArray,
                 object_points: tuple[FloatArray, FloatArray], free_before: tuple[bool, bool],
                 config: GraspConfig, retreat_m: float = 0.10,
                 phase_timeout_s: float = 2.0,
                 positions: FloatArray | None = None) -> None:  # fmt: skip
        self.grasps, self.releases = grasps, releases
        self.config, self.retreat_m, self.timeout = config, retreat_m, phase_timeout_s
        self.free_before = free_before
        self.positions = None if positions is None else np.array(positions, dtype=np.float64)
        self.targets: list[FloatArray | None] = [None, None]
        for arm in range(2):
            if grasps[arm] < 0:
                continue
            target = descent_target(goals[arm], object_points[arm], config)
            self.targets[arm] = target
        self.phase = "descend" if any(g >= 0 for g in grasps) else "open"
        self._since: float | None = None
        self._last = np.full(2, np.inf)
        self._still = 0
        self._moves: list[FloatArray | None] = [None, None]

    def _enter(self, phase: str, time_s: float) -> None:
        self.phase, self._since = phase, time_s

    def _grasping(self) -> list[int]:
        return [a for a in range(2) if self.grasps[a] >= 0]

    def _releasing(self) -> list[int]:
        return [a for a in range(2) if self.releases[a] >= 0]

    def _moves_step(self) -> BiStep:
        return BiStep("running", (self._moves[0], self._moves[1]))

    def tick(self, arms: ArmPair, holds: HandHolds, positions: FloatArray,
             time_s: float) -> BiStep:  # fmt: skip
        """Advance the primitive by one loop tick."""
        if self._since is None:
            self._since = time_s
        T, widths = arms.hand_poses(), arms.gripper_widths()
        late = time_s - self._since > self.timeout
        if self.phase == "descend":
            if late or all(near(T[a], self.targets[a], 0.005) for a in self._grasping()):  # type: ignore[arg-type]
                for a in self._grasping():
                    arms.command_gripper(a, close=True)
                self._enter("close", time_s)
            return BiStep("running", (self.targets[0], self.targets[1]))
        if self.phase == "close":
            still = bool(np.all(np.abs(widths - self._last) < 2e-4))
            self._still = self._still + 1 if still else 0
            self._last = widths.copy()
            if self._still < 3 and not late:
                return BiStep("running")
            missed = [a for a in self._grasping() if widths[a] < self.config.min_width_m]
            if missed:
                for a in self._grasping():
                    arms.command_gripper(a, close=False)
                names = ", ".join(f"{ARMS[a]} {widths[a] * 1000:.1f} mm" for a in missed)
                return BiStep("failed", reason=f"gripper closed on nothing: {names}")
            for a in self._grasping():
                at_start = positions if self.positions is None else self.positions
                holds.grasp(a, self.grasps[a], T[a], at_start)
                if self.free_before[a]:
                    self._moves[a] = backed_off(T[a], self.config.approach_m)
            self._enter("lift", time_s)
            return self._moves_step()
        if self.phase == "lift":
            slipped = [a for a in self._grasping() if not holds.holding(a)]
            if slipped:
                for a in self._grasping():
                    arms.command_gripper(a, close=False)
                return BiStep("failed", reason=f"object slipped out of the {ARMS[slipped[0]]} "
                              "hand while lifting")  # fmt: skip
            moving = [a for a in range(2) if self._moves[a] is not None]
            if late or all(near(T[a], self._moves[a], 0.015) for a in moving):  # type: ignore[arg-type]
                if not self._releasing():
                    return BiStep("ok", reason=self._held_text(widths))
                self._moves = [None, None]
                self._enter("open", time_s)
            return self._moves_step()
        if self.phase == "open":
            for a in self._releasing():
                arms.command_gripper(a, close=False)
            opening = [a for a in self._releasing() if widths[a] < OPEN_ENOUGH_M]
            if opening and not late:
                return BiStep("running")
            for a in self._releasing():
                holds.release(a, "released by the act primitive")
                self._moves[a] = backed_off(T[a], self.retreat_m)
            self._enter("retreat", time_s)
            return self._moves_step()
        moving = [a for a in range(2) if self._moves[a] is not None]
        if late or all(near(T[a], self._moves[a], 0.015) for a in moving):  # type: ignore[arg-type]
            text = self._held_text(widths) if self._grasping() else ""
            gone = ", ".join(ARMS[a] for a in self._releasing())
            return BiStep("ok", reason=f"{text}{'; ' if text else ''}released {gone}")
        return self._moves_step()

    def _held_text(self, widths: FloatArray) -> str:
        return "grasped " + ", ".join(f"{ARMS[a]} keypoint {self.grasps[a]} "
                                      f"({widths[a] * 1000:.1f} mm)" for a in self._grasping())
