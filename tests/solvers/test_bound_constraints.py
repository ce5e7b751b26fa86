"""Constraints bound to a grasp state (``ConstraintFunction.bind``) are traced exactly."""

from __future__ import annotations

import numpy as np

from rekep.poses import make_pose
from rekep.program import load_program
from solvers.subgoal import build_subgoal_problem, solve_subgoal

PROGRAM = """
num_stages = 1
def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[1]) + get_grasping_cost_by_keypoint_idx(0)
grasp_keypoints = [-1]
release_keypoints = [-1]
"""


def test_bind_fixes_the_grasp_state() -> None:
    fn = load_program(PROGRAM, num_keypoints=2).stages[0].subgoal_constraints[0]
    ee, kps = np.zeros(3), np.array([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0]])
    assert fn.bind((0,)).name == fn.name
    assert fn.bind((0,))(ee, kps) == fn(ee, kps, (0,)) == 0.3
    assert fn.bind(())(ee, kps) == fn(ee, kps) == 1.3


def test_casadi_traces_bound_program_constraints() -> None:
    fn = load_program(PROGRAM, num_keypoints=2).stages[0].subgoal_constraints[0]
    problem = build_subgoal_problem(
        subgoal_constraints=[(fn.name, fn.bind((0,)))],
        keypoints=np.array([[0.4, 0.0, 0.1], [0.5, 0.1, 0.2]]),
        T_world_tcp=make_pose(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.3]),
        workspace_lower=[0.0, -0.5, 0.0],
        workspace_upper=[0.8, 0.5, 0.6],
    )
    solution = solve_subgoal(problem, backend="casadi")
    assert solution.traced == (fn.name,) and solution.numeric == ()
    assert solution.feasible
    np.testing.assert_allclose(solution.pose[:3, 3], [0.5, 0.1, 0.2], atol=0.01)
