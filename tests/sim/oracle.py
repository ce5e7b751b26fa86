"""A scripted pick-and-place oracle for tests (uses privileged object poses on purpose)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rekep.sim.panda import Panda
from rekep.sim.panda_model import HOME_Q, top_down_tcp_pose
from rekep.sim.tasks.block_in_tray import BlockInTray
from rekep.sim.world import SimWorld

HOME_YAW = -math.pi / 2
"""TCP yaw of the home posture; grasp yaws are chosen near it to stay far from joint 7 limits."""


@dataclass
class OracleResult:
    moves_ok: list[bool]
    grasp_width: float
    held_after_lift: bool
    steps: int


def grasp_yaw(T_world_block: np.ndarray) -> float:
    """Yaw aligning the closing axis with a pair of block faces, nearest the home yaw."""
    base = math.atan2(T_world_block[1, 0], T_world_block[0, 0])
    candidates = [base + k * math.pi / 2 for k in range(-4, 5)]
    return min(candidates, key=lambda y: abs(y - HOME_YAW))


def pick_and_place(
    world: SimWorld, panda: Panda, task: BlockInTray, seed: int, grasp_depth: float = 0.02
) -> OracleResult:
    """Reset to ``seed`` and place the block in the tray; ``grasp_depth``: TCP below block top."""
    panda.reset_joints(HOME_Q, width=0.08)
    task.reset(seed)
    start = world.steps_taken
    T_block = world.body_pose(task.block)
    yaw = grasp_yaw(T_block)
    top = task.anchors()["block_top"]
    up = np.array([0.0, 0.0, 1.0])
    moves = [
        panda.move_to_pose(top_down_tcp_pose(top + 0.12 * up, yaw)),
        panda.move_to_pose(top_down_tcp_pose(top - grasp_depth * up, yaw), speed_m_s=0.2),
    ]
    width = panda.close_gripper()
    moves.append(panda.move_to_pose(top_down_tcp_pose(top + 0.12 * up, yaw)))
    held = panda.is_holding(task.block)
    tray = task.anchors()["tray_center"]
    moves.append(panda.move_to_pose(top_down_tcp_pose(tray + 0.12 * up, yaw)))
    moves.append(panda.move_to_pose(top_down_tcp_pose(tray + 0.06 * up, yaw), speed_m_s=0.2))
    panda.open_gripper()
    moves.append(panda.move_to_pose(top_down_tcp_pose(tray + 0.15 * up, yaw)))
    return OracleResult(moves, width, held, world.steps_taken - start)
