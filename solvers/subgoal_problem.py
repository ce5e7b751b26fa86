"""The sub-goal problem: where should the hand be at the end of a stage?

A :class:`SubgoalProblem` is built separately from solving it, so it can be inspected and
tested, and every backend (SciPy here, CasADi later) solves the same thing.

Decision vector (n = 6): ``x = [p (3,) metres, r (3,) radians]``. ``p`` is the TCP position
in the world; ``r`` is a rotation vector *relative to the current orientation*, applied in
the world frame: ``R(x) = exp(r) @ R_now``. ``x = [p_now, 0]`` is the current pose.

Objective (every backend implements these terms with these weights; see
:mod:`solvers.subgoal_costs` for the NumPy reference):

* constraints (dominant): ``constraint * sum_i max(0, g_i)^2`` over sub-goal and path
  constraints. The penalty targets the program's own ``g <= 0``; feasibility is then judged
  with ``g <= tolerance``. Squaring removes the kink of norm-shaped costs at 0
  (``max(0, |d|)^2 = |d|^2`` is smooth), so optimizers converge instead of chattering.
* consistency with the current pose: ``position * snorm(p - p_now) + rotation * snorm(r)``,
  with ``snorm(v) = sqrt(|v|^2 + eps^2) - eps`` a norm smoothed at 0 (``|r|`` is the rotation
  angle from the current orientation).
* approach preference on the TCP z axis ``z = R[:, 2]`` (it points out of the hand):
  ``"top_down"``: ``1 + z . e_z`` (0 when z = world -z); ``"side"``: ``(z . e_z)^2``
  (0 when z is horizontal); ``"free"``: none. It is weighted by ``approach_grasp`` in a
  grasp stage (``grasp_keypoint >= 0``). With ``"top_down"`` it is also applied while an
  object is held (weight ``approach_hold``, smaller): the hand keeps pointing down unless
  the constraints need another orientation (constraint penalties are orders of magnitude
  stronger, so they always win).
* workspace: the TCP position is bounded to the box ``[workspace_lower, workspace_upper]``
  (a stand-in for reachability until the kinematics-based solver lands).
* collision (``casadi`` backend, when ``esdf`` holds obstacles): hard clearance of the arm,
  hand and finger spheres and a soft hinge ``collision * max(0, collision_margin_m -
  clearance)^2`` that also covers the held object (see :mod:`solvers.collision`). SE(3)
  problems check the hand spheres only; the ``scipy`` and ``rekep_baseline`` backends
  ignore ``esdf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from rekep.keypoint_set import Keypoints
from rekep.poses import as_pose, rotvec_from_matrix
from solvers.collision import obstacle_cloud
from solvers.constraint_set import (
    ConstraintsLike,
    NamedConstraint,
    check_unique_names,
    normalize_constraints,
)
from solvers.esdf import Esdf, build_esdf
from solvers.forward_model import as_held_mask, as_keypoints

FloatArray = NDArray[np.float64]
APPROACHES = ("top_down", "side", "free")
DECISION_SIZE = 6


@dataclass(frozen=True)
class SubgoalWeights:
    """Weights of the sub-goal objective terms (see the module docstring for the formulas).

    Attributes:
        constraint: per unit of squared constraint value (cost units per value^2).
        position: per metre of TCP displacement from the current pose.
        rotation: per radian of rotation from the current orientation.
        approach_grasp: approach preference in a grasp stage (dimensionless cost in [0, 2]).
            Against the linear rotation cost it leaves a residual tilt of about
            ``asin(rotation / approach_grasp)`` (1.4 degrees with the defaults) when the hand
            starts tilted.
        approach_hold: ``"top_down"`` preference while holding an object.
        smoothing: eps of the smoothed norms (metres / radians).
        collision: soft collision hinge, cost units per m^2 of clearance below the margin.
        collision_margin_m: clearance (metres) under which the soft hinge starts.
    """

    constraint: float = 1.0e4
    position: float = 1.0
    rotation: float = 0.5
    approach_grasp: float = 20.0
    approach_hold: float = 2.0
    smoothing: float = 1.0e-3
    collision: float = 100.0
    collision_margin_m: float = 0.04

    def __post_init__(self) -> None:
        for name in ("constraint", "position", "rotation", "approach_grasp", "approach_hold",
                     "collision", "collision_margin_m"):  # fmt: skip
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise SolverError(f"SubgoalWeights.{name} must be finite and >= 0, got {value}")
        if not (math.isfinite(self.smoothing) and self.smoothing > 0.0):
            raise SolverError(f"SubgoalWeights.smoothing must be > 0, got {self.smoothing}")


@dataclass(frozen=True, eq=False)
class SubgoalProblem:
    """One sub-goal problem, validated at construction.

    Attributes:
        subgoal_constraints: ``(name, f)`` pairs that must hold at the sub-goal.
        path_constraints: ``(name, f)`` pairs of the stage; they must also hold at the sub-goal.
        keypoints: (K, 3) world positions in metres, observed at ``T_world_tcp``.
        held_mask: (K,) bool, keypoints of the held object (they move with the hand).
        T_world_tcp: (4, 4) current TCP pose.
        workspace_lower: (3,) metres, lower corner of the box the TCP must stay in.
        workspace_upper: (3,) metres, upper corner.
        grasp_keypoint: index of the keypoint grasped in this stage, -1 if not a grasp stage.
        approach: ``"top_down"`` (TCP z = world -z), ``"side"`` (TCP z horizontal) or ``"free"``.
        tolerance: a constraint holds when its value is <= tolerance (> 0; e.g. 0.01 = 1 cm).
        weights: objective weights.
        robot: optional :class:`solvers.kinematics.RobotModel`; backends that support it
            (``casadi``) then optimize joint angles within the limits (None: SE(3) only).
        q_current: optional (dof,) current joint angles in radians (needs ``robot``);
            None with a robot: the backend finds them by IK of ``T_world_tcp``.
        esdf: optional :class:`solvers.esdf.Esdf` of the obstacles (an (N, 3) cloud is
            turned into one by :func:`solvers.esdf.build_esdf` as given: filter it first,
            see :func:`solvers.collision.obstacle_cloud`). None or empty: no collision terms.
    """

    subgoal_constraints: tuple[NamedConstraint, ...]
    path_constraints: tuple[NamedConstraint, ...]
    keypoints: FloatArray
    held_mask: NDArray[np.bool_]
    T_world_tcp: FloatArray
    workspace_lower: FloatArray
    workspace_upper: FloatArray
    grasp_keypoint: int = -1
    approach: str = "top_down"
    tolerance: float = 0.01
    weights: SubgoalWeights = field(default_factory=SubgoalWeights)
    robot: Any = None
    q_current: FloatArray | None = None
    esdf: Esdf | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "q_current", _joint_state(self.robot, self.q_current))
        set_(self, "esdf", as_esdf(self.esdf))
        sub = normalize_constraints(self.subgoal_constraints, "subgoal_constraint")
        path = normalize_constraints(self.path_constraints, "path_constraint")
        check_unique_names(sub, path)
        set_(self, "subgoal_constraints", sub)
        set_(self, "path_constraints", path)
        kps = as_keypoints(self.keypoints)
        set_(self, "keypoints", kps)
        set_(self, "held_mask", as_held_mask(self.held_mask, kps.shape[0]))
        try:
            set_(self, "T_world_tcp", as_pose(self.T_world_tcp, "T_world_tcp").copy())
        except Exception as exc:
            raise SolverError(f"invalid current pose: {exc}") from exc
        lo = _vec3(self.workspace_lower, "workspace_lower")
        hi = _vec3(self.workspace_upper, "workspace_upper")
        if not np.all(lo < hi):
            raise SolverError(
                f"workspace_lower {lo.tolist()} must be < workspace_upper {hi.tolist()} "
                "on every axis"
            )
        set_(self, "workspace_lower", lo)
        set_(self, "workspace_upper", hi)
        gk = int(self.grasp_keypoint)
        if gk != self.grasp_keypoint or not -1 <= gk < kps.shape[0]:
            raise SolverError(
                f"grasp_keypoint must be -1 or a keypoint index in [0, {kps.shape[0]}), "
                f"got {self.grasp_keypoint!r}"
            )
        set_(self, "grasp_keypoint", gk)
        if self.approach not in APPROACHES:
            raise SolverError(f"approach must be one of {APPROACHES}, got {self.approach!r}")
        tol = float(self.tolerance)
        if not (math.isfinite(tol) and tol > 0.0):
            raise SolverError(f"tolerance must be finite and > 0 (e.g. 0.01), got {self.tolerance}")
        set_(self, "tolerance", tol)
        if not isinstance(self.weights, SubgoalWeights):
            raise SolverError(
                f"weights must be a SubgoalWeights, got {type(self.weights).__name__}"
            )
        for arr in (kps, self.held_mask, self.T_world_tcp, lo, hi):
            arr.setflags(write=False)

    @property
    def constraints(self) -> tuple[NamedConstraint, ...]:
        """Sub-goal constraints followed by path constraints (all must hold at the sub-goal)."""
        return self.subgoal_constraints + self.path_constraints

    @property
    def has_obstacles(self) -> bool:
        """True when collision terms apply (an ``esdf`` with obstacles)."""
        return self.esdf is not None and not self.esdf.is_empty

    @property
    def is_grasp_stage(self) -> bool:
        """True when this stage grasps a keypoint."""
        return self.grasp_keypoint >= 0

    @property
    def approach_weight(self) -> float:
        """Weight of the approach preference in this problem (0 when it does not apply)."""
        if self.approach == "free":
            return 0.0
        if self.is_grasp_stage:
            return self.weights.approach_grasp
        if self.approach == "top_down" and bool(self.held_mask.any()):
            return self.weights.approach_hold
        return 0.0

    def current_decision(self) -> FloatArray:
        """(6,) decision of the current pose: ``[p_now, 0, 0, 0]``."""
        return np.concatenate([self.T_world_tcp[:3, 3], np.zeros(3)])

    def decision_to_pose(self, x: ArrayLike) -> FloatArray:
        """(6,) decision -> (4, 4) ``T_world_tcp``."""
        xv = np.asarray(x, dtype=np.float64).reshape(DECISION_SIZE)
        T = np.eye(4)
        T[:3, :3] = rotvec_to_matrix(xv[3:]) @ self.T_world_tcp[:3, :3]
        T[:3, 3] = xv[:3]
        return T

    def pose_to_decision(self, T_world_tcp: ArrayLike) -> FloatArray:
        """(4, 4) pose -> (6,) decision (rotation vector of ``R @ R_now^T``, angle <= pi)."""
        T = as_pose(T_world_tcp, "T_world_tcp")
        r = rotvec_from_matrix(T[:3, :3] @ self.T_world_tcp[:3, :3].T)
        return np.concatenate([T[:3, 3], r])

    def bounds(self) -> tuple[FloatArray, FloatArray]:
        """(6,) lower and upper bounds of the decision (workspace box; |r_i| <= pi)."""
        lo = np.concatenate([self.workspace_lower, np.full(3, -math.pi)])
        hi = np.concatenate([self.workspace_upper, np.full(3, math.pi)])
        return lo, hi


def rotvec_to_matrix(rotvec: ArrayLike) -> FloatArray:
    """(3,) rotation vector in radians -> (3, 3) rotation (Rodrigues' formula)."""
    r = np.asarray(rotvec, dtype=np.float64).reshape(3)
    theta = math.sqrt(float(r @ r))
    K = np.array([[0.0, -r[2], r[1]], [r[2], 0.0, -r[0]], [-r[1], r[0], 0.0]])
    if theta < 1e-8:  # second-order Taylor expansion, exact to machine precision here
        return np.eye(3) + K + 0.5 * (K @ K)
    s_t = math.sin(theta) / theta
    c_t = (1.0 - math.cos(theta)) / (theta * theta)
    return np.eye(3) + s_t * K + c_t * (K @ K)


def _joint_state(robot: Any, q_current: ArrayLike | None) -> FloatArray | None:
    """Validate the optional robot and its (dof,) joint angles; a read-only copy or None."""
    if robot is not None and not callable(getattr(robot, "fk_casadi", None)):
        raise SolverError(
            f"robot must be a solvers.kinematics.RobotModel (with fk_casadi), got "
            f"{type(robot).__name__}"
        )
    if q_current is None:
        return None
    if robot is None:
        raise SolverError("q_current needs a robot: pass robot=RobotModel() as well")
    q = np.array(q_current, dtype=np.float64).reshape(-1)
    if q.shape != (robot.dof,) or not np.all(np.isfinite(q)):
        raise SolverError(
            f"q_current must be {robot.dof} finite joint angles in radians, got shape {q.shape}"
        )
    q.setflags(write=False)
    return q


def as_esdf(value: Esdf | ArrayLike | None) -> Esdf | None:
    """None, an :class:`Esdf`, or an (N, 3) obstacle cloud (built with the defaults, NaN
    rows dropped with a warning) -> an Esdf or None."""
    if value is None or isinstance(value, Esdf):
        return value
    try:
        return build_esdf(obstacle_cloud(value, min_z=None))
    except SolverError:
        raise
    except Exception as exc:
        raise SolverError(f"obstacle points must be an (N, 3) array in metres: {exc}") from exc


def _vec3(value: ArrayLike, name: str) -> FloatArray:
    arr = np.array(value, dtype=np.float64).reshape(-1)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise SolverError(
            f"{name} must be 3 finite numbers in metres, got {np.asarray(value).tolist()}"
        )
    return arr


def build_subgoal_problem(
    *,
    subgoal_constraints: ConstraintsLike,
    keypoints: ArrayLike | Keypoints,
    T_world_tcp: ArrayLike,
    workspace_lower: ArrayLike,
    workspace_upper: ArrayLike,
    path_constraints: ConstraintsLike = (),
    held_mask: ArrayLike | None = None,
    grasp_keypoint: int = -1,
    approach: str = "top_down",
    tolerance: float = 0.01,
    weights: SubgoalWeights | None = None,
    robot: Any = None,
    q_current: ArrayLike | None = None,
    obstacle_points: Esdf | ArrayLike | None = None,
) -> SubgoalProblem:
    """Build a validated :class:`SubgoalProblem`.

    Constraints may be a mapping name -> callable, ``(name, callable)`` pairs or bare
    callables (auto-named ``subgoal_constraint{i}`` / ``path_constraint{i}``). ``keypoints``
    may be a (K, 3) array or a :class:`rekep.keypoint_set.Keypoints`; ``held_mask=None``
    means nothing is held. ``robot`` / ``q_current`` enable joint-space backends.
    ``obstacle_points``: an (N, 3) cloud of obstacles (everything but the grasped and held
    objects and the table, see :func:`solvers.collision.obstacle_cloud`) or an
    :class:`~solvers.esdf.Esdf`; None: no collision terms.
    """
    positions = keypoints.positions if isinstance(keypoints, Keypoints) else keypoints
    kps = as_keypoints(positions)
    return SubgoalProblem(
        subgoal_constraints=normalize_constraints(subgoal_constraints, "subgoal_constraint"),
        path_constraints=normalize_constraints(path_constraints, "path_constraint"),
        keypoints=kps,
        held_mask=as_held_mask(held_mask, kps.shape[0]),
        T_world_tcp=np.asarray(T_world_tcp, dtype=np.float64),
        workspace_lower=np.asarray(workspace_lower, dtype=np.float64),
        workspace_upper=np.asarray(workspace_upper, dtype=np.float64),
        grasp_keypoint=grasp_keypoint,
        approach=approach,
        tolerance=tolerance,
        weights=weights if weights is not None else SubgoalWeights(),
        robot=robot,
        q_current=None if q_current is None else np.asarray(q_current, dtype=np.float64),
        esdf=as_esdf(obstacle_points),
    )
