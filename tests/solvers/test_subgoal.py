"""Sub-goal problems: hand-made constraint programs are satisfied within tolerance."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rekep.errors import ConstraintEvaluationError, SolverError
from rekep.poses import make_pose, rotation_angle
from solvers.constraint_set import evaluate_one, normalize_constraints
from solvers.forward_model import move_held_keypoints
from solvers.solution import Solution
from solvers.subgoal import (
    SUBGOAL_BACKENDS,
    SubgoalProblem,
    build_subgoal_problem,
    register_subgoal_backend,
    solve_subgoal,
)
from solvers.subgoal_costs import SubgoalObjective

DOWN = np.diag([1.0, -1.0, -1.0])  # TCP z axis = world -z
T_NOW = make_pose(DOWN, [0.4, 0.0, 0.5])
LOWER, UPPER = np.array([-0.2, -0.6, 0.0]), np.array([0.9, 0.6, 1.0])
TOL = 0.01


def problem(
    subgoal, *, keypoints=None, held=None, T=T_NOW, tolerance=TOL, **kwargs
) -> SubgoalProblem:
    kps = np.array([[0.5, 0.2, 0.1], [0.6, -0.1, 0.05]]) if keypoints is None else keypoints
    return build_subgoal_problem(
        subgoal_constraints=subgoal,
        keypoints=kps,
        held_mask=held,
        T_world_tcp=T,
        workspace_lower=LOWER,
        workspace_upper=UPPER,
        tolerance=tolerance,
        **kwargs,
    )


def reach(target):
    return lambda ee, kps: float(np.linalg.norm(ee - np.asarray(target)))


def held_object_scene(tilt: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints 0 (top) and 1 (bottom) on a 10 cm object in the hand, 2 on the table."""
    bottom = np.array([0.4, 0.0, 0.45])
    top = bottom + 0.1 * np.array([np.sin(tilt), 0.0, np.cos(tilt)])
    return np.array([top, bottom, [0.7, 0.2, 0.05]]), np.array([True, True, False])


def bottom_above_table_point(ee, kps):
    return float(np.linalg.norm(kps[1] - (kps[2] + np.array([0.0, 0.0, 0.1]))))


def axis_vertical(ee, kps):
    axis = kps[0] - kps[1]
    return float(np.linalg.norm(axis / np.linalg.norm(axis) - np.array([0.0, 0.0, 1.0])))


def test_reach_a_point() -> None:
    target = np.array([0.6, 0.1, 0.3])
    sol = solve_subgoal(problem([("reach", reach(target))]))
    assert sol.feasible and sol.status == "solved" and sol.kind == "subgoal"
    assert np.linalg.norm(sol.position - target) <= TOL
    assert sol.violations["reach"] <= TOL and sol.max_violation <= TOL
    # nothing asks for a rotation, so the hand keeps its orientation
    assert rotation_angle(sol.pose[:3, :3], DOWN) < 0.02
    assert sol.trajectory.shape == (0, 4, 4) and sol.decision.shape == (6,)
    assert sol.numeric == ("reach",) and sol.traced == () and sol.backend == "scipy"
    json.dumps(sol.to_dict(), allow_nan=False)


def test_held_keypoint_ten_cm_above_another() -> None:
    keypoints, held = held_object_scene()
    sol = solve_subgoal(
        problem([("above", bottom_above_table_point)], keypoints=keypoints, held=held)
    )
    assert sol.feasible
    moved = move_held_keypoints(keypoints, held, T_NOW, sol.pose)
    np.testing.assert_allclose(moved[1], keypoints[2] + [0.0, 0.0, 0.1], atol=TOL)
    np.testing.assert_array_equal(moved[2], keypoints[2])  # the table point did not move
    # the TCP itself is elsewhere (5 cm above the held keypoint), so this checks the model
    assert np.linalg.norm(sol.position - moved[1]) > 0.04


def test_held_axis_kept_vertical_while_moving_overrides_top_down() -> None:
    keypoints, held = held_object_scene(tilt=0.5)  # the object sits tilted in the hand
    prob = problem(
        [("above", bottom_above_table_point)],
        path_constraints=[("vertical", axis_vertical)],
        keypoints=keypoints,
        held=held,
        approach="top_down",
    )
    sol = solve_subgoal(prob)
    assert sol.feasible, sol.reason
    assert set(sol.violations) == {"above", "vertical"}
    moved = move_held_keypoints(keypoints, held, T_NOW, sol.pose)
    axis = moved[0] - moved[1]
    assert np.degrees(np.arccos(axis[2] / np.linalg.norm(axis))) < 1.0
    np.testing.assert_allclose(moved[1], keypoints[2] + [0.0, 0.0, 0.1], atol=TOL)
    # the constraint wins over the "keep pointing down" preference: the hand tilts ~0.5 rad
    assert rotation_angle(sol.pose[:3, :3], DOWN) == pytest.approx(0.5, abs=0.05)


