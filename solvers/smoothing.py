"""Smoothing of the kinks that make solvers stall, applied while tracing.

* ``sqrt(x)`` is traced as ``sqrt(x + eps**2)`` and hence a 2-norm ``|v|`` as
  ``sqrt(v.v + eps**2)``: exact up to ``eps**2 / (2 |v|)`` away from 0, ``eps`` at 0, smooth
  everywhere, and never smaller than the true norm (so ``dot(v, u) / |v|`` stays within
  [-1, 1] and ``arccos`` of it stays defined). The variant ``sqrt(v.v + eps**2) - eps``
  would be exact at 0 but under-estimates every norm by ~eps, which pushes normalized dot
  products above 1 near alignment and flattens ``arccos`` there; hence this form.
* ``abs(x)`` is traced as ``sqrt(x**2 + eps**2)``;
* ``arccos``/``arcsin`` clip their argument to ``[-1 + ARC_CLIP, 1 - ARC_CLIP]`` so their
  derivative stays finite (at most about 2.3e3).

``maximum``/``minimum``/``clip`` stay exact (``fmax``/``fmin``): their kinks define the
feasible set of hinge costs and IPOPT copes with them.
"""

from __future__ import annotations

import contextvars

import casadi as ca

#: Default smoothing length ``eps`` (in the unit of the smoothed quantity, metres for
#: distances): 1e-4 m = 0.1 mm, far below any constraint tolerance.
DEFAULT_SMOOTHING = 1e-4

#: Active smoothing length for the trace in progress (set by the tracer).
SMOOTHING: contextvars.ContextVar[float] = contextvars.ContextVar(
    "rekep_tracing_smoothing", default=DEFAULT_SMOOTHING
)

#: Margin that keeps arccos/arcsin arguments away from +-1 (derivative <= ~2.3e3).
ARC_CLIP = 1e-7



def smoothing() -> float:
    """The smoothing length ``eps`` of the trace in progress."""
    return SMOOTHING.get()


def smooth_sqrt(x: ca.SX) -> ca.SX:
    """sqrt(x + eps^2): finite derivative at 0."""
    eps = smoothing()
    return ca.sqrt(x + eps * eps)


def smooth_abs(x: ca.SX) -> ca.SX:
    """sqrt(x^2 + eps^2): |x| with a rounded kink of width eps."""
    eps = smoothing()
    return ca.sqrt(x * x + eps * eps)


def safe_arccos(x: ca.SX) -> ca.SX:
    """arccos with its argument clipped to [-1 + ARC_CLIP, 1 - ARC_CLIP]."""
    return ca.acos(ca.fmin(ca.fmax(x, -1.0 + ARC_CLIP), 1.0 - ARC_CLIP))


def safe_arcsin(x: ca.SX) -> ca.SX:
    """arcsin with its argument clipped to [-1 + ARC_CLIP, 1 - ARC_CLIP]."""
    return ca.asin(ca.fmin(ca.fmax(x, -1.0 + ARC_CLIP), 1.0 - ARC_CLIP))


def power(x: ca.SX, y: ca.SX) -> ca.SX:
    """x ** y with sqrt smoothing for a constant exponent 0.5 and exact squares."""
    if y.is_constant():
        yv = float(ca.DM(y))
        if yv == 2.0:
            return x * x
        if yv == 0.5:
            return smooth_sqrt(x)
        if yv == 1.0:
            return x
    return x**y
