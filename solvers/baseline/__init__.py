"""The ``rekep_baseline`` backend: the original ReKep optimizer recipe, reproduced.

Every speed claim of the project is a ratio against this backend measured side by side, so
it follows REKEP_REFERENCE.md ("Sub-goal solver", "Path solver") faithfully: position +
Euler variables normalized to [-1, 1], penalty costs with the original weights, dual
annealing + SLSQP on a stage's first solve and warm SLSQP after, finite differences, an
IK-iteration reachability term.

Faithful to the original (given a robot, a distance field and collision points, as the
benchmark passes them): the decision variables and their normalization, every cost term
and weight (collision 0.8 / 10 cm margin on up to 60 farthest-point-sampled points of the
gripper and held object; consistency 1.0 with 1.5 per radian; reachability 20 x the
fraction of a 20-iteration IK budget spent; reset posture 0.2 clipped at 3, last joint
excluded; top-down grasp 10; violations 200), the optimizers and budgets (dual annealing,
5000 evaluations, SLSQP local search of 200 iterations on a stage's first solve; warm
SLSQP after; SciPy finite differences) and the path solver's control poses, dense
interpolation, costs and spline output.

Differs, and why:

* IK: a damped-least-squares iteration (position 1 cm / rotation 0.05 rad tolerances)
  seeded at the current joints, not the original's vendor IK solver. Like the original's,
  it is compiled: for a :class:`solvers.kinematics.RobotModel` the whole iteration runs in
  CasADi's C++ virtual machine (:mod:`solvers.baseline.compiled_ik`), five iterations per
  call, so the baseline does not pay Python overhead that the original does not have.
* Distance field: nearest obstacle point (k-d tree) instead of a voxel SDF with
  trilinear interpolation (cheaper per query, so this favours the baseline).
* Held-object collision points: what the caller gives (the benchmark: the held
  keypoints), not points sampled from the object's mesh.
* An answer violating its constraints is reported infeasible and never executed (the
  original executes it); no 5 cm grasp push-back (not part of the optimizer).

Public API::

    solve_subgoal_baseline(problem, /, *, warm_start=None, num_seeds=0, rng_seed=0,
                           robot=None, sdf=None, collision_points=None, options=None)
    make_baseline_backend(*, robot=None, sdf=None, collision_points=None, options=None)
    plan_path_baseline(T_start, T_goal, *, path_constraints=(), keypoints=None, ...)
    BaselineOptions, BaselineRobot, solve_ik, point_cloud_sdf, gripper_and_held_points
    panda_robot(q_init=None, model=None), robot_from_model(model, *, q_reset, q_init, compiled)
"""

from __future__ import annotations

from solvers.baseline.collision import (
    CollisionModel,
    farthest_point_sampling,
    gripper_and_held_points,
    point_cloud_sdf,
)
from solvers.baseline.euler import (
    VariableScaling,
    euler_vector_to_pose,
    pose_scaling,
    pose_to_euler_vector,
)
from solvers.baseline.ik import BaselineRobot, IKResult, solve_ik
from solvers.baseline.options import BaselineOptions
from solvers.baseline.path_solver import plan_path_baseline
from solvers.baseline.robot_adapter import panda_robot, robot_from_model
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
    "gripper_and_held_points",
    "make_baseline_backend",
    "panda_robot",
    "plan_path_baseline",
    "point_cloud_sdf",
    "pose_scaling",
    "pose_to_euler_vector",
    "robot_from_model",
    "solve_ik",
    "solve_subgoal_baseline",
]
