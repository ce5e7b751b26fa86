"""The rekep_baseline backend: the original recipe reproduced (small budgets keep tests fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rekep.poses import make_pose, rotation_angle
from solvers.baseline import (
    BaselineOptions,
    BaselineRobot,
    CollisionModel,
    euler_vector_to_pose,
    farthest_point_sampling,
    make_baseline_backend,
    plan_path_baseline,
    point_cloud_sdf,
    pose_scaling,
    pose_to_euler_vector,
    solve_ik,
    solve_subgoal_baseline,
)
from solvers.baseline.spline import max_steps
from solvers.benchmark import bench_problems
from solvers.subgoal import SUBGOAL_BACKENDS, build_subgoal_problem, solve_subgoal

SMALL = BaselineOptions(maxfun=300)
DOWN = np.diag([1.0, -1.0, -1.0])
T_NOW = make_pose(DOWN, [0.4, 0.0, 0.35])
LOWER, UPPER = np.array([0.15, -0.45, 0.0]), np.array([0.85, 0.45, 0.65])


def _bench(name: str):
    return next(b for b in bench_problems() if b.name == name)


def toy_robot(q_init=None) -> BaselineRobot:
    """6 joints: x, y, z prismatic then extrinsic x-y-z rotations; reaches every pose."""

    def fk(q):
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("xyz", q[3:]).as_matrix()
        T[:3, 3] = q[:3]
        return T

    lo = np.array([-1.0, -1.0, -1.0, -np.pi, -np.pi / 2, -np.pi])
    return BaselineRobot(fk=fk, joint_lower=lo, joint_upper=-lo, q_reset=np.zeros(6),
                         q_init=q_init)  # fmt: skip


def reach_problem(target, **kwargs):
    return build_subgoal_problem(
        subgoal_constraints=[("reach", lambda ee, kps: float(np.linalg.norm(ee - kps[0])))],
        keypoints=np.array([target]), T_world_tcp=T_NOW, workspace_lower=LOWER,
        workspace_upper=UPPER, **kwargs,
    )  # fmt: skip


# ---------------------------------------------------------------- decision variables
def test_euler_normalization_round_trips_random_poses():
    rng = np.random.default_rng(1)
    scaling = pose_scaling(LOWER, UPPER)
    for _ in range(50):
        T = make_pose(Rotation.random(random_state=rng).as_matrix(), rng.uniform(LOWER, UPPER))
        u = scaling.normalize(pose_to_euler_vector(T))
        assert np.all(np.abs(u) <= 1.0 + 1e-12)
        back = euler_vector_to_pose(scaling.unnormalize(u))
        np.testing.assert_allclose(back, T, atol=1e-9)


def test_scaling_maps_bounds_to_minus_one_and_one():
    scaling = pose_scaling(LOWER, UPPER)
    np.testing.assert_allclose(scaling.normalize(scaling.lower), -np.ones(6))
    np.testing.assert_allclose(scaling.normalize(scaling.upper), np.ones(6))
    assert scaling.unnormalize(np.zeros(6))[3:] == pytest.approx(np.zeros(3))


# ------------------------------------------------------------------ sub-goal solves
@pytest.mark.parametrize("name", ["grasp_peg", "place_block_in_tray", "insert_align"])
def test_cold_solve_of_easy_bench_problems_is_feasible(name):
    problem = _bench(name).subgoal_problem()
    sol = solve_subgoal_baseline(problem, options=SMALL)
    assert sol.backend == "rekep_baseline" and sol.kind == "subgoal"
    assert sol.feasible, sol.reason
    assert sol.max_violation <= problem.tolerance
    assert sol.reason.count("cold solve: dual annealing (maxfun 300)") == 1
    assert "workspace box only" in sol.reason  # no robot given
    assert set(sol.violations) == {n for n, _ in problem.constraints}


def test_warm_start_runs_slsqp_only():
    problem = _bench("place_block_in_tray").subgoal_problem()
    cold = solve_subgoal_baseline(problem, options=SMALL)
    warm = solve_subgoal_baseline(problem, warm_start=cold.decision, options=SMALL)
    assert "warm solve: SLSQP" in warm.reason and "dual annealing" not in warm.reason
    assert warm.feasible, warm.reason
    assert warm.iterations < cold.iterations
    np.testing.assert_allclose(warm.position, cold.position, atol=0.02)


def test_registered_and_reachable_through_solve_subgoal():
    assert "rekep_baseline" in SUBGOAL_BACKENDS
    problem = reach_problem([0.5, 0.1, 0.2])
    target = make_pose(DOWN, [0.5, 0.1, 0.2])
    sol = solve_subgoal(problem, backend="rekep_baseline", warm_start=target)
    assert sol.backend == "rekep_baseline" and sol.feasible
    assert "warm solve" in sol.reason


def test_grasp_stage_prefers_top_down_approach():
    problem = reach_problem([0.55, -0.1, 0.05], grasp_keypoint=0)
    tilted = make_pose(Rotation.from_euler("x", 40, degrees=True).as_matrix() @ DOWN,
                       [0.55, -0.1, 0.05])  # fmt: skip
    sol = solve_subgoal_baseline(problem, warm_start=problem.pose_to_decision(tilted))
    assert sol.feasible
    assert rotation_angle(sol.pose[:3, :3], DOWN) < math.radians(10)


def test_failing_constraint_gives_error_solution_not_exception():
    def broken(ee, kps):
        raise ZeroDivisionError("boom")

    problem = build_subgoal_problem(subgoal_constraints=[("broken", broken)],
                                    keypoints=np.zeros((1, 3)), T_world_tcp=T_NOW,
                                    workspace_lower=LOWER, workspace_upper=UPPER)  # fmt: skip
    sol = solve_subgoal_baseline(problem, options=BaselineOptions(maxfun=50))
    assert sol.status == "error" and not sol.feasible
    assert "broken" in sol.reason
    np.testing.assert_allclose(sol.pose, T_NOW)


def test_unsatisfiable_problem_is_reported_infeasible():
    problem = _bench("place_block_unreachable").subgoal_problem()
    sol = solve_subgoal_baseline(problem, options=SMALL)
    assert sol.status == "infeasible" and sol.max_violation > problem.tolerance
    assert "stage2_subgoal_constraint1" in sol.reason


# -------------------------------------------------------------------- robot and IK
def test_ik_reaches_a_reachable_pose_and_counts_iterations():
    robot = toy_robot()
    target = make_pose(Rotation.from_euler("xyz", [0.3, -0.2, 0.5]).as_matrix(), [0.3, 0.2, 0.1])
    res = solve_ik(robot, target)
    assert res.success and 1 <= res.iterations <= 20
    assert res.position_error <= 0.01 and res.rotation_error <= 0.05
    np.testing.assert_allclose(robot.fk(res.q)[:3, 3], target[:3, 3], atol=0.01)
    assert solve_ik(robot, robot.fk(robot.seed)).iterations == 0


def test_ik_reports_failure_outside_joint_limits():
    res = solve_ik(toy_robot(), make_pose(np.eye(3), [3.0, 0.0, 0.0]))
    assert not res.success and res.iterations == 20
    assert res.position_error > 1.0


def test_robot_adds_reachability_and_joint_answer():
    robot = toy_robot(q_init=np.r_[T_NOW[:3, 3], pose_to_euler_vector(T_NOW)[3:]])
    backend = make_baseline_backend(robot=robot, options=SMALL)
    problem = reach_problem([0.5, 0.1, 0.2])
    sol = backend(problem, warm_start=problem.current_decision(), num_seeds=0, rng_seed=0)
    assert sol.feasible and "workspace box only" not in sol.reason
    assert sol.joint_positions is not None
    np.testing.assert_allclose(robot.fk(sol.joint_positions)[:3, 3], sol.position, atol=0.01)


# ----------------------------------------------------------------------- collision
def test_point_cloud_sdf_and_collision_cost():
    sdf = point_cloud_sdf(np.array([[0.5, 0.0, 0.1]]))
    np.testing.assert_allclose(sdf(np.array([[0.5, 0.0, 0.3]])), [0.2])
    model = CollisionModel.from_world(sdf, np.array([[0.4, 0.0, 0.35]]), T_NOW)
    near = make_pose(DOWN, [0.5, 0.0, 0.15])
    assert model.cost(near[None], 0.10) == pytest.approx(0.05)
    assert model.cost(T_NOW[None], 0.10) == 0.0
    pts = np.random.default_rng(0).normal(size=(500, 3))
    assert farthest_point_sampling(pts, 60).shape == (60, 3)


def test_collision_term_keeps_the_hand_off_an_obstacle():
    problem = reach_problem([0.5, 0.0, 0.2])
    obstacle = point_cloud_sdf(np.array([[0.5, 0.0, 0.27]]))  # 7 cm above the target
    free = solve_subgoal_baseline(problem, warm_start=problem.current_decision())
    with_sdf = solve_subgoal_baseline(problem, warm_start=problem.current_decision(),
                                      sdf=obstacle)  # fmt: skip
    assert free.feasible and with_sdf.feasible  # 200 x violation outweighs 0.8 x collision
    assert with_sdf.cost > free.cost


# ---------------------------------------------------------------------------- path
def _upright_path_inputs():
    start = make_pose(DOWN, [0.4, 0.0, 0.35])
    goal = make_pose(Rotation.from_euler("z", 60, degrees=True).as_matrix() @ DOWN,
                     [0.6, 0.25, 0.12])  # fmt: skip
    above_table = ("above_table", lambda ee, kps: 0.08 - float(ee[2]))
    return start, goal, [above_table]


def test_path_output_respects_resampling_spacing_and_ends():
    start, goal, constraints = _upright_path_inputs()
    sol = plan_path_baseline(start, goal, path_constraints=constraints,
                             keypoints=np.zeros((1, 3)), workspace_lower=LOWER,
                             workspace_upper=UPPER, options=SMALL)  # fmt: skip
    assert sol.kind == "path" and sol.backend == "rekep_baseline"
    traj = sol.trajectory
    np.testing.assert_allclose(traj[0], start, atol=1e-9)
    np.testing.assert_allclose(traj[-1], goal, atol=1e-9)
    dm, dr = max_steps(traj)
    assert dm <= 0.05 + 1e-9 and dr <= 0.34 + 1e-9
    assert sol.feasible, sol.reason
    assert "cold solve: dual annealing" in sol.reason
    assert sol.decision.shape[0] % 6 == 0 and 3 <= sol.decision.shape[0] // 6 <= 6


def test_path_warm_start_uses_slsqp_and_reports_violations():
    start, goal, constraints = _upright_path_inputs()
    kwargs = dict(path_constraints=constraints, keypoints=np.zeros((1, 3)),
                  workspace_lower=LOWER, workspace_upper=UPPER, options=SMALL)  # fmt: skip
    cold = plan_path_baseline(start, goal, **kwargs)
    warm = plan_path_baseline(start, goal, warm_start=cold.decision, **kwargs)
    assert "warm solve: SLSQP" in warm.reason
    assert warm.feasible
    low_goal = make_pose(DOWN, [0.6, 0.2, 0.02])  # the goal itself breaks the constraint
    bad = plan_path_baseline(start, low_goal, **kwargs)
    assert bad.status == "infeasible" and bad.violations["above_table"] > 0.05
