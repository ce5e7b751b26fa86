"""The ReKep recipe's path objective over free control poses between a start and a goal.

Decision: ``C - 2`` free control poses, each ``[p, euler]`` normalized to [-1, 1] (see
:mod:`solvers.baseline.euler`); the start and goal are fixed. Inside the cost the control
poses are interpolated (linear position, slerp rotation) at <= 2 cm / 0.1 rad, and

``cost = 0.5 collision(20 cm margin, interior samples) + 4.0 (position length + rotation
length) + sum_controls 20 ik_iterations / 20 + 200 sum_interior_samples sum_i max(0, g_i)``.

As in the original, the reset-posture term is not part of the path cost, and the start and
goal samples are left out of the collision and constraint sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConstraintEvaluationError
from rekep.poses import rotation_angle
from solvers.baseline import options as W
from solvers.baseline.collision import CollisionModel
from solvers.baseline.euler import VariableScaling, euler_vectors_to_poses
from solvers.baseline.ik import BaselineRobot, solve_ik
from solvers.baseline.spline import step_lengths
from solvers.constraint_set import NamedConstraint, evaluate_constraints
from solvers.forward_model import HeldKeypointModel
from solvers.path import densify

FloatArray = NDArray[np.float64]


def num_control_poses(T_start: FloatArray, T_goal: FloatArray) -> int:
    """Control poses including start and goal: 20 cm / 0.78 rad apart, clipped to [3, 6]."""
    dist = float(np.linalg.norm(T_goal[:3, 3] - T_start[:3, 3]))
    angle = rotation_angle(T_start[:3, :3], T_goal[:3, :3])
    segments = math.ceil(max(dist / W.CONTROL_STEP_M, angle / W.CONTROL_STEP_RAD) - 1e-9)
    return int(np.clip(segments + 1, W.MIN_CONTROL_POSES, W.MAX_CONTROL_POSES))


@dataclass(frozen=True)
class PathEvaluation:
    """One evaluated path decision: (C, 4, 4) ``control`` and (N, 4, 4) ``dense`` poses."""

    normalized: FloatArray
    control: FloatArray
    dense: FloatArray
    cost: float
    terms: dict[str, float] = field(default_factory=dict)


class BaselinePathObjective:
    """Callable ``u (6 (C - 2),) -> cost``.

    Constraint failures cost ``FAILURE_COST`` (the first is kept in ``first_failure``).
    """

    def __init__(
        self,
        T_start: FloatArray,
        T_goal: FloatArray,
        num_free: int,
        pose_scaling: VariableScaling,
        constraints: tuple[NamedConstraint, ...],
        model: HeldKeypointModel,
        *,
        robot: BaselineRobot | None = None,
        collision: CollisionModel | None = None,
        ik_max_iterations: int = W.IK_MAX_ITERATIONS,
    ):
        self.T_start = T_start
        self.T_goal = T_goal
        self.num_free = num_free
        self.scaling = pose_scaling.tiled(num_free)
        self.constraints = constraints
        self.model = model
        self.robot = robot
        self.collision = collision
        self.ik_max_iterations = ik_max_iterations
        self.num_evaluations = 0
        self.first_failure: ConstraintEvaluationError | None = None

    def control_poses(self, u: ArrayLike) -> FloatArray:
        """(C, 4, 4): start, the free poses of ``u``, goal."""
        un = np.clip(np.asarray(u, dtype=np.float64).reshape(-1), -1.0, 1.0)
        free = euler_vectors_to_poses(self.scaling.unnormalize(un).reshape(-1, 6))
        return np.concatenate([self.T_start[None], free, self.T_goal[None]])

    def evaluate(self, u: ArrayLike) -> PathEvaluation:
        """Full evaluation; raises ConstraintEvaluationError when a constraint fails."""
        self.num_evaluations += 1
        un = np.clip(np.asarray(u, dtype=np.float64).reshape(-1), -1.0, 1.0)
        control = self.control_poses(un)
        dense = densify(list(control), W.DENSE_STEP_M, W.DENSE_STEP_RAD)
        interior = dense[1:-1]
        terms: dict[str, float] = {}
        if self.collision is not None:
            terms["collision"] = W.PATH_COLLISION_WEIGHT * self.collision.cost(
                interior, W.PATH_COLLISION_MARGIN_M
            )
        dist, ang = step_lengths(dense)
        terms["length"] = W.PATH_LENGTH_WEIGHT * float(dist.sum() + ang.sum())
        if self.robot is not None:
            iters = sum(
                solve_ik(self.robot, T, max_iterations=self.ik_max_iterations).iterations
                for T in control
            )
            terms["reachability"] = W.REACHABILITY_WEIGHT * iters / self.ik_max_iterations
        penalty = 0.0
        if self.constraints:
            for T in interior:
                values = evaluate_constraints(
                    self.constraints, T[:3, 3].copy(), self.model.at_pose(T)
                )
                penalty += sum(max(0.0, v) for v in values.values())
        terms["path"] = W.PATH_VIOLATION_WEIGHT * penalty
        return PathEvaluation(un, control, dense, float(sum(terms.values())), terms)

    def __call__(self, u: ArrayLike) -> float:
        try:
            return self.evaluate(u).cost
        except ConstraintEvaluationError as exc:
            if self.first_failure is None:
                self.first_failure = exc
            return W.FAILURE_COST
