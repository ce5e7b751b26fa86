"""``plan_path_baseline``: the original ReKep path solver, for side-by-side timing.

Cold (no warm start): dual annealing (``maxfun`` evaluations) from control poses spaced
evenly on the straight start-goal interpolation; like the original, without local search
unless ``options.path_local_search``. Warm: SLSQP (200 iterations) from the previous
solution's control poses (extra poses copy the last one, surplus ones are dropped from the
front, as in the original). Output: splines through the control poses resampled at
<= 5 cm / 0.34 rad (:mod:`solvers.baseline.spline`), checked against the path constraints.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import dual_annealing, minimize

from rekep.errors import ConstraintEvaluationError, SolverError
from rekep.poses import as_pose, interpolate_poses, pose_from_pos_rotvec, rotvec_from_matrix
from solvers.baseline import options as W
from solvers.baseline.collision import CollisionModel, SdfFn
from solvers.baseline.euler import pose_scaling, pose_to_euler_vector
from solvers.baseline.ik import BaselineRobot
from solvers.baseline.options import BaselineOptions
from solvers.baseline.path_objective import BaselinePathObjective, num_control_poses
from solvers.baseline.spline import spline_resample
from solvers.constraint_set import (
    ConstraintsLike,
    describe_failure,
    evaluate_constraints,
    normalize_constraints,
)
from solvers.forward_model import HeldKeypointModel
from solvers.solution import Solution

FloatArray = NDArray[np.float64]
BACKEND_NAME = "rekep_baseline"
DEFAULT_PADDING_M = 0.25
"""Without a workspace box, positions are bounded by the start/goal box grown by this."""


def _initial_guess(objective: BaselinePathObjective, warm: FloatArray | None) -> FloatArray:
    """Normalized free control poses: from the warm decision, else the straight line."""
    n = objective.num_free
    if warm is None:
        free = interpolate_poses(objective.T_start, objective.T_goal, np.linspace(0, 1, n + 2))
        free = free[1:-1]
    else:
        rows = np.asarray(warm, dtype=np.float64).reshape(-1, 6)[1:-1]
        if len(rows) == 0:
            rows = np.concatenate([objective.T_goal[:3, 3], np.zeros(3)])[None]
        if len(rows) < n:
            rows = np.concatenate([rows, np.repeat(rows[-1:], n - len(rows), axis=0)])
        rows = rows[len(rows) - n :]
        free = np.tile(np.eye(4), (n, 1, 1))
        for i, row in enumerate(rows):
            free[i] = pose_from_pos_rotvec(row[:3], row[3:])
    vec = np.concatenate([pose_to_euler_vector(T) for T in free])
    return np.clip(objective.scaling.normalize(vec), -1.0, 1.0)


def plan_path_baseline(
    T_start: ArrayLike,
    T_goal: ArrayLike,
    *,
    path_constraints: ConstraintsLike = (),
    keypoints: ArrayLike | None = None,
    held_mask: ArrayLike | None = None,
    tolerance: float = 0.01,
    workspace_lower: ArrayLike | None = None,
    workspace_upper: ArrayLike | None = None,
    robot: BaselineRobot | None = None,
    sdf: SdfFn | None = None,
    collision_points: ArrayLike | None = None,
    warm_start: ArrayLike | None = None,
    rng_seed: int = 0,
    options: BaselineOptions | None = None,
) -> Solution:
    """Plan a path from ``T_start`` to ``T_goal`` (4, 4) the way the original ReKep does.

    Args:
        T_start: current ``T_world_tcp``; keypoints and collision points are observed here.
        T_goal: the sub-goal pose.
        path_constraints: ``f(end_effector (3,), keypoints (K, 3)) -> float`` (<= 0 holds).
        keypoints: (K, 3) world metres (required with path constraints).
        held_mask: (K,) bool, keypoints moving with the hand.
        tolerance: a constraint holds when <= tolerance.
        workspace_lower, workspace_upper: (3,) position bounds of the control poses, metres
            (default: the start/goal box grown by 25 cm).
        robot: enables the IK reachability term at each control pose.
        sdf, collision_points: collision term, as in :func:`solve_subgoal_baseline`.
        warm_start: the ``decision`` of a previous baseline path (warm SLSQP), or None (cold).
        rng_seed: seed of the annealing.
        options: optimizer budget.

    Returns:
        ``Solution(kind="path", backend="rekep_baseline")``: ``trajectory`` (N, 4, 4) from
        start to goal with steps <= 5 cm / 0.34 rad, ``violations`` the worst value of each
        path constraint over it, ``decision`` the control poses as ``[p, rotvec]`` rows
        flattened, ``iterations`` the objective evaluations.
    """
    t0 = time.perf_counter()
    opts = options if options is not None else BaselineOptions()
    A, B = as_pose(T_start, "T_start"), as_pose(T_goal, "T_goal")
    if not (math.isfinite(tolerance) and tolerance > 0.0):
        raise SolverError(f"tolerance must be finite and > 0 (e.g. 0.01), got {tolerance}")
    constraints = normalize_constraints(path_constraints, "path_constraint")
    if constraints and keypoints is None:
        raise SolverError("path constraints need keypoints: pass keypoints=(K, 3) world positions")
    model = HeldKeypointModel(np.zeros((0, 3)) if keypoints is None else keypoints, held_mask, A)
    ends = np.stack([A[:3, 3], B[:3, 3]])
    lo = ends.min(0) - DEFAULT_PADDING_M if workspace_lower is None else workspace_lower
    hi = ends.max(0) + DEFAULT_PADDING_M if workspace_upper is None else workspace_upper
    collision = None if sdf is None else CollisionModel.from_world(
        sdf, collision_points, A, opts.max_collision_points
    )  # fmt: skip
    count = num_control_poses(A, B)
    objective = BaselinePathObjective(
        A, B, count - 2, pose_scaling(lo, hi), constraints, model,
        robot=robot, collision=collision, ik_max_iterations=opts.ik_max_iterations,
    )  # fmt: skip
    bounds = [(-1.0, 1.0)] * (6 * (count - 2))
    slsqp: dict[str, Any] = {"method": "SLSQP", "options": {"maxiter": opts.local_maxiter}}
    if warm_start is None:
        result = dual_annealing(
            objective, bounds=bounds, maxfun=opts.maxfun, x0=_initial_guess(objective, None),
            rng=int(rng_seed), no_local_search=not opts.path_local_search,
            minimizer_kwargs=slsqp,
        )  # fmt: skip
        search = "with" if opts.path_local_search else "without"
        method = f"cold solve: dual annealing (maxfun {opts.maxfun}) {search} local search"
    else:
        x0 = _initial_guess(objective, np.asarray(warm_start, dtype=np.float64))
        result = minimize(objective, x0, bounds=bounds, **slsqp)
        method = f"warm solve: SLSQP from the previous path (maxiter {opts.local_maxiter})"
    control = objective.control_poses(result.x)
    cost = float(objective(result.x))  # re-run once at the answer, as the original does
    trajectory = spline_resample(control, W.OUTPUT_STEP_M, W.OUTPUT_STEP_RAD)
    notes = [method, f"{count} control poses", f"{objective.num_evaluations} evaluations"]
    if robot is None:
        notes.append("reachability: workspace box only (no robot model given)")
    if objective.first_failure is not None:
        notes.append("some evaluations failed and were penalized; first: "
                     + describe_failure(objective.first_failure))  # fmt: skip
    return _path_solution(
        constraints, model, trajectory, control, tolerance, "; ".join(notes),
        (cost, objective.num_evaluations, t0),
    )  # fmt: skip


def _path_solution(
    constraints: tuple[Any, ...],
    model: HeldKeypointModel,
    trajectory: FloatArray,
    control: FloatArray,
    tolerance: float,
    notes: str,
    stats: tuple[float, int, float],
) -> Solution:
    """Check the resampled trajectory and package it; ``stats`` = (cost, evaluations, t0)."""
    cost, evaluations, t0 = stats
    names = tuple(name for name, _ in constraints)
    decision = np.concatenate([np.concatenate([T[:3, 3], rotvec_from_matrix(T[:3, :3])])
                               for T in control])  # fmt: skip
    worst = dict.fromkeys(names, -math.inf)
    error: ConstraintEvaluationError | None = None
    for T in trajectory:
        try:
            values = evaluate_constraints(constraints, T[:3, 3].copy(), model.at_pose(T))
        except ConstraintEvaluationError as exc:
            error = exc
            break
        for k, v in values.items():
            worst[k] = max(worst[k], v)
    if error is not None:
        status, reason = "error", f"{describe_failure(error)}. {notes}"
        violations, max_violation = dict.fromkeys(names, math.nan), math.nan
    else:
        violations = worst
        max_violation = max([0.0, *worst.values()])
        bad = [f"{k}={v:.4g}" for k, v in worst.items() if v > tolerance]
        status = "infeasible" if bad else "solved"
        reason = (
            f"path constraints exceed tolerance {tolerance:g}: {', '.join(bad)}; do not "
            f"execute. {notes}"
            if bad
            else f"{len(names)} path constraint(s) within tolerance {tolerance:g} on "
            f"{len(trajectory)} samples. {notes}"
        )
    return Solution(
        kind="path", backend=BACKEND_NAME, feasible=status == "solved", status=status,
        reason=reason, pose=trajectory[-1], trajectory=trajectory, decision=decision,
        violations=violations, max_violation=max_violation, cost=cost,
        iterations=evaluations, wall_time_s=time.perf_counter() - t0,
        numeric=names,
    )  # fmt: skip
