"""Values of the bimanual solver: the problem, its sub-goal answer and its path.

Two arms, row 0 the left and row 1 the right everywhere (``end_effector`` (2, 3) as in a
bimanual constraint program). Poses are (4, 4) ``T_world_tcp`` matrices, joints in radians,
lengths in metres.

Held keypoints (``held_masks`` (2, K)): a keypoint held by one hand moves rigidly with that
hand's TCP. A keypoint held by *both* hands (one object carried with two hands) moves rigidly
with the **left** hand; the solvers then add a soft term keeping the right TCP's pose relative
to the left TCP at its current value (the grip on the shared object does not slide), and
report its drift (``grip_drift_m``). Every other keypoint stays where it was observed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from rekep.poses import as_pose, invert_pose, transform_points
from solvers.constraint_set import NamedConstraint, check_unique_names, normalize_constraints
from solvers.forward_model import as_keypoints
from solvers.subgoal_problem import APPROACHES

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
ConstraintPair = tuple[str, Callable[..., Any]]


def _readonly(arr: np.ndarray) -> Any:
    arr.setflags(write=False)
    return arr


def _float_array(value: ArrayLike, name: str, shape: tuple[int, ...]) -> FloatArray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SolverError(f"{name} must be numeric with shape {shape}") from exc
    if arr.shape != shape:
        raise SolverError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise SolverError(f"{name} contains NaN or inf; pass finite values")
    return arr


@dataclass(frozen=True, eq=False)
class BimanualProblem:
    """One bimanual stage problem, validated at construction (raises SolverError).

    Attributes:
        subgoal_constraints: ``(name, f)`` pairs, ``f(end_effector (2, 3), keypoints (K, 3))
            -> float``; a constraint holds when its value is <= ``tolerance``.
        path_constraints: the stage's path constraints (same form); they must also hold at
            the sub-goal and at every sample of the path.
        keypoints: (K, 3) world metres, observed with the hands at ``T_world_tcp``.
        held_masks: (2, K) bool, keypoints held by [left, right] (see the module docstring).
        T_world_tcp: (2, 4, 4) current TCP poses [left, right].
        robots: (left, right) :class:`solvers.kinematics.RobotModel` s, placed by their
            ``T_world_base``.
        q_current: (2, dof) current joint angles, radians.
        grasp_keypoints: (2,) int, keypoint each arm grasps in this stage (-1: none).
        approaches: per arm ``"top_down"``, ``"side"`` or ``"free"``.
        tolerance: > 0, in the constraints' units (metres for distances).
        min_arm_distance_m: >= 0, clearance between the surfaces of the two arms' spheres.
        workspace_lower, workspace_upper: (3,) metres, the box both TCPs stay in.
    """

    subgoal_constraints: tuple[ConstraintPair, ...]
    path_constraints: tuple[ConstraintPair, ...]
    keypoints: FloatArray
    held_masks: BoolArray
    T_world_tcp: FloatArray
    robots: tuple[Any, Any]
    q_current: FloatArray
    grasp_keypoints: NDArray[np.int64] = field(default_factory=lambda: np.array([-1, -1]))
    approaches: tuple[str, str] = ("top_down", "top_down")
    tolerance: float = 0.01
    min_arm_distance_m: float = 0.0
    workspace_lower: FloatArray = field(default_factory=lambda: np.array([-0.3, -1.0, 0.0]))
    workspace_upper: FloatArray = field(default_factory=lambda: np.array([1.0, 1.0, 1.2]))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        sub = normalize_constraints(self.subgoal_constraints, "subgoal_constraint")
        path = normalize_constraints(self.path_constraints, "path_constraint")
        check_unique_names(sub, path)
        set_(self, "subgoal_constraints", sub)
        set_(self, "path_constraints", path)
        kps = as_keypoints(self.keypoints)
        K = kps.shape[0]
        set_(self, "keypoints", _readonly(kps))
        masks = np.asarray(self.held_masks)
        if masks.shape != (2, K) or not np.all(np.isin(masks, (0, 1))):
            raise SolverError(
                f"held_masks must be a (2, {K}) boolean array ([left, right] per keypoint), "
                f"got shape {masks.shape}"
            )
        set_(self, "held_masks", _readonly(masks.astype(bool)))
        T = _float_array(self.T_world_tcp, "T_world_tcp", (2, 4, 4))
        for i in range(2):
            T[i] = as_pose(T[i], f"T_world_tcp[{i}]")
        set_(self, "T_world_tcp", _readonly(T))
        robots = tuple(self.robots)
        if len(robots) != 2 or not all(hasattr(r, "fk_casadi") for r in robots):
            raise SolverError(
                "robots must be a (left, right) pair of solvers.kinematics.RobotModel"
            )
        if robots[0].dof != robots[1].dof:
            raise SolverError(f"both arms need the same dof, got {robots[0].dof}, {robots[1].dof}")
        set_(self, "robots", robots)
        q = _float_array(self.q_current, "q_current", (2, robots[0].dof))
        set_(self, "q_current", _readonly(q))
        gk = np.asarray(self.grasp_keypoints)
        if gk.shape != (2,) or not np.all(gk == np.round(gk)) or np.any(gk < -1) or np.any(gk >= K):
            raise SolverError(
                f"grasp_keypoints must be 2 ints in [-1, {K}) ([left, right]), got {gk.tolist()}"
            )
        set_(self, "grasp_keypoints", _readonly(gk.astype(np.int64)))
        app = tuple(self.approaches)
        if len(app) != 2 or any(a not in APPROACHES for a in app):
            raise SolverError(f"approaches must be 2 of {APPROACHES}, got {self.approaches!r}")
        set_(self, "approaches", app)
        tol, dmin = float(self.tolerance), float(self.min_arm_distance_m)
        if not (math.isfinite(tol) and tol > 0.0):
            raise SolverError(f"tolerance must be finite and > 0 (e.g. 0.01), got {self.tolerance}")
        if not (math.isfinite(dmin) and dmin >= 0.0):
            raise SolverError(f"min_arm_distance_m must be finite and >= 0, got {dmin}")
        set_(self, "tolerance", tol)
        set_(self, "min_arm_distance_m", dmin)
        lo = _float_array(self.workspace_lower, "workspace_lower", (3,))
        hi = _float_array(self.workspace_upper, "workspace_upper", (3,))
        if not np.all(lo < hi):
            raise SolverError(f"workspace_lower {lo.tolist()} must be < workspace_upper "
                              f"{hi.tolist()} on every axis")  # fmt: skip
        set_(self, "workspace_lower", _readonly(lo))
        set_(self, "workspace_upper", _readonly(hi))

    @property
    def constraints(self) -> tuple[NamedConstraint, ...]:
        """Sub-goal constraints followed by path constraints (all hold at the sub-goal)."""
        return self.subgoal_constraints + self.path_constraints

    @property
    def dof(self) -> int:
        return int(self.robots[0].dof)

    @property
    def left_held(self) -> tuple[int, ...]:
        """Keypoints moving with the left TCP (held by the left hand, or by both)."""
        return tuple(int(i) for i in np.flatnonzero(self.held_masks[0]))

    @property
    def right_held(self) -> tuple[int, ...]:
        """Keypoints moving with the right TCP (held by the right hand only)."""
        return tuple(int(i) for i in np.flatnonzero(self.held_masks[1] & ~self.held_masks[0]))

    @property
    def any_held(self) -> tuple[int, ...]:
        """Keypoints held by either hand (what the grasping helper sees as held)."""
        return tuple(int(i) for i in np.flatnonzero(self.held_masks.any(axis=0)))

    @property
    def shared_grip(self) -> bool:
        """True when some keypoint is held by both hands (the grip-consistency term applies)."""
        return bool((self.held_masks[0] & self.held_masks[1]).any())

    def fk(self, q: ArrayLike) -> FloatArray:
        """(2, dof) radians -> (2, 4, 4) TCP poses."""
        qq = np.asarray(q, dtype=float).reshape(2, self.dof)
        return np.stack([self.robots[i].fk(qq[i]) for i in range(2)])

    def keypoints_at(self, poses: ArrayLike) -> FloatArray:
        """(K, 3) keypoints with the TCPs at ``poses`` (2, 4, 4) (the forward model)."""
        P = np.asarray(poses, dtype=float)
        out = np.array(self.keypoints, dtype=float)
        for arm, rows in ((0, self.left_held), (1, self.right_held)):
            if rows:
                move = P[arm] @ invert_pose(self.T_world_tcp[arm])
                out[list(rows)] = transform_points(move, self.keypoints[list(rows)])
        return out

    def approach_weights(self, grasp: float, hold: float) -> FloatArray:
        """(2,) approach weight per arm: ``grasp`` in that arm's grasp stage, ``hold`` while
        it holds something with ``"top_down"``, else 0 (and always 0 for ``"free"``)."""
        out = np.zeros(2)
        for arm in range(2):
            if self.approaches[arm] == "free":
                continue
            if self.grasp_keypoints[arm] >= 0:
                out[arm] = grasp
            elif self.approaches[arm] == "top_down" and self.held_masks[arm].any():
                out[arm] = hold
        return out


def relative_pose(poses: ArrayLike) -> FloatArray:
    """(4, 4) pose of the right TCP in the left TCP frame, from (2, 4, 4) poses."""
    P = np.asarray(poses, dtype=float)
    return invert_pose(P[0]) @ P[1]


@dataclass(frozen=True, eq=False)
class BimanualSolution:
    """Result of one bimanual sub-goal solve (never raised: see ``status``/``reason``).

    Attributes:
        feasible: every constraint <= tolerance, TCPs in the workspace, arms clear.
        status: ``"solved"``, ``"infeasible"`` (least-violating answer: do not execute it
            blindly) or ``"error"`` (a constraint could not be evaluated; q = current).
        reason: what happened, naming violated or failing constraints.
        q: (2, dof) joint angles, radians; poses: (2, 4, 4) their TCP poses.
        max_violation: ``max(0, max(violations))`` (NaN on error).
        violations: constraint name -> value at the answer (<= tolerance holds).
        wall_time_s: seconds spent; decision: (2 dof,) ``[q_left, q_right]``.
        arm_clearance_m: least surface distance between the two arms' spheres (all pairs).
        grip_drift_m: change of the right TCP position in the left TCP frame (0 unless an
            object is held by both hands), metres.
        iterations: optimizer iterations over all starts; traced / numeric: constraint names
            with exact / finite-difference derivatives.
    """

    feasible: bool
    status: str
    reason: str
    q: FloatArray
    poses: FloatArray
    max_violation: float
    violations: dict[str, float]
    wall_time_s: float
    decision: FloatArray
    arm_clearance_m: float = math.nan
    grip_drift_m: float = 0.0
    iterations: int = 0
    traced: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in ("solved", "infeasible", "error"):
            raise SolverError(f"status must be solved/infeasible/error, got {self.status!r}")
        if bool(self.feasible) != (self.status == "solved"):
            raise SolverError("feasible must be True exactly when status is 'solved'")
        q = np.array(self.q, dtype=float)
        if q.ndim != 2 or q.shape[0] != 2:
            raise SolverError(f"q must be (2, dof), got {q.shape}")
        poses = np.array(self.poses, dtype=float)
        if poses.shape != (2, 4, 4):
            raise SolverError(f"poses must be (2, 4, 4), got {poses.shape}")
        set_ = object.__setattr__
        set_(self, "feasible", bool(self.feasible))
        set_(self, "q", _readonly(q))
        set_(self, "poses", _readonly(poses))
        set_(self, "decision", _readonly(np.array(self.decision, dtype=float).reshape(-1)))
        set_(self, "violations", {str(k): float(v) for k, v in dict(self.violations).items()})
        for name in ("max_violation", "wall_time_s", "arm_clearance_m", "grip_drift_m"):
            set_(self, name, float(getattr(self, name)))


@dataclass(frozen=True, eq=False)
class BimanualPath:
    """A time-parameterized joint path of both arms from the current configuration.

    Attributes:
        feasible: path constraints <= tolerance at every sample, arms clear at every sample
            (the start excepted when it already is closer), joint velocities within limits,
            and the goal itself feasible.
        reason: what holds or which check failed.
        q: (N, 2, dof) radians; poses: (N, 2, 4, 4) TCP poses; times_s: (N,) from 0.
        wall_time_s: seconds spent; violations: worst value per path constraint over the
            samples; arm_clearance_m: least arm-arm clearance over the samples but the start.
    """

    feasible: bool
    reason: str
    q: FloatArray
    poses: FloatArray
    times_s: FloatArray
    wall_time_s: float
    violations: dict[str, float] = field(default_factory=dict)
    arm_clearance_m: float = math.nan

    def __post_init__(self) -> None:
        q = np.array(self.q, dtype=float)
        poses = np.array(self.poses, dtype=float)
        t = np.array(self.times_s, dtype=float).reshape(-1)
        n = t.shape[0]
        if q.ndim != 3 or q.shape[:2] != (n, 2) or poses.shape != (n, 2, 4, 4):
            raise SolverError(f"path shapes disagree: q {q.shape}, poses {poses.shape}, "
                              f"times {t.shape}; need (N, 2, dof), (N, 2, 4, 4), (N,)")  # fmt: skip
        set_ = object.__setattr__
        set_(self, "feasible", bool(self.feasible))
        set_(self, "q", _readonly(q))
        set_(self, "poses", _readonly(poses))
        set_(self, "times_s", _readonly(t))
        set_(self, "violations", {str(k): float(v) for k, v in dict(self.violations).items()})
        set_(self, "wall_time_s", float(self.wall_time_s))
        set_(self, "arm_clearance_m", float(self.arm_clearance_m))
