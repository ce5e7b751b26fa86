"""The ``casadi`` sub-goal backend: exact derivatives, cached NLP, multi-start IPOPT.

The NLP (see :mod:`solvers.casadi_subgoal_nlp`) is built once per problem structure; a
solve only sets parameters and starts. Joint space when the problem has a ``robot``
(``Solution.decision`` and ``joint_positions`` are then joint angles), SE(3) otherwise
(``decision`` is ``[p, r]`` as for the scipy backend).

Starts, in order: the warm start (given, or the last answer of this structure), the
current configuration, the last answer, then ``num_seeds`` sampled seeds. With a warm
start, a feasible warm answer is returned at once (one cheap solve per loop tick).
Otherwise every start runs; the feasible answer of lowest cost wins, else the least
violating one (``feasible=False``). Violations are always the exact NumPy values of the
constraint functions at the returned pose.

The warm start first runs a fast SQP (``sqpmethod``, dense active-set ``qrqp`` QPs, exact
Hessian convexified by eigenvalue reflection: about 20-40 us of solver overhead per call
against IPOPT's 0.5-1 ms, which dominates these 7-variable problems). Its answer is kept
only when SQP reports success and the answer is feasible (exact NumPy check); otherwise
the same start is solved again with IPOPT, so the fast path can change which feasible
local optimum is returned but never turns a feasible answer into an infeasible one.
Measured on the solver benchmark's warm ticks: SQP is accepted on about 92 % of the
feasible ticks, at the IPOPT answer's cost, in about a third of IPOPT's time. Cold starts
stay on IPOPT: from far away this SQP (no trust region) takes steps of several radians,
fails its line search and converged within 30 iterations on under half of the starts.
Problems with finite-difference constraints (numeric callbacks) and ``solver="sqpmethod"``
skip the fast path.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConstraintEvaluationError
from solvers.casadi_exprs import as_column
from solvers.casadi_ik import solve_ik
from solvers.casadi_subgoal_nlp import MARGIN, SubgoalNLP, get_nlp
from solvers.constraint_set import describe_failure, evaluate_constraints
from solvers.forward_model import HeldKeypointModel
from solvers.solution import Solution
from solvers.subgoal_problem import SubgoalProblem

FloatArray = NDArray[np.float64]
BACKEND_NAME = "casadi"
DEFAULT_SOLVER = "ipopt"
SEED_SIGMA_RAD = 0.6
"""Spread of sampled joint seeds around the current configuration, radians."""
FAST_SQP_OPTIONS: dict[str, Any] = {
    "print_time": False, "print_header": False, "print_iteration": False,
    "print_status": False, "error_on_fail": False, "qpsol": "qrqp",
    "qpsol_options": {"print_iter": False, "print_header": False, "error_on_fail": False},
    "convexify_strategy": "eigen-reflect", "convexify_margin": 1e-4, "max_iter_eig": 5000,
    "max_iter": 30,
}  # fmt: skip
"""The fast path's ``sqpmethod`` options. Measured alternatives on the benchmark's warm
ticks: ``eigen-clip`` converges on < 10 % of them, ``regularize`` needs 50+ iterations,
limited-memory BFGS on < 30 %; ``eigen-reflect`` with the default ``max_iter_eig`` (50)
fails to convexify on about 6 %."""
_FAST: weakref.WeakKeyDictionary[ca.Function, ca.Function] = weakref.WeakKeyDictionary()

logger = logging.getLogger(__name__)


@dataclass
class _Run:
    label: str
    x: FloatArray
    pose: FloatArray
    values: dict[str, float]
    cost: float
    feasible: bool
    lam_x: Any
    lam_g: Any
    converged: bool = True

    @property
    def max_violation(self) -> float:
        return max([0.0, *self.values.values()])


class _Context:
    """Per-solve state: the NLP, parameters and a numeric forward model."""

    def __init__(self, problem: SubgoalProblem, solver: str):
        self.problem = problem
        self.joint_space = problem.robot is not None
        self.nlp: SubgoalNLP = get_nlp(problem, self.joint_space, solver)
        self.q_now: FloatArray | None = None
        if self.joint_space:
            self.q_now = (
                np.asarray(problem.q_current, float) if problem.q_current is not None
                else self._ik(problem.T_world_tcp)
            )  # fmt: skip
        self.params = self.nlp.parameters(problem, self.q_now)
        self.model = HeldKeypointModel(problem.keypoints, problem.held_mask, problem.T_world_tcp)
        self.iterations = 0
        self.ubg = self.nlp.ubg.copy()
        self.ubg[: self.nlp.num_slacks] = MARGIN * problem.tolerance

    def _ik(self, T: FloatArray) -> FloatArray:
        seeds = [self.nlp.last["x"][: self.nlp.num_q]] if "x" in self.nlp.last else None
        q, _ = solve_ik(self.problem.robot, T, seeds)
        return q

    def current(self) -> FloatArray:
        return self.q_now.copy() if self.q_now is not None else self.problem.current_decision()

    def evaluate(self, pose: FloatArray) -> dict[str, float]:
        return evaluate_constraints(self.problem.constraints, pose[:3, 3].copy(),
                                    self.model.at_pose(pose))  # fmt: skip

    def run(self, label: str, x0: FloatArray, warm: dict[str, Any] | None = None,
            fast: ca.Function | None = None) -> _Run:  # fmt: skip
        """One solve from decision ``x0`` (slacks initialised from the constraint values)
        with IPOPT (cold, or warm with the multipliers of ``warm``) or the ``fast`` solver."""
        nlp = self.nlp
        nq = nlp.num_q
        x0 = np.clip(np.asarray(x0, float)[:nq], nlp.lbx[:nq], nlp.ubx[:nq])
        pose0 = np.asarray(nlp.pose_fn(as_column(np.concatenate([x0, np.zeros(nlp.num_slacks)])),
                                       self.params))  # fmt: skip
        values0 = self.evaluate(pose0)  # raises ConstraintEvaluationError: start abandoned
        s0 = np.maximum(0.0, np.array(list(values0.values()), dtype=float))[: nlp.num_slacks]
        args: dict[str, Any] = {
            "x0": as_column(np.concatenate([x0, s0])), "p": self.params,
            "lbx": as_column(nlp.lbx), "ubx": as_column(nlp.ubx),
            "lbg": as_column(nlp.lbg), "ubg": as_column(self.ubg),
        }  # fmt: skip
        solver = nlp.cold if fast is None else fast
        if fast is None and warm is not None and "lam_x" in warm:
            args.update(lam_x0=warm["lam_x"], lam_g0=warm["lam_g"])
            solver = nlp.warm
        try:
            res = solver(**args)
        except RuntimeError as exc:  # e.g. a numeric callback raised inside the solver
            raise ConstraintEvaluationError(f"solver failed: {exc}".splitlines()[0]) from exc
        try:
            stats = solver.stats()
        except RuntimeError:  # sqpmethod without a status (e.g. a failed QP)
            stats = {"success": False}
        self.iterations += int(stats.get("iter_count", 0))
        x = np.asarray(res["x"], float).reshape(-1)
        x[:nq] = np.clip(x[:nq], nlp.lbx[:nq], nlp.ubx[:nq])
        pose = np.asarray(nlp.pose_fn(as_column(x), self.params))
        values = self.evaluate(pose)
        feasible = max([0.0, *values.values()]) <= self.problem.tolerance
        if self.joint_space:
            p = pose[:3, 3]
            slack = 1e-6
            inside = np.all(p >= self.problem.workspace_lower - slack) and np.all(
                p <= self.problem.workspace_upper + slack)  # fmt: skip
            feasible = feasible and bool(inside)
        feasible = feasible and self.nlp.collision_free(x, self.params)
        logger.debug("start %s: cost %.6g, max violation %.3g, %s (%d it)", label,
                     float(res["f"]), max([0.0, *values.values()]), stats.get("return_status"),
                     stats.get("iter_count", 0))  # fmt: skip
        return _Run(label, x[:nq], pose, values, float(res["f"]), feasible,
                    res["lam_x"], res["lam_g"], bool(stats.get("success", True)))  # fmt: skip

    def solve_start(self, label: str, x0: FloatArray, warm: dict[str, Any] | None) -> _Run:
        """Warm start: the fast SQP from ``x0`` when it converges to a feasible answer, else
        IPOPT (every other start: IPOPT)."""
        fast = fast_solver(self.nlp) if label == "warm" else None
        if fast is not None:
            run = self.run(label, x0, None, fast)
            if run.converged and run.feasible:
                return run
            logger.debug("start %s: fast SQP not accepted, IPOPT again", label)
        return self.run(label, x0, warm)


def fast_solver(nlp: SubgoalNLP) -> ca.Function | None:
    """The cached fast ``sqpmethod`` solver of ``nlp`` (None: no fast path for it)."""
    if not nlp.exprs.all_exact or nlp.cold is nlp.warm:  # numeric callbacks / already SQP
        return None
    fast = _FAST.get(nlp.cold)
    if fast is None:
        fast = ca.nlpsol("subgoal_fast", "sqpmethod", nlp.cold.oracle(), FAST_SQP_OPTIONS)
        _FAST[nlp.cold] = fast
    return fast


def _seeds(ctx: _Context, count: int, rng_seed: int) -> list[FloatArray]:
    rng = np.random.default_rng(rng_seed)
    lo, hi = ctx.nlp.lbx[: ctx.nlp.num_q], ctx.nlp.ubx[: ctx.nlp.num_q]
    out = []
    for _ in range(count):
        if ctx.joint_space:
            x = ctx.current() + rng.normal(0.0, SEED_SIGMA_RAD, size=ctx.nlp.num_q)
        else:
            rv = rng.normal(size=3)
            rv *= rng.uniform(0.0, math.pi) / max(float(np.linalg.norm(rv)), 1e-9)
            x = np.concatenate([rng.uniform(lo[:3], hi[:3]), rv])
        out.append(np.clip(x, lo, hi))
    return out


def _warm_decision(ctx: _Context, warm_start: FloatArray | None) -> FloatArray | None:
    if warm_start is None:
        return None
    if not ctx.joint_space:
        return np.asarray(warm_start, float)
    pose = ctx.problem.decision_to_pose(warm_start)
    last = ctx.nlp.last
    if "x" in last and np.allclose(last["pose"], pose, atol=1e-6):
        return np.asarray(last["x"], float)
    seeds = [last["x"]] if "x" in last else [ctx.current()]
    q, _ = solve_ik(ctx.problem.robot, pose, seeds)
    return q


def solve_subgoal_casadi(
    problem: SubgoalProblem,
    /,
    *,
    warm_start: FloatArray | None = None,
    num_seeds: int = 4,
    rng_seed: int = 0,
    solver: str = DEFAULT_SOLVER,
) -> Solution:
    """Solve ``problem`` on CasADi (see the module docstring); never raises for bad input.

    Args:
        problem: the validated problem (with ``robot`` for joint space).
        warm_start: (6,) decision of ``problem`` (``solve_subgoal`` converts poses) or None.
        num_seeds: sampled starts on a cold solve (>= 0).
        rng_seed: seed of the sampled starts (solves are deterministic).
        solver: ``"ipopt"`` (default) or ``"sqpmethod"`` (qrqp).

    Returns:
        ``Solution(kind="subgoal", backend="casadi")``; ``traced`` / ``numeric`` name the
        constraints with exact / finite-difference derivatives.
    """
    t0 = time.perf_counter()
    names = tuple(name for name, _ in problem.constraints)
    try:
        ctx = _Context(problem, solver)
    except Exception as exc:  # untrusted constraints: never let a build failure escape
        logger.warning("casadi sub-goal: could not build the NLP: %s", exc)
        return _error(problem, f"could not build the NLP: {type(exc).__name__}: {exc}",
                      0, time.perf_counter() - t0, (), names)  # fmt: skip
    last = ctx.nlp.last
    starts: list[tuple[str, FloatArray, dict[str, Any] | None]] = []
    warm_x = _warm_decision(ctx, warm_start)
    if warm_x is not None:
        starts.append(("warm", warm_x, last if "x" in last and np.allclose(last["x"], warm_x)
                       else None))  # fmt: skip
    starts.append(("current", ctx.current(), None))
    if "x" in last and warm_x is None:
        starts.append(("last", np.asarray(last["x"], float), None))
    first = len(starts)
    runs: list[_Run] = []
    failures: list[ConstraintEvaluationError] = []
    i = 0
    while i < len(starts):
        label, x0, warm = starts[i]
        i += 1
        try:
            run = ctx.solve_start(label, x0, warm)
        except ConstraintEvaluationError as exc:
            logger.debug("start %s abandoned: %s", label, exc)
            failures.append(exc)
        else:
            runs.append(run)
            if label == "warm" and run.feasible:
                break
        if i == first:  # sampled seeds only when needed
            starts += [(f"seed{k}", x, None)
                       for k, x in enumerate(_seeds(ctx, num_seeds, rng_seed))]  # fmt: skip
    wall = time.perf_counter() - t0
    traced, numeric = ctx.nlp.exprs.traced, ctx.nlp.exprs.numeric
    if not runs:
        reason = f"{describe_failure(failures[0])} (all {len(starts)} starts failed)"
        return _error(problem, reason, ctx.iterations, wall, traced, numeric)
    feasible = [r for r in runs if r.feasible]
    best = (min(feasible, key=lambda r: r.cost) if feasible
            else min(runs, key=lambda r: (r.max_violation, r.cost)))  # fmt: skip
    last.update(x=best.x, pose=best.pose, lam_x=best.lam_x, lam_g=best.lam_g)
    reason = _reason(problem, best, len(starts))
    if failures:
        reason += (f" ({len(failures)} start(s) abandoned; first: "
                   f"{describe_failure(failures[0])})")  # fmt: skip
    return Solution(
        kind="subgoal", backend=BACKEND_NAME, feasible=best.feasible,
        status="solved" if best.feasible else "infeasible", reason=reason, pose=best.pose,
        joint_positions=best.x if ctx.joint_space else None, decision=best.x,
        violations=best.values, max_violation=best.max_violation, cost=best.cost,
        iterations=ctx.iterations, wall_time_s=time.perf_counter() - t0,
        traced=traced, numeric=numeric,
    )  # fmt: skip


def _reason(problem: SubgoalProblem, best: _Run, num_starts: int) -> str:
    tol = problem.tolerance
    if best.feasible:
        return (f"all {len(best.values)} constraints within tolerance {tol:g} "
                f"(start '{best.label}' of {num_starts})")  # fmt: skip
    bad = sorted(((v, k) for k, v in best.values.items() if v > tol), reverse=True)
    listed = ", ".join(f"{k}={v:.4g}" for v, k in bad) or "the TCP workspace box"
    return (f"no start satisfied every constraint within tolerance {tol:g}; violated: {listed}. "
            "The least-violating answer is returned: do not execute it blindly")  # fmt: skip


def _error(problem: SubgoalProblem, reason: str, iterations: int, wall: float,
           traced: tuple[str, ...], numeric: tuple[str, ...]) -> Solution:  # fmt: skip
    names = tuple(name for name, _ in problem.constraints)
    return Solution(
        kind="subgoal", backend=BACKEND_NAME, feasible=False, status="error", reason=reason,
        pose=problem.T_world_tcp, decision=problem.current_decision(),
        violations=dict.fromkeys(names, math.nan), max_violation=math.nan, cost=math.nan,
        iterations=iterations, wall_time_s=wall, traced=traced, numeric=numeric,
    )  # fmt: skip


def make_casadi_backend(solver: str = DEFAULT_SOLVER) -> Any:
    """A ``SubgoalBackend`` using the NLP solver ``solver`` (``"ipopt"``/``"sqpmethod"``)."""

    def backend(problem: SubgoalProblem, /, *, warm_start: FloatArray | None,
                num_seeds: int, rng_seed: int) -> Solution:  # fmt: skip
        return solve_subgoal_casadi(problem, warm_start=warm_start, num_seeds=num_seeds,
                                    rng_seed=rng_seed, solver=solver)  # fmt: skip

    return backend
