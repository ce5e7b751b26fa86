"""The ``casadi`` sub-goal backend: same programs as test_subgoal, joint space and SE(3)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rekep.errors import SolverError
from rekep.poses import make_pose, rotation_angle
from solvers.casadi_subgoal import solve_subgoal_casadi
from solvers.casadi_subgoal_nlp import clear_cache, get_nlp
from solvers.forward_model import move_held_keypoints
from solvers.kinematics import RobotModel
from solvers.subgoal import SUBGOAL_BACKENDS, build_subgoal_problem, solve_subgoal

DOWN = np.diag([1.0, -1.0, -1.0])
T_NOW = make_pose(DOWN, [0.4, 0.0, 0.5])
LOWER, UPPER = np.array([-0.2, -0.6, 0.0]), np.array([0.9, 0.6, 1.0])
TOL = 0.01
ROBOT = RobotModel()
MODES = ["joint", "se3"]


def problem(subgoal, mode, *, keypoints=None, held=None, T=T_NOW, **kwargs):
    kps = np.array([[0.5, 0.2, 0.1], [0.6, -0.1, 0.05]]) if keypoints is None else keypoints
    return build_subgoal_problem(
        subgoal_constraints=subgoal, keypoints=kps, held_mask=held, T_world_tcp=T,
        workspace_lower=LOWER, workspace_upper=UPPER, tolerance=TOL,
        robot=ROBOT if mode == "joint" else None, **kwargs,
    )  # fmt: skip


def reach(target):
    return lambda ee, kps: np.linalg.norm(ee - np.asarray(target))


def held_object_scene(tilt: float = 0.0):
    bottom = np.array([0.4, 0.0, 0.45])
    top = bottom + 0.1 * np.array([np.sin(tilt), 0.0, np.cos(tilt)])
    return np.array([top, bottom, [0.6, 0.2, 0.05]]), np.array([True, True, False])


def bottom_above_table_point(ee, kps):
    return np.linalg.norm(kps[1] - (kps[2] + np.array([0.0, 0.0, 0.1])))


def axis_vertical(ee, kps):
    axis = kps[0] - kps[1]
    return np.linalg.norm(axis / np.linalg.norm(axis) - np.array([0.0, 0.0, 1.0]))


def check_joint_solution(sol) -> None:
    """FK of the returned joints is the returned pose, within the joint limits."""
    q = sol.joint_positions
    assert q is not None and q.shape == (ROBOT.dof,)
    assert ROBOT.within_limits(q, tol=1e-7)
    np.testing.assert_allclose(ROBOT.fk(q), sol.pose, atol=1e-9)


def test_registered() -> None:
    assert "casadi" in SUBGOAL_BACKENDS


@pytest.mark.parametrize("mode", MODES)
def test_reach_a_point(mode: str) -> None:
    target = np.array([0.6, 0.1, 0.3])
    sol = solve_subgoal(problem([("reach", reach(target))], mode), backend="casadi")
    assert sol.feasible and sol.backend == "casadi", sol.reason
    assert np.linalg.norm(sol.position - target) <= TOL
    assert rotation_angle(sol.pose[:3, :3], DOWN) < 0.05
    assert sol.traced == ("reach",) and sol.numeric == ()
    if mode == "joint":
        check_joint_solution(sol)
    else:
        assert sol.joint_positions is None and sol.decision.shape == (6,)
    json.dumps(sol.to_dict(), allow_nan=False)


@pytest.mark.parametrize("mode", MODES)
def test_held_axis_vertical_overrides_top_down(mode: str) -> None:
    keypoints, held = held_object_scene(tilt=0.5)
    prob = problem([("above", bottom_above_table_point)], mode, keypoints=keypoints, held=held,
                   path_constraints=[("vertical", axis_vertical)])  # fmt: skip
    sol = solve_subgoal(prob, backend="casadi")
    assert sol.feasible, sol.reason
    moved = move_held_keypoints(keypoints, held, T_NOW, sol.pose)
    axis = moved[0] - moved[1]
    assert np.degrees(np.arccos(axis[2] / np.linalg.norm(axis))) < 3.0
    np.testing.assert_allclose(moved[1], keypoints[2] + [0.0, 0.0, 0.1], atol=TOL)
    np.testing.assert_array_equal(moved[2], keypoints[2])
    assert set(sol.traced) == {"above", "vertical"}
    if mode == "joint":
        check_joint_solution(sol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("approach", ["top_down", "side"])
def test_grasp_approach(mode: str, approach: str) -> None:
    tilted = make_pose(Rotation.from_rotvec([0.4, 0.2, 0.0]).as_matrix() @ DOWN, [0.4, 0.0, 0.5])
    sol = solve_subgoal(problem([("reach", lambda ee, k: np.linalg.norm(ee - k[0]))], mode,
                                T=tilted, grasp_keypoint=0, approach=approach),
                        backend="casadi")  # fmt: skip
    assert sol.feasible, sol.reason
    if approach == "top_down":
        assert sol.pose[2, 2] < -np.cos(np.radians(3.0))
    else:
        assert abs(sol.pose[2, 2]) < np.sin(np.radians(3.0))


@pytest.mark.parametrize("mode", MODES)
def test_unreachable_target_is_infeasible_with_violations(mode: str) -> None:
    sol = solve_subgoal(problem([("reach", reach([2.0, 0.0, 0.3])), ("low", lambda e, k: -1.0)],
                                mode), backend="casadi", num_seeds=2)  # fmt: skip
    assert sol.status == "infeasible" and not sol.feasible
    assert sol.violations["reach"] > 1.0 and sol.violations["low"] == -1.0
    assert sol.max_violation == sol.violations["reach"] and "reach" in sol.reason
    assert np.all(sol.position <= UPPER + 1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_warm_start_with_perturbed_keypoints_is_quick(mode: str) -> None:
    keypoints, held = held_object_scene(tilt=0.3)
    kw = {"held": held, "path_constraints": [("vertical", axis_vertical)]}
    cold = solve_subgoal(problem([("above", bottom_above_table_point)], mode,
                                 keypoints=keypoints, **kw), backend="casadi")  # fmt: skip
    assert cold.feasible
    rng = np.random.default_rng(0)
    moved = keypoints.copy()
    moved[2] += rng.normal(0.0, 0.005, size=3)  # the table point moved a little
    prob = problem([("above", bottom_above_table_point)], mode, keypoints=moved, **kw)
    warm = solve_subgoal(prob, backend="casadi", warm_start=cold.pose)
    assert warm.feasible, warm.reason
    assert warm.iterations <= 15 < cold.iterations
    assert "'warm'" in warm.reason


def test_cache_reuses_the_nlp_across_ticks() -> None:
    clear_cache()
    f = reach([0.6, 0.1, 0.3])
    a = problem([("reach", f)], "joint")
    b = problem([("reach", f)], "joint", keypoints=np.array([[0.5, 0.2, 0.2], [0.6, 0.0, 0.0]]))
    assert get_nlp(a, True) is get_nlp(b, True)
    assert get_nlp(a, False) is not get_nlp(a, True)


def test_untraceable_constraint_falls_back_to_numeric() -> None:
    def branching(ee, kps):
        d = ee - np.array([0.6, 0.1, 0.3])
        if d[2] > 0:  # data-dependent branch: cannot be traced
            return float(np.linalg.norm(d))
        return float(np.linalg.norm(d))

    sol = solve_subgoal(problem([("branchy", branching), ("r", reach([0.6, 0.1, 0.3]))], "se3"),
                        backend="casadi", num_seeds=0)  # fmt: skip
    assert sol.feasible, sol.reason
    assert sol.numeric == ("branchy",) and sol.traced == ("r",)


def _raises(ee, kps):
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (lambda ee, kps: float("nan"), "nan"),
        (lambda ee, kps: np.inf, "inf"),
        (_raises, "ZeroDivisionError"),
        (lambda ee, kps: np.ones(3), "one number"),
        (lambda ee, kps: kps[17, 0], "IndexError"),
    ],
)
def test_broken_constraint_gives_error_status(mode: str, fn, fragment: str) -> None:
    sol = solve_subgoal(problem([("ok", reach([0.5, 0.0, 0.4])), ("broken", fn)], mode),
                        backend="casadi", num_seeds=1)  # fmt: skip
    assert sol.status == "error" and not sol.feasible
    assert fragment in sol.reason and "broken" in sol.reason
    np.testing.assert_array_equal(sol.pose, T_NOW)
    json.dumps(sol.to_dict(), allow_nan=False)


def test_nan_keypoints_are_rejected_before_the_solver() -> None:
    with pytest.raises(SolverError):
        problem([], "se3", keypoints=np.array([[0.0, 0.0, np.nan]]))
    with pytest.raises(SolverError, match="q_current"):
        build_subgoal_problem(subgoal_constraints=[], keypoints=np.zeros((1, 3)),
                              T_world_tcp=T_NOW, workspace_lower=LOWER, workspace_upper=UPPER,
                              q_current=np.zeros(7))  # fmt: skip


def test_sqpmethod_variant_solves_too() -> None:
    sol = solve_subgoal_casadi(problem([("reach", reach([0.6, 0.1, 0.3]))], "se3"),
                               num_seeds=0, solver="sqpmethod")  # fmt: skip
    assert sol.feasible, sol.reason


def test_warm_fast_path_matches_ipopt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm tick's SQP answer is feasible at IPOPT's cost; a rejected SQP answer
    (here: no iterations allowed) falls back to IPOPT from the same start."""
    import solvers.casadi_subgoal as cs

    keypoints, held = held_object_scene(tilt=0.3)
    kw = {"held": held, "path_constraints": [("vertical", axis_vertical)]}
    cold = solve_subgoal(problem([("above", bottom_above_table_point)], "joint",
                                 keypoints=keypoints, **kw), backend="casadi")  # fmt: skip
    moved = keypoints.copy()
    moved[2] += np.array([0.004, -0.003, 0.002])
    prob = problem([("above", bottom_above_table_point)], "joint", keypoints=moved, **kw)

    def warm_solve():
        get_nlp(prob, True).last.clear()
        return solve_subgoal(prob, backend="casadi", warm_start=cold.pose)

    accepted = []
    run = cs._Context.run

    def spy(self, label, x0, warm=None, fast=None):
        out = run(self, label, x0, warm, fast)
        accepted.append(fast is not None and out.converged and out.feasible)
        return out

    monkeypatch.setattr(cs._Context, "run", spy)
    fast = warm_solve()
    assert accepted == [True]  # one SQP solve, kept
    monkeypatch.setattr(cs, "fast_solver", lambda nlp: None)
    slow = warm_solve()
    assert fast.feasible and slow.feasible
    assert fast.cost == pytest.approx(slow.cost, rel=1e-3, abs=1e-4)
    monkeypatch.undo()
    monkeypatch.setitem(cs.FAST_SQP_OPTIONS, "max_iter", 1)
    cs._FAST.clear()
    try:
        rejected = warm_solve()
    finally:
        cs._FAST.clear()
    assert rejected.feasible and rejected.cost == pytest.approx(slow.cost, rel=1e-3, abs=1e-4)
