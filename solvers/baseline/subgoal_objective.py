"""The ReKep recipe's sub-goal objective on normalized ``[p, euler]`` variables.

``cost(u) = 0.8 collision + 1.0 (|p - p_now| + 1.5 angle(R, R_now)) + 20 ik_iterations / 20
+ 0.2 min(|q_ik - q_reset|, 3) + 10 grasp + 200 sum max(0, g_subgoal) + 200 sum max(0, g_path)``

with ``u`` (6,) in [-1, 1] mapped to the workspace box and [-pi, pi] Euler angles. Terms
that need something the caller did not give (a distance field, a robot) are 0. The posture
term skips the last joint, as the original does; it is 3 when the IK fails. The grasp term
(grasp stages only) is :func:`solvers.subgoal_costs.approach_cost` of the TCP z axis, which
for ``approach="top_down"`` is the original's hard-coded ``1 - z . (0, 0, -1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConstraintEvaluationError
from rekep.poses import rotation_angle
from solvers.baseline import options as W
from solvers.baseline.collision import CollisionModel
from solvers.baseline.euler import euler_vector_to_pose, pose_scaling
from solvers.baseline.ik import BaselineRobot, IKResult, solve_ik
from solvers.constraint_set import evaluate_constraints
from solvers.forward_model import HeldKeypointModel
from solvers.subgoal_costs import approach_cost
from solvers.subgoal_problem import SubgoalProblem

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BaselineEvaluation:
    """One evaluated decision.

    Attributes:
        normalized: (6,) decision in [-1, 1].
        pose: (4, 4) ``T_world_tcp``.
        values: constraint name -> value (sub-goal then path constraints).
        cost: weighted objective.
        terms: weighted terms by name.
        ik: the IK answer when a robot is given, else None.
    """

    normalized: FloatArray
    pose: FloatArray
    values: dict[str, float]
    cost: float
    terms: dict[str, float] = field(default_factory=dict)
    ik: IKResult | None = None

    def max_violation(self) -> float:
        """``max(0, max(values))``."""
        return max([0.0, *self.values.values()])


def reachability_terms(robot: BaselineRobot, T: FloatArray, max_iterations: int) -> tuple[
    float, float, IKResult
]:  # fmt: skip
    """(weighted IK-iteration cost, weighted reset-posture cost, IK answer) at pose T."""
    ik = solve_ik(robot, T, max_iterations=max_iterations)
    reach = W.REACHABILITY_WEIGHT * ik.iterations / max_iterations
    if ik.success:
        posture = min(float(np.linalg.norm(ik.q[:-1] - robot.q_reset[:-1])), W.RESET_POSTURE_CLIP)
    else:
        posture = W.RESET_POSTURE_CLIP
    return reach, W.RESET_POSTURE_WEIGHT * posture, ik


class BaselineSubgoalObjective:
    """Callable ``u (6,) -> cost`` of a :class:`SubgoalProblem`, the original's way.

    ``__call__`` never raises for constraint failures: it returns ``FAILURE_COST`` there and
    keeps the first error in ``first_failure``. ``num_evaluations`` counts calls.
    """

    def __init__(
        self,
        problem: SubgoalProblem,
        *,
        robot: BaselineRobot | None = None,
        collision: CollisionModel | None = None,
        ik_max_iterations: int = W.IK_MAX_ITERATIONS,
    ):
        self.problem = problem
        self.robot = robot
        self.collision = collision
        self.ik_max_iterations = ik_max_iterations
        self.scaling = pose_scaling(problem.workspace_lower, problem.workspace_upper)
        self.model = HeldKeypointModel(problem.keypoints, problem.held_mask, problem.T_world_tcp)
        self.num_subgoal = len(problem.subgoal_constraints)
        self.num_evaluations = 0
        self.first_failure: ConstraintEvaluationError | None = None

    def evaluate(self, u: ArrayLike) -> BaselineEvaluation:
        """Full evaluation; raises ConstraintEvaluationError when a constraint fails."""
        self.num_evaluations += 1
        un = np.clip(np.asarray(u, dtype=np.float64).reshape(6), -1.0, 1.0)
        T = euler_vector_to_pose(self.scaling.unnormalize(un))
        R, p = T[:3, :3], T[:3, 3]
        now = self.problem.T_world_tcp
        terms: dict[str, float] = {}
        if self.collision is not None:
            terms["collision"] = W.SUBGOAL_COLLISION_WEIGHT * self.collision.cost(
                T[None], W.SUBGOAL_COLLISION_MARGIN_M
            )
        terms["consistency"] = W.CONSISTENCY_WEIGHT * (
            float(np.linalg.norm(p - now[:3, 3]))
            + W.CONSISTENCY_ROTATION_WEIGHT * rotation_angle(R, now[:3, :3])
        )
        ik = None
        if self.robot is not None:
            terms["reachability"], terms["posture"], ik = reachability_terms(
                self.robot, T, self.ik_max_iterations
            )
        if self.problem.is_grasp_stage:
            terms["grasp"] = W.GRASP_WEIGHT * approach_cost(R[:, 2], self.problem.approach)
        values = evaluate_constraints(self.problem.constraints, p.copy(), self.model.at(R, p))
        g = np.maximum(0.0, np.fromiter(values.values(), dtype=np.float64, count=len(values)))
        terms["subgoal"] = W.SUBGOAL_VIOLATION_WEIGHT * float(g[: self.num_subgoal].sum())
        terms["path"] = W.PATH_VIOLATION_WEIGHT * float(g[self.num_subgoal :].sum())
        return BaselineEvaluation(un, T, values, float(sum(terms.values())), terms, ik)

    def __call__(self, u: ArrayLike) -> float:
        try:
            return self.evaluate(u).cost
        except ConstraintEvaluationError as exc:
            if self.first_failure is None:
                self.first_failure = exc
            return W.FAILURE_COST
