"""Hand-written programs, a scripted scene and fixtures shared by the loop tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rekep.keypoint_set import Keypoints
from rekep.loop import FakeRobot, LoopConfig, ScriptedTracker, StageMachineConfig
from rekep.planner import PlannerConfig
from rekep.poses import make_pose
from rekep.program import ConstraintProgram, load_program

PICK_PLACE = '''
num_stages = 2
def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])
def stage2_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(keypoints[0] - (keypoints[2] + np.array([0, 0, 0.1])))
def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)
grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
'''
"""Grasp keypoint 0 (object 1), carry it 10 cm above keypoint 2 (object 2), release."""

THREE_STAGE = '''
num_stages = 3
def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])
def stage2_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[2])
def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)
def stage3_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[1])
def stage3_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)
grasp_keypoints = [0, -1, -1]
release_keypoints = [-1, -1, 0]
'''
"""Grasp keypoint 0, visit keypoint 2, then keypoint 1 (both carrying), release."""

POINTS = np.array([[0.5, 0.1, 0.05], [0.5, 0.12, 0.02], [0.5, -0.2, 0.01]])
OBJECT_IDS = np.array([1, 1, 2])
T_START = make_pose(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.4])
"""Top-down hand (TCP z pointing down) 40 cm above the table."""


def scene_keypoints() -> Keypoints:
    return Keypoints(POINTS.copy(), np.zeros((3, 2)), OBJECT_IDS.copy())


@pytest.fixture
def keypoints() -> Keypoints:
    return scene_keypoints()


@pytest.fixture
def pick_place() -> ConstraintProgram:
    return load_program(PICK_PLACE, num_keypoints=3)


@pytest.fixture
def three_stage() -> ConstraintProgram:
    return load_program(THREE_STAGE, num_keypoints=3)


def fake_setup(**robot_kwargs: Any) -> tuple[FakeRobot, ScriptedTracker]:
    """A rate-limited fake robot over the scene and a tracker reading its ground truth."""
    kwargs: dict[str, Any] = {"max_speed_m_s": 0.5, "max_speed_rad_s": 2.0}
    kwargs.update(robot_kwargs)
    robot = FakeRobot(POINTS, OBJECT_IDS, T_START, **kwargs)
    return robot, ScriptedTracker(robot.keypoint_positions)


@pytest.fixture
def fake() -> tuple[FakeRobot, ScriptedTracker]:
    return fake_setup()


def fast_config(**machine: Any) -> LoopConfig:
    """Loop settings for the fake robot (SE(3) scipy solves, no robot model)."""
    return LoopConfig(
        planner=PlannerConfig(subgoal_backend="scipy"),
        lookahead_m=0.05,
        episode_timeout_s=30.0,
        machine=StageMachineConfig(**machine),
    )


@pytest.fixture
def make_fake() -> Any:
    """Factory: ``make_fake(**FakeRobot kwargs) -> (robot, tracker)``."""
    return fake_setup


@pytest.fixture
def make_config() -> Any:
    """Factory: ``make_config(**StageMachineConfig kwargs) -> LoopConfig``."""
    return fast_config


@pytest.fixture
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (K, 3), object ids (K,), start TCP pose (4, 4)) of the scripted scene."""
    return POINTS.copy(), OBJECT_IDS.copy(), T_START.copy()
