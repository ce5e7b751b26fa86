"""Trace constraint functions into exact CasADi expressions.

A constraint function is anything that can be evaluated as ``g(np_like, end_effector,
keypoints)``: a compiled ``ConstraintFunction`` (through its ``call_with``) or a plain
Python function that uses a module-level ``np`` (see :func:`as_traceable`). Evaluating it
on :class:`~solvers.symarray.SymArray` symbols through
:data:`~solvers.numpy_shim.NUMPY_SHIM` gives a CasADi expression of its cost, hence exact
derivatives. When the function branches on traced values, calls something unsupported, or
returns a non-scalar, :func:`try_trace` returns a :class:`TraceResult` with ``traced=None``
and a ``reason`` (also logged), and :func:`trace_constraint` returns ``None``.
:func:`solvers.constraint_evaluator.make_evaluator` turns that into a numeric fallback.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import casadi as ca
import numpy as np

from rekep.errors import SolverError
from solvers.numpy_shim import NUMPY_SHIM, TRACING_BUILTINS
from solvers.smoothing import DEFAULT_SMOOTHING, SMOOTHING
from solvers.symarray import (
    SymArray,
    TracingBranchError,
    TracingError,
    TracingUnsupportedError,
    to_object_array,
)

logger = logging.getLogger(__name__)

#: ``g(np_like, end_effector, keypoints) -> cost``: the form the tracer evaluates.
Traceable = Callable[[Any, Any, Any], Any]

_GLOBALS_LOCK = threading.RLock()


@dataclass(frozen=True)
class ConstraintSource:
    """A constraint function in the two forms the solvers need.

    ``symbolic(np_like, ee, kps)`` evaluates the function's code with ``np`` bound to
    ``np_like``; ``numeric(ee, kps)`` is the exact (sandboxed) numeric evaluation.
    """

    name: str
    symbolic: Traceable
    numeric: Callable[[np.ndarray, np.ndarray], Any]

    def __post_init__(self) -> None:
        if not callable(self.symbolic) or not callable(self.numeric):
            raise SolverError(f"constraint source {self.name!r}: symbolic/numeric not callable")


def _call_with_globals(fn: Callable[..., Any], bindings: dict[str, Any], *args: Any) -> Any:
    """Call a plain function with some of its module globals temporarily rebound."""
    g = fn.__globals__  # type: ignore[attr-defined]
    with _GLOBALS_LOCK:
        saved = {k: g[k] for k in bindings if k in g}
        g.update(bindings)
        try:
            return fn(*args)
        finally:
            for k in bindings:
                if k in saved:
                    g[k] = saved[k]
                else:
                    g.pop(k, None)


def as_traceable(fn: Any, held_keypoints: Sequence[int] = ()) -> ConstraintSource:
    """Adapt a constraint function to a :class:`ConstraintSource`.

    ``fn`` may be a compiled ``ConstraintFunction`` (has ``call_with`` and ``name``; called
    with ``held_keypoints``, which fixes what ``get_grasping_cost_by_keypoint_idx`` returns)
    or a plain Python function ``fn(end_effector, keypoints)`` that uses a module-level
    ``np``; for the latter ``np`` (and ``max``/``min``/``float``) are rebound in its module
    globals during the symbolic call, under a lock.
    """
    held = tuple(int(i) for i in held_keypoints)
    name = str(getattr(fn, "name", getattr(fn, "__name__", repr(fn))))
    call_with = getattr(fn, "call_with", None)
    if callable(call_with):
        accepts_builtins = "builtins" in inspect.signature(call_with).parameters

        def symbolic(np_like: Any, ee: Any, kps: Any) -> Any:
            if accepts_builtins and np_like is NUMPY_SHIM:
                return call_with(np_like, ee, kps, held_keypoints=held, builtins=TRACING_BUILTINS)
            return call_with(np_like, ee, kps, held_keypoints=held)

        def numeric(ee: np.ndarray, kps: np.ndarray) -> Any:
            return fn(ee, kps, held_keypoints=held)

        return ConstraintSource(name, symbolic, numeric)
    if not inspect.isfunction(fn):
        raise SolverError(
            f"cannot adapt {fn!r} to a constraint: pass a ConstraintFunction (with call_with) "
            "or a plain Python function fn(end_effector, keypoints) using a global `np`"
        )

    def plain_symbolic(np_like: Any, ee: Any, kps: Any) -> Any:
        bindings = {"np": np_like}
        if np_like is NUMPY_SHIM:
            bindings.update(TRACING_BUILTINS)
        return _call_with_globals(fn, bindings, ee, kps)

    def plain_numeric(ee: np.ndarray, kps: np.ndarray) -> Any:
        return _call_with_globals(fn, {"np": np}, ee, kps)

    return ConstraintSource(name, plain_symbolic, plain_numeric)


@dataclass(frozen=True)
class TracedConstraint:
    """An exactly traced constraint.

    ``function``: CasADi ``f(ee, kps) -> cost`` with ``ee`` of shape ``ee_shape`` (a (3,)
    end effector is a (3, 1) column; bimanual (2, 3) stays (2, 3)) and ``kps`` (K, 3)
    metres. ``gradient``: CasADi ``f(ee, kps) -> (d cost/d ee, d cost/d kps)`` with the
    same shapes. Kinks are smoothed with length ``smoothing`` (see ``solvers.symarray``).
    """

    name: str
    ee_shape: tuple[int, ...]
    num_keypoints: int
    function: ca.Function
    gradient: ca.Function
    smoothing: float
    source: ConstraintSource = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ee_shape not in ((3,), (2, 3)):
            raise SolverError(f"ee_shape must be (3,) or (2, 3), got {self.ee_shape}")
        if self.num_keypoints < 0:
            raise SolverError(f"num_keypoints must be >= 0, got {self.num_keypoints}")

    def expression(self, ee: Any, kps: Any) -> Any:
        """The cost as a CasADi expression of ``ee`` and ``kps`` (SX/MX, e.g. from FK)."""
        return self.function(ee, kps)

    def traced_value(self, ee: np.ndarray, kps: np.ndarray) -> float:
        """The smoothed traced cost at numeric inputs."""
        return float(self.function(_ee_dm(ee), np.asarray(kps, dtype=float)))

    def traced_gradient(self, ee: np.ndarray, kps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d cost/d ee with ee's shape, d cost/d kps (K, 3))."""
        g_ee, g_kp = self.gradient(_ee_dm(ee), np.asarray(kps, dtype=float))
        return np.asarray(g_ee).reshape(np.shape(ee)), np.asarray(g_kp).reshape(np.shape(kps))


