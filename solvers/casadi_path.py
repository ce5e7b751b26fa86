"""The ``casadi`` path backend: a few control configurations, exact derivatives.

The path runs start -> ``num_controls`` free control configurations -> goal, piecewise
linear in joint space (with a robot) or in ``[p, r]`` (SE(3), ``r`` the rotation vector
relative to the start orientation, without one), sampled ``samples_per_segment`` times per
segment. Objective: ``LENGTH |dx|^2`` summed over segments (squared length, smooth) +
``SMOOTHNESS |x_{j+1} - 2 x_j + x_{j-1}|^2`` + ``CONSTRAINT_WEIGHT max(0, g)^2`` of every
path constraint at every dense sample (held keypoints move rigidly with the hand). With a
robot, each segment's joint step is bounded by ``velocity_limit * duration / segments``
(a time-parameterized trajectory of ``duration`` seconds) and joints stay within limits.

The NLP is built once per structure and cached; a warm start (the previous tick's path
``Solution``) seeds the controls.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConstraintEvaluationError, SolverError
from rekep.poses import as_pose, rotvec_from_matrix
from solvers.casadi_exprs import (
    ConstraintExprs,
    _unwrap_bound,
    as_column,
    build_constraint_exprs,
    held_keypoints_expr,
    rodrigues,
)
from solvers.constraint_set import (
    ConstraintsLike,
    describe_failure,
    evaluate_constraints,
    normalize_constraints,
)
from solvers.forward_model import HeldKeypointModel, as_held_mask, as_keypoints
from solvers.solution import Solution

FloatArray = NDArray[np.float64]
BACKEND_NAME = "casadi"
LENGTH = 1.0
SMOOTHNESS = 1.0
CONSTRAINT_WEIGHT = 1e4
MIN_DURATION_S = 0.5
"""Shortest trajectory duration, seconds (longer when the velocity limits need it)."""
VELOCITY_MARGIN = 1.5
"""Duration = VELOCITY_MARGIN x the least time the joint velocity limits allow."""
IPOPT = {"print_level": 0, "sb": "yes", "tol": 1e-6, "acceptable_tol": 1e-4,
         "max_iter": 200, "mu_strategy": "adaptive"}  # fmt: skip
_CACHE: OrderedDict[tuple[Any, ...], _PathNLP] = OrderedDict()
logger = logging.getLogger(__name__)


@dataclass
class _PathNLP:
    dim: int
    num_controls: int
    exprs: ConstraintExprs
    solver: ca.Function
    samples_fn: ca.Function  # (controls, p) -> (configs (dim, N), poses list)
    g: int
    refs: Any


def _build(robot: Any, constraints: tuple, K: int, held: tuple[int, ...], M: int, S: int,
           exact_only: bool = False) -> _PathNLP:  # fmt: skip
    exprs = build_constraint_exprs(constraints, K, held)
    dim = robot.dof if robot is not None else 6
    X = ca.MX.sym("controls", dim, M)
    kp_flat, p_now, R_now_v = ca.MX.sym("kps", 3 * K), ca.MX.sym("p_now", 3), ca.MX.sym("R", 9)
    x_start, x_goal, step = ca.MX.sym("x0", dim), ca.MX.sym("xg", dim), ca.MX.sym("step", dim)
    params = ca.vertcat(kp_flat, p_now, R_now_v, x_start, x_goal, step)
    kps, R_now = ca.reshape(kp_flat, 3, K).T, ca.reshape(R_now_v, 3, 3)
    nodes = [x_start] + [X[:, j] for j in range(M)] + [x_goal]
    cost: Any = 0
    g: list[Any] = []
    samples: list[Any] = []
    poses: list[Any] = []
    for a, b in itertools.pairwise(nodes):
        cost = cost + LENGTH * ca.sumsqr(b - a)
        g.append(b - a)
        for t in np.linspace(0.0, 1.0, S, endpoint=False):
            samples.append(a + t * (b - a))
    samples.append(x_goal)
    for j in range(1, len(nodes) - 1):
        cost = cost + SMOOTHNESS * ca.sumsqr(nodes[j + 1] - 2 * nodes[j] + nodes[j - 1])
    for x in samples:
        if robot is not None:
            T = robot.fk_casadi(x)
            R, p = T[:3, :3], T[:3, 3]
        else:
            p, R = x[:3], ca.mtimes(rodrigues(x[3:]), R_now)
            T = ca.vertcat(ca.horzcat(R, p), ca.DM([[0, 0, 0, 1]]))
        poses.append(ca.vec(T))
        if exprs.names:
            moved = held_keypoints_expr(kps, held, R_now, p_now, R, p)
            vals = ca.vertcat(*exprs.evaluate(p, moved))
            cost = cost + CONSTRAINT_WEIGHT * ca.sumsqr(ca.fmax(vals, 0.0))
    opts: dict[str, Any] = {"print_time": False, "expand": exprs.all_exact,
                            "error_on_fail": False, "ipopt": dict(IPOPT)}  # fmt: skip
    if not exprs.all_exact:
        opts["ipopt"]["hessian_approximation"] = "limited-memory"
    nlp = {"x": ca.vec(X), "p": params, "f": cost, "g": ca.vertcat(*g)}
    solver = ca.nlpsol("path", "ipopt", nlp, opts)  # type: ignore[arg-type]
    samples_fn = ca.Function("path_samples", [ca.vec(X), params],
                             [ca.horzcat(*samples), ca.horzcat(*poses)])  # fmt: skip
    return _PathNLP(dim, M, exprs, solver, samples_fn, len(g) * dim, constraints)


def _get(robot: Any, constraints: tuple, K: int, held: tuple[int, ...], M: int,
         S: int) -> _PathNLP:  # fmt: skip
    key = (id(robot), K, held, M, S,
           tuple((n, id(_unwrap_bound(f, held)[0])) for n, f in constraints))  # fmt: skip
    nlp = _CACHE.get(key)
    if nlp is None:
        nlp = _CACHE[key] = _build(robot, constraints, K, held, M, S)
        while len(_CACHE) > 32:
            _CACHE.popitem(last=False)
    return nlp


def plan_path_casadi(
    T_start: ArrayLike,
    T_goal: ArrayLike,
    *,
    path_constraints: ConstraintsLike = (),
    keypoints: ArrayLike | None = None,
    held_mask: ArrayLike | None = None,
    tolerance: float = 0.01,
    robot: Any = None,
    q_start: ArrayLike | None = None,
    q_goal: ArrayLike | None = None,
    warm_start: Solution | ArrayLike | None = None,
    num_controls: int = 3,
    samples_per_segment: int = 5,
) -> Solution:
    """Plan a path from ``T_start`` to ``T_goal`` (4, 4) on CasADi; never raises for
    constraint failures (``status="error"`` with the reason).

    Args:
        T_start, T_goal: TCP poses; keypoints are observed at ``T_start``.
        path_constraints: ``f(end_effector (3,), keypoints (K, 3)) -> float`` (<= tol holds).
        keypoints: (K, 3) world metres; held_mask: (K,) keypoints moving with the hand.
        tolerance: a constraint holds when its worst sample value is <= tolerance.
        robot: a :class:`solvers.kinematics.RobotModel` for joint space (needs ``q_start``
            and ``q_goal``, (dof,) radians); None: SE(3) control poses.
        warm_start: the previous tick's path ``Solution`` (or its ``decision``).
        num_controls: free control configurations between start and goal (>= 1).
        samples_per_segment: dense samples per segment (>= 1).

    Returns:
        ``Solution(kind="path", backend="casadi")``: ``trajectory`` (N, 4, 4) from start to
        goal, ``joint_positions`` (N, dof) with a robot, ``decision`` the controls
        flattened, ``cost`` the objective, ``violations`` the worst value per constraint.
    """
    t0 = time.perf_counter()
    A, B = as_pose(T_start, "T_start"), as_pose(T_goal, "T_goal")
    cons = normalize_constraints(path_constraints, "path_constraint")
    if cons and keypoints is None:
        raise SolverError("path constraints need keypoints: pass keypoints=(K, 3) positions")
    kps = as_keypoints(np.zeros((0, 3)) if keypoints is None else keypoints)
    held = tuple(int(i) for i in np.flatnonzero(as_held_mask(held_mask, kps.shape[0])))
    if num_controls < 1 or samples_per_segment < 1:
        raise SolverError("num_controls and samples_per_segment must be >= 1")
    if robot is not None:
        if q_start is None or q_goal is None:
            raise SolverError("a joint-space path needs q_start and q_goal (dof,) radians")
        x0, xg = np.asarray(q_start, float).reshape(-1), np.asarray(q_goal, float).reshape(-1)
        duration = max(MIN_DURATION_S, VELOCITY_MARGIN * float(
            np.max(np.abs(xg - x0) / robot.velocity_limits)))  # fmt: skip
        step = robot.velocity_limits * duration / (num_controls + 1)
    else:
        x0 = np.concatenate([A[:3, 3], np.zeros(3)])
        xg = np.concatenate([B[:3, 3], rotvec_from_matrix(B[:3, :3] @ A[:3, :3].T)])
        duration, step = math.nan, np.full(6, np.inf)
    names = tuple(n for n, _ in cons)
    try:
        nlp = _get(robot, cons, kps.shape[0], held, num_controls, samples_per_segment)
    except Exception as exc:
        return _error(A, names, f"could not build the path NLP: {exc}", t0, (), names)
    R_col = A[:3, :3].reshape(-1, order="F")
    params = as_column(np.concatenate([kps.reshape(-1), A[:3, 3], R_col, x0, xg, step]))
    frac = np.linspace(0.0, 1.0, num_controls + 2)[1:-1]
    init = x0[:, None] + (xg - x0)[:, None] * frac[None, :]
    warm = warm_start.decision if isinstance(warm_start, Solution) else warm_start
    if warm is not None and np.size(warm) == init.size and np.all(np.isfinite(warm)):
        init = np.asarray(warm, float).reshape(init.shape, order="F")
    lbx = np.tile(robot.lower, num_controls) if robot is not None else -np.inf
    ubx = np.tile(robot.upper, num_controls) if robot is not None else np.inf
    try:
        res = nlp.solver(x0=as_column(init.reshape(-1, order="F")), p=params,
                         lbx=lbx, ubx=ubx, lbg=as_column(-np.tile(step, num_controls + 1)),
                         ubg=as_column(np.tile(step, num_controls + 1)))  # fmt: skip
        x = np.asarray(res["x"], float).reshape(-1)
        configs, poses = (np.asarray(v) for v in nlp.samples_fn(as_column(x), params))
        traj = poses.T.reshape(-1, 4, 4).transpose(0, 2, 1)
        model = HeldKeypointModel(kps, as_held_mask(held_mask, kps.shape[0]), A)
        worst = dict.fromkeys(names, -math.inf)
        for T in traj:
            for n, v in evaluate_constraints(cons, T[:3, 3].copy(), model.at_pose(T)).items():
                worst[n] = max(worst[n], v)
    except ConstraintEvaluationError as exc:
        return _error(A, names, describe_failure(exc), t0, nlp.exprs.traced, nlp.exprs.numeric)
    except RuntimeError as exc:
        return _error(A, names, f"path solver failed: {exc}", t0, nlp.exprs.traced,
                      nlp.exprs.numeric)  # fmt: skip
    mv = max([0.0, *worst.values()])
    ok = mv <= tolerance
    bad = ", ".join(f"{n}={v:.4g}" for n, v in worst.items() if v > tolerance)
    reason = (f"{len(names)} path constraint(s) within tolerance {tolerance:g} on {len(traj)} "
              f"samples" if ok else f"path constraint(s) exceed tolerance {tolerance:g}: {bad}")
    if robot is not None:
        reason += f"; duration {duration:.2f} s within joint velocity limits"
    return Solution(
        kind="path", backend=BACKEND_NAME, feasible=ok, status="solved" if ok else "infeasible",
        reason=reason, pose=traj[-1], trajectory=traj,
        joint_positions=configs.T if robot is not None else None, decision=x,
        violations=worst, max_violation=mv, cost=float(res["f"]),
        iterations=int(nlp.solver.stats().get("iter_count", 0)),
        wall_time_s=time.perf_counter() - t0, traced=nlp.exprs.traced, numeric=nlp.exprs.numeric,
    )  # fmt: skip


def _error(A: FloatArray, names: tuple[str, ...], reason: str, t0: float,
           traced: tuple[str, ...], numeric: tuple[str, ...]) -> Solution:  # fmt: skip
    return Solution(
        kind="path", backend=BACKEND_NAME, feasible=False, status="error", reason=reason,
        pose=A, trajectory=A[None], violations=dict.fromkeys(names, math.nan),
        max_violation=math.nan, wall_time_s=time.perf_counter() - t0, traced=traced,
        numeric=numeric,
    )  # fmt: skip
