"""The Franka Panda arm and gripper in a :class:`~rekep.sim.world.SimWorld`.

Poses are TCP poses ``T_world_tcp`` (see :mod:`rekep.sim.panda_model` for the TCP frame:
midway between the fingertip pads, z = approach direction out of the hand, x = finger
closing direction). Motion is physical: joints are driven by PyBullet position motors and
the world is stepped; nothing is teleported after set-up.

Grasping is by friction only (no constraint to the object): the fingers squeeze with a
bounded force and friction holds the object. The two fingers are coupled to each other by a
gear constraint (PyBullet ignores the URDF's <mimic>), which keeps them symmetric about the
TCP; nothing ever attaches to the object. ``GRASP_MODE`` records this for results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import (
    as_pose,
    interpolate_poses,
    pos_quat_from_pose,
    pose_from_pos_quat,
    rotation_angle,
)
from rekep.sim.panda_ik import PandaIK
from rekep.sim.panda_model import (
    ARM_EFFORT,
    ARM_JOINTS,
    ARM_LOWER,
    ARM_UPPER,
    FINGER_JOINTS,
    FINGER_LINKS,
    FINGER_MAX,
    HAND_LINK,
    HOME_Q,
    T_HAND_TCP,
    URDF_PATH,
)
from rekep.sim.world import SimWorld

p = require("pybullet", "simulation")

logger = logging.getLogger(__name__)

GRASP_MODE = "friction"
"""How objects are held: by finger friction only (no weld, no teleport)."""
CONTROL_DT = 1.0 / 60.0
"""Interval between Cartesian waypoints sent to the joint motors, seconds."""
FINGER_FRICTION = 1.2
"""Lateral friction of the finger pads (PyBullet multiplies the two bodies' coefficients)."""
FINGER_SPINNING_FRICTION = 0.05
"""Spinning (torsional) friction of the finger pads, metres."""
DEFAULT_GRIP_FORCE = 40.0
"""Squeezing force per finger, newtons."""
FINGER_COUPLING_FORCE = 100.0
"""Maximum force of the gear constraint that keeps the two fingers symmetric, newtons."""
ARM_POSITION_GAIN = 0.3
"""PyBullet position-motor gain of the arm joints (0..1, higher = stiffer tracking)."""


class Panda:
    """A fixed-base Panda with the Franka hand.

    Args:
        world: the world to load into (the robot registers itself there).
        T_world_base: (4, 4) base pose; default: the origin, on the table top.
    """

    def __init__(self, world: SimWorld, T_world_base: ArrayLike | None = None) -> None:
        self.world = world
        self.client = world.client
        T = np.eye(4) if T_world_base is None else as_pose(T_world_base, "T_world_base")
        pos, quat = pos_quat_from_pose(T)
        try:
            self.body = int(
                p.loadURDF(URDF_PATH, pos.tolist(), quat.tolist(), useFixedBase=True,
                           flags=p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=self.client)
            )
        except Exception as exc:
            raise SimulationError(f"could not load {URDF_PATH} from pybullet_data: {exc}") from exc
        for link in FINGER_LINKS:
            p.changeDynamics(
                self.body, link, lateralFriction=FINGER_FRICTION,
                spinningFriction=FINGER_SPINNING_FRICTION, frictionAnchor=True,
                physicsClientId=self.client,
            )
        # The URDF's <mimic> tag is ignored by PyBullet: couple the fingers with a gear
        # constraint (robot-internal, like the real hand's mechanism) so they stay symmetric
        # and a held object cannot drift along the closing axis when both motors saturate.
        gear = p.createConstraint(
            self.body, FINGER_LINKS[0], self.body, FINGER_LINKS[1], jointType=p.JOINT_GEAR,
            jointAxis=[1, 0, 0], parentFramePosition=[0, 0, 0], childFramePosition=[0, 0, 0],
            physicsClientId=self.client,
        )
        p.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=FINGER_COUPLING_FORCE,
                           physicsClientId=self.client)
        self._ik = PandaIK(T)
        world.on_close(self._ik.close)
        world.register_robot(self.body)
        self.grasp_mode = GRASP_MODE
        self._q_cmd = HOME_Q.copy()
        self._finger_cmd = FINGER_MAX
        self._grip_force = DEFAULT_GRIP_FORCE
        self.reset_joints(HOME_Q, width=2 * FINGER_MAX)

    # ------------------------------------------------------------------ state
    def joint_positions(self) -> NDArray[np.float64]:
        """(7,) arm joint angles, radians."""
        states = p.getJointStates(self.body, list(ARM_JOINTS), physicsClientId=self.client)
        return np.array([s[0] for s in states], dtype=np.float64)

    def joint_velocities(self) -> NDArray[np.float64]:
        """(7,) arm joint velocities, rad/s."""
        states = p.getJointStates(self.body, list(ARM_JOINTS), physicsClientId=self.client)
        return np.array([s[1] for s in states], dtype=np.float64)

    def hand_pose(self) -> NDArray[np.float64]:
        """(4, 4) T_world_tcp of the simulated robot now."""
        state = p.getLinkState(self.body, HAND_LINK, computeForwardKinematics=True,
                               physicsClientId=self.client)
        return pose_from_pos_quat(state[4], state[5]) @ T_HAND_TCP

    def gripper_width(self) -> float:
        """Distance between the finger pads, metres (0 .. 0.08)."""
        states = p.getJointStates(self.body, list(FINGER_JOINTS), physicsClientId=self.client)
        return float(states[0][0] + states[1][0])

    def is_holding(self, body: int) -> bool:
        """True when both fingers touch ``body`` (a friction grasp is in place)."""
        return all(self.world.in_contact(self.body, body, link_a=f) for f in FINGER_LINKS)

    # ------------------------------------------------------------------ kinematics
    def forward_kinematics(self, q: ArrayLike) -> NDArray[np.float64]:
        """(7,) joint angles -> (4, 4) T_world_tcp (does not move the robot)."""
        return self._ik.forward(q)

    def solve_ik(
        self, T_world_tcp: ArrayLike, q_rest: ArrayLike | None = None,
        q_seed: ArrayLike | None = None,
    ) -> NDArray[np.float64] | None:
        """(7,) joint angles within limits reaching ``T_world_tcp``, or None.

        None when the residual stays above 5 mm or 0.05 rad after a few deterministic
        restarts. ``q_rest`` is the preferred posture (default HOME_Q); ``q_seed`` the start
        (default: current joints).
        """
        seed = self.joint_positions() if q_seed is None else q_seed
        return self._ik.solve_robust(T_world_tcp, seed, q_rest)

    # ------------------------------------------------------------------ motion
    def reset_joints(self, q: ArrayLike, width: float | None = None) -> None:
        """Teleport the arm (and optionally the gripper) for scene set-up; zero velocities."""
        q_arr = np.clip(np.asarray(q, dtype=np.float64).reshape(7), ARM_LOWER, ARM_UPPER)
        for j, qj in zip(ARM_JOINTS, q_arr, strict=True):
            p.resetJointState(self.body, j, float(qj), 0.0, physicsClientId=self.client)
        if width is not None:
            self._finger_cmd = float(np.clip(width / 2, 0.0, FINGER_MAX))
            for j in FINGER_JOINTS:
                p.resetJointState(self.body, j, self._finger_cmd, 0.0,
                                  physicsClientId=self.client)
        self._command_arm(q_arr)
        self._command_fingers()

    def _command_arm(self, q: NDArray[np.float64]) -> None:
        self._q_cmd = q
        p.setJointMotorControlArray(
            self.body, list(ARM_JOINTS), p.POSITION_CONTROL, targetPositions=q.tolist(),
            forces=ARM_EFFORT.tolist(), positionGains=[ARM_POSITION_GAIN] * 7,
            physicsClientId=self.client,
        )

    def _command_fingers(self, max_velocity: float = 0.1) -> None:
        for j in FINGER_JOINTS:
            p.setJointMotorControl2(
                self.body, j, p.POSITION_CONTROL, targetPosition=self._finger_cmd,
                force=self._grip_force, maxVelocity=max_velocity, physicsClientId=self.client,
            )

    def _settle(self, done: Callable[[], bool], max_steps: int) -> bool:
        for _ in range(max_steps):
            if done():
                return True
            self.world.step(1)
        return bool(done())

    def move_to_pose(
        self,
        T_world_tcp: ArrayLike,
        *,
        speed_m_s: float = 0.3,
        angular_speed_rad_s: float = 1.5,
        timeout_s: float | None = None,
        pos_tol: float = 0.005,
        ang_tol: float = 0.05,
    ) -> bool:
        """Move the TCP along a straight, smoothly timed Cartesian path; True if it arrived.

        The path is interpolated (linear position, slerp rotation, smoothstep timing so the
        peak speed equals ``speed_m_s``), converted to joints by IK at every
        :data:`CONTROL_DT` and tracked by the joint motors while physics steps. Arrival
        means the TCP is within ``pos_tol`` metres and ``ang_tol`` radians of the target
        and the arm has nearly stopped. ``timeout_s`` bounds the simulated time (default:
        the path's duration plus 2 s). Returns False without moving if the target is
        unreachable.
        """
        T = as_pose(T_world_tcp, "T_world_tcp")
        if speed_m_s <= 0 or angular_speed_rad_s <= 0:
            raise SimulationError("speeds must be positive")
        q_goal = self.solve_ik(T, q_seed=self._q_cmd)
        if q_goal is None:
            logger.warning("move_to_pose: target %s is out of reach", np.round(T[:3, 3], 3))
            return False
        start = self.hand_pose()
        dist = float(np.linalg.norm(T[:3, 3] - start[:3, 3]))
        angle = rotation_angle(start[:3, :3], T[:3, :3])
        duration = 1.5 * max(dist / speed_m_s, angle / angular_speed_rad_s, CONTROL_DT)
        limit = duration + 2.0 if timeout_s is None else float(timeout_s)
        n_way = max(1, math.ceil(duration / CONTROL_DT))
        t = np.arange(1, n_way + 1) / n_way
        steps_per = max(1, round(CONTROL_DT / self.world.time_step))
        budget = max(1, round(limit / self.world.time_step))
        q = self._q_cmd
        for T_way in interpolate_poses(start, T, 3 * t**2 - 2 * t**3)[:-1]:
            if budget < steps_per:
                break
            q_way = self._ik.solve(T_way, q, q_rest=q_goal, null_space_rounds=1, max_rounds=5)
            if q_way is not None:
                q = q_way
                self._command_arm(q)
            self.world.step(steps_per)
            budget -= steps_per
        self._command_arm(q_goal)

        def arrived() -> bool:
            now = self.hand_pose()
            return (
                float(np.linalg.norm(now[:3, 3] - T[:3, 3])) <= pos_tol
                and rotation_angle(now[:3, :3], T[:3, :3]) <= ang_tol
                and float(np.max(np.abs(self.joint_velocities()))) < 0.05
            )

        ok = self._settle(arrived, max(0, budget))
        if not ok:
            now = self.hand_pose()
            logger.info(
                "move_to_pose: stopped %.4f m / %.4f rad from the target",
                float(np.linalg.norm(now[:3, 3] - T[:3, 3])),
                rotation_angle(now[:3, :3], T[:3, :3]),
            )
        return ok

    def move_joints(
        self, q: ArrayLike, *, speed_rad_s: float = 1.0, timeout_s: float | None = None,
        tol: float = 0.01,
    ) -> bool:
        """Move the arm to (7,) joint angles along a smooth joint-space path; True if arrived.

        Targets are clipped to the joint limits; arrival is every joint within ``tol`` rad.
        """
        goal = np.clip(np.asarray(q, dtype=np.float64).reshape(7), ARM_LOWER, ARM_UPPER)
        start = self.joint_positions()
        duration = 1.5 * max(float(np.max(np.abs(goal - start))) / speed_rad_s, CONTROL_DT)
        limit = duration + 2.0 if timeout_s is None else float(timeout_s)
        n_way = max(1, math.ceil(duration / CONTROL_DT))
        steps_per = max(1, round(CONTROL_DT / self.world.time_step))
        budget = max(1, round(limit / self.world.time_step))
        for s in np.arange(1, n_way + 1) / n_way:
            if budget < steps_per:
                break
            self._command_arm(start + (3 * s**2 - 2 * s**3) * (goal - start))
            self.world.step(steps_per)
            budget -= steps_per
        self._command_arm(goal)
        return self._settle(
            lambda: bool(np.max(np.abs(self.joint_positions() - goal)) <= tol
                         and np.max(np.abs(self.joint_velocities())) < 0.05),
            max(0, budget),
        )

    def home(self) -> bool:
        """Open the gripper and move to HOME_Q; True if arrived."""
        self.open_gripper()
        return self.move_joints(HOME_Q)

    # ------------------------------------------------------------------ streaming
    # Non-blocking commands for a closed loop that steps physics itself (see
    # rekep.loop.sim_robot): they set motor targets and return without stepping.
    @property
    def arm_target(self) -> NDArray[np.float64]:
        """(7,) joint angles the arm motors currently track, radians."""
        return self._q_cmd.copy()

    def set_arm_target(self, q: ArrayLike) -> None:
        """Track (7,) joint angles (clipped to the limits) from now on; does not step."""
        q_arr = np.asarray(q, dtype=np.float64).reshape(7)
        if not np.all(np.isfinite(q_arr)):
            raise SimulationError("arm target contains NaN or inf")
        self._command_arm(np.clip(q_arr, ARM_LOWER, ARM_UPPER))

    def ik_step(self, T_world_tcp: ArrayLike, q_seed: ArrayLike) -> NDArray[np.float64] | None:
        """Fast IK for a streamed target near ``q_seed`` (7,): a few rounds, None if the
        residual stays above 5 mm or 0.05 rad."""
        return self._ik.solve(T_world_tcp, q_seed, null_space_rounds=1, max_rounds=5)

    def set_gripper(self, close: bool, force: float = DEFAULT_GRIP_FORCE) -> None:
        """Start squeezing with ``force`` newtons per finger (``close``) or opening fully;
        does not step (the width follows as physics steps)."""
        if force <= 0:
            raise SimulationError(f"grip force must be positive newtons, got {force}")
        self._finger_cmd = 0.0 if close else FINGER_MAX
        self._grip_force = float(force) if close else DEFAULT_GRIP_FORCE
        self._command_fingers(max_velocity=0.1 if close else 0.2)

    # ------------------------------------------------------------------ gripper
    def open_gripper(self, width: float = 2 * FINGER_MAX, timeout_s: float = 1.0) -> float:
        """Open to ``width`` metres (at most 0.08); returns the width reached."""
        self._finger_cmd = float(np.clip(width / 2, 0.0, FINGER_MAX))
        self._grip_force = DEFAULT_GRIP_FORCE
        self._command_fingers(max_velocity=0.2)
        target = 2 * self._finger_cmd
        self._settle(lambda: abs(self.gripper_width() - target) < 1e-3,
                     round(timeout_s / self.world.time_step))
        return self.gripper_width()

    def close_gripper(self, force: float = DEFAULT_GRIP_FORCE, timeout_s: float = 1.0) -> float:
        """Squeeze with ``force`` newtons per finger until the fingers stop; returns width.

        The squeeze stays commanded afterwards, so a grasped object keeps being held while
        the arm moves. A width near 0 means nothing was caught.
        """
        if force <= 0:
            raise SimulationError(f"grip force must be positive newtons, got {force}")
        self._finger_cmd = 0.0
        self._grip_force = float(force)
        self._command_fingers(max_velocity=0.1)
        state = {"last": self.gripper_width(), "still": 0}

        def stalled() -> bool:
            w = self.gripper_width()
            state["still"] = state["still"] + 1 if abs(w - state["last"]) < 2e-5 else 0
            state["last"] = w
            return state["still"] >= 8 or w < 1e-3

        self._settle(stalled, round(timeout_s / self.world.time_step))
        return self.gripper_width()
