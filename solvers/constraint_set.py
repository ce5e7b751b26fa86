"""Named constraint functions and their guarded numeric evaluation.

A constraint is a plain callable ``f(end_effector, keypoints) -> float`` with
``end_effector`` the (3,) TCP position in metres and ``keypoints`` the (K, 3) world
positions in metres. It holds when its value is <= the problem's tolerance. Grasp state is
bound by the caller beforehand (it is constant within one solve).

:func:`evaluate_constraints` turns everything that can go wrong inside such a call (an
exception, a non-scalar or non-finite value) into :class:`~rekep.errors.ConstraintEvaluationError`
naming the function, so solvers can report it instead of crashing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConstraintEvaluationError, SolverError

FloatArray = NDArray[np.float64]
ConstraintFn = Callable[[FloatArray, FloatArray], Any]
NamedConstraint = tuple[str, ConstraintFn]
ConstraintsLike: TypeAlias = "Mapping[str, ConstraintFn] | Iterable[NamedConstraint | ConstraintFn]"


def normalize_constraints(constraints: ConstraintsLike, prefix: str) -> tuple[NamedConstraint, ...]:
    """Validate constraints into a tuple of ``(name, callable)`` pairs.

    Accepts a mapping name -> callable, a sequence of ``(name, callable)`` pairs, or bare
    callables (named ``f"{prefix}{i}"``). Names must be non-empty and unique.
    """
    items: list[NamedConstraint] = []
    source: Iterable[Any] = constraints.items() if isinstance(constraints, Mapping) else constraints
    for i, item in enumerate(source):
        if callable(item):
            name, fn = f"{prefix}{i}", item
        elif isinstance(item, tuple) and len(item) == 2:
            name, fn = item
        else:
            raise SolverError(
                f"constraint #{i} must be a callable or a (name, callable) pair, got {item!r}"
            )
        if not isinstance(name, str) or not name:
            raise SolverError(f"constraint #{i} needs a non-empty string name, got {name!r}")
        if not callable(fn):
            raise SolverError(f"constraint {name!r} is not callable (got {type(fn).__name__})")
        items.append((name, fn))
    return tuple(items)


def check_unique_names(*groups: tuple[NamedConstraint, ...]) -> None:
    """Raise :class:`SolverError` if a name appears twice across the groups."""
    seen: set[str] = set()
    for group in groups:
        for name, _ in group:
            if name in seen:
                raise SolverError(
                    f"constraint name {name!r} is used twice; names must be unique across "
                    "sub-goal and path constraints"
                )
            seen.add(name)


def evaluate_one(
    name: str, fn: ConstraintFn, end_effector: FloatArray, keypoints: FloatArray
) -> float:
    """Evaluate one constraint on copies of its inputs; return a finite float.

    Raises:
        ConstraintEvaluationError: the function raised, or returned a non-scalar or
            non-finite value.
    """
    try:
        raw = fn(end_effector.copy(), keypoints.copy())
    except ConstraintEvaluationError:
        raise
    except Exception as exc:  # untrusted user/VLM code: any failure is reported, not raised
        raise ConstraintEvaluationError(
            f"raised {type(exc).__name__}: {exc}", function=name
        ) from exc
    try:
        value = float(np.asarray(raw, dtype=np.float64).reshape(()))
    except (TypeError, ValueError) as exc:
        raise ConstraintEvaluationError(
            f"returned {type(raw).__name__} {raw!r}; a constraint must return one number",
            function=name,
        ) from exc
    if not math.isfinite(value):
        raise ConstraintEvaluationError(
            f"returned {value} at end_effector={np.round(end_effector, 4).tolist()}; "
            "a constraint must return a finite number (guard divisions and arccos domains)",
            function=name,
        )
    return value


def evaluate_constraints(
    constraints: Iterable[NamedConstraint], end_effector: FloatArray, keypoints: FloatArray
) -> dict[str, float]:
    """Evaluate every constraint: name -> finite value (see :func:`evaluate_one`)."""
    return {name: evaluate_one(name, fn, end_effector, keypoints) for name, fn in constraints}


def describe_failure(exc: ConstraintEvaluationError) -> str:
    """One-line reason for a Solution built from an evaluation failure."""
    name = exc.function or "a constraint"
    return (
        f"constraint {name!r} could not be evaluated: {exc.reason}. Fix the constraint "
        "function (or the keypoints it indexes) and solve again"
    )

