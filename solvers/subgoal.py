"""Solve sub-goal problems through a registry of backends.

Usage::

    problem = build_subgoal_problem(subgoal_constraints=[("reach", f)], keypoints=kps,
                                    T_world_tcp=T_now, workspace_lower=lo, workspace_upper=hi)
    solution = solve_subgoal(problem)              # backend="scipy"
    again = solve_subgoal(problem, warm_start=solution.pose)

A backend is any callable with the :class:`SubgoalBackend` signature; it receives the
warm start already converted to a (6,) decision (or None) and must return a
``Solution(kind="subgoal")`` without raising for constraint-evaluation failures. Add one
with :func:`register_subgoal_backend` (e.g. the CasADi backends).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import PoseError, SolverError
from solvers.baseline.subgoal_solver import solve_subgoal_baseline
from solvers.casadi_subgoal import solve_subgoal_casadi
from solvers.solution import Solution
from solvers.subgoal_problem import (
    APPROACHES,
    DECISION_SIZE,
    SubgoalProblem,
    SubgoalWeights,
    build_subgoal_problem,
)
from solvers.subgoal_scipy import solve_subgoal_scipy

FloatArray = NDArray[np.float64]

__all__ = [
    "APPROACHES",
    "SUBGOAL_BACKENDS",
    "SubgoalBackend",
    "SubgoalProblem",
    "SubgoalWeights",
    "build_subgoal_problem",
    "register_subgoal_backend",
    "solve_subgoal",
]


class SubgoalBackend(Protocol):
    """Signature every sub-goal backend implements."""

    def __call__(
        self,
        problem: SubgoalProblem,
        /,
        *,
        warm_start: FloatArray | None,
        num_seeds: int,
        rng_seed: int,
    ) -> Solution: ...


SUBGOAL_BACKENDS: dict[str, SubgoalBackend] = {
    "scipy": solve_subgoal_scipy,
    "rekep_baseline": solve_subgoal_baseline,  # the original recipe, for side-by-side ratios
    "casadi": solve_subgoal_casadi,  # exact derivatives, cached NLP, joint space with a robot
}


def register_subgoal_backend(name: str, backend: SubgoalBackend, *, replace: bool = False) -> None:
    """Add ``backend`` under ``name`` (``replace=True`` to overwrite an existing one)."""
    if not isinstance(name, str) or not name:
        raise SolverError(f"backend name must be a non-empty string, got {name!r}")
    if not callable(backend):
        raise SolverError(f"backend {name!r} must be callable, got {type(backend).__name__}")
    if name in SUBGOAL_BACKENDS and not replace:
        raise SolverError(f"sub-goal backend {name!r} exists; pass replace=True to overwrite it")
    SUBGOAL_BACKENDS[name] = backend


def get_subgoal_backend(name: str) -> SubgoalBackend:
    """The backend registered under ``name``; SolverError listing the valid names otherwise."""
    try:
        return SUBGOAL_BACKENDS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(SUBGOAL_BACKENDS))
        raise SolverError(f"unknown sub-goal backend {name!r}; valid backends: {valid}") from None


def warm_start_decision(problem: SubgoalProblem, warm_start: ArrayLike | None) -> FloatArray | None:
    """Convert a warm start to a (6,) decision of ``problem``.

    Accepts None, a (4, 4) ``T_world_tcp`` pose (e.g. ``previous_solution.pose``: robust when
    the current pose changed since) or a (6,) decision relative to this problem's current pose.
    """
    if warm_start is None:
        return None
    arr = np.asarray(warm_start, dtype=np.float64)
    if arr.shape == (4, 4):
        try:
            return problem.pose_to_decision(arr)
        except PoseError as exc:
            raise SolverError(f"warm_start pose is invalid: {exc}") from exc
    if arr.shape == (DECISION_SIZE,) and np.all(np.isfinite(arr)):
        return arr.copy()
    raise SolverError(
        f"warm_start must be a (4, 4) pose or a finite ({DECISION_SIZE},) decision, "
        f"got shape {arr.shape}"
    )


def solve_subgoal(
    problem: SubgoalProblem,
    *,
    backend: str = "scipy",
    warm_start: ArrayLike | None = None,
    num_seeds: int = 4,
    rng_seed: int = 0,
) -> Solution:
    """Solve a sub-goal problem.

    Args:
        problem: built by :func:`build_subgoal_problem`.
        backend: name in :data:`SUBGOAL_BACKENDS`.
        warm_start: None, a (4, 4) pose, or a (6,) decision (see :func:`warm_start_decision`).
        num_seeds: sampled starts in addition to the current pose and the warm start (>= 0).
        rng_seed: seed of the sampled starts.

    Returns:
        A ``Solution(kind="subgoal")``. Constraint functions that raise or return non-finite
        values give ``status="error"`` (never an exception); an unsatisfiable problem gives
        the least-violating answer with ``feasible=False``.

    Raises:
        SolverError: unknown backend, a malformed problem, warm start or seed count.
    """
    if not isinstance(problem, SubgoalProblem):
        raise SolverError(
            "problem must be a SubgoalProblem (use build_subgoal_problem), "
            f"got {type(problem).__name__}"
        )
    solver = get_subgoal_backend(backend)
    if isinstance(num_seeds, bool) or not isinstance(num_seeds, (int, np.integer)) or num_seeds < 0:
        raise SolverError(f"num_seeds must be an integer >= 0, got {num_seeds!r}")
    decision = warm_start_decision(problem, warm_start)
    return solver(problem, warm_start=decision, num_seeds=int(num_seeds), rng_seed=int(rng_seed))
