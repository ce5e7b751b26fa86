"""The baseline's compiled IK and its bench scene (robot, distance field, collision points)."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.baseline import (
    BaselineOptions,
    gripper_and_held_points,
    panda_robot,
    robot_from_model,
    solve_ik,
    solve_subgoal_baseline,
)
from solvers.baseline.collision import HAND_POINTS_TCP, CollisionModel, point_cloud_sdf
from solvers.benchmark import bench_problems
from solvers.kinematics import RobotModel

MODEL = RobotModel()
READY = np.array(robot_from_model(MODEL).q_reset)


def _targets(n: int, seed: int) -> list[np.ndarray]:
    """Poses near the ready posture (reachable in a few steps) and anywhere in range."""
    rng = np.random.default_rng(seed)
    near = [MODEL.fk(READY + rng.normal(0.0, 0.3, MODEL.dof)) for _ in range(n)]
    far = [MODEL.fk(rng.uniform(MODEL.lower, MODEL.upper)) for _ in range(n)]
    return near + far


@pytest.mark.parametrize("budget", [20, 7, 1])
def test_compiled_ik_equals_the_python_loop(budget: int) -> None:
    compiled = robot_from_model(MODEL)
    reference = robot_from_model(MODEL, compiled=False)
    assert compiled.ik is not None and reference.ik is None
    for T in _targets(6, seed=budget):
        a = solve_ik(reference, T, max_iterations=budget)
        b = solve_ik(compiled, T, max_iterations=budget)
        assert (a.iterations, a.success) == (b.iterations, b.success)
        assert b.iterations <= budget
        np.testing.assert_allclose(b.q, a.q, atol=1e-6)
        assert b.position_error == pytest.approx(a.position_error, abs=1e-6)
        assert b.rotation_error == pytest.approx(a.rotation_error, abs=1e-6)


def test_compiled_ik_reaches_reachable_poses_within_limits() -> None:
    robot = robot_from_model(MODEL)
    rng = np.random.default_rng(3)
    for _ in range(5):
        q_goal = READY + rng.normal(0.0, 0.15, MODEL.dof)
        res = solve_ik(robot, MODEL.fk(q_goal))
        assert res.success and 1 <= res.iterations <= 20
        assert MODEL.within_limits(res.q, tol=1e-9)
        T = MODEL.fk(res.q)
        assert np.linalg.norm(T[:3, 3] - MODEL.fk(q_goal)[:3, 3]) <= 0.01


def test_ik_seed_is_the_current_joints() -> None:
    q_now = READY + 0.2
    robot = panda_robot(q_init=q_now, model=MODEL)
    res = solve_ik(robot, MODEL.fk(q_now))
    assert res.success and res.iterations == 0
    np.testing.assert_allclose(res.q, q_now)


def test_gripper_and_held_points_follow_the_pose() -> None:
    T = MODEL.fk(READY)
    held = np.array([[0.4, 0.0, 0.2], [0.4, 0.0, 0.1]])
    pts = gripper_and_held_points(T, held)
    assert pts.shape == (len(HAND_POINTS_TCP) + 2, 3)
    np.testing.assert_allclose(pts[-2:], held)
    model = CollisionModel.from_world(point_cloud_sdf(held), pts, T, max_points=60)
    np.testing.assert_allclose(model.points_tcp[: len(HAND_POINTS_TCP)], HAND_POINTS_TCP,
                               atol=1e-12)  # fmt: skip


def test_baseline_with_the_panda_reports_ik_joints() -> None:
    bp = next(b for b in bench_problems() if b.name == "place_block_in_tray")
    prob = bp.subgoal_problem()
    robot = panda_robot(model=MODEL)
    sol = solve_subgoal_baseline(prob, robot=robot, options=BaselineOptions(maxfun=200))
    assert sol.joint_positions is not None and sol.joint_positions.shape == (7,)
    assert "workspace box only" not in sol.reason