def test_grasp_stage_prefers_top_down_from_a_tilted_hand() -> None:
    tilted = make_pose(Rotation.from_rotvec([0.6, 0.3, 0.0]).as_matrix() @ DOWN, [0.4, 0.0, 0.5])
    sol = solve_subgoal(
        problem(
            [("reach", lambda ee, k: float(np.linalg.norm(ee - k[0])))], T=tilted, grasp_keypoint=0
        )
    )
    assert sol.feasible
    assert sol.pose[2, 2] < -np.cos(np.radians(3.0))  # TCP z within 3 degrees of world -z


def test_side_approach_makes_tcp_z_horizontal() -> None:
    sol = solve_subgoal(
        problem(
            [("reach", lambda ee, k: float(np.linalg.norm(ee - k[0])))],
            grasp_keypoint=0,
            approach="side",
        )
    )
    assert sol.feasible
    assert abs(sol.pose[2, 2]) < np.sin(np.radians(3.0))


def test_out_of_workspace_target_is_infeasible_with_violations() -> None:
    sol = solve_subgoal(problem([("reach", reach([2.0, 0.0, 0.3])), ("low", lambda e, k: -1.0)]))
    assert not sol.feasible and sol.status == "infeasible"
    assert sol.violations["reach"] == pytest.approx(1.1, abs=TOL)  # 2.0 - upper x bound 0.9
    assert sol.violations["low"] == -1.0 and sol.max_violation == sol.violations["reach"]
    assert "reach" in sol.reason and "low" not in sol.reason.split("violated:")[1]
    assert np.all(sol.position >= LOWER - 1e-9) and np.all(sol.position <= UPPER + 1e-9)
    assert sol.position[0] == pytest.approx(UPPER[0], abs=1e-6)


def _raises(ee, kps):
    raise ZeroDivisionError("division by zero")


def _raises_rekep(ee, kps):
    raise ConstraintEvaluationError("timed out", function="slow")


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (lambda ee, kps: float("nan"), "nan"),
        (lambda ee, kps: np.inf, "inf"),
        (_raises, "ZeroDivisionError"),
        (_raises_rekep, "timed out"),
        (lambda ee, kps: np.ones(3), "one number"),
        (lambda ee, kps: kps[17, 0], "IndexError"),
    ],
)
def test_broken_constraint_gives_error_status_not_exception(fn, fragment: str) -> None:
    sol = solve_subgoal(problem([("ok", reach([0.5, 0.0, 0.4])), ("broken", fn)]))
    assert sol.status == "error" and not sol.feasible
    assert fragment in sol.reason
    assert "broken" in sol.reason or "slow" in sol.reason
    np.testing.assert_array_equal(sol.pose, T_NOW)  # a safe "stay here"
    json.dumps(sol.to_dict(), allow_nan=False)


def test_constraint_undefined_in_part_of_the_space_never_raises() -> None:
    def partial(ee, kps):  # NaN above z = 0.45, i.e. at the current pose
        return float("nan") if ee[2] > 0.45 else float(np.linalg.norm(ee - [0.6, 0.1, 0.2]))

    for rng_seed in range(4):
        sol = solve_subgoal(problem([("partial", partial)]), rng_seed=rng_seed)
        assert sol.status in ("solved", "error")
        if sol.status == "solved":  # some sampled start stayed where it is defined
            assert sol.violations["partial"] <= TOL and "abandoned" in sol.reason
        else:
            assert "partial" in sol.reason and "all 5 starts failed" in sol.reason
            np.testing.assert_array_equal(sol.pose, T_NOW)


def test_warm_start_returns_quickly_to_the_same_answer() -> None:
    keypoints, held = held_object_scene(tilt=0.5)
    prob = problem(
        [("above", bottom_above_table_point)],
        path_constraints=[("vertical", axis_vertical)],
        keypoints=keypoints,
        held=held,
    )
    cold = solve_subgoal(prob)
    for warm_start in (cold.pose, cold.decision):
        warm = solve_subgoal(prob, warm_start=warm_start)
        assert warm.feasible
        assert warm.iterations <= 5 < cold.iterations
        np.testing.assert_allclose(warm.pose, cold.pose, atol=1e-4)


def test_infeasible_warm_start_falls_back_to_the_other_starts() -> None:
    prob = problem([("reach", reach([0.6, 0.1, 0.3]))])
    far = make_pose(DOWN, [0.6, 0.1, 0.3])  # a fine start: converges at once
    assert solve_subgoal(prob, warm_start=far).feasible
    blocked = problem([("reach", reach([0.6, 0.1, 0.3])), ("stay_low", lambda e, k: e[2] - 0.4)])
    start_high = make_pose(DOWN, [0.0, 0.0, 0.95])
    sol = solve_subgoal(blocked, warm_start=start_high)
    assert sol.feasible