def _ee_dm(ee: np.ndarray) -> np.ndarray:
    arr = np.asarray(ee, dtype=float)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


@dataclass(frozen=True)
class TraceResult:
    """Outcome of :func:`try_trace`: ``traced`` or ``None`` with a ``reason``."""

    traced: TracedConstraint | None
    reason: str | None


def casadi_name(name: str) -> str:
    """``name`` made acceptable as a CasADi function name (letters, digits, single '_')."""
    clean = re.sub(r"_+", "_", re.sub(r"\W", "_", name)).strip("_") or "constraint"
    if not clean[0].isalpha() or clean in ("jac", "hess", "null"):
        clean = f"f_{clean}"
    return clean


def _symbols(ee_shape: tuple[int, ...], num_keypoints: int) -> tuple[ca.SX, ca.SX]:
    ee_sym = ca.SX.sym("ee", 3, 1) if ee_shape == (3,) else ca.SX.sym("ee", 2, 3)
    kp_sym = ca.SX.sym("kp", num_keypoints, 3)
    return ee_sym, kp_sym


def _classify(exc: BaseException) -> str:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, TracingError):
            kind = "branch" if isinstance(cur, TracingBranchError) else "unsupported"
            return f"{kind}: {cur.reason}"
        if "truth value" in str(cur):
            return "branch: branching on a traced value"
        cur = cur.__cause__ or cur.__context__
    return f"error while tracing: {type(exc).__name__}: {exc}"


