"""NumPy reference implementation of the sub-goal objective.

The formulas are documented in :mod:`solvers.subgoal_problem`; later (CasADi) backends must
compute the same value for the same decision, which tests can check against
:class:`SubgoalObjective`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solvers.constraint_set import evaluate_constraints
from solvers.forward_model import HeldKeypointModel
from solvers.subgoal_problem import DECISION_SIZE, SubgoalProblem, rotvec_to_matrix

FloatArray = NDArray[np.float64]


def smooth_norm(v: ArrayLike, eps: float) -> float:
    """``sqrt(|v|^2 + eps^2) - eps``: a norm that is smooth at 0 (same units as ``v``)."""
    arr = np.asarray(v, dtype=np.float64)
    return math.sqrt(float(arr @ arr) + eps * eps) - eps


def approach_cost(tcp_z: FloatArray, approach: str) -> float:
    """Approach preference for the TCP z axis (3,) in the world, dimensionless in [0, 2].

    ``"top_down"``: ``1 + z_z`` (0 when the hand points straight down);
    ``"side"``: ``z_z^2`` (0 when it points horizontally); ``"free"``: 0.
    """
    if approach == "top_down":
        return 1.0 + float(tcp_z[2])
    if approach == "side":
        return float(tcp_z[2]) ** 2
    return 0.0


def constraint_penalty(values: dict[str, float]) -> float:
    """``sum_i max(0, g_i)^2`` over the constraint values (smooth, 0 when all hold)."""
    return float(sum(max(0.0, v) ** 2 for v in values.values()))


@dataclass(frozen=True)
class SubgoalEvaluation:
    """Everything known about one decision.

    Attributes:
        decision: (6,) decision vector.
        pose: (4, 4) ``T_world_tcp``.
        values: constraint name -> value.
        objective: weighted total.
        terms: unweighted terms ``penalty``, ``position``, ``rotation``, ``approach``.
    """

    decision: FloatArray
    pose: FloatArray
    values: dict[str, float]
    objective: float
    terms: dict[str, float]

    def max_violation(self) -> float:
        """``max(0, max(values))``."""
        return max([0.0, *self.values.values()])


class SubgoalObjective:
    """Callable objective ``x (6,) -> float`` of a :class:`SubgoalProblem`.

    Raises :class:`~rekep.errors.ConstraintEvaluationError` when a constraint cannot be
    evaluated at ``x``. Counts evaluations in ``num_evaluations``.
    """

    def __init__(self, problem: SubgoalProblem):
        self.problem = problem
        self.model = HeldKeypointModel(problem.keypoints, problem.held_mask, problem.T_world_tcp)
        self.constraints = problem.constraints
        self.p_now = problem.T_world_tcp[:3, 3].copy()
        self.R_now = problem.T_world_tcp[:3, :3].copy()
        self.approach_weight = problem.approach_weight
        self.num_evaluations = 0

    def evaluate(self, x: ArrayLike) -> SubgoalEvaluation:
        """Full evaluation of the decision ``x`` (6,)."""
        xv = np.array(x, dtype=np.float64).reshape(DECISION_SIZE)
        self.num_evaluations += 1
        w = self.problem.weights
        R = rotvec_to_matrix(xv[3:]) @ self.R_now
        p = xv[:3]
        values = evaluate_constraints(self.constraints, p, self.model.at(R, p))
        terms = {
            "penalty": constraint_penalty(values),
            "position": smooth_norm(p - self.p_now, w.smoothing),
            "rotation": smooth_norm(xv[3:], w.smoothing),
            "approach": approach_cost(R[:, 2], self.problem.approach),
        }
        objective = (
            w.constraint * terms["penalty"]
            + w.position * terms["position"]
            + w.rotation * terms["rotation"]
            + self.approach_weight * terms["approach"]
        )
        pose = np.eye(4)
        pose[:3, :3] = R
        pose[:3, 3] = p
        return SubgoalEvaluation(xv, pose, values, float(objective), terms)

    def __call__(self, x: ArrayLike) -> float:
        return self.evaluate(x).objective
