"""One interface over traced (exact) and numeric (finite-difference) constraint functions.

:func:`make_evaluator` traces a function when it can (:class:`ExactEvaluator`, ``exact``
True) and otherwise falls back to :class:`NumericConstraint` (``exact`` False, ``reason``
says why), for that function only. Values for reporting are always the exact NumPy
evaluation of the function; gradients are CasADi's exact ones (of the smoothed trace) or
central finite differences.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rekep.errors import ConstraintEvaluationError, SolverError
from solvers.smoothing import DEFAULT_SMOOTHING
from solvers.tracing import ConstraintSource, TracedConstraint, as_traceable, try_trace

logger = logging.getLogger(__name__)

#: Central-difference step in metres (error ~ step^2 * f''' ; roundoff ~ 1e-16 / step).
DEFAULT_FD_STEP = 1e-6

#: Largest |traced - numeric| accepted at the probe point before the trace is distrusted,
#: relative to max(1, |numeric|); generous because of the smoothing.
PROBE_TOLERANCE = 1e-3

Gradient = tuple[float, np.ndarray, np.ndarray]


@runtime_checkable
class ConstraintEvaluator(Protocol):
    """``value(ee, kps) -> float`` and ``value_and_gradient(ee, kps) -> (v, d_ee, d_kps)``.

    ``ee``: (3,) or (2, 3) metres; ``kps``: (K, 3) metres; gradients have the same shapes.
    ``exact``: gradients are exact (traced); ``reason``: why not, when not.
    """

    name: str
    exact: bool
    reason: str | None

    def value(self, ee: np.ndarray, kps: np.ndarray) -> float: ...

    def value_and_gradient(
        self, ee: np.ndarray, kps: np.ndarray, keypoint_rows: Sequence[int] | None = None
    ) -> Gradient: ...


def numeric_value(source: ConstraintSource, ee: np.ndarray, kps: np.ndarray) -> float:
    """Exact numeric cost; raises ConstraintEvaluationError for non-scalar or non-finite."""
    out = source.numeric(np.array(ee, dtype=float), np.array(kps, dtype=float))
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConstraintEvaluationError(
            f"returned {type(out).__name__}, expected one number (the cost)",
            function=source.name,
        ) from exc
    if arr.size != 1:
        raise ConstraintEvaluationError(
            f"returned an array of shape {arr.shape}, expected one number (the cost); "
            "reduce it, e.g. with np.linalg.norm", function=source.name,
        )
    value = float(arr.reshape(-1)[0])
    if not np.isfinite(value):
        raise ConstraintEvaluationError(
            f"returned {value} at the given keypoints; make the cost finite "
            "(avoid dividing by a zero-length vector)", function=source.name,
        )
    return value


@dataclass(frozen=True)
class ExactEvaluator:
    """A traced constraint: numeric value, exact CasADi gradient."""

    traced: TracedConstraint
    name: str = field(init=False)
    exact: bool = field(default=True, init=False)
    reason: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.traced.name)

    def value(self, ee: np.ndarray, kps: np.ndarray) -> float:
        return numeric_value(self.traced.source, ee, kps)

    def value_and_gradient(
        self, ee: np.ndarray, kps: np.ndarray, keypoint_rows: Sequence[int] | None = None
    ) -> Gradient:
        g_ee, g_kp = self.traced.traced_gradient(ee, kps)
        return self.value(ee, kps), g_ee, g_kp


@dataclass(frozen=True)
class NumericConstraint:
    """A constraint evaluated numerically, gradient by central differences of step ``step``."""

    source: ConstraintSource
    reason: str | None = None
    step: float = DEFAULT_FD_STEP
    name: str = field(init=False)
    exact: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not (0.0 < self.step < 1e-1):
            raise SolverError(f"finite-difference step must be in (0, 0.1) m, got {self.step}")
        object.__setattr__(self, "name", self.source.name)

    def value(self, ee: np.ndarray, kps: np.ndarray) -> float:
        return numeric_value(self.source, ee, kps)

    def value_and_gradient(
        self, ee: np.ndarray, kps: np.ndarray, keypoint_rows: Sequence[int] | None = None
    ) -> Gradient:
        """Central differences over every ee coordinate and the keypoint rows given
        (all rows when None; rows not listed get a zero gradient)."""
        ee0 = np.array(ee, dtype=float)
        kp0 = np.array(kps, dtype=float)
        value = self.value(ee0, kp0)
        h = self.step
        g_ee = np.zeros_like(ee0)
        for idx in np.ndindex(ee0.shape):
            hi, lo = ee0.copy(), ee0.copy()
            hi[idx] += h
            lo[idx] -= h
            g_ee[idx] = (self.value(hi, kp0) - self.value(lo, kp0)) / (2 * h)
        g_kp = np.zeros_like(kp0)
        rows = range(kp0.shape[0]) if keypoint_rows is None else keypoint_rows
        for r in rows:
            for c in range(3):
                hi, lo = kp0.copy(), kp0.copy()
                hi[r, c] += h
                lo[r, c] -= h
                g_kp[r, c] = (self.value(ee0, hi) - self.value(ee0, lo)) / (2 * h)
        return value, g_ee, g_kp


def numeric_constraint(
    fn: Any,
    held_keypoints: Sequence[int] = (),
    *,
    reason: str | None = None,
    step: float = DEFAULT_FD_STEP,
) -> NumericConstraint:
    """Wrap ``fn`` (see :func:`solvers.tracing.as_traceable`) for numeric evaluation."""
    src = fn if isinstance(fn, ConstraintSource) else as_traceable(fn, held_keypoints)
    return NumericConstraint(src, reason=reason, step=step)


def _default_probe(ee_shape: tuple[int, ...], num_keypoints: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(20240917)
    ee = rng.uniform([0.2, -0.4, 0.05], [0.7, 0.4, 0.6], size=(*ee_shape[:-1], 3))
    kps = rng.uniform([0.2, -0.4, 0.0], [0.7, 0.4, 0.4], size=(num_keypoints, 3))
    return ee.reshape(ee_shape), kps


def make_evaluator(
    fn: Any,
    ee_shape: tuple[int, ...] = (3,),
    num_keypoints: int = 0,
    *,
    held_keypoints: Sequence[int] = (),
    smoothing: float = DEFAULT_SMOOTHING,
    probe: tuple[np.ndarray, np.ndarray] | None = None,
    fd_step: float = DEFAULT_FD_STEP,
) -> ExactEvaluator | NumericConstraint:
    """Trace ``fn`` if possible, else fall back to finite differences (see module doc).

    The trace is cross-checked against the numeric function at ``probe`` (ee, kps) (a fixed
    random point when None); a disagreement beyond :data:`PROBE_TOLERANCE` means the shim
    misread the function, and it falls back too.
    """
    src = fn if isinstance(fn, ConstraintSource) else as_traceable(fn, held_keypoints)
    result = try_trace(src, ee_shape, num_keypoints, smoothing=smoothing)
    if result.traced is None:
        return NumericConstraint(src, reason=result.reason, step=fd_step)
    ee, kps = probe if probe is not None else _default_probe(tuple(ee_shape), num_keypoints)
    try:
        expected = numeric_value(src, ee, kps)
    except Exception as exc:
        logger.debug("probe check of %s skipped: %s", src.name, exc)
        return ExactEvaluator(result.traced)
    got = result.traced.traced_value(ee, kps)
    if not abs(got - expected) <= PROBE_TOLERANCE * max(1.0, abs(expected)):
        reason = f"traced value {got:.6g} disagrees with numeric value {expected:.6g} at the probe"
        logger.warning("constraint %s falls back to numeric evaluation: %s", src.name, reason)
        return NumericConstraint(src, reason=reason, step=fd_step)
    return ExactEvaluator(result.traced)