def try_trace(
    fn: Any,
    ee_shape: tuple[int, ...] = (3,),
    num_keypoints: int = 0,
    *,
    held_keypoints: Sequence[int] = (),
    smoothing: float = DEFAULT_SMOOTHING,
) -> TraceResult:
    """Trace ``fn`` (see :func:`as_traceable`) into a :class:`TracedConstraint`.

    Never raises for a function that cannot be traced: the result carries the reason.
    """
    ee_shape = tuple(int(s) for s in ee_shape)
    if ee_shape not in ((3,), (2, 3)):
        raise SolverError(f"ee_shape must be (3,) or (2, 3), got {ee_shape}")
    if num_keypoints < 0:
        raise SolverError(f"num_keypoints must be >= 0, got {num_keypoints}")
    if smoothing <= 0:
        raise SolverError(f"smoothing must be > 0, got {smoothing}")
    src = fn if isinstance(fn, ConstraintSource) else as_traceable(fn, held_keypoints)
    ee_sym, kp_sym = _symbols(ee_shape, num_keypoints)
    ee_arr = to_object_array(ee_sym)
    ee_in = SymArray(ee_arr.reshape(3) if ee_shape == (3,) else ee_arr)
    kp_in = SymArray(to_object_array(kp_sym).reshape(num_keypoints, 3))
    token = SMOOTHING.set(smoothing)
    try:
        out = src.symbolic(NUMPY_SHIM, ee_in, kp_in)
        expr = _scalar_expression(out)
    except Exception as exc:
        reason = _classify(exc)
        logger.info("constraint %s falls back to numeric evaluation (%s)", src.name, reason)
        return TraceResult(None, reason)
    finally:
        SMOOTHING.reset(token)
    fname = casadi_name(src.name)
    function = ca.Function(fname, [ee_sym, kp_sym], [expr], ["ee", "kps"], ["cost"])
    g_ee, g_kp = ca.gradient(expr, ee_sym), ca.gradient(expr, kp_sym)
    gradient = ca.Function(
        f"{fname}_grad", [ee_sym, kp_sym], [g_ee, g_kp], ["ee", "kps"], ["d_ee", "d_kps"]
    )
    traced = TracedConstraint(src.name, ee_shape, num_keypoints, function, gradient, smoothing, src)
    return TraceResult(traced, None)


def trace_constraint(
    fn: Any,
    ee_shape: tuple[int, ...] = (3,),
    num_keypoints: int = 0,
    *,
    held_keypoints: Sequence[int] = (),
    smoothing: float = DEFAULT_SMOOTHING,
) -> TracedConstraint | None:
    """:func:`try_trace` returning only the traced constraint (None when impossible)."""
    return try_trace(
        fn, ee_shape, num_keypoints, held_keypoints=held_keypoints, smoothing=smoothing
    ).traced


def _scalar_expression(out: Any) -> ca.SX:
    if isinstance(out, SymArray):
        if out.size != 1:
            raise TracingUnsupportedError(f"the function returns shape {out.shape}, not a scalar")
        value = out.a.reshape(-1)[0]
        return value if isinstance(value, ca.SX) else ca.SX(float(value))
    if isinstance(out, ca.SX):
        if out.numel() != 1:
            raise TracingUnsupportedError(f"the function returns shape {out.shape}, not a scalar")
        return out
    arr = np.asarray(out, dtype=float)
    if arr.size != 1:
        raise TracingUnsupportedError(f"the function returns shape {arr.shape}, not a scalar")
    return ca.SX(float(arr.reshape(-1)[0]))
