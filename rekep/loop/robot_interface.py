"""The small robot interface the closed loop talks to.

The loop never blocks on motion: every tick it reads the robot's state, sends joint targets
and gripper commands that return at once, then lets robot time pass with :meth:`advance`
(a simulator steps its physics there; a real robot waits for the wall clock). Implemented by
:class:`rekep.loop.sim_robot.SimRobot` (PyBullet Panda) and
:class:`rekep.loop.fake_robot.FakeRobot` (kinematic, for tests and as a template for a real
arm).

Poses are (4, 4) tool-centre-point (TCP) poses ``T_world_tcp`` in metres: TCP z is the
approach direction (out of the hand), TCP x the finger closing direction (see
:mod:`rekep.robot`). Joint vectors are (J,) radians (or metres for prismatic joints).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.observation import RGBD

FloatArray = NDArray[np.float64]


@runtime_checkable
class LoopRobot(Protocol):
    """What the closed loop needs from one arm with a parallel gripper."""

    name: str
    """A short label for results (e.g. ``"pybullet-panda"``)."""

    @property
    def time_s(self) -> float:
        """Robot time in seconds (simulated time, or a monotonic wall clock)."""
        ...

    def joint_positions(self) -> FloatArray:
        """(J,) measured joint positions."""
        ...

    def hand_pose(self) -> FloatArray:
        """(4, 4) measured ``T_world_tcp``."""
        ...

    def inverse_kinematics(self, T_world_tcp: ArrayLike, q_seed: ArrayLike) -> FloatArray | None:
        """(J,) joints reaching the (4, 4) TCP pose near ``q_seed``, or None if unreachable."""
        ...

    def send_joint_targets(self, q: ArrayLike) -> None:
        """Track the (J,) joint target from now on; returns at once (non-blocking)."""
        ...

    def command_gripper(self, close: bool) -> None:
        """Start closing (squeeze) or opening the gripper; returns at once."""
        ...

    def gripper_width(self) -> float:
        """Measured distance between the fingers, metres."""
        ...

    def observe(self) -> RGBD:
        """A fresh RGB-D observation (may be expensive: the loop calls it only when needed)."""
        ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of robot time pass while the last targets are tracked."""
        ...
