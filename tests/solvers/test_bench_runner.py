"""The solver benchmark runner on two problems with quick settings."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from rekep.bench_cli import add_bench_parser
from solvers.benchmark import bench_problems
from solvers.benchmark.runner import METRICS, format_table, run_solver_bench


@pytest.fixture(scope="module")
def report() -> dict:
    problems = [p for p in bench_problems() if p.name in ("grasp_block", "carry_bottle")]
    return run_solver_bench(backends=("casadi", "scipy"), problems=problems, quick=True)


def test_report_has_the_documented_keys_with_finite_values(report: dict) -> None:
    assert report["problems"] == 2
    for name in ("casadi", "scipy"):
        r = report["backends"][name]
        for m in METRICS:
            for suffix in ("_median", "_p95"):
                assert math.isfinite(r[m + suffix]) and r[m + suffix] > 0
        assert 0.0 <= r["feasible_rate"] <= 1.0
        assert math.isfinite(r["max_violation_median"])
    assert report["backends"]["casadi"]["feasible_rate"] == 1.0
    for axis in ("constraints", "keypoints"):
        assert report["scaling"][axis]
        for d in report["scaling"][axis].values():
            assert math.isfinite(d["cold_ms"]) and math.isfinite(d["warm_ms"])
    json.dumps(report, allow_nan=False)


def test_table_lists_every_backend(report: dict) -> None:
    table = format_table(report)
    assert "casadi" in table and "scipy" in table and "problems: 2" in table


def test_cli_parser() -> None:
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "solver", "--json", "--backends", "casadi", "--quick"])
    assert args.json and args.backends == ["casadi"] and args.quick and callable(args.func)


def test_baseline_sees_the_robot_and_the_obstacles() -> None:
    """The recipe runs in full: IK seeded at the casadi backend's current joints, the
    problem's obstacles as its distance field, gripper + held points for collision."""
    from solvers.benchmark.runner import _BaselineScene, _Robot

    robot = _Robot()
    scene = _BaselineScene(robot)
    bp = next(p for p in bench_problems() if p.has_obstacles and p.holds_object)
    kw = scene.kwargs(bp, bp, bp.T_world_tcp, bp.keypoints)
    assert kw["robot"].ik is not None
    assert kw["robot"].seed == pytest.approx(robot.q_current(bp))
    assert kw["sdf"] is not None and kw["sdf"](bp.obstacles[:3]) == pytest.approx(0.0)
    held = bp.keypoints[bp.held_mask]
    assert kw["collision_points"][-len(held) :] == pytest.approx(held)
    free = next(p for p in bench_problems() if not p.has_obstacles)
    assert scene.kwargs(free, free, free.T_world_tcp, free.keypoints)["sdf"] is None
