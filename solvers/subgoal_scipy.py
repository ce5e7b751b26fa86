"""SciPy backend for sub-goal problems: multi-start SLSQP on the penalty objective.

Starts, in order: the warm start (when given), the current pose, then ``num_seeds`` seeds
sampled uniformly (positions in the workspace box, uniformly random orientations).

* Warm solve (a warm start is given): if the warm start converges to a feasible answer,
  it is returned at once (the receding-horizon loop re-solves every tick; staying on the
  same local solution is wanted and cheap). Otherwise every other start runs too.
* Cold solve: every start runs; the feasible answer with the lowest objective wins, else
  the answer with the smallest ``max_violation`` (returned with ``feasible=False``).

A start whose constraints cannot be evaluated somewhere along the way is abandoned; the
solve is an ``"error"`` only if every start was abandoned. Gradients are finite
differences, so every constraint is reported in ``Solution.numeric``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, minimize
from scipy.spatial.transform import Rotation

from rekep.errors import ConstraintEvaluationError
from solvers.constraint_set import describe_failure
from solvers.solution import Solution
from solvers.subgoal_costs import SubgoalEvaluation, SubgoalObjective
from solvers.subgoal_problem import SubgoalProblem

FloatArray = NDArray[np.float64]
BACKEND_NAME = "scipy"
MAX_ITERATIONS = 200
FTOL = 1e-10

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _StartResult:
    label: str
    evaluation: SubgoalEvaluation
    feasible: bool


def _sampled_seeds(problem: SubgoalProblem, count: int, rng_seed: int) -> list[FloatArray]:
    rng = np.random.default_rng(rng_seed)
    seeds = []
    for _ in range(count):
        position = rng.uniform(problem.workspace_lower, problem.workspace_upper)
        quat = rng.normal(size=4)
        rotvec = Rotation.from_quat(quat / np.linalg.norm(quat)).as_rotvec()
        seeds.append(np.concatenate([position, rotvec]))
    return seeds


def _starts(
    problem: SubgoalProblem, warm_start: FloatArray | None, num_seeds: int, rng_seed: int
) -> list[tuple[str, FloatArray]]:
    lo, hi = problem.bounds()
    starts: list[tuple[str, FloatArray]] = []
    if warm_start is not None:
        starts.append(("warm", warm_start))
    starts.append(("current", problem.current_decision()))
    starts += [(f"seed{i}", x) for i, x in enumerate(_sampled_seeds(problem, num_seeds, rng_seed))]
    return [(label, np.clip(x, lo, hi)) for label, x in starts]


def _reason_for(best: _StartResult, problem: SubgoalProblem, num_starts: int) -> str:
    tol = problem.tolerance
    if best.feasible:
        return (
            f"all {len(best.evaluation.values)} constraints within tolerance {tol:g} "
            f"(start '{best.label}' of {num_starts})"
        )
    bad = sorted(((v, k) for k, v in best.evaluation.values.items() if v > tol), reverse=True)
    listed = ", ".join(f"{k}={v:.4g}" for v, k in bad)
    return (
        f"no start satisfied every constraint within tolerance {tol:g}; violated: {listed}. "
        "The least-violating pose is returned: do not execute it blindly (check the "
        "constraints and the workspace box)"
    )


def solve_subgoal_scipy(
    problem: SubgoalProblem,
    *,
    warm_start: FloatArray | None = None,
    num_seeds: int = 4,
    rng_seed: int = 0,
) -> Solution:
    """Solve ``problem`` with multi-start SLSQP; never raises for constraint failures.

    Args:
        problem: the validated problem.
        warm_start: (6,) decision to start from first (see ``solve_subgoal`` for the
            accepted forms), or None.
        num_seeds: number of sampled starts in addition to the current pose (and warm start).
        rng_seed: seed of the sampled starts (solves are deterministic).

    Returns:
        ``Solution(kind="subgoal", backend="scipy")``; ``decision`` is the (6,) vector
        ``[p, r]`` of :mod:`solvers.subgoal_problem`.
    """
    t0 = time.perf_counter()
    objective = SubgoalObjective(problem)
    lo, hi = problem.bounds()
    starts = _starts(problem, warm_start, num_seeds, rng_seed)
    results: list[_StartResult] = []
    failures: list[ConstraintEvaluationError] = []
    iterations = 0

    for label, x0 in starts:
        counter = [0]

        def count(*_: object, counter: list[int] = counter) -> None:
            counter[0] += 1

        try:
            res = minimize(
                objective,
                x0,
                method="SLSQP",
                bounds=Bounds(lo, hi),
                callback=count,
                options={"maxiter": MAX_ITERATIONS, "ftol": FTOL},
            )
            evaluation = objective.evaluate(np.clip(res.x, lo, hi))
        except ConstraintEvaluationError as exc:
            logger.debug("start %s abandoned: %s", label, exc)
            failures.append(exc)
            continue
        finally:
            iterations += counter[0]
        feasible = evaluation.max_violation() <= problem.tolerance
        results.append(_StartResult(label, evaluation, feasible))
        logger.debug(
            "start %s: objective %.6g, max violation %.4g, %d iterations, %s",
            label,
            evaluation.objective,
            evaluation.max_violation(),
            counter[0],
            res.message,
        )
        if label == "warm" and feasible:
            break

    wall = time.perf_counter() - t0
    if not results:
        reason = f"{describe_failure(failures[0])} (all {len(starts)} starts failed)"
        return _solution(problem, None, reason, iterations, wall)
    feasible_results = [r for r in results if r.feasible]
    if feasible_results:
        best = min(feasible_results, key=lambda r: r.evaluation.objective)
    else:
        best = min(results, key=lambda r: (r.evaluation.max_violation(), r.evaluation.objective))
    reason = _reason_for(best, problem, len(starts))
    if failures:
        reason += (
            f" ({len(failures)} start(s) abandoned because a constraint could not be "
            f"evaluated there; first: {describe_failure(failures[0])})"
        )
        logger.warning("sub-goal solve: %d start(s) hit constraint errors", len(failures))
    return _solution(problem, best, reason, iterations, wall)


def _solution(
    problem: SubgoalProblem,
    best: _StartResult | None,
    reason: str,
    iterations: int,
    wall_time_s: float,
) -> Solution:
    """Package the chosen start (or, with ``best=None``, an error at the current pose)."""
    names = tuple(name for name, _ in problem.constraints)
    if best is None:
        return Solution(
            kind="subgoal",
            backend=BACKEND_NAME,
            feasible=False,
            status="error",
            reason=reason,
            pose=problem.T_world_tcp,
            decision=problem.current_decision(),
            violations=dict.fromkeys(names, math.nan),
            max_violation=math.nan,
            cost=math.nan,
            iterations=iterations,
            wall_time_s=wall_time_s,
            traced=(),
            numeric=names,
        )
    ev = best.evaluation
    return Solution(
        kind="subgoal",
        backend=BACKEND_NAME,
        feasible=best.feasible,
        status="solved" if best.feasible else "infeasible",
        reason=reason,
        pose=ev.pose,
        decision=ev.decision,
        violations=ev.values,
        max_violation=ev.max_violation(),
        cost=ev.objective,
        iterations=iterations,
        wall_time_s=wall_time_s,
        traced=(),
        numeric=names,
    )
