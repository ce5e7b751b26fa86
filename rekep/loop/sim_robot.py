"""The PyBullet Panda behind the loop's :class:`~rekep.loop.robot_interface.LoopRobot`.

Joint targets sent during a tick are tracked while :meth:`SimRobot.advance` steps physics:
the motor command moves from the previous target to the new one in sub-steps of
:data:`rekep.sim.panda.CONTROL_DT`, so a 20 Hz planner still drives the motors smoothly.
Observations are rendered only when :meth:`SimRobot.observe` is called.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SimulationError
from rekep.observation import RGBD
from rekep.sim.camera import Camera
from rekep.sim.panda import CONTROL_DT, Panda

FloatArray = NDArray[np.float64]


class SimRobot:
    """Adapter: a :class:`~rekep.sim.panda.Panda` and a :class:`~rekep.sim.camera.Camera`."""

    name = "pybullet-panda"

    def __init__(self, panda: Panda, camera: Camera) -> None:
        self.panda = panda
        self.world = panda.world
        self.camera = camera
        self._from = panda.arm_target
        self._to = self._from.copy()
        """(H, W) body ids of the last observation (simulation only; the loop ignores it)."""

    @property
    def time_s(self) -> float:
        return float(self.world.sim_time)

    def joint_positions(self) -> FloatArray:
        return self.panda.joint_positions()

    def hand_pose(self) -> FloatArray:
        return self.panda.hand_pose()

    def inverse_kinematics(self, T_world_tcp: ArrayLike, q_seed: ArrayLike) -> FloatArray | None:
        return self.panda.ik_step(T_world_tcp, q_seed)

    def send_joint_targets(self, q: ArrayLike) -> None:
        self._from = self.panda.arm_target
        self._to = np.asarray(q, dtype=np.float64).reshape(7).copy()

    def command_gripper(self, close: bool) -> None:
        self.panda.set_gripper(close)

    def gripper_width(self) -> float:
        return self.panda.gripper_width()

    def observe(self) -> RGBD:
        return self.camera.observe(self.world.client)  # no segmentation: privileged

    def advance(self, seconds: float) -> None:
        """Step physics for ``seconds``, ramping the arm target in CONTROL_DT sub-steps."""
        if seconds < 0:
            raise SimulationError(f"cannot advance by negative time {seconds}")
        steps = max(1, round(seconds / self.world.time_step))
        per = max(1, round(CONTROL_DT / self.world.time_step))
        chunks = max(1, steps // per)
        done = 0
        for i in range(1, chunks + 1):
            self.panda.set_arm_target(self._from + (i / chunks) * (self._to - self._from))
            n = steps - done if i == chunks else per
            self.world.step(n)
            done += n
        self._from = self._to.copy()
