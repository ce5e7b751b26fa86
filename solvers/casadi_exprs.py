"""CasADi building blocks shared by the CasADi sub-goal and path solvers.

* :func:`constraint_source` turns a problem's ``(name, f(ee, kps))`` pair into a traceable
  :class:`~solvers.tracing.ConstraintSource`, unwrapping callables that merely bind a
  compiled ``ConstraintFunction`` to a grasp state (so they trace exactly).
* :class:`ConstraintExprs` holds one CasADi function per constraint (exact trace or
  numeric finite-difference callback) and says which is which.
* Rotation helpers (Rodrigues on symbols), smoothed norms and the approach preference,
  the symbolic twins of :mod:`solvers.subgoal_costs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np

from solvers.constraint_evaluator import NumericConstraint, make_evaluator
from solvers.constraint_set import NamedConstraint
from solvers.numeric_callback import numeric_casadi_function
from solvers.tracing import ConstraintSource, as_traceable

#: Regularisation of the rotation angle ``sqrt(|r|^2 + ROT_EPS^2)`` (radians): keeps
#: ``sin(t)/t`` and its derivatives finite at ``r = 0`` with no measurable bias.
ROT_EPS = 1e-9


def _unwrap_bound(fn: Any, held: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """``(compiled_fn, held)`` for a constraint bound to a grasp state.

    Programs bind the grasp state with ``ConstraintFunction.bind(held)``, an object exposing
    ``function`` (which has ``call_with``) and ``held_keypoints``; tracing needs the function
    itself. Anything else is returned as is.
    """
    if callable(getattr(fn, "call_with", None)):
        return fn, held
    inner = getattr(fn, "function", None)
    bound = getattr(fn, "held_keypoints", None)
    if callable(getattr(inner, "call_with", None)) and bound is not None:
        return inner, tuple(int(i) for i in bound)
    return fn, held


def constraint_source(name: str, fn: Any, held: Sequence[int]) -> ConstraintSource:
    """A :class:`ConstraintSource` named ``name`` whose numeric side calls ``fn`` as given."""
    target, bound = _unwrap_bound(fn, tuple(int(i) for i in held))
    src = as_traceable(target, bound) if hasattr(target, "call_with") or _is_plain(target) else None
    if src is None:  # e.g. a functools.partial or a callable object: numeric only

        def untraceable(np_like: Any, ee: Any, kps: Any) -> Any:
            raise TypeError(f"{type(fn).__name__} cannot be traced (not a plain function)")

        return ConstraintSource(name, untraceable, lambda ee, kps: fn(ee, kps))
    return ConstraintSource(name, src.symbolic, lambda ee, kps: fn(ee, kps))


def _is_plain(fn: Any) -> bool:
    import inspect

    return inspect.isfunction(fn)


@dataclass
class ConstraintExprs:
    """CasADi ``f(ee (3, 1), kps (K, 3)) -> value`` for each constraint of a problem.

    Attributes:
        names: constraint names, in problem order.
        functions: one CasADi function (or numeric callback) per name.
        traced: names traced exactly; numeric: names evaluated by finite differences.
        keep: references CasADi does not own (numeric callbacks) - keep them alive.
    """

    names: tuple[str, ...]
    functions: list[Any]
    traced: tuple[str, ...]
    numeric: tuple[str, ...]
    keep: list[Any]

    @property
    def all_exact(self) -> bool:
        return not self.numeric

    def evaluate(self, ee: Any, kps: Any) -> list[Any]:
        """Symbolic values of every constraint at ``ee`` (3, 1) and ``kps`` (K, 3)."""
        return [f(ee, kps) for f in self.functions]


def build_constraint_exprs(
    constraints: Sequence[NamedConstraint], num_keypoints: int, held: Sequence[int],
    ee_shape: tuple[int, ...] = (3,),
) -> ConstraintExprs:
    """Trace every constraint (exact when possible, numeric callback otherwise) for an end
    effector of ``ee_shape``: (3,) for one arm, (2, 3) for two."""
    functions: list[Any] = []
    traced: list[str] = []
    numeric: list[str] = []
    keep: list[Any] = []
    for name, fn in constraints:
        src = constraint_source(name, fn, held)
        evaluator = make_evaluator(src, ee_shape, num_keypoints)
        if isinstance(evaluator, NumericConstraint):
            cb = numeric_casadi_function(evaluator, ee_shape, num_keypoints)
            keep.append(cb)
            functions.append(cb)
            numeric.append(name)
        else:
            functions.append(evaluator.traced.function)
            traced.append(name)
    names = tuple(n for n, _ in constraints)
    return ConstraintExprs(names, functions, tuple(traced), tuple(numeric), keep)


def skew(v: Any) -> Any:
    """(3,) symbol -> (3, 3) cross-product matrix."""
    return ca.vertcat(
        ca.horzcat(0, -v[2], v[1]), ca.horzcat(v[2], 0, -v[0]), ca.horzcat(-v[1], v[0], 0)
    )


def rodrigues(r: Any) -> Any:
    """(3,) rotation vector symbol (radians) -> (3, 3) rotation, smooth at 0."""
    theta = ca.sqrt(ca.dot(r, r) + ROT_EPS**2)
    K = skew(r)
    half = ca.sin(theta / 2) / theta
    return ca.DM.eye(3) + (ca.sin(theta) / theta) * K + 2 * half * half * ca.mtimes(K, K)


def snorm(v: Any, eps: float) -> Any:
    """``sqrt(|v|^2 + eps^2) - eps`` (same units as ``v``)."""
    return ca.sqrt(ca.sumsqr(v) + eps * eps) - eps


def rotation_distance(R: Any, R_ref: Any, eps: float) -> Any:
    """Smooth rotation distance ``~ angle`` in radians: ``snorm(vec(R - R_ref)) / sqrt(2)``.

    ``|R - R_ref|_F = 2 sqrt(2) sin(angle / 2)``: equal to the angle to first order,
    monotone on [0, pi], smooth everywhere (used in joint space, where no rotation vector
    is a decision variable).
    """
    return snorm(ca.vec(R - R_ref), eps * math.sqrt(2.0)) / math.sqrt(2.0)


def approach_expr(tcp_z: Any, approach: str) -> Any:
    """Symbolic twin of :func:`solvers.subgoal_costs.approach_cost`."""
    if approach == "top_down":
        return 1.0 + tcp_z[2]
    if approach == "side":
        return tcp_z[2] ** 2
    return ca.DM(0.0)


def held_keypoints_expr(
    kps: Any, held: Sequence[int], R_now: Any, p_now: Any, R: Any, p: Any
) -> Any:
    """(K, 3) keypoints with held rows moved rigidly from TCP pose (R_now, p_now) to (R, p).

    All arguments may be symbols; ``held`` is a fixed index list.
    """
    K = kps.shape[0]
    held_set = set(int(i) for i in held)
    rows = []
    for k in range(K):
        row = kps[k, :]
        if k in held_set:
            local = ca.mtimes(R_now.T, row.T - p_now)
            row = (ca.mtimes(R, local) + p).T
        rows.append(row)
    return ca.vertcat(*rows) if rows else kps


def as_column(values: np.ndarray) -> ca.DM:
    """NumPy array -> CasADi column (row-major flattening)."""
    return ca.DM(np.asarray(values, dtype=float).reshape(-1))
