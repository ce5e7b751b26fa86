"""The :class:`Solution` value: what every sub-goal or path solve returns.

A solve never raises because of the constraint functions it evaluates; it returns a
``Solution`` whose ``status`` says what happened:

* ``"solved"``: every constraint is within tolerance (``feasible`` is True);
* ``"infeasible"``: the best answer found still violates a constraint (``feasible`` False,
  ``violations`` says which and by how much);
* ``"error"``: a constraint function raised or returned a non-finite value (``reason`` names
  it). The pose is then the current pose (a safe "stay here"), never something to execute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError

FloatArray = NDArray[np.float64]

SOLUTION_KINDS = ("subgoal", "path")
SOLUTION_STATUSES = ("solved", "infeasible", "error")


def _frozen_array(value: ArrayLike, name: str, shape: tuple[int | None, ...]) -> FloatArray:
    """Copy ``value`` to a read-only float64 array and check its shape (None = any length)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SolverError(f"Solution.{name} must be numeric, got {type(value).__name__}") from exc
    mismatch = any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=False))
    if arr.ndim != len(shape) or mismatch:
        want = "x".join("N" if s is None else str(s) for s in shape)
        raise SolverError(f"Solution.{name} must have shape ({want}), got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Solution:
    """Result of one sub-goal or path solve.

    Attributes:
        kind: ``"subgoal"`` or ``"path"``.
        backend: name of the backend that produced it (e.g. ``"scipy"``, ``"interpolation"``).
        feasible: True iff every constraint value is within the problem's tolerance; always
            equal to ``status == "solved"``.
        status: ``"solved"``, ``"infeasible"`` or ``"error"``.
        reason: human-readable explanation (which constraint failed, why, what to do).
        pose: (4, 4) ``T_world_tcp`` of the sub-goal, or the final pose of a path.
        trajectory: (N, 4, 4) ``T_world_tcp`` samples of a path; (0, 4, 4) for sub-goals.
        joint_positions: (J,) or (N, J) joint angles in radians when the backend knows the
            robot, else None.
        decision: (n,) the backend's final decision vector (see the backend's docs).
        violations: constraint name -> constraint value at the answer (the worst value over
            the samples for a path); a value <= tolerance means satisfied.
        max_violation: ``max(0, max(violations.values()))`` (0 when there are no
            constraints; NaN when unknown because of an error).
        cost: objective value at the answer (backend-specific units).
        iterations: optimizer iterations spent (summed over the starts that ran).
        wall_time_s: wall-clock seconds spent in the solve.
        traced: names of the constraints evaluated through exact (traced) derivatives.
        numeric: names of the constraints evaluated numerically (finite differences).
    """

    kind: str
    backend: str
    feasible: bool
    status: str
    reason: str
    pose: FloatArray
    trajectory: FloatArray = field(default_factory=lambda: np.zeros((0, 4, 4)))
    joint_positions: FloatArray | None = None
    decision: FloatArray = field(default_factory=lambda: np.zeros(0))
    violations: Mapping[str, float] = field(default_factory=dict)
    max_violation: float = 0.0
    cost: float = math.nan
    iterations: int = 0
    wall_time_s: float = 0.0
    traced: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in SOLUTION_KINDS:
            raise SolverError(f"Solution.kind must be one of {SOLUTION_KINDS}, got {self.kind!r}")
        if self.status not in SOLUTION_STATUSES:
            raise SolverError(
                f"Solution.status must be one of {SOLUTION_STATUSES}, got {self.status!r}"
            )
        if bool(self.feasible) != (self.status == "solved"):
            raise SolverError(
                f"Solution.feasible={self.feasible} contradicts status={self.status!r}; "
                "feasible must be True exactly when status is 'solved'"
            )
        set_ = object.__setattr__
        set_(self, "feasible", bool(self.feasible))
        set_(self, "backend", str(self.backend))
        set_(self, "reason", str(self.reason))
        set_(self, "pose", _frozen_array(self.pose, "pose", (4, 4)))
        set_(self, "trajectory", _frozen_array(self.trajectory, "trajectory", (None, 4, 4)))
        if self.joint_positions is not None:
            jp = np.array(self.joint_positions, dtype=np.float64)
            if jp.ndim not in (1, 2):
                raise SolverError(
                    f"Solution.joint_positions must be (J,) or (N, J), got {jp.shape}"
                )
            jp.setflags(write=False)
            set_(self, "joint_positions", jp)
        set_(self, "decision", _frozen_array(self.decision, "decision", (None,)))
        set_(self, "violations", {str(k): float(v) for k, v in dict(self.violations).items()})
        set_(self, "max_violation", float(self.max_violation))
        set_(self, "cost", float(self.cost))
        if int(self.iterations) < 0:
            raise SolverError(f"Solution.iterations must be >= 0, got {self.iterations}")
        set_(self, "iterations", int(self.iterations))
        set_(self, "wall_time_s", float(self.wall_time_s))
        set_(self, "traced", tuple(str(n) for n in self.traced))
        set_(self, "numeric", tuple(str(n) for n in self.numeric))

    @property
    def position(self) -> FloatArray:
        """(3,) TCP position of ``pose`` in metres."""
        return self.pose[:3, 3].copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (lists and floats; NaN and inf become None)."""
        return {
            "kind": self.kind,
            "backend": self.backend,
            "feasible": self.feasible,
            "status": self.status,
            "reason": self.reason,
            "pose": _jsonable(self.pose),
            "trajectory": _jsonable(self.trajectory),
            "joint_positions": (
                None if self.joint_positions is None else _jsonable(self.joint_positions)
            ),
            "decision": _jsonable(self.decision),
            "violations": {k: _json_float(v) for k, v in self.violations.items()},
            "max_violation": _json_float(self.max_violation),
            "cost": _json_float(self.cost),
            "iterations": self.iterations,
            "wall_time_s": _json_float(self.wall_time_s),
            "traced": list(self.traced),
            "numeric": list(self.numeric),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Solution:
        """Inverse of :meth:`to_dict` (None becomes NaN in numeric fields)."""
        try:
            trajectory = _from_json(data.get("trajectory", []))
            joints = data.get("joint_positions")
            return cls(
                kind=data["kind"],
                backend=data["backend"],
                feasible=data["feasible"],
                status=data["status"],
                reason=data.get("reason", ""),
                pose=_from_json(data["pose"]),
                trajectory=trajectory.reshape(-1, 4, 4),
                joint_positions=None if joints is None else _from_json(joints),
                decision=_from_json(data.get("decision", [])).reshape(-1),
                violations={k: _nan_if_none(v) for k, v in data.get("violations", {}).items()},
                max_violation=_nan_if_none(data.get("max_violation", 0.0)),
                cost=_nan_if_none(data.get("cost")),
                iterations=int(data.get("iterations", 0)),
                wall_time_s=_nan_if_none(data.get("wall_time_s", 0.0)),
                traced=tuple(data.get("traced", ())),
                numeric=tuple(data.get("numeric", ())),
            )
        except KeyError as exc:
            raise SolverError(
                f"Solution dict is missing the field {exc.args[0]!r}; pass a dict made by to_dict()"
            ) from exc


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return math.nan if value is None else float(value)


def _jsonable(arr: FloatArray) -> Any:
    """Nested lists of floats with non-finite entries replaced by None."""
    obj = np.asarray(arr, dtype=object)
    obj[~np.isfinite(np.asarray(arr, dtype=np.float64))] = None
    return obj.tolist()


def _from_json(value: Any) -> FloatArray:
    """Nested lists (None allowed) -> float64 array with NaN for None."""
    return np.array(value if value is not None else [], dtype=np.float64)


def max_violation_of(violations: Mapping[str, float]) -> float:
    """``max(0, max(values))``; 0 for no constraints, NaN if any value is NaN."""
    values = [float(v) for v in violations.values()]
    if any(math.isnan(v) for v in values):
        return math.nan
    return max([0.0, *values])
