"""Interpolated paths: spacing, lift, and path constraints checked on every sample."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from rekep.errors import SolverError
from rekep.poses import make_pose, rotation_angle
from solvers.path import plan_path

DOWN = np.diag([1.0, -1.0, -1.0])
START = make_pose(DOWN, [0.3, -0.2, 0.3])
GOAL = make_pose(DOWN, [0.3, 0.2, 0.3])
OBSTACLE = np.array([0.3, 0.0, 0.3])  # exactly on the straight line, mid-way


def random_pose(rng: np.random.Generator) -> np.ndarray:
    quat = rng.normal(size=4)
    rotation = Rotation.from_quat(quat / np.linalg.norm(quat)).as_matrix()
    return make_pose(rotation, rng.uniform(-0.5, 0.5, size=3))


def keep_away(ee, kps):
    """Stay at least 10 cm from keypoint 0."""
    return float(0.1 - np.linalg.norm(ee - kps[0]))


def steps(trajectory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist = np.linalg.norm(np.diff(trajectory[:, :3, 3], axis=0), axis=1)
    angle = np.array(
        [rotation_angle(a[:3, :3], b[:3, :3]) for a, b in itertools.pairwise(trajectory)]
    )
    return dist, angle


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.005, 0.1),
    st.floats(0.02, 0.5),
    st.sampled_from([0.0, 0.1]),
)
def test_samples_are_spaced_within_the_steps(
    seed: int, step_m: float, step_rad: float, lift_m: float
) -> None:
    rng = np.random.default_rng(seed)
    T_start, T_goal = random_pose(rng), random_pose(rng)
    sol = plan_path(T_start, T_goal, step_m=step_m, step_rad=step_rad, lift_m=lift_m)
    dist, angle = steps(sol.trajectory)
    assert np.all(dist <= step_m + 1e-9)
    assert np.all(angle <= step_rad + 1e-6)
    np.testing.assert_allclose(sol.trajectory[0], T_start, atol=1e-12)
    np.testing.assert_allclose(sol.trajectory[-1], T_goal, atol=1e-12)
    np.testing.assert_array_equal(sol.pose, sol.trajectory[-1])
    assert sol.kind == "path" and sol.feasible and sol.violations == {}
    assert sol.cost == pytest.approx(dist.sum())


def test_spacing_is_not_wastefully_dense() -> None:
    sol = plan_path(START, GOAL, step_m=0.02)  # 40 cm straight, no rotation
    assert len(sol.trajectory) == 21


def test_lift_goes_up_first_through_a_via_pose() -> None:
    sol = plan_path(START, GOAL, lift_m=0.15, step_m=0.02)
    via = START[:3, 3] + [0.0, 0.0, 0.15]
    distances = np.linalg.norm(sol.trajectory[:, :3, 3] - via, axis=1)
    assert distances.min() < 1e-9  # the via pose is a sample
    first_leg = sol.trajectory[: int(np.argmin(distances)) + 1, :3, 3]
    np.testing.assert_allclose(first_leg[:, :2], np.tile(START[:2, 3], (len(first_leg), 1)))
    assert np.all(np.diff(first_leg[:, 2]) > 0)  # straight up
    assert sol.decision.shape == (18,)  # start, via, goal as [p, rotvec]


def test_mid_path_violation_is_reported() -> None:
    sol = plan_path(
        START, GOAL, path_constraints=[("keep_away", keep_away)], keypoints=OBSTACLE[None]
    )
    assert not sol.feasible and sol.status == "infeasible"
    assert sol.violations["keep_away"] == pytest.approx(0.1, abs=1e-9)  # passes through it
    assert keep_away(START[:3, 3], OBSTACLE[None]) < 0  # fine at both ends...
    assert keep_away(GOAL[:3, 3], OBSTACLE[None]) < 0  # ...only the middle is bad
    assert "keep_away" in sol.reason and sol.max_violation == sol.violations["keep_away"]
    json.dumps(sol.to_dict(), allow_nan=False)


def test_lift_clears_the_mid_path_obstacle() -> None:
    sol = plan_path(
        START,
        GOAL,
        path_constraints=[("keep_away", keep_away)],
        keypoints=OBSTACLE[None],
        lift_m=0.3,
    )
    assert sol.feasible and sol.violations["keep_away"] <= 0.01


def test_held_keypoints_move_with_the_hand_along_the_path() -> None:
    keypoints = np.array([[0.3, -0.2, 0.2]])  # 10 cm below the TCP at the start

    def held_point_above_table(ee, kps):
        return float(0.15 - kps[0, 2])  # keypoint 0 must stay above z = 0.15

    lowered = make_pose(DOWN, [0.3, 0.2, 0.2])
    constraints = {"above": held_point_above_table}
    held = plan_path(
        START, lowered, path_constraints=constraints, keypoints=keypoints, held_mask=[True]
    )
    assert not held.feasible
    assert held.violations["above"] == pytest.approx(0.05, abs=1e-9)  # reaches z = 0.10
    not_held = plan_path(
        START, lowered, path_constraints=constraints, keypoints=keypoints, held_mask=[False]
    )
    assert not_held.feasible and not_held.violations["above"] == pytest.approx(-0.05)


def test_broken_path_constraint_gives_error_status() -> None:
    def explodes(ee, kps):
        if ee[1] > 0.0:
            raise ValueError("math domain error")
        return 0.0

    sol = plan_path(
        START, GOAL, path_constraints=[("explodes", explodes)], keypoints=np.zeros((1, 3))
    )
    assert sol.status == "error" and not sol.feasible
    assert "explodes" in sol.reason and "ValueError" in sol.reason
    assert np.isnan(sol.violations["explodes"])
    json.dumps(sol.to_dict(), allow_nan=False)


def test_equal_start_and_goal() -> None:
    sol = plan_path(START, START)
    assert sol.feasible and len(sol.trajectory) == 2 and sol.cost == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step_m": 0.0},
        {"step_rad": -0.1},
        {"lift_m": -0.1},
        {"tolerance": 0.0},
        {"path_constraints": [("keep_away", keep_away)]},  # no keypoints given
    ],
)
def test_invalid_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(SolverError):
        plan_path(START, GOAL, **kwargs)
