"""Solve a bimanual sub-goal: multi-start IPOPT on the cached joint NLP of both arms.

Starts, in order: the warm start (given; with the last answer's multipliers when it is that
answer), the current configuration, the last answer of this structure (cold solves only),
then ``num_seeds`` seeds sampled around the current configuration. A feasible warm answer is
returned at once (one cheap solve per loop tick); otherwise every start runs and the
feasible answer of lowest cost wins, else the least-violating one (``feasible=False``).

Every answer is judged numerically, never by the NLP's own view: exact constraint values at
the FK poses with the forward-modelled keypoints (<= tolerance), both TCPs inside the
workspace box, and the least surface distance over *all* sphere pairs of the two arms
>= ``min_arm_distance_m`` (less :data:`CLEARANCE_TOL_M`). Constraint functions that raise or
return NaN abandon the start; when every start is abandoned the answer is
``status="error"`` at the current configuration (never an exception).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConstraintEvaluationError
from solvers.bimanual_exprs import arm_clearance
from solvers.bimanual_nlp import BimanualNLP, get_nlp
from solvers.bimanual_problem import BimanualProblem, BimanualSolution, relative_pose
from solvers.casadi_exprs import as_column
from solvers.constraint_set import describe_failure, evaluate_constraints

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

SEED_SIGMA_RAD = 0.5
"""Spread of the sampled joint seeds around the current configuration, radians."""
CLEARANCE_TOL_M = 1e-4
"""Slack of the numeric arm-arm clearance check (IPOPT's constraint tolerance), metres."""
WORKSPACE_TOL_M = 1e-6


@dataclass
class _Run:
    label: str
    x: FloatArray
    poses: FloatArray
    values: dict[str, float]
    cost: float
    clearance: float
    outside_m: float
    drift: float
    lam: tuple[Any, Any]

    def excess(self, problem: BimanualProblem) -> float:
        """How far from feasible (0 when feasible), in constraint units / metres."""
        worst = max([0.0, *self.values.values()])
        return (max(0.0, worst - problem.tolerance) + self.outside_m
                + max(0.0, problem.min_arm_distance_m - CLEARANCE_TOL_M - self.clearance))

    @property
    def max_violation(self) -> float:
        return max([0.0, *self.values.values()])


def judge(problem: BimanualProblem, q: ArrayLike) -> tuple[FloatArray, dict[str, float], float,
                                                            float, float]:  # fmt: skip
    """Numeric view of configuration ``q`` (2, dof): poses (2, 4, 4), constraint values,
    arm clearance (m), distance outside the workspace (m) and grip drift (m).

    Raises ConstraintEvaluationError when a constraint cannot be evaluated there.
    """
    qq = np.asarray(q, dtype=float).reshape(2, problem.dof)
    poses = problem.fk(qq)
    ee = poses[:, :3, 3].copy()
    values = evaluate_constraints(problem.constraints, ee, problem.keypoints_at(poses))
    clearance = arm_clearance(problem.robots[0], problem.robots[1], qq)
    outside = float(np.maximum(problem.workspace_lower - ee, 0.0).sum()
                    + np.maximum(ee - problem.workspace_upper, 0.0).sum())  # fmt: skip
    drift = 0.0
    if problem.shared_grip:
        drift = float(np.linalg.norm(relative_pose(poses)[:3, 3]
                                     - relative_pose(problem.T_world_tcp)[:3, 3]))  # fmt: skip
    return poses, values, clearance, outside, drift


class _Context:
    def __init__(self, problem: BimanualProblem, nlp: BimanualNLP):
        self.problem, self.nlp = problem, nlp
        self.params = nlp.parameters(problem)
        self.lbg, self.ubg = nlp.bounds_g(problem)
        self.iterations = 0

    def run(self, label: str, x0: FloatArray, warm: dict[str, Any] | None) -> _Run:
        nlp = self.nlp
        x0 = np.clip(np.asarray(x0, float).reshape(-1), nlp.lbx, nlp.ubx)
        judge(self.problem, x0)  # a constraint failing at the start abandons it
        args: dict[str, Any] = {"x0": as_column(x0), "p": self.params, "lbx": as_column(nlp.lbx),
                                "ubx": as_column(nlp.ubx), "lbg": self.lbg, "ubg": self.ubg}
        solver = nlp.cold
        if warm is not None:
            args.update(lam_x0=warm["lam_x"], lam_g0=warm["lam_g"])
            solver = nlp.warm
        try:
            res = solver(**args)
        except RuntimeError as exc:  # e.g. a numeric callback raised inside IPOPT
            raise ConstraintEvaluationError(f"solver failed: {exc}".splitlines()[0]) from exc
        stats = solver.stats()
        self.iterations += int(stats.get("iter_count", 0))
        x = np.clip(np.asarray(res["x"], float).reshape(-1), nlp.lbx, nlp.ubx)
        poses, values, clearance, outside, drift = judge(self.problem, x)
        logger.debug("start %s: cost %.6g, max violation %.3g, clearance %.3g, %s (%d it)",
                     label, float(res["f"]), max([0.0, *values.values()]), clearance,
                     stats.get("return_status"), stats.get("iter_count", 0))  # fmt: skip
        return _Run(label, x, poses, values, float(res["f"]), clearance, outside, drift,
                    (res["lam_x"], res["lam_g"]))  # fmt: skip


def _seeds(problem: BimanualProblem, nlp: BimanualNLP, count: int,
           rng_seed: int) -> list[FloatArray]:  # fmt: skip
    rng = np.random.default_rng(rng_seed)
    q = problem.q_current.reshape(-1)
    return [np.clip(q + rng.normal(0.0, SEED_SIGMA_RAD, q.shape), nlp.lbx, nlp.ubx)
            for _ in range(count)]  # fmt: skip


_Start = tuple[str, FloatArray, dict[str, Any] | None]


def _starts(problem: BimanualProblem, nlp: BimanualNLP, warm_start: ArrayLike | None,
            num_seeds: int, rng_seed: int) -> list[_Start]:  # fmt: skip
    last = nlp.last
    starts: list[_Start] = []
    if warm_start is not None:
        w = np.asarray(warm_start, float).reshape(-1)
        if w.shape == (2 * problem.dof,) and np.all(np.isfinite(w)):
            same = "x" in last and np.allclose(last["x"], w, atol=1e-9)
            starts.append(("warm", w, last if same else None))
        else:
            logger.warning("bimanual warm start of shape %s ignored (need (2, %d) finite)",
                           np.shape(warm_start), problem.dof)  # fmt: skip
    starts.append(("current", problem.q_current.reshape(-1).copy(), None))
    if "x" in last and starts[0][0] != "warm":
        starts.append(("last", np.asarray(last["x"], float), None))
    seeds = _seeds(problem, nlp, num_seeds, rng_seed)
    starts += [(f"seed{i}", x, None) for i, x in enumerate(seeds)]
    return starts


def solve_bimanual_subgoal(
    problem: BimanualProblem,
    *,
    warm_start: ArrayLike | None = None,
    num_seeds: int = 4,
    rng_seed: int = 0,
) -> BimanualSolution:
    """Solve ``problem`` for both arms jointly (see the module docstring); never raises for
    bad constraint functions.

    Args:
        problem: the validated problem.
        warm_start: (2, dof) or (2 dof,) joint angles (e.g. the last tick's ``decision``).
        num_seeds: sampled starts on a cold solve (>= 0).
        rng_seed: seed of the sampled starts (solves are deterministic).
    """
    t0 = time.perf_counter()
    try:
        nlp = get_nlp(problem)
    except Exception as exc:  # untrusted constraints: a build failure is an answer
        logger.warning("bimanual sub-goal: could not build the NLP: %s", exc)
        return _error(problem, f"could not build the NLP: {type(exc).__name__}: {exc}", t0)
    ctx = _Context(problem, nlp)
    starts = _starts(problem, nlp, warm_start, max(0, int(num_seeds)), rng_seed)
    runs: list[_Run] = []
    failures: list[ConstraintEvaluationError] = []
    for label, x0, warm in starts:
        try:
            run = ctx.run(label, x0, warm)
        except ConstraintEvaluationError as exc:
            logger.debug("start %s abandoned: %s", label, exc)
            failures.append(exc)
            continue
        runs.append(run)
        if label == "warm" and run.excess(problem) == 0.0:
            break
    exprs = nlp.exprs
    if not runs:
        reason = f"{describe_failure(failures[0])} (all {len(starts)} starts failed)"
        return _error(problem, reason, t0, ctx.iterations, exprs.traced, exprs.numeric)
    feasible = [r for r in runs if r.excess(problem) == 0.0]
    best = (min(feasible, key=lambda r: r.cost) if feasible
            else min(runs, key=lambda r: (r.excess(problem), r.cost)))  # fmt: skip
    nlp.last.update(x=best.x, lam_x=best.lam[0], lam_g=best.lam[1])
    reason = _reason(problem, best, bool(feasible), len(starts))
    if failures:
        reason += f" ({len(failures)} start(s) abandoned; first: {describe_failure(failures[0])})"
    return BimanualSolution(
        feasible=bool(feasible), status="solved" if feasible else "infeasible", reason=reason,
        q=best.x.reshape(2, problem.dof), poses=best.poses, max_violation=best.max_violation,
        violations=best.values, wall_time_s=time.perf_counter() - t0, decision=best.x,
        arm_clearance_m=best.clearance, grip_drift_m=best.drift, iterations=ctx.iterations,
        traced=exprs.traced, numeric=exprs.numeric,
    )  # fmt: skip


def _reason(problem: BimanualProblem, best: _Run, ok: bool, num_starts: int) -> str:
    tol = problem.tolerance
    if ok:
        return (f"all {len(best.values)} constraints within tolerance {tol:g}, arms "
                f"{best.clearance:.3f} m apart (start '{best.label}' of {num_starts})")
    bad = sorted(((v, k) for k, v in best.values.items() if v > tol), reverse=True)
    parts = [f"violated: {', '.join(f'{k}={v:.4g}' for v, k in bad)}"] if bad else []
    if best.outside_m > WORKSPACE_TOL_M:
        parts.append(f"a TCP is {best.outside_m:.3f} m outside the workspace box")
    if best.clearance < problem.min_arm_distance_m - CLEARANCE_TOL_M:
        parts.append(f"arms {best.clearance:.3f} m apart, below min_arm_distance_m "
                     f"{problem.min_arm_distance_m:g}")  # fmt: skip
    return (f"no start satisfied every constraint within tolerance {tol:g}; "
            f"{'; '.join(parts)}. The least-violating answer is returned: do not execute it "
            "blindly")  # fmt: skip


def _error(problem: BimanualProblem, reason: str, t0: float, iterations: int = 0,
           traced: tuple[str, ...] = (),
           numeric: tuple[str, ...] = ()) -> BimanualSolution:  # fmt: skip
    names = [n for n, _ in problem.constraints]
    return BimanualSolution(
        feasible=False, status="error", reason=reason, q=problem.q_current,
        poses=problem.T_world_tcp, max_violation=math.nan,
        violations=dict.fromkeys(names, math.nan), wall_time_s=time.perf_counter() - t0,
        decision=problem.q_current.reshape(-1), iterations=iterations, traced=traced,
        numeric=numeric,
    )  # fmt: skip
