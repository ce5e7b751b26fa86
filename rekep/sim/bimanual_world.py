"""Two Pandas facing the same table: the bimanual layout of the simulation suite.

Layout (world frame, metres): the left arm's base at ``(0, +0.35, 0)`` and the right arm's
at ``(0, -0.35, 0)``, both with identity orientation (x forward over the table, z up), on
the table top. The table (:data:`rekep.sim.world.TABLE_X` x ``TABLE_Y`` = -0.35..1.0 x
-0.7..0.7) holds both bases with room to spare; each arm reaches the centre line ``y = 0``
comfortably (a Panda reaches about 0.85 m). These poses are the ones the bimanual solver
(:mod:`solvers.bimanual`, ``LEFT_BASE`` / ``RIGHT_BASE``) assumes.

Row 0 / index 0 is always the left arm and row 1 / index 1 the right arm, as in a
bimanual constraint program's ``end_effector`` (2, 3).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SimulationError
from rekep.poses import interpolate_poses, make_pose, rotation_angle
from rekep.sim.camera import Camera, look_at
from rekep.sim.panda import CONTROL_DT, Panda
from rekep.sim.panda_model import ARM_LOWER, ARM_UPPER, FINGER_MAX, HOME_Q
from rekep.sim.world import SimWorld

logger = logging.getLogger(__name__)

LEFT_BASE_XYZ = (0.0, 0.35, 0.0)
"""Left arm base position, metres."""
RIGHT_BASE_XYZ = (0.0, -0.35, 0.0)
"""Right arm base position, metres."""
ARM_NAMES = ("left", "right")


def bimanual_camera() -> Camera:
    """Front-top view from beyond the table's far edge over both arms' workspace (the
    bimanual tasks' camera): 480 x 360 at 45 degrees, 2.5 mm per pixel where it looks
    (640 x 480 at 60 degrees gave 2.6 mm) over less of the floor and arm bases; a
    TinyRenderer frame of two Pandas costs about half as much."""
    return Camera(480, 360, 45.0, look_at([1.2, 0.0, 0.8], [0.45, 0.0, 0.0]))


def base_poses() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(left, right) (4, 4) base poses ``T_world_base`` of the two arms."""
    return make_pose(np.eye(3), LEFT_BASE_XYZ), make_pose(np.eye(3), RIGHT_BASE_XYZ)


def add_two_pandas(world: SimWorld) -> tuple[Panda, Panda]:
    """Load the left and right Pandas at :func:`base_poses`, at HOME_Q with open grippers.

    Both register themselves in ``world.robot_bodies`` (left first)."""
    left_T, right_T = base_poses()
    left = Panda(world, left_T)
    right = Panda(world, right_T)
    for arm in (left, right):
        arm.reset_joints(HOME_Q, width=0.08)
    return left, right


# ---------------------------------------------------------------------- streamed motion
# Both arms move at once: every CONTROL_DT each arm's joint target is updated (PyBullet
# position motors track it) and the world is stepped; nothing is teleported.

def _steps_per_control(world: SimWorld) -> int:
    return max(1, round(CONTROL_DT / world.time_step))


def settle_arms(
    world: SimWorld,
    arms: Sequence[Panda],
    goals: Sequence[NDArray[np.float64]],
    timeout_s: float = 2.0,
    tol: float = 0.01,
) -> bool:
    """Hold ``goals`` ((7,) each) and step until every arm is within ``tol`` rad and nearly
    still, or ``timeout_s`` simulated seconds pass; True if all arrived."""
    for arm, q in zip(arms, goals, strict=True):
        arm.set_arm_target(q)
    per = _steps_per_control(world)

    def arrived() -> bool:
        return all(
            float(np.max(np.abs(arm.joint_positions() - np.clip(q, ARM_LOWER, ARM_UPPER)))) <= tol
            and float(np.max(np.abs(arm.joint_velocities()))) < 0.05
            for arm, q in zip(arms, goals, strict=True)
        )

    for _ in range(max(1, round(timeout_s / (per * world.time_step)))):
        if arrived():
            return True
        world.step(per)
    return arrived()


def stream_joint_path(
    world: SimWorld,
    arms: Sequence[Panda],
    q_path: NDArray[np.float64],
    times_s: NDArray[np.float64],
    max_joint_speed: float = 0.6,
) -> bool:
    """Track a joint path of all arms at once; True if every arm reached the last sample.

    Args:
        q_path: (N, A, 7) joint angles per sample and arm, radians (A = len(arms)).
        times_s: (N,) sample times from 0, seconds; stretched (never compressed) so that no
            joint moves faster than ``max_joint_speed`` rad/s between samples.
    """
    q = np.asarray(q_path, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if q.ndim != 3 or q.shape[0] != t.shape[0] or q.shape[1] != len(arms):
        raise SimulationError(f"q_path {q.shape} and times {t.shape} do not match {len(arms)} arms")
    if len(t) > 1:
        dq = np.abs(np.diff(q, axis=0)).max(axis=(1, 2))
        dt = np.maximum(np.diff(t), dq / max_joint_speed)
        t = np.concatenate([[0.0], np.cumsum(np.maximum(dt, 1e-6))])
    per = _steps_per_control(world)
    flat = q.reshape(len(t), -1)
    for now in np.arange(CONTROL_DT, t[-1], CONTROL_DT):
        row = np.array([np.interp(now, t, flat[:, j]) for j in range(flat.shape[1])])
        for a, arm in enumerate(arms):
            arm.set_arm_target(row.reshape(len(arms), 7)[a])
        world.step(per)
    return settle_arms(world, arms, list(q[-1]))


def move_tcps(
    world: SimWorld,
    arms: Sequence[Panda],
    targets: Sequence[NDArray[np.float64] | None],
    speed_m_s: float = 0.2,
    angular_speed_rad_s: float = 1.0,
) -> list[bool]:
    """Move the TCPs of the arms whose target (4, 4) is not None along straight Cartesian
    lines, at once (smoothstep timing; IK at every CONTROL_DT); the others hold still.

    Returns, per arm, whether it ended within 1 cm and 0.1 rad of its target (True for
    arms without a target). An unreachable target leaves that arm where it is (False).
    """
    starts = [arm.hand_pose() for arm in arms]
    goals: list[NDArray[np.float64] | None] = []
    duration = CONTROL_DT
    for arm, T, T0 in zip(arms, targets, starts, strict=True):
        q_goal = None if T is None else arm.solve_ik(T, q_seed=arm.arm_target)
        if T is not None and q_goal is None:
            logger.info("move_tcps: target %s is out of reach", np.round(T[:3, 3], 3))
        goals.append(q_goal)
        if T is not None and q_goal is not None:
            dist = float(np.linalg.norm(T[:3, 3] - T0[:3, 3]))
            angle = rotation_angle(T0[:3, :3], T[:3, :3])
            duration = max(duration, 1.5 * max(dist / speed_m_s, angle / angular_speed_rad_s))
    n_way = max(1, math.ceil(duration / CONTROL_DT))
    s = np.arange(1, n_way + 1) / n_way
    ways = [
        None if (T is None or g is None) else interpolate_poses(T0, T, 3 * s**2 - 2 * s**3)
        for T, T0, g in zip(targets, starts, goals, strict=True)
    ]
    q_cmd = [arm.arm_target for arm in arms]
    per = _steps_per_control(world)
    for k in range(n_way - 1):
        for a, arm in enumerate(arms):
            path = ways[a]
            if path is not None:
                q_way = arm.ik_step(path[k], q_cmd[a])
                if q_way is not None:
                    q_cmd[a] = q_way
                    arm.set_arm_target(q_way)
        world.step(per)
    finals = [q_cmd[a] if goals[a] is None else goals[a] for a in range(len(arms))]
    settle_arms(world, arms, finals)  # type: ignore[arg-type]
    out = []
    for arm, T, g in zip(arms, targets, goals, strict=True):
        if T is None:
            out.append(True)
            continue
        now = arm.hand_pose()
        out.append(g is not None and float(np.linalg.norm(now[:3, 3] - T[:3, 3])) <= 0.01
                   and rotation_angle(now[:3, :3], T[:3, :3]) <= 0.1)  # fmt: skip
    return out


def actuate_grippers(
    world: SimWorld, arms: Sequence[Panda], close: Sequence[bool | None], timeout_s: float = 1.0
) -> list[float]:
    """Close (True) or open (False) the grippers of the arms at once (None: leave as is);
    step until each moving gripper stalls (closing) or is open, or ``timeout_s`` passes.
    Returns every arm's gripper width, metres."""
    for arm, c in zip(arms, close, strict=True):
        if c is not None:
            arm.set_gripper(bool(c))
    last = [arm.gripper_width() for arm in arms]
    still = [0] * len(arms)
    for _ in range(round(timeout_s / world.time_step)):
        world.step(1)
        done = True
        for a, (arm, c) in enumerate(zip(arms, close, strict=True)):
            w = arm.gripper_width()
            still[a] = still[a] + 1 if abs(w - last[a]) < 2e-5 else 0
            last[a] = w
            if c is True and not (still[a] >= 8 or w < 1e-3):
                done = False
            if c is False and w < 2 * FINGER_MAX - 0.002:
                done = False
        if done:
            break
    return [arm.gripper_width() for arm in arms]
