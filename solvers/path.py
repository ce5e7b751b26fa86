"""Dense paths by interpolation, checked against the stage's path constraints.

The path goes through control poses: the start, optionally a via pose ``lift_m`` straight
above the start (same orientation; it lifts a held object clear of the table first), and the
goal. Each segment is interpolated linearly in position and by slerp in rotation
(:func:`rekep.poses.interpolate_poses`) with the fewest samples such that consecutive
samples are at most ``step_m`` metres and ``step_rad`` radians apart.

Every sample is checked: the held keypoints move with the hand (forward model), the other
keypoints stay, and each path constraint is evaluated at the sample's TCP position. The
worst value of each constraint over the samples is reported in ``Solution.violations``; the
path is feasible iff every worst value is <= ``tolerance``.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConstraintEvaluationError, SolverError
from rekep.poses import as_pose, interpolate_poses, rotation_angle, rotvec_from_matrix
from solvers.constraint_set import (
    ConstraintsLike,
    describe_failure,
    evaluate_constraints,
    normalize_constraints,
)
from solvers.forward_model import HeldKeypointModel
from solvers.solution import Solution

FloatArray = NDArray[np.float64]
BACKEND_NAME = "interpolation"


def control_poses(T_start: FloatArray, T_goal: FloatArray, lift_m: float) -> list[FloatArray]:
    """Start, the optional via pose ``lift_m`` above the start (world +z), and the goal."""
    poses = [T_start]
    if lift_m > 0.0:
        via = T_start.copy()
        via[2, 3] += lift_m
        poses.append(via)
    poses.append(T_goal)
    return poses


def densify(poses: list[FloatArray], step_m: float, step_rad: float) -> FloatArray:
    """(N, 4, 4) samples through ``poses`` with spacing <= step_m metres and <= step_rad rad."""
    samples = [poses[0][None]]
    for A, B in itertools.pairwise(poses):
        dist = float(np.linalg.norm(B[:3, 3] - A[:3, 3]))
        angle = rotation_angle(A[:3, :3], B[:3, :3])
        n = max(1, math.ceil(dist / step_m - 1e-9), math.ceil(angle / step_rad - 1e-9))
        samples.append(interpolate_poses(A, B, np.linspace(0.0, 1.0, n + 1)[1:]))
    return np.concatenate(samples, axis=0)


def path_length(trajectory: FloatArray) -> float:
    """Summed TCP distance between consecutive (N, 4, 4) samples, in metres."""
    return float(np.linalg.norm(np.diff(trajectory[:, :3, 3], axis=0), axis=1).sum())


def plan_path(
    T_start: ArrayLike,
    T_goal: ArrayLike,
    *,
    path_constraints: ConstraintsLike = (),
    keypoints: ArrayLike | None = None,
    held_mask: ArrayLike | None = None,
    tolerance: float = 0.01,
    step_m: float = 0.02,
    step_rad: float = 0.1,
    lift_m: float = 0.0,
) -> Solution:
    """Plan a dense path from ``T_start`` to ``T_goal`` and check its path constraints.

    Args:
        T_start: (4, 4) current ``T_world_tcp``; ``keypoints`` are observed at this pose.
        T_goal: (4, 4) target ``T_world_tcp`` (e.g. a sub-goal solution's ``pose``).
        path_constraints: mapping name -> f, ``(name, f)`` pairs or bare callables
            ``f(end_effector (3,), keypoints (K, 3)) -> float``.
        keypoints: (K, 3) world metres; required when there are path constraints.
        held_mask: (K,) bool, keypoints that move with the hand (None: none).
        tolerance: a constraint holds when its value is <= tolerance (> 0).
        step_m: max distance between consecutive samples, metres (> 0).
        step_rad: max rotation between consecutive samples, radians (> 0).
        lift_m: height of the via pose above the start, metres (>= 0; 0 = no via pose).

    Returns:
        ``Solution(kind="path", backend="interpolation")`` with ``trajectory`` (N, 4, 4)
        (first sample = start, last = goal), ``pose`` = the goal, ``violations`` = worst value
        of each path constraint over the samples, ``cost`` = path length in metres, and
        ``decision`` = the control poses flattened as ``[p (3), rotvec (3)]`` each. A
        constraint that raises or returns a non-finite value gives ``status="error"``.

    Raises:
        SolverError / PoseError: malformed arguments (never for constraint failures).
    """
    t0 = time.perf_counter()
    A = as_pose(T_start, "T_start")
    B = as_pose(T_goal, "T_goal")
    for name, value, lower in (("step_m", step_m, 0.0), ("step_rad", step_rad, 0.0)):
        if not (math.isfinite(value) and value > lower):
            raise SolverError(f"{name} must be finite and > 0, got {value}")
    if not (math.isfinite(lift_m) and lift_m >= 0.0):
        raise SolverError(f"lift_m must be finite and >= 0 metres, got {lift_m}")
    if not (math.isfinite(tolerance) and tolerance > 0.0):
        raise SolverError(f"tolerance must be finite and > 0 (e.g. 0.01), got {tolerance}")
    constraints = normalize_constraints(path_constraints, "path_constraint")
    if constraints and keypoints is None:
        raise SolverError("path constraints need keypoints: pass keypoints=(K, 3) world positions")
    model = HeldKeypointModel(np.zeros((0, 3)) if keypoints is None else keypoints, held_mask, A)

    controls = control_poses(A, B, float(lift_m))
    trajectory = densify(controls, float(step_m), float(step_rad))
    trajectory[-1] = B  # exact goal (slerp at 1 may differ in the last bit)
    decision = np.concatenate(
        [np.concatenate([T[:3, 3], rotvec_from_matrix(T[:3, :3])]) for T in controls]
    )
    names = tuple(name for name, _ in constraints)
    worst: dict[str, float] = dict.fromkeys(names, -math.inf)
    worst_at: dict[str, int] = dict.fromkeys(names, 0)
    error: ConstraintEvaluationError | None = None
    error_at = -1
    for i, T in enumerate(trajectory):
        try:
            values = evaluate_constraints(constraints, T[:3, 3].copy(), model.at_pose(T))
        except ConstraintEvaluationError as exc:
            error, error_at = exc, i
            break
        for name, value in values.items():
            if value > worst[name]:
                worst[name], worst_at[name] = value, i

    n = len(trajectory)
    if error is not None:
        status = "error"
        reason = f"{describe_failure(error)} (path sample {error_at} of {n})"
        violations: dict[str, float] = {k: math.nan for k in names}
        max_violation = math.nan
    else:
        violations = worst
        max_violation = max([0.0, *violations.values()])
        bad = [k for k in names if violations[k] > tolerance]
        status = "infeasible" if bad else "solved"
        if bad:
            listed = ", ".join(f"{k}={violations[k]:.4g} at sample {worst_at[k]}/{n}" for k in bad)
            reason = (
                f"path constraint(s) exceed tolerance {tolerance:g}: {listed}; re-plan (e.g. "
                "with a lift or another sub-goal) before executing"
            )
        else:
            reason = (
                f"{len(names)} path constraint(s) within tolerance {tolerance:g} on {n} samples"
            )
    return Solution(
        kind="path",
        backend=BACKEND_NAME,
        feasible=status == "solved",
        status=status,
        reason=reason,
        pose=trajectory[-1],
        trajectory=trajectory,
        decision=decision,
        violations=violations,
        max_violation=max_violation,
        cost=path_length(trajectory),
        iterations=0,
        wall_time_s=time.perf_counter() - t0,
        traced=(),
        numeric=names,
    )