def test_solves_are_deterministic() -> None:
    prob = problem([("reach", reach([0.6, 0.1, 0.3]))])
    a, b = solve_subgoal(prob, rng_seed=3), solve_subgoal(prob, rng_seed=3)
    np.testing.assert_array_equal(a.pose, b.pose)
    assert a.iterations == b.iterations


def test_no_constraints_keeps_the_current_pose() -> None:
    sol = solve_subgoal(problem([]))
    assert sol.feasible and sol.violations == {} and sol.max_violation == 0.0
    np.testing.assert_allclose(sol.pose, T_NOW, atol=1e-6)


def test_unknown_backend_lists_valid_names() -> None:
    with pytest.raises(SolverError, match="scipy"):
        solve_subgoal(problem([]), backend="casadi_that_does_not_exist")


def test_registered_backend_receives_a_decision_warm_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("solvers.subgoal.SUBGOAL_BACKENDS", dict(SUBGOAL_BACKENDS))
    seen: dict[str, object] = {}

    def fake(
        prob: SubgoalProblem, *, warm_start: np.ndarray | None, num_seeds: int, rng_seed: int
    ) -> Solution:
        seen.update(warm_start=warm_start, num_seeds=num_seeds, rng_seed=rng_seed)
        return Solution(
            kind="subgoal",
            backend="fake",
            feasible=True,
            status="solved",
            reason="",
            pose=prob.T_world_tcp,
        )

    register_subgoal_backend("fake", fake)
    with pytest.raises(SolverError, match="exists"):
        register_subgoal_backend("fake", fake)
    prob = problem([])
    target = make_pose(DOWN, [0.1, 0.2, 0.3])
    assert solve_subgoal(prob, backend="fake", warm_start=target, num_seeds=2).backend == "fake"
    expected = np.array([0.1, 0.2, 0.3, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(np.asarray(seen["warm_start"]), expected, atol=1e-12)
    assert seen["num_seeds"] == 2


def test_decision_round_trip_and_objective_at_rest() -> None:
    prob = problem([], approach="free")
    np.testing.assert_allclose(prob.decision_to_pose(prob.current_decision()), T_NOW, atol=1e-12)
    T = make_pose(Rotation.from_rotvec([0.3, -1.0, 2.0]).as_matrix(), [0.1, 0.2, 0.3])
    np.testing.assert_allclose(prob.decision_to_pose(prob.pose_to_decision(T)), T, atol=1e-9)
    assert SubgoalObjective(prob)(prob.current_decision()) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tolerance": 0.0},
        {"tolerance": float("nan")},
        {"approach": "sideways"},
        {"grasp_keypoint": 5},
        {"grasp_keypoint": -2},
        {"held": [True]},
        {"keypoints": np.array([[0.0, 0.0, np.nan]])},
    ],
)
def test_invalid_problems_raise(kwargs: dict) -> None:
    with pytest.raises(SolverError):
        problem([], **kwargs)


def test_invalid_workspace_and_duplicate_names_raise() -> None:
    with pytest.raises(SolverError, match="workspace"):
        build_subgoal_problem(
            subgoal_constraints=[],
            keypoints=np.zeros((1, 3)),
            T_world_tcp=T_NOW,
            workspace_lower=UPPER,
            workspace_upper=LOWER,
        )
    with pytest.raises(SolverError, match="twice"):
        problem([("a", reach([0, 0, 0]))], path_constraints=[("a", reach([0, 0, 0]))])
    with pytest.raises(SolverError, match="num_seeds"):
        solve_subgoal(problem([]), num_seeds=-1)
    with pytest.raises(SolverError, match="warm_start"):
        solve_subgoal(problem([]), warm_start=np.zeros(5))


def test_constraint_naming_and_guarded_evaluation() -> None:
    f = reach([0.0, 0.0, 0.0])
    assert [n for n, _ in normalize_constraints([f, f], "c")] == ["c0", "c1"]
    assert [n for n, _ in normalize_constraints({"x": f}, "c")] == ["x"]
    with pytest.raises(SolverError):
        normalize_constraints([("x", 3.0)], "c")  # type: ignore[list-item]

    def mutating(ee, kps):
        kps[0] += 1.0
        ee += 1.0
        return 0.0

    ee, kps = np.zeros(3), np.zeros((1, 3))
    assert evaluate_one("m", mutating, ee, kps) == 0.0
    assert not ee.any() and not kps.any()  # callables get copies
    with pytest.raises(ConstraintEvaluationError) as info:
        evaluate_one("bad", lambda e, k: "text", ee, kps)
    assert info.value.function == "bad"
