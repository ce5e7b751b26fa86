"""Bimanual path: current -> goal configuration of both arms through a few control configurations.

The path is piecewise linear in joint space (both arms, ``x = [q_left, q_right]``) through
``num_controls`` free control configurations, each segment sampled ``S = ceil((samples - 1)
/ (num_controls + 1))`` times (``N = S (num_controls + 1) + 1`` samples with both ends).

NLP (built once per structure and cached): decision the control configurations, within the
joint limits. Objective ``LENGTH sum |dx|^2 + SMOOTHNESS sum |second difference|^2 +
CONSTRAINT_WEIGHT sum max(0, g)^2`` over the path constraints at every interior sample
(held keypoints carried by their hands as in the sub-goal problem) ``+ GRIP`` drift of a
two-handed grip. Hard rows: each segment's joint step ``|dx| <= v_max * duration / (M + 1)``
(so the uniform time parameterization below respects the joint velocity limits), and at
every interior sample the soft minimum of the arm-arm pair clearances
(:func:`solvers.bimanual_exprs.softmin`, at most ``log(P) / SOFTMIN_SHARPNESS`` below the
true minimum, conservative) ``>= min(min_arm_distance_m, start and goal clearance - gap)``
(a path may not get closer than its ends already are). IPOPT's Hessian leaves the
clearance rows' curvature out (:data:`HESSIAN`).

Time parameterization: ``duration = max(MIN_DURATION_S, VELOCITY_MARGIN * max_j |q_goal -
q_start|_j / v_max_j)``; samples evenly spaced in time within each segment.

The answer is judged numerically: path constraints at every sample (exact values),
arm-arm clearance over *all* sphere pairs at every sample but the start, joint velocities,
and the goal's own feasibility.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import OrderedDict
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConstraintEvaluationError
from solvers.bimanual_exprs import (
    arm_clearance,
    arm_pairs,
    build_bimanual_exprs,
    end_effector_expr,
    moved_keypoints_expr,
    pair_clearance_expr,
    pair_radii,
    softmin,
)
from solvers.bimanual_nlp import GRIP, GRIP_ROT_SCALE, WEIGHTS
from solvers.bimanual_problem import BimanualPath, BimanualProblem, BimanualSolution, relative_pose
from solvers.casadi_exprs import ConstraintExprs, _unwrap_bound, as_column
from solvers.constraint_set import describe_failure, evaluate_constraints

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

LENGTH = 1.0
SMOOTHNESS = 1.0
CONSTRAINT_WEIGHT = WEIGHTS.constraint
SOFTMIN_SHARPNESS = 300.0
"""Per metre; gap ``log(676) / 300`` = 2.2 cm for the Panda pairs."""
SOFTMIN_CAP_M = 0.3
"""Pair clearances are capped here before the soft minimum (no underflow far apart)."""
CLEARANCE_TOL_M = 1e-3
MIN_DURATION_S = 0.5
VELOCITY_MARGIN = 1.5
IPOPT = {"print_level": 0, "sb": "yes", "tol": 1e-6, "acceptable_tol": 1e-4,
         "max_iter": 200, "mu_strategy": "adaptive"}  # fmt: skip
HESSIAN = "objective"
"""IPOPT Hessian of the path NLP: ``"objective"`` (exact Hessian of the objective, the
clearance rows' curvature left out), ``"exact"`` or ``"limited-memory"``. Measured on a
two-arm reach (21 samples, 676 pairs): exact 5 iterations, 128 ms per Hessian, build 1.9 s,
solve 0.8 s; objective 5 iterations, 1.5 ms per Hessian, build 0.4 s, solve 0.16 s;
limited-memory stopped at 200 iterations (6 s)."""
CACHE_SIZE = 16
_CACHE: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()


def _segments(num_controls: int, samples: int) -> tuple[int, int]:
    M = max(1, int(num_controls))
    return M, max(1, math.ceil((max(2, int(samples)) - 1) / (M + 1)))


def _build(problem: BimanualProblem, M: int, S: int) -> dict[str, Any]:
    K, n = problem.keypoints.shape[0], problem.dof
    cons = problem.path_constraints
    exprs = build_bimanual_exprs(cons, K, problem.any_held)
    dim = 2 * n
    X = ca.MX.sym("controls", dim, M)
    kp_flat = ca.MX.sym("kps", 3 * K)
    now_v = ca.MX.sym("now", 24)
    rel_v = ca.MX.sym("rel", 12)
    x0, xg, step, bound = (ca.MX.sym(s, d) for s, d in
                           (("x0", dim), ("xg", dim), ("step", dim), ("bound", 1)))  # fmt: skip
    params = ca.vertcat(kp_flat, now_v, rel_v, x0, xg, step, bound)
    nodes = [x0] + [X[:, j] for j in range(M)] + [xg]
    cost: Any = 0
    g: list[Any] = []
    samples: list[Any] = []
    for a, b in itertools.pairwise(nodes):
        cost = cost + LENGTH * ca.sumsqr(b - a)
        g.append(b - a)
        samples += [a + t * (b - a) for t in np.linspace(0.0, 1.0, S, endpoint=False)]
    samples.append(xg)
    for j in range(1, len(nodes) - 1):
        cost = cost + SMOOTHNESS * ca.sumsqr(nodes[j + 1] - 2 * nodes[j] + nodes[j - 1])
    penalty_fn, clear_fn, num_pairs = _sample_functions(problem, exprs)
    inner = ca.horzcat(*samples[1:-1])
    Ni = int(inner.shape[1])
    penalty = penalty_fn.map(Ni)(inner, ca.repmat(kp_flat, 1, Ni), ca.repmat(now_v, 1, Ni),
                                 ca.repmat(rel_v, 1, Ni))  # fmt: skip
    cost = cost + ca.sum2(penalty)
    clear = [(clear_fn.map(Ni)(inner) - bound).T]
    opts: dict[str, Any] = {"print_time": False, "error_on_fail": False, "ipopt": dict(IPOPT)}
    x_all = ca.vec(X)
    if not exprs.all_exact or HESSIAN == "limited-memory":
        opts["ipopt"]["hessian_approximation"] = "limited-memory"
    elif HESSIAN == "objective":
        num_g = sum(int(r.shape[0]) for r in g + clear)
        lam_f, lam_g = ca.MX.sym("lam_f"), ca.MX.sym("lam_g", num_g)
        H = ca.triu(ca.hessian(lam_f * cost, x_all)[0])
        opts["hess_lag"] = ca.Function("nlp_hess_l", [x_all, params, lam_f, lam_g], [H],
                                       ["x", "p", "lam_f", "lam_g"], ["triu_hess_gamma_x_x"])
    nlp = {"x": x_all, "p": params, "f": cost, "g": ca.vertcat(*g, *clear)}
    solver = ca.nlpsol("bimanual_path", "ipopt", nlp, opts)
    samples_fn = ca.Function("bimanual_path_samples", [ca.vec(X), params],
                             [ca.horzcat(*samples)])  # fmt: skip
    logger.debug("built bimanual path NLP: %d controls x %d, %d samples, %d pairs",
                 M, dim, len(samples), num_pairs)  # fmt: skip
    return {"solver": solver, "samples_fn": samples_fn, "exprs": exprs,
            "num_clear": len(samples) - 2, "gap": math.log(max(num_pairs, 1)) / SOFTMIN_SHARPNESS,
            "refs": (problem.robots, tuple(fn for _, fn in cons))}


def _sample_functions(problem: BimanualProblem, exprs: ConstraintExprs
                      ) -> tuple[ca.Function, ca.Function, int]:  # fmt: skip
    """At one sample: ``(x (2 dof,), kps (3K,), now (24,), rel (12,)) -> penalty`` (path
    constraints and grip drift) and ``x -> soft minimum of the arm pairs' clearances``
    (metres). Expanded to SX when every constraint is traced."""
    K, n = problem.keypoints.shape[0], problem.dof
    left, right = problem.robots
    x, kp_flat = ca.MX.sym("x", 2 * n), ca.MX.sym("kps", 3 * K)
    now_v, rel_v = ca.MX.sym("now", 24), ca.MX.sym("rel", 12)
    now = [(ca.reshape(now_v[12 * a + 3:12 * a + 12], 3, 3), now_v[12 * a:12 * a + 3])
           for a in range(2)]  # fmt: skip
    qs = (x[:n], x[n:])
    new = []
    for arm, robot in enumerate(problem.robots):
        T = robot.fk_casadi(qs[arm])
        new.append((T[:3, :3], T[:3, 3]))
    penalty: Any = ca.MX(0.0)
    if exprs.names:
        kps = ca.reshape(kp_flat, 3, K).T
        moved = moved_keypoints_expr(kps, problem.left_held, problem.right_held, now, new)
        vals = ca.vertcat(*exprs.evaluate(end_effector_expr(new[0][1], new[1][1]), moved))
        penalty = penalty + CONSTRAINT_WEIGHT * ca.sumsqr(ca.fmax(vals, 0.0))
    if problem.shared_grip:
        R_rel = ca.mtimes(new[0][0].T, new[1][0])
        p_rel = ca.mtimes(new[0][0].T, new[1][1] - new[0][1])
        penalty = penalty + GRIP * (ca.sumsqr(p_rel - rel_v[:3])
                                    + GRIP_ROT_SCALE**2 * ca.sumsqr(ca.vec(R_rel) - rel_v[3:]))
    pairs = arm_pairs(left, right)
    c = pair_clearance_expr(left.sphere_centers_casadi(qs[0]), right.sphere_centers_casadi(qs[1]),
                            pair_radii(left, right, pairs), pairs)  # fmt: skip
    soft = softmin(c, SOFTMIN_SHARPNESS, SOFTMIN_CAP_M)
    fn = ca.Function("bimanual_path_penalty", [x, kp_flat, now_v, rel_v], [penalty])
    clear_fn = ca.Function("bimanual_path_clearance", [x], [soft]).expand()
    return (fn.expand() if exprs.all_exact else fn), clear_fn, len(pairs[0])


def _get(problem: BimanualProblem, M: int, S: int) -> dict[str, Any]:
    held = problem.any_held
    key = (id(problem.robots[0]), id(problem.robots[1]), problem.keypoints.shape[0],
           problem.left_held, problem.right_held, problem.shared_grip, M, S,
           tuple((nm, id(_unwrap_bound(f, held)[0]), _unwrap_bound(f, held)[1])
                 for nm, f in problem.path_constraints))  # fmt: skip
    built = _CACHE.get(key)
    if built is None:
        built = _CACHE[key] = _build(problem, M, S)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return built


def _stay(problem: BimanualProblem, reason: str, t0: float) -> BimanualPath:
    names = [n for n, _ in problem.path_constraints]
    return BimanualPath(False, reason, problem.q_current[None], problem.T_world_tcp[None],
                        np.zeros(1), time.perf_counter() - t0,
                        dict.fromkeys(names, math.nan))  # fmt: skip


def plan_bimanual_path(
    problem: BimanualProblem,
    goal: BimanualSolution,
    *,
    num_controls: int = 3,
    samples: int = 20,
    warm_start: BimanualPath | None = None,
) -> BimanualPath:
    """Plan both arms from ``problem.q_current`` to ``goal.q`` (see the module docstring).

    Never raises for bad constraint functions: the answer is then a one-sample path at the
    current configuration with ``feasible=False`` and the reason.

    Args:
        problem: the stage problem (its path constraints, keypoints, holds, arms).
        goal: the sub-goal answer; its ``q`` (2, dof) is the path's last sample.
        num_controls: free control configurations (>= 1).
        samples: at least this many samples in all (see the module docstring).
        warm_start: the previous tick's path with the same sampling: its control samples
            seed the controls.
    """
    t0 = time.perf_counter()
    n = problem.dof
    q_goal = np.asarray(goal.q, dtype=float)
    if goal.status == "error" or q_goal.shape != (2, n) or not np.all(np.isfinite(q_goal)):
        return _stay(problem, f"no path: the goal is unusable ({goal.status}: {goal.reason})", t0)
    M, S = _segments(num_controls, samples)
    x0, xg = problem.q_current.reshape(-1), q_goal.reshape(-1)
    vel = np.concatenate([r.velocity_limits for r in problem.robots])
    duration = max(MIN_DURATION_S, VELOCITY_MARGIN * float(np.max(np.abs(xg - x0) / vel)))
    step = vel * duration / (M + 1)
    left, right = problem.robots
    ends = min(arm_clearance(left, right, x0.reshape(2, n)), arm_clearance(left, right, q_goal))
    try:
        built = _get(problem, M, S)
    except Exception as exc:
        return _stay(problem, f"could not build the path NLP: {type(exc).__name__}: {exc}", t0)
    target = min(problem.min_arm_distance_m, ends)
    T = problem.T_world_tcp
    rel = relative_pose(T)
    now = np.concatenate([np.concatenate([T[a, :3, 3], T[a, :3, :3].reshape(-1, order="F")])
                          for a in range(2)])  # fmt: skip
    params = as_column(np.concatenate([
        problem.keypoints.reshape(-1), now, rel[:3, 3], rel[:3, :3].reshape(-1, order="F"),
        x0, xg, step, [target - built["gap"] - CLEARANCE_TOL_M]]))  # fmt: skip
    frac = np.linspace(0.0, 1.0, M + 2)[1:-1]
    init = x0[:, None] + (xg - x0)[:, None] * frac[None, :]
    if warm_start is not None and warm_start.q.shape == (S * (M + 1) + 1, 2, n):
        init = warm_start.q[S * np.arange(1, M + 1)].reshape(M, 2 * n).T
    lbx = np.tile(np.concatenate([left.lower, right.lower]), M)
    ubx = np.tile(np.concatenate([left.upper, right.upper]), M)
    nc = built["num_clear"]
    lbg = np.concatenate([-np.tile(step, M + 1), np.zeros(nc)])
    ubg = np.concatenate([np.tile(step, M + 1), np.full(nc, np.inf)])
    try:
        res = built["solver"](x0=as_column(np.clip(init.reshape(-1, order="F"), lbx, ubx)),
                              p=params, lbx=as_column(lbx), ubx=as_column(ubx),
                              lbg=as_column(lbg), ubg=as_column(ubg))  # fmt: skip
        x = np.clip(np.asarray(res["x"], float).reshape(-1), lbx, ubx)
        configs = np.asarray(built["samples_fn"](as_column(x), params)).T.reshape(-1, 2, n)
        poses = np.stack([problem.fk(q) for q in configs])
        worst = {nm: -math.inf for nm, _ in problem.path_constraints}
        for P in poses:
            vals = evaluate_constraints(problem.path_constraints, P[:, :3, 3].copy(),
                                        problem.keypoints_at(P))  # fmt: skip
            for nm, v in vals.items():
                worst[nm] = max(worst[nm], v)
    except ConstraintEvaluationError as exc:
        return _stay(problem, describe_failure(exc), t0)
    except RuntimeError as exc:
        return _stay(problem, f"path solver failed: {exc}".splitlines()[0], t0)
    times = np.concatenate([np.arange(S * (M + 1)) * duration / (S * (M + 1)), [duration]])
    clearance = min(arm_clearance(left, right, q) for q in configs[1:])
    speed = np.max(np.abs(np.diff(configs.reshape(len(configs), -1), axis=0))
                   / np.diff(times)[:, None] / vel)  # fmt: skip
    problems = []
    bad = [f"{nm}={v:.4g}" for nm, v in worst.items() if v > problem.tolerance]
    if bad:
        problems.append(f"path constraint(s) exceed tolerance {problem.tolerance:g}: "
                        f"{', '.join(bad)}")  # fmt: skip
    if clearance < target - CLEARANCE_TOL_M:
        problems.append(f"arms come {clearance:.3f} m close (need {target:.3f} m)")
    if speed > 1.0 + 1e-3:
        problems.append(f"joint velocity {speed:.2f}x its limit")
    if not goal.feasible:
        problems.append(f"the goal itself is infeasible ({goal.reason})")
    ok = not problems
    reason = (f"{len(worst)} path constraint(s) within tolerance on {len(configs)} samples, "
              f"arms >= {clearance:.3f} m apart, {duration:.2f} s within joint velocity limits"
              if ok else "; ".join(problems))  # fmt: skip
    return BimanualPath(ok, reason, configs, poses, times, time.perf_counter() - t0,
                        {k: v for k, v in worst.items()}, clearance)  # fmt: skip
