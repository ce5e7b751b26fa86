"""The ``casadi`` path backend: constraints on dense samples, joint limits, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.poses import make_pose
from solvers.casadi_ik import solve_ik
from solvers.casadi_path import plan_path_casadi
from solvers.forward_model import move_held_keypoints
from solvers.kinematics import RobotModel

DOWN = np.diag([1.0, -1.0, -1.0])
ROBOT = RobotModel()
A = make_pose(DOWN, [0.45, -0.2, 0.3])
B = make_pose(DOWN, [0.45, 0.2, 0.3])
KPS = np.array([[0.45, -0.2, 0.28], [0.45, -0.2, 0.22], [0.5, 0.0, 0.0]])
HELD = np.array([True, True, False])


def bottom_above(ee, kps):
    """The held object's bottom clears a ridge at y = 0 (0.3 m high, sloping to 0 at
    |y| = 0.12 m): the straight path at z 0.22 m violates it, a lifted one does not."""
    return (0.3 - 2.5 * np.abs(kps[1][1])) - kps[1][2]


def upright(ee, kps):
    axis = kps[0] - kps[1]
    return np.linalg.norm(axis / np.linalg.norm(axis) - np.array([0.0, 0.0, 1.0]))


@pytest.mark.parametrize("mode", ["joint", "se3"])
def test_path_meets_constraints_on_every_sample(mode: str) -> None:
    kw = {}
    if mode == "joint":
        kw = {"robot": ROBOT, "q_start": solve_ik(ROBOT, A)[0], "q_goal": solve_ik(ROBOT, B)[0]}
    sol = plan_path_casadi(A, B, path_constraints=[("above", bottom_above), ("upright", upright)],
                           keypoints=KPS, held_mask=HELD, **kw)  # fmt: skip
    assert sol.feasible and sol.kind == "path" and sol.backend == "casadi", sol.reason
    assert set(sol.traced) == {"above", "upright"}
    traj = sol.trajectory
    np.testing.assert_allclose(traj[0], A, atol=1e-4)  # joint space: up to the IK residual
    np.testing.assert_allclose(traj[-1], B, atol=1e-4)
    for T in traj:  # check independently with the NumPy forward model
        moved = move_held_keypoints(KPS, HELD, A, T)
        assert bottom_above(T[:3, 3], moved) <= 0.01
    if mode == "joint":
        q = sol.joint_positions
        assert q.shape == (traj.shape[0], ROBOT.dof)
        assert all(ROBOT.within_limits(qi, tol=1e-7) for qi in q)
        np.testing.assert_allclose(ROBOT.fk(q[5]), traj[5], atol=1e-9)
        np.testing.assert_allclose(q[0], kw["q_start"], atol=1e-12)
        steps = np.abs(np.diff(q, axis=0))
        assert np.all(steps.max(axis=0) > 0) and np.isfinite(steps).all()


def test_warm_start_needs_few_iterations() -> None:
    kw = {"robot": ROBOT, "q_start": solve_ik(ROBOT, A)[0], "q_goal": solve_ik(ROBOT, B)[0]}
    cons = [("above", bottom_above)]
    cold = plan_path_casadi(A, B, path_constraints=cons, keypoints=KPS, held_mask=HELD, **kw)
    warm = plan_path_casadi(A, B, path_constraints=cons, keypoints=KPS + 0.002, held_mask=HELD,
                            warm_start=cold, **kw)  # fmt: skip
    assert cold.feasible and warm.feasible
    assert warm.iterations < cold.iterations


def test_broken_path_constraint_is_an_error_solution() -> None:
    sol = plan_path_casadi(A, B, path_constraints=[("bad", lambda e, k: float("nan"))],
                           keypoints=KPS)  # fmt: skip
    assert sol.status == "error" and "bad" in sol.reason
