"""The ``rekep_baseline`` backend: the original ReKep optimizer recipe, reproduced.

Every speed claim of the project is a ratio against this backend measured side by side, so
it follows REKEP_REFERENCE.md ("Sub-goal solver", "Path solver") faithfully: position +
Euler variables normalized to [-1, 1], penalty costs with the original weights, dual
annealing + SLSQP on a stage's first solve and warm SLSQP after, finite differences, an
IK-iteration reachability term.

Public API::

    solve_subgoal_baseline(problem, /, *, warm_start=None, num_seeds=0, rng_seed=0,
                           robot=None, sdf=None, collision_points=None, options=None)
    make_baseline_backend(*, robot=None, sdf=None, collision_points=None, options=None)
    plan_path_baseline(T_start, T_goal, *, path_constraints=(), keypoints=None, ...)
    BaselineOptions, BaselineRobot, solve_ik, point_cloud_sdf
"""

from __future__ import annotations

from solvers.baseline.collision import CollisionModel, farthest_point_sampling, point_cloud_sdf
from solvers.baseline.euler import (
    VariableScaling,
    euler_vector_to_pose,
    pose_scaling,
    pose_to_euler_vector,
)
from solvers.baseline.ik import BaselineRobot, IKResult, solve_ik
from solvers.baseline.options import BaselineOptions
from solvers.baseline.path_solver import plan_path_baseline
from solvers.baseline.subgoal_solver import (
    BACKEND_NAME,
    make_baseline_backend,
    solve_subgoal_baseline,
)

__all__ = [
    "BACKEND_NAME",
    "BaselineOptions",
    "BaselineRobot",
    "CollisionModel",
    "IKResult",
    "VariableScaling",
    "euler_vector_to_pose",
    "farthest_point_sampling",
    "make_baseline_backend",
    "plan_path_baseline",
    "point_cloud_sdf",
    "pose_scaling",
    "pose_to_euler_vector",
    "solve_ik",
    "solve_subgoal_baseline",
]
