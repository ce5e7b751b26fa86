"""Two arms behind the bimanual loop: the :class:`ArmPair` protocol and the PyBullet pair.

Index 0 is always the left arm and 1 the right one. The loop never blocks on motion: each
tick it sends joint targets and gripper commands that return at once, then
:meth:`ArmPair.advance` lets robot time pass (the simulator ramps both arms' motor targets
in :data:`rekep.sim.panda.CONTROL_DT` sub-steps while physics steps). Poses are (4, 4) TCP
poses ``T_world_tcp`` in metres; joints (7,) radians per arm.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SimulationError
from rekep.observation import RGBD

FloatArray = NDArray[np.float64]


@runtime_checkable
class ArmPair(Protocol):
    """What the bimanual loop needs from two arms with parallel grippers and a camera."""

    @property
    def time_s(self) -> float:
        """Robot time, seconds."""
        ...

    def joint_positions(self) -> FloatArray:
        """(2, J) measured joints [left, right]."""
        ...

    def hand_poses(self) -> FloatArray:
        """(2, 4, 4) measured ``T_world_tcp`` [left, right]."""
        ...

    def inverse_kinematics(self, arm: int, T_world_tcp: ArrayLike,
                           q_seed: ArrayLike) -> FloatArray | None:  # fmt: skip
        """(J,) joints of ``arm`` reaching the TCP pose near ``q_seed``, or None."""
        ...

    def send_joint_targets(self, arm: int, q: ArrayLike) -> None:
        """``arm`` tracks the (J,) target from now on (non-blocking)."""
        ...

    def command_gripper(self, arm: int, close: bool) -> None:
        """Start closing or opening ``arm``'s gripper (non-blocking)."""
        ...

    def gripper_widths(self) -> FloatArray:
        """(2,) measured finger distances, metres."""
        ...

    def observe(self) -> RGBD:
        """A fresh RGB-D observation (expensive; called only when a tracker needs it)."""
        ...

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of robot time pass while the last targets are tracked."""
        ...


class SimArmPair:
    """Adapter: two :class:`rekep.sim.panda.Panda` s (left, right) and a task camera."""

    name = "pybullet-dual-panda"

    def __init__(self, arms: tuple[Any, Any], camera: Any) -> None:
        self.arms = arms
        self.world = arms[0].world
        self.camera = camera
        self._from = [arm.arm_target for arm in arms]
        self._to = [q.copy() for q in self._from]

    @property
    def time_s(self) -> float:
        return float(self.world.sim_time)

    def joint_positions(self) -> FloatArray:
        return np.stack([arm.joint_positions() for arm in self.arms])

    def hand_poses(self) -> FloatArray:
        return np.stack([arm.hand_pose() for arm in self.arms])

    def inverse_kinematics(self, arm: int, T_world_tcp: ArrayLike,
                           q_seed: ArrayLike) -> FloatArray | None:  # fmt: skip
        """Fast IK near ``q_seed``; when it does not converge (near a joint limit, a large
        turn of the wrist), the Panda's robust IK from ``q_seed`` (the loop bounds the step
        it takes towards the answer)."""
        panda = self.arms[arm]
        q = panda.ik_step(T_world_tcp, q_seed)
        if q is None:
            q = panda.solve_ik(T_world_tcp, q_seed=q_seed)
        return q  # type: ignore[no-any-return]

    def send_joint_targets(self, arm: int, q: ArrayLike) -> None:
        self._from[arm] = self.arms[arm].arm_target
        self._to[arm] = np.asarray(q, dtype=np.float64).reshape(7).copy()

    def command_gripper(self, arm: int, close: bool) -> None:
        self.arms[arm].set_gripper(close)

    def gripper_widths(self) -> FloatArray:
        return np.array([arm.gripper_width() for arm in self.arms], dtype=np.float64)

    def observe(self) -> RGBD:
        rgbd: RGBD = self.camera.observe(self.world.client)  # no segmentation: privileged
        return rgbd

    def advance(self, seconds: float) -> None:
        """Step physics for ``seconds``, ramping both arm targets in CONTROL_DT sub-steps."""
        from rekep.sim.panda import CONTROL_DT

        if seconds < 0:
            raise SimulationError(f"cannot advance by negative time {seconds}")
        steps = max(1, round(seconds / self.world.time_step))
        per = max(1, round(CONTROL_DT / self.world.time_step))
        chunks = max(1, steps // per)
        done = 0
        for i in range(1, chunks + 1):
            for a, arm in enumerate(self.arms):
                arm.set_arm_target(self._from[a] + (i / chunks) * (self._to[a] - self._from[a]))
            n = steps - done if i == chunks else per
            self.world.step(n)
            done += n
        self._from = [q.copy() for q in self._to]
