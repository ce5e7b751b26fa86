"""The Solution value: validation, immutability and JSON round trips."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from rekep.errors import SolverError
from solvers.solution import Solution, max_violation_of


def make_solution(**overrides: object) -> Solution:
    fields: dict[str, object] = {
        "kind": "path",
        "backend": "interpolation",
        "feasible": False,
        "status": "infeasible",
        "reason": "keep_upright exceeds tolerance",
        "pose": np.eye(4),
        "trajectory": np.tile(np.eye(4), (3, 1, 1)),
        "joint_positions": np.arange(7.0),
        "decision": np.array([0.1, 0.2, 0.3, 0.0, 0.0, 0.5]),
        "violations": {"keep_upright": 0.2, "reach": -0.01},
        "max_violation": 0.2,
        "cost": 1.5,
        "iterations": 12,
        "wall_time_s": 0.003,
        "traced": ("reach",),
        "numeric": ("keep_upright",),
    }
    fields.update(overrides)
    return Solution(**fields)  # type: ignore[arg-type]


def assert_same(a: Solution, b: Solution) -> None:
    for f in dataclasses.fields(Solution):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb)
        elif isinstance(va, float) and math.isnan(va):
            assert math.isnan(vb), f.name
        elif isinstance(va, dict):
            assert va.keys() == vb.keys()
            for k in va:
                assert va[k] == vb[k] or (math.isnan(va[k]) and math.isnan(vb[k])), k
        else:
            assert va == vb, f.name


def test_json_round_trip_preserves_every_field() -> None:
    sol = make_solution()
    text = json.dumps(sol.to_dict(), allow_nan=False)
    assert_same(sol, Solution.from_dict(json.loads(text)))


def test_non_finite_values_become_none_and_come_back_as_nan() -> None:
    pose = np.eye(4)
    pose[0, 3] = np.nan
    sol = make_solution(
        status="error",
        reason="constraint 'f' returned nan",
        pose=pose,
        violations={"f": math.nan},
        max_violation=math.nan,
        cost=math.inf,
        joint_positions=None,
    )
    data = sol.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises if any NaN/inf slipped through
    assert data["pose"][0][3] is None
    assert data["violations"]["f"] is None
    assert data["max_violation"] is None and data["cost"] is None
    back = Solution.from_dict(json.loads(text))
    assert math.isnan(back.pose[0, 3]) and math.isnan(back.violations["f"])
    assert math.isnan(back.cost) and back.joint_positions is None


def test_subgoal_default_trajectory_is_empty() -> None:
    sol = Solution(
        kind="subgoal", backend="x", feasible=True, status="solved", reason="", pose=np.eye(4)
    )
    assert sol.trajectory.shape == (0, 4, 4)
    assert sol.decision.shape == (0,)
    assert Solution.from_dict(json.loads(json.dumps(sol.to_dict()))).trajectory.shape == (0, 4, 4)


@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "trajectory"},
        {"status": "ok"},
        {"feasible": True},  # contradicts status="infeasible"
        {"status": "solved"},  # contradicts feasible=False
        {"pose": np.eye(3)},
        {"trajectory": np.zeros((2, 3, 4))},
        {"decision": np.zeros((2, 3))},
        {"iterations": -1},
        {"pose": "not a pose"},
    ],
)
def test_invalid_fields_raise_solver_error(overrides: dict[str, object]) -> None:
    with pytest.raises(SolverError):
        make_solution(**overrides)


def test_solution_is_immutable_and_owns_its_arrays() -> None:
    pose = np.eye(4)
    violations = {"reach": 0.5}
    sol = make_solution(pose=pose, violations=violations)
    pose[0, 3] = 9.0
    violations["reach"] = 9.0
    assert sol.pose[0, 3] == 0.0 and sol.violations["reach"] == 0.5
    with pytest.raises(ValueError):
        sol.pose[0, 0] = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.status = "solved"  # type: ignore[misc]


def test_from_dict_names_the_missing_field() -> None:
    data = make_solution().to_dict()
    del data["pose"]
    with pytest.raises(SolverError, match="pose"):
        Solution.from_dict(data)


def test_max_violation_of() -> None:
    assert max_violation_of({}) == 0.0
    assert max_violation_of({"a": -1.0, "b": -0.5}) == 0.0
    assert max_violation_of({"a": 0.3, "b": 0.1}) == 0.3
    assert math.isnan(max_violation_of({"a": math.nan}))
