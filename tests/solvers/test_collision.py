"""Collision avoidance in the casadi sub-goal and path problems (ESDF of a point cloud)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from scipy.spatial import cKDTree

from solvers.benchmark.scenes import box_points, tcp_pose
from solvers.casadi_ik import solve_ik
from solvers.casadi_path import plan_path_casadi
from solvers.casadi_subgoal import solve_subgoal_casadi
from solvers.casadi_subgoal_nlp import get_nlp
from solvers.collision import (
    arm_spheres,
    hand_spheres_tcp,
    obstacle_cloud,
    remove_points_near,
)
from solvers.kinematics import RobotModel
from solvers.subgoal_problem import build_subgoal_problem

T0 = tcp_pose((0.4, 0.0, 0.35))
TARGET = np.array([[0.55, 0.0, 0.12]])
WALL = box_points((0.55, 0.075, 0.2), (0.4, 0.02, 0.4), spacing=0.02)
"""A board 7.5 cm beside the target: a top-down hand at the target goes into it."""
LOWER, UPPER = [0.15, -0.45, 0.0], [0.85, 0.45, 0.65]


@pytest.fixture(scope="module")
def robot() -> RobotModel:
    return RobotModel()


@pytest.fixture(scope="module")
def q0(robot: RobotModel) -> np.ndarray:
    return solve_ik(robot, T0)[0]


def reach(ee: Any, kps: Any) -> Any:
    return np.linalg.norm(ee - kps[0])


def _problem(robot: Any, q0: Any, obstacles: Any, **kw: Any) -> Any:
    return build_subgoal_problem(
        subgoal_constraints=[("reach", reach)], keypoints=TARGET, T_world_tcp=T0,
        workspace_lower=LOWER, workspace_upper=UPPER, robot=robot, q_current=q0,
        obstacle_points=obstacles, **kw,
    )  # fmt: skip


def _arm_clearance(robot: RobotModel, q: np.ndarray, cloud: np.ndarray) -> float:
    """Least true (brute-force) clearance of the collision-checked spheres, metres."""
    spheres = arm_spheres(robot)
    centres = robot.sphere_centers(q)[list(spheres.indices)]
    return float(np.min(cKDTree(cloud).query(centres)[0] - np.array(spheres.radii)))


def test_subgoal_avoids_a_wall_and_meets_its_constraint(robot: RobotModel, q0: Any) -> None:
    free = solve_subgoal_casadi(_problem(robot, q0, None), num_seeds=2)
    assert free.feasible
    assert _arm_clearance(robot, free.joint_positions, WALL) < 0  # the straight answer hits

    sol = solve_subgoal_casadi(_problem(robot, q0, WALL), num_seeds=2)
    assert sol.feasible, sol.reason
    assert sol.max_violation <= 0.01
    assert np.linalg.norm(robot.fk(sol.joint_positions)[:3, 3] - TARGET[0]) <= 0.011
    assert _arm_clearance(robot, sol.joint_positions, WALL) >= 0.0


def test_warm_solve_with_same_cloud_reuses_the_nlp(robot: RobotModel, q0: Any) -> None:
    prob = _problem(robot, q0, WALL)
    nlp = get_nlp(prob, True)
    assert get_nlp(_problem(robot, q0, WALL.copy()), True) is nlp
    assert get_nlp(_problem(robot, q0, None), True) is not nlp
    cold = solve_subgoal_casadi(prob, num_seeds=1)
    warm = solve_subgoal_casadi(prob, warm_start=prob.pose_to_decision(cold.pose))
    assert warm.feasible
    assert _arm_clearance(robot, warm.joint_positions, WALL) >= 0.0


def test_se3_problem_keeps_the_hand_clear() -> None:
    prob = build_subgoal_problem(
        subgoal_constraints=[("reach", reach)], keypoints=TARGET, T_world_tcp=T0,
        workspace_lower=LOWER, workspace_upper=UPPER, approach="free", obstacle_points=WALL,
    )  # fmt: skip
    sol = solve_subgoal_casadi(prob, num_seeds=2)
    assert sol.feasible, sol.reason
    local, radii = hand_spheres_tcp()
    T = sol.pose
    centres = local @ T[:3, :3].T + T[:3, 3]
    assert np.min(cKDTree(WALL).query(centres)[0] - radii) >= 0.0


def test_path_samples_clear_a_low_barrier(robot: RobotModel) -> None:
    barrier = box_points((0.48, 0.0, 0.08), (0.02, 0.5, 0.16), spacing=0.02)
    A, B = tcp_pose((0.33, 0.0, 0.12)), tcp_pose((0.63, 0.0, 0.12))
    qa, qb = solve_ik(robot, A)[0], solve_ik(robot, B)[0]
    for q in (qa, qb):
        assert _arm_clearance(robot, q, barrier) > 0.0
    straight = plan_path_casadi(A, B, robot=robot, q_start=qa, q_goal=qb)
    assert min(_arm_clearance(robot, q, barrier) for q in straight.joint_positions) < 0.0
    path = plan_path_casadi(A, B, robot=robot, q_start=qa, q_goal=qb, obstacle_points=barrier,
                            num_controls=4)  # fmt: skip
    assert path.feasible, path.reason
    assert min(_arm_clearance(robot, q, barrier) for q in path.joint_positions) >= 0.0
    assert np.allclose(path.joint_positions[-1], qb)


@pytest.mark.parametrize("cloud", [None, np.zeros((0, 3))])
def test_empty_cloud_solves_without_collision_terms(robot: RobotModel, q0: Any,
                                                    cloud: Any) -> None:  # fmt: skip
    prob = _problem(robot, q0, cloud)
    assert not prob.has_obstacles
    assert solve_subgoal_casadi(prob, num_seeds=0).feasible
    path = plan_path_casadi(T0, tcp_pose((0.5, 0.1, 0.3)), robot=robot, q_start=q0,
                            q_goal=solve_ik(robot, tcp_pose((0.5, 0.1, 0.3)))[0],
                            obstacle_points=cloud)  # fmt: skip
    assert path.feasible


def test_nan_points_are_dropped(robot: RobotModel, q0: Any,
                                caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    cloud = np.concatenate([WALL, np.full((3, 3), np.nan)])
    with caplog.at_level(logging.WARNING):
        prob = _problem(robot, q0, cloud)
    assert "NaN" in caplog.text
    assert prob.esdf is not None and prob.esdf.num_points == WALL.shape[0]


def test_obstacle_cloud_removes_objects_table_and_nan() -> None:
    rng = np.random.default_rng(0)
    cloud = rng.uniform([0.2, -0.3, -0.02], [0.8, 0.3, 0.3], size=(2000, 3))
    cloud[:5] = np.nan
    grasped = np.array([[0.5, 0.0, 0.1]])
    out = obstacle_cloud(cloud, exclude_keypoints=grasped, radius_m=0.06, min_z=0.005)
    assert np.all(np.isfinite(out))
    assert np.all(np.linalg.norm(out - grasped, axis=1) > 0.06)
    assert np.all(out[:, 2] >= 0.005)
    kept = cloud[5:]
    expected = kept[(np.linalg.norm(kept - grasped, axis=1) > 0.06) & (kept[:, 2] >= 0.005)]
    assert out.shape == expected.shape
    assert remove_points_near(cloud[5:], np.zeros((0, 3)), 0.1).shape == cloud[5:].shape


def test_base_links_are_not_checked(robot: RobotModel) -> None:
    spheres = arm_spheres(robot)
    links = {robot.sphere_links[i] for i in spheres.indices}
    assert "panda_link0" not in links and "panda_link1" not in links
    assert "panda_hand" in links and "panda_link7" in links


def test_planner_filters_grasped_and_held_objects_from_the_scene() -> None:
    from rekep.keypoint_set import Keypoints
    from rekep.planner import PlannerConfig, stage_obstacles

    pos = np.array([[0.5, 0.0, 0.05], [0.5, 0.05, 0.05], [0.3, 0.2, 0.05], [0.6, -0.2, 0.1]])
    kps = Keypoints(positions=pos, pixels=np.zeros((4, 2)), object_ids=np.array([1, 1, 2, 3]))
    rng = np.random.default_rng(1)
    scene = np.concatenate([p + rng.normal(0, 0.02, size=(50, 3)) for p in pos])
    scene = scene[scene[:, 2] > 0.01]
    cloud = stage_obstacles(scene, kps, pos, [0, -1], PlannerConfig())
    # both keypoints of object 1 (the grasped one) are cleared; objects 2 and 3 stay
    for p in pos[:2]:
        assert np.all(np.linalg.norm(cloud - p, axis=1) > 0.06)
    for p in pos[2:]:
        assert np.any(np.linalg.norm(cloud - p, axis=1) < 0.03)
    # the config default is used when plan_stage gets no scene_points
    assert PlannerConfig(obstacle_points=scene).obstacle_points is scene
