"""The bimanual solver: both Pandas in one problem, arm-arm clearance, held objects, paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rekep.errors import SolverError
from rekep.poses import invert_pose, make_pose, transform_points
from solvers.bimanual import (
    LEFT_BASE,
    RIGHT_BASE,
    BimanualProblem,
    dual_panda,
    plan_bimanual_path,
    solve_bimanual_subgoal,
)
from solvers.bimanual_exprs import arm_clearance, clearance_matrix
from solvers.casadi_ik import default_rest, solve_ik

LEFT, RIGHT = dual_panda()
TOL = 0.01
DOWN = np.diag([1.0, -1.0, -1.0])  # TCP z = world -z, fingers close along world x
Q_REST = np.stack([default_rest(LEFT), default_rest(RIGHT)])


def fk(q):
    return np.stack([LEFT.fk(q[0]), RIGHT.fk(q[1])])


def left_reach(ee, kps):
    return np.linalg.norm(ee[0] - kps[0])


def right_reach(ee, kps):
    return np.linalg.norm(ee[1] - kps[1])


def reach_problem(kps, **kwargs):
    kwargs.setdefault("grasp_keypoints", np.array([0, 1]))
    kwargs.setdefault("held_masks", np.zeros((2, len(kps)), bool))
    return BimanualProblem(
        subgoal_constraints=(("left_reach", left_reach), ("right_reach", right_reach)),
        path_constraints=(), keypoints=np.asarray(kps, float), T_world_tcp=fk(Q_REST),
        robots=(LEFT, RIGHT), q_current=Q_REST, tolerance=TOL, **kwargs,
    )  # fmt: skip


def check_answer(problem, sol):
    """q within limits, poses = FK(q), clearance over every sphere pair as reported."""
    assert sol.q.shape == (2, 7) and sol.decision.shape == (14,)
    assert LEFT.within_limits(sol.q[0], tol=1e-7) and RIGHT.within_limits(sol.q[1], tol=1e-7)
    np.testing.assert_allclose(sol.poses, fk(sol.q), atol=1e-9)
    np.testing.assert_allclose(sol.decision, sol.q.reshape(-1))
    assert sol.arm_clearance_m == pytest.approx(arm_clearance(LEFT, RIGHT, sol.q))


def test_layout_constants():
    np.testing.assert_allclose(LEFT_BASE[:3, 3], [0.0, 0.35, 0.0])
    np.testing.assert_allclose(RIGHT_BASE[:3, 3], [0.0, -0.35, 0.0])
    np.testing.assert_allclose(LEFT_BASE[:3, :3], np.eye(3))
    np.testing.assert_allclose(LEFT.T_world_base, LEFT_BASE)


def test_each_hand_reaches_its_keypoint():
    kps = np.array([[0.5, 0.25, 0.2], [0.45, -0.3, 0.25]])
    problem = reach_problem(kps)
    sol = solve_bimanual_subgoal(problem)
    assert sol.feasible and sol.status == "solved", sol.reason
    check_answer(problem, sol)
    for arm in range(2):
        assert np.linalg.norm(sol.poses[arm, :3, 3] - kps[arm]) <= TOL
        assert sol.poses[arm, 2, 2] < -0.95  # top-down approach in a grasp stage
    assert sol.violations.keys() == {"left_reach", "right_reach"}
    assert sol.arm_clearance_m >= 0.0


def test_warm_start_reproduces_the_answer():
    problem = reach_problem(np.array([[0.55, 0.2, 0.3], [0.5, -0.2, 0.15]]))
    cold = solve_bimanual_subgoal(problem)
    warm = solve_bimanual_subgoal(problem, warm_start=cold.q)
    assert cold.feasible and warm.feasible
    np.testing.assert_allclose(warm.q, cold.q, atol=1e-3)
    assert warm.iterations <= cold.iterations


def test_min_arm_distance_is_kept():
    kps = np.array([[0.5, 0.08, 0.25], [0.5, -0.08, 0.25]])
    problem = reach_problem(kps, min_arm_distance_m=0.05, approaches=("free", "free"))
    sol = solve_bimanual_subgoal(problem)
    check_answer(problem, sol)
    assert arm_clearance(LEFT, RIGHT, sol.q) >= 0.05 - 1e-3
    if not sol.feasible:
        assert "violated" in sol.reason


def test_crossing_targets_keep_the_arms_apart():
    # each hand's target lies just across the middle: solved arm by arm, the hands collide
    kps = np.array([[0.5, -0.03, 0.3], [0.5, 0.03, 0.3]])
    alone = []
    for arm, robot in enumerate((LEFT, RIGHT)):
        q, err = solve_ik(robot, make_pose(DOWN, kps[arm]), [Q_REST[arm]])
        assert err < 1e-4
        alone.append(q)
    assert arm_clearance(LEFT, RIGHT, np.stack(alone)) < -0.02  # the scene is a real conflict
    problem = reach_problem(kps)
    sol = solve_bimanual_subgoal(problem)
    check_answer(problem, sol)
    assert clearance_matrix(LEFT, RIGHT, sol.q).min() >= -1e-3
    if not sol.feasible:
        assert sol.status == "infeasible"
        assert "left_reach" in sol.reason or "right_reach" in sol.reason


def test_unreachable_target_is_named():
    kps = np.array([[1.6, 0.35, 0.3], [0.5, -0.2, 0.2]])
    problem = reach_problem(kps, workspace_upper=np.array([2.0, 1.0, 1.2]))
    sol = solve_bimanual_subgoal(problem, num_seeds=2)
    assert not sol.feasible and sol.status == "infeasible"
    assert sol.violations["left_reach"] > TOL
    assert sol.violations["right_reach"] <= TOL
    assert "left_reach" in sol.reason and "right_reach" not in sol.reason.split("violated")[1]
    assert sol.max_violation == pytest.approx(sol.violations["left_reach"])
    check_answer(problem, sol)


def nan_cost(ee, kps):
    return np.linalg.norm(ee[0] - kps[0]) * np.nan


def raising_cost(ee, kps):
    raise ValueError("boom")


@pytest.mark.parametrize("bad", [nan_cost, raising_cost])
def test_bad_constraint_gives_a_clean_error(bad):
    problem = BimanualProblem(
        (("bad", bad), ("right_reach", right_reach)), (), np.array([[0.5, 0.2, 0.2]] * 2),
        np.zeros((2, 2), bool), fk(Q_REST), (LEFT, RIGHT), Q_REST,
    )  # fmt: skip
    sol = solve_bimanual_subgoal(problem, num_seeds=1)
    assert sol.status == "error" and not sol.feasible
    assert "bad" in sol.reason
    np.testing.assert_allclose(sol.q, Q_REST)
    assert math.isnan(sol.violations["bad"])
    path = plan_bimanual_path(problem, sol)
    assert not path.feasible and path.q.shape == (1, 2, 7)


def test_invalid_problem_is_rejected():
    with pytest.raises(SolverError, match="held_masks"):
        reach_problem(np.zeros((2, 3)), held_masks=np.zeros((3,), bool))
    with pytest.raises(SolverError, match="approaches"):
        reach_problem(np.zeros((2, 3)), approaches=("top_down", "sideways"))


# ------------------------------------------------------------------ box held by both hands
BOX_CENTRE = np.array([0.5, 0.0, 0.2])
HALF = 0.13
LIFT = np.array([0.0, 0.0, 0.15])


def box_lifted(ee, kps):
    return np.linalg.norm(kps[0] - (BOX_CENTRE + LIFT))


def box_level(ee, kps):
    return np.abs(kps[1][2] - kps[2][2])


def box_problem():
    ends = [BOX_CENTRE + [0.0, HALF, 0.0], BOX_CENTRE - [0.0, HALF, 0.0]]
    q_now = np.stack([solve_ik(robot, make_pose(DOWN, ends[arm]), [Q_REST[arm]])[0]
                      for arm, robot in enumerate((LEFT, RIGHT))])  # fmt: skip
    T_now = fk(q_now)
    np.testing.assert_allclose(T_now[:, :3, 3], ends, atol=1e-4)
    return BimanualProblem(
        subgoal_constraints=(("lifted", box_lifted),), path_constraints=(("level", box_level),),
        keypoints=np.stack([BOX_CENTRE, *ends]), held_masks=np.ones((2, 3), bool),
        T_world_tcp=T_now, robots=(LEFT, RIGHT), q_current=q_now,
        approaches=("top_down", "top_down"), tolerance=TOL,
    )  # fmt: skip


def test_lift_box_level_with_both_hands():
    problem = box_problem()
    sol = solve_bimanual_subgoal(problem)
    assert sol.feasible, sol.reason
    check_answer(problem, sol)
    # the box is rigid with the left hand: recompute its keypoints numerically
    T_now, T_new = problem.T_world_tcp, fk(sol.q)
    moved = transform_points(T_new[0] @ invert_pose(T_now[0]), problem.keypoints)
    assert box_lifted(T_new[:, :3, 3], moved) <= TOL
    assert box_level(T_new[:, :3, 3], moved) <= TOL
    # the right hand keeps its grip: same pose relative to the left hand, on its box end
    rel_now = invert_pose(T_now[0]) @ T_now[1]
    rel_new = invert_pose(T_new[0]) @ T_new[1]
    assert np.linalg.norm(rel_new[:3, 3] - rel_now[:3, 3]) < 5e-3
    assert np.linalg.norm(rel_new[:3, :3] - rel_now[:3, :3]) < 0.05
    assert np.linalg.norm(T_new[1, :3, 3] - moved[2]) < 5e-3
    assert sol.grip_drift_m < 5e-3

    path = plan_bimanual_path(problem, sol)
    assert path.feasible, path.reason
    for q, P in zip(path.q, path.poses, strict=True):
        np.testing.assert_allclose(P, fk(q), atol=1e-9)
        kp = transform_points(P[0] @ invert_pose(T_now[0]), problem.keypoints)
        assert box_level(P[:, :3, 3], kp) <= TOL
        assert arm_clearance(LEFT, RIGHT, q) >= -1e-3


def test_path_is_time_parameterized_within_limits():
    problem = reach_problem(np.array([[0.5, 0.25, 0.2], [0.45, -0.3, 0.25]]))
    goal = solve_bimanual_subgoal(problem)
    path = plan_bimanual_path(problem, goal, num_controls=3, samples=20)
    assert path.feasible, path.reason
    n = path.q.shape[0]
    assert n >= 20 and path.poses.shape == (n, 2, 4, 4) and path.times_s.shape == (n,)
    np.testing.assert_allclose(path.q[0], problem.q_current)
    np.testing.assert_allclose(path.q[-1], goal.q)
    assert path.times_s[0] == 0.0 and np.all(np.diff(path.times_s) > 0)
    vel = np.abs(np.diff(path.q, axis=0)) / np.diff(path.times_s)[:, None, None]
    limits = np.stack([LEFT.velocity_limits, RIGHT.velocity_limits])
    assert np.all(vel <= limits * (1 + 1e-3))
    for q in path.q:
        assert LEFT.within_limits(q[0], 1e-7) and RIGHT.within_limits(q[1], 1e-7)
        assert arm_clearance(LEFT, RIGHT, q) >= -1e-3
    again = plan_bimanual_path(problem, goal, warm_start=path)
    assert again.feasible
