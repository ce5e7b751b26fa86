"""The ``rekep_baseline`` sub-goal backend: the original ReKep optimizer, side by side.

* Cold solve (no warm start): SciPy dual annealing over the 6 normalized variables, started
  at the current pose, ``maxfun`` 5000 evaluations, SLSQP local searches (200 iterations).
* Warm solve (``warm_start`` given): one SLSQP run (200 iterations) from the warm start.

Gradients are SciPy's finite differences. ``num_seeds`` is ignored (the recipe has no
multi-start); ``rng_seed`` seeds the annealing, so solves are deterministic. The answer is
``feasible`` iff every sub-goal and path constraint is within ``problem.tolerance``; unlike
the original, an infeasible answer is only reported, never executed.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import dual_annealing, minimize

from rekep.errors import ConstraintEvaluationError, SolverError
from solvers.baseline.collision import CollisionModel, SdfFn
from solvers.baseline.euler import pose_to_euler_vector
from solvers.baseline.ik import BaselineRobot
from solvers.baseline.options import BaselineOptions
from solvers.baseline.subgoal_objective import BaselineEvaluation, BaselineSubgoalObjective
from solvers.constraint_set import describe_failure
from solvers.solution import Solution
from solvers.subgoal_problem import SubgoalProblem

FloatArray = NDArray[np.float64]
BACKEND_NAME = "rekep_baseline"
NO_ROBOT_NOTE = (
    "reachability: workspace box only (no robot model given; pass robot=BaselineRobot(...) "
    "for the IK term)"
)

logger = logging.getLogger(__name__)


def solve_subgoal_baseline(
    problem: SubgoalProblem,
    /,
    *,
    warm_start: ArrayLike | None = None,
    num_seeds: int = 0,
    rng_seed: int = 0,
    robot: BaselineRobot | None = None,
    sdf: SdfFn | None = None,
    collision_points: ArrayLike | None = None,
    options: BaselineOptions | None = None,
) -> Solution:
    """Solve ``problem`` with the ReKep recipe; never raises for constraint failures.

    Args:
        problem: the validated sub-goal problem.
        warm_start: None (cold solve) or a (6,) decision ``[p, rotvec relative to the
            current orientation]`` of ``problem`` (``solve_subgoal`` converts poses to it).
        num_seeds: ignored (kept for the backend signature).
        rng_seed: seed of the dual annealing.
        robot: enables the IK reachability and reset-posture terms; None: workspace box only.
        sdf: ``points (N, 3) -> (N,)`` distances (m, positive in free space); None: no
            collision term.
        collision_points: (N, 3) world points moving with the hand, at the current pose
            (gripper and held object); None with an ``sdf``: points on a Panda-like hand.
        options: optimizer budget (default: the original's).

    Returns:
        ``Solution(kind="subgoal", backend="rekep_baseline")``; ``decision`` is in the
        problem's ``[p, rotvec]`` convention (usable as a warm start), ``iterations`` counts
        objective evaluations (finite differences included).
    """
    del num_seeds
    t0 = time.perf_counter()
    opts = options if options is not None else BaselineOptions()
    if not isinstance(problem, SubgoalProblem):
        raise SolverError(f"problem must be a SubgoalProblem, got {type(problem).__name__}")
    collision = (
        None
        if sdf is None
        else CollisionModel.from_world(
            sdf, collision_points, problem.T_world_tcp, opts.max_collision_points
        )
    )
    objective = BaselineSubgoalObjective(
        problem, robot=robot, collision=collision, ik_max_iterations=opts.ik_max_iterations
    )
    bounds = [(-1.0, 1.0)] * 6
    slsqp_options: dict[str, Any] = {"maxiter": opts.local_maxiter}
    if warm_start is None:
        mode = "cold"
        x0 = objective.scaling.normalize(pose_to_euler_vector(problem.T_world_tcp))
        result = dual_annealing(
            objective,
            bounds=bounds,
            maxfun=opts.maxfun,
            x0=np.clip(x0, -1.0, 1.0),
            rng=int(rng_seed),
            minimizer_kwargs={"method": "SLSQP", "options": slsqp_options},
        )
        method = (
            f"cold solve: dual annealing (maxfun {opts.maxfun}) with SLSQP local search "
            f"(maxiter {opts.local_maxiter}), finite differences"
        )
    else:
        mode = "warm"
        T_warm = problem.decision_to_pose(warm_start)
        x0 = objective.scaling.normalize(pose_to_euler_vector(T_warm))
        result = minimize(
            objective, np.clip(x0, -1.0, 1.0), method="SLSQP", bounds=bounds,
            options=slsqp_options,
        )  # fmt: skip
        method = (
            f"warm solve: SLSQP from the warm start (maxiter {opts.local_maxiter}), "
            "finite differences"
        )
    logger.debug("baseline %s solve: %s", mode, result.message)
    best: BaselineEvaluation | None = None
    failure: ConstraintEvaluationError | None = None
    try:
        best = objective.evaluate(result.x)
    except ConstraintEvaluationError as exc:
        failure = exc
    evaluations = objective.num_evaluations
    notes = [method, f"{evaluations} evaluations"]
    if robot is None:
        notes.append(NO_ROBOT_NOTE)
    elif best is not None and best.ik is not None and not best.ik.success:
        notes.append(
            f"IK did not reach the answer (position error {best.ik.position_error:.3g} m): "
            "the original would mark it infeasible"
        )
    if objective.first_failure is not None and best is not None:
        notes.append(
            "some evaluations failed and were penalized; first: "
            + describe_failure(objective.first_failure)
        )
    return _solution(problem, best, failure, "; ".join(notes), evaluations,
                     time.perf_counter() - t0)  # fmt: skip


def _solution(
    problem: SubgoalProblem,
    best: BaselineEvaluation | None,
    failure: ConstraintEvaluationError | None,
    notes: str,
    evaluations: int,
    wall: float,
) -> Solution:
    names = tuple(name for name, _ in problem.constraints)
    if best is None:
        assert failure is not None
        return Solution(
            kind="subgoal", backend=BACKEND_NAME, feasible=False, status="error",
            reason=f"{describe_failure(failure)}. {notes}", pose=problem.T_world_tcp,
            decision=problem.current_decision(), violations=dict.fromkeys(names, math.nan),
            max_violation=math.nan, iterations=evaluations, wall_time_s=wall, numeric=names,
        )  # fmt: skip
    tol = problem.tolerance
    bad = sorted(((v, k) for k, v in best.values.items() if v > tol), reverse=True)
    feasible = not bad
    if feasible:
        reason = f"all {len(names)} constraints within tolerance {tol:g}. {notes}"
    else:
        listed = ", ".join(f"{k}={v:.4g}" for v, k in bad)
        reason = (
            f"constraints exceed tolerance {tol:g}: {listed}; do not execute this pose. {notes}"
        )
    joints = None if best.ik is None else best.ik.q
    return Solution(
        kind="subgoal", backend=BACKEND_NAME, feasible=feasible,
        status="solved" if feasible else "infeasible", reason=reason, pose=best.pose,
        joint_positions=joints, decision=problem.pose_to_decision(best.pose),
        violations=best.values, max_violation=best.max_violation(), cost=best.cost,
        iterations=evaluations, wall_time_s=wall, numeric=names,
    )  # fmt: skip


def make_baseline_backend(
    *,
    robot: BaselineRobot | None = None,
    sdf: SdfFn | None = None,
    collision_points: ArrayLike | None = None,
    options: BaselineOptions | None = None,
) -> Any:
    """A ``SubgoalBackend`` with a robot, a distance field and options bound.

    Register it with ``register_subgoal_backend("rekep_baseline", backend, replace=True)``
    (or under another name) to solve through :func:`solvers.subgoal.solve_subgoal`.
    """
    if options is not None and not isinstance(options, BaselineOptions):
        raise SolverError(f"options must be BaselineOptions, got {type(options).__name__}")

    def backend(
        problem: SubgoalProblem,
        /,
        *,
        warm_start: FloatArray | None,
        num_seeds: int,
        rng_seed: int,
    ) -> Solution:
        return solve_subgoal_baseline(
            problem, warm_start=warm_start, num_seeds=num_seeds, rng_seed=rng_seed,
            robot=robot, sdf=sdf, collision_points=collision_points, options=options,
        )  # fmt: skip

    return backend
