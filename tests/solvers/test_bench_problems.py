"""The fixed benchmark problem set: deterministic, loadable through the sandbox, solvable."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rekep.errors import SolverError
from solvers.benchmark import CATEGORIES, BenchProblem, bench_problems, perturbed
from solvers.subgoal import solve_subgoal

PROBLEMS = bench_problems()
REQUIRED = {"grasp", "place", "insert_upright", "pour_tilt", "keep_upright"}


def test_at_least_twenty_uniquely_named_problems_cover_the_categories():
    assert len(PROBLEMS) >= 20
    names = [p.name for p in PROBLEMS]
    assert len(set(names)) == len(names)
    assert REQUIRED <= {p.category for p in PROBLEMS} <= set(CATEGORIES)
    assert any(p.holds_object for p in PROBLEMS) and any(not p.holds_object for p in PROBLEMS)
    assert any(p.has_obstacles for p in PROBLEMS) and any(not p.has_obstacles for p in PROBLEMS)
    assert any(p.constraints()[1] for p in PROBLEMS)  # keep-upright and similar path constraints


def test_problems_are_deterministic():
    again = bench_problems()
    for a, b in zip(PROBLEMS, again, strict=True):
        assert a.name == b.name and a.program == b.program and a.stage == b.stage
        for field in ("keypoints", "held_mask", "T_world_tcp", "obstacles"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("bench", PROBLEMS, ids=lambda p: p.name)
def test_problem_loads_and_evaluates_at_the_current_pose(bench: BenchProblem):
    program = bench.load()
    assert program.num_keypoints == len(bench.keypoints)
    sub, path = bench.constraints()
    assert sub, "every stage has a sub-goal"
    ee = bench.T_world_tcp[:3, 3]
    for _, fn in (*sub, *path):
        assert np.isfinite(float(fn(ee.copy(), bench.keypoints.copy())))
    if bench.holds_object:  # the grasping helper sees the held object
        for name, fn in path:
            if "get_grasping_cost_by_keypoint_idx" in program.function(name).source:
                assert fn(ee.copy(), bench.keypoints.copy()) == 0.0
    problem = bench.subgoal_problem()
    assert problem.grasp_keypoint == bench.grasp_keypoint
    assert problem.is_grasp_stage == (bench.category == "grasp")


def test_scenes_lie_in_the_panda_workspace():
    for p in PROBLEMS:
        assert np.all(p.workspace_lower <= p.T_world_tcp[:3, 3])
        assert np.all(p.T_world_tcp[:3, 3] <= p.workspace_upper)
        if not p.expect_feasible:
            continue
        scene = p.keypoints[~p.held_mask]
        assert np.all((scene[:, 0] >= 0.3) & (scene[:, 0] <= 0.7)), p.name
        assert np.all(np.abs(scene[:, 1]) < 0.3), p.name
        assert np.all((scene[:, 2] >= 0.0) & (scene[:, 2] <= 0.4)), p.name


@pytest.mark.parametrize("bench", PROBLEMS, ids=lambda p: p.name)
def test_scipy_backend_solves_every_feasible_problem_cold(bench: BenchProblem):
    problem = bench.subgoal_problem()
    sol = solve_subgoal(problem, backend="scipy")
    assert sol.feasible == bench.expect_feasible, sol.reason


def test_at_least_one_problem_is_marked_infeasible_and_most_are_feasible():
    flags = [p.expect_feasible for p in PROBLEMS]
    assert 1 <= flags.count(False) <= 3


def test_perturbed_jitters_keypoints_only_and_is_reproducible():
    base = PROBLEMS[0]
    a = perturbed(base, np.random.default_rng(7))
    b = perturbed(base, np.random.default_rng(7))
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    delta = a.keypoints - base.keypoints
    assert 0.0 < np.abs(delta).max() < 0.05
    np.testing.assert_array_equal(a.T_world_tcp, base.T_world_tcp)
    assert a.name == base.name and a.program == base.program
    same = perturbed(base, np.random.default_rng(7), sigma_m=0.0)
    np.testing.assert_array_equal(same.keypoints, base.keypoints)
    with pytest.raises(SolverError):
        perturbed(base, np.random.default_rng(0), sigma_m=-1.0)


def test_perturbed_problems_stay_feasible_warm():
    rng = np.random.default_rng(3)
    for bench in PROBLEMS[::4]:
        if not bench.expect_feasible:
            continue
        cold = solve_subgoal(bench.subgoal_problem())
        tick = perturbed(bench, rng).subgoal_problem()
        warm = solve_subgoal(tick, warm_start=cold.pose)
        assert warm.feasible, (bench.name, warm.reason)


def test_wrong_grasp_keypoint_or_stage_is_rejected():
    base = PROBLEMS[0]
    with pytest.raises(SolverError, match="grasp_keypoint"):
        dataclasses.replace(base, grasp_keypoint=-1)
    with pytest.raises(SolverError, match="stage"):
        dataclasses.replace(base, stage=9)
