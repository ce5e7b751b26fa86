"""The ``casadi`` path backend: a few control configurations, exact derivatives.

The path runs start -> ``num_controls`` free control configurations -> goal, piecewise
linear in joint space (with a robot) or in ``[p, r]`` (SE(3), ``r`` the rotation vector
relative to the start orientation, without one), sampled ``samples_per_segment`` times per
segment. Objective: ``LENGTH |dx|^2`` summed over segments (squared length, smooth) +
``SMOOTHNESS |x_{j+1} - 2 x_j + x_{j-1}|^2`` + ``CONSTRAINT_WEIGHT max(0, g)^2`` of every
path constraint at every dense sample (held keypoints move rigidly with the hand). With a
robot, each segment's joint step is bounded by ``velocity_limit * duration / segments``
(a time-parameterized trajectory of ``duration`` seconds) and joints stay within limits.

Collision (``obstacle_points`` given and not empty; see :mod:`solvers.collision`): at every
dense sample, hard clearance of the arm/hand spheres (joint space) or of the hand spheres
(SE(3)) and the soft hinge ``COLLISION_WEIGHT max(0, COLLISION_MARGIN_M - clearance)^2``
(held keypoints included, soft only; the start sample, where the robot already is, is
not constrained nor judged, and a start closer than the hard clearance lowers the bound
to its own clearance: the path may not get closer than where it starts). The cloud is
read through a local model, the cloud point nearest to each sphere centre passed as NLP
parameters (:func:`solvers.collision.local_clearance`), and the NLP is re-solved from its
answer with a fresh model until the true field clears every sphere (at most
MAX_LINEARIZATIONS solves). Each interior sample has one hard row, the soft minimum of its
sphere clearances. Measured on 21 samples x 41 spheres: reading the ESDF interpolant
inside the NLP cost 17 ms per constraint Jacobian and 47 ms per Hessian (derivatives
through CasADi call nodes; 780 ms per solve), one row per sphere about 10 ms of IPOPT
linear algebra per iteration; this form about 60 ms per solve on the wall test. The path
NLP does not depend on the cloud (built once per structure with collision on or off, but
that build takes about 2 s: 21 copies of the arm's sphere kinematics). The returned
``feasible`` also needs every sample clear by the true field (``reason`` says which
sample is not).

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
from solvers.collision import (
    HELD_POINT_RADIUS_M,
    LOCAL_SIZE,
    hard_clearance,
    local_clearance,
    local_model,
    numeric_clearance,
    numeric_tcp_clearance,
    robot_sphere_centres,
    tcp_sphere_centres,
)
from solvers.constraint_set import (
    ConstraintsLike,
    describe_failure,
    evaluate_constraints,
    normalize_constraints,
)
from solvers.esdf import Esdf
from solvers.forward_model import HeldKeypointModel, as_held_mask, as_keypoints
from solvers.solution import Solution
from solvers.subgoal_problem import as_esdf

FloatArray = NDArray[np.float64]
BACKEND_NAME = "casadi"
LENGTH = 1.0
SMOOTHNESS = 1.0
CONSTRAINT_WEIGHT = 1e4
COLLISION_WEIGHT = 100.0
"""Soft collision hinge per m^2 of clearance below COLLISION_MARGIN_M, at each sample."""
COLLISION_MARGIN_M = 0.04
COLLISION_TOL_M = 1e-3
MAX_LINEARIZATIONS = 4
SOFTMIN_SHARPNESS = 300.0
"""Per metre. Each interior sample has one hard constraint, the soft minimum of its sphere
clearances, ``-log(sum exp(-k c_i)) / k`` (at most ``log(n) / k``, 1.2 cm for 41 spheres,
below the true minimum: conservative). One row per sphere (19 x 41) made IPOPT's linear
algebra cost about 10 ms per iteration."""
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
    num_clearances: int = 0
    num_points: int = 0
    """Collision points per path (hard spheres first, then held keypoints); 0: none."""
    radii: Any = None
    spheres_per_sample: int = 0


def _build(robot: Any, constraints: tuple, K: int, held: tuple[int, ...], M: int, S: int,
           collision: bool = False) -> _PathNLP:  # fmt: skip
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
    hard: list[Any] = []
    soft: list[Any] = []
    hard_r: list[FloatArray] = []
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
        moved = held_keypoints_expr(kps, held, R_now, p_now, R, p) if K else kps
        if collision:
            centres, radii = robot_sphere_centres(robot, x) if robot is not None else \
                tcp_sphere_centres(R, p)  # fmt: skip
            hard.append(centres)
            hard_r.append(radii)
            soft += [moved[i, :].T for i in held]
        if exprs.names:
            vals = ca.vertcat(*exprs.evaluate(p, moved))
            cost = cost + CONSTRAINT_WEIGHT * ca.sumsqr(ca.fmax(vals, 0.0))
    points = ca.horzcat(*hard, *soft) if collision else ca.MX(3, 0)
    n_hard = sum(int(c.shape[1]) for c in hard)
    radii = np.concatenate([*hard_r, np.full(len(soft), HELD_POINT_RADIUS_M)]) if collision \
        else np.zeros(0)  # fmt: skip
    lin = ca.MX.sym("local_model", LOCAL_SIZE * int(points.shape[1]))
    clear: Any = ca.MX(0, 1)
    if collision:
        clearance = local_clearance(points, radii, lin)
        per = n_hard // len(hard)  # spheres per sample; the fixed start and goal left out
        clear = ca.vertcat(*[softmin(clearance[j * per:(j + 1) * per], SOFTMIN_SHARPNESS)
                             for j in range(1, len(hard) - 1)])  # fmt: skip
        cost = cost + COLLISION_WEIGHT * ca.sumsqr(ca.fmax(COLLISION_MARGIN_M - clearance, 0.0))
    params = ca.vertcat(params, lin)
    opts: dict[str, Any] = {"print_time": False, "expand": exprs.all_exact,
                            "error_on_fail": False, "ipopt": dict(IPOPT)}  # fmt: skip
    if not exprs.all_exact:
        opts["ipopt"]["hessian_approximation"] = "limited-memory"
    nlp = {"x": ca.vec(X), "p": params, "f": cost, "g": ca.vertcat(*g, clear)}
    solver = ca.nlpsol("path", "ipopt", nlp, opts)  # type: ignore[arg-type]
    samples_fn = ca.Function("path_samples", [ca.vec(X), params],
                             [ca.horzcat(*samples), ca.horzcat(*poses), points])  # fmt: skip
    return _PathNLP(dim, M, exprs, solver, samples_fn, len(g) * dim, constraints,
                    int(clear.shape[0]), int(points.shape[1]), radii,
                    n_hard // len(hard) if hard else 0)  # fmt: skip


def _get(robot: Any, constraints: tuple, K: int, held: tuple[int, ...], M: int,
         S: int, collision: bool = False) -> _PathNLP:  # fmt: skip
    key = (id(robot), K, held, M, S,
           tuple((n, id(_unwrap_bound(f, held)[0])) for n, f in constraints), collision)
    nlp = _CACHE.get(key)
    if nlp is None:
        nlp = _CACHE[key] = _build(robot, constraints, K, held, M, S, collision)
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
    obstacle_points: Esdf | ArrayLike | None = None,
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
        obstacle_points: (N, 3) obstacle cloud in world metres (everything but the grasped
            and held objects and the table, see :func:`solvers.collision.obstacle_cloud`)
            or an :class:`~solvers.esdf.Esdf`; None or empty: no collision terms.

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
    esdf = as_esdf(obstacle_points)
    esdf = esdf if esdf is not None and not esdf.is_empty else None
    try:
        nlp = _get(robot, cons, kps.shape[0], held, num_controls, samples_per_segment,
                   esdf is not None)  # fmt: skip
    except Exception as exc:
        return _error(A, names, f"could not build the path NLP: {exc}", t0, (), names)
    R_col = A[:3, :3].reshape(-1, order="F")
    base = np.concatenate([kps.reshape(-1), A[:3, 3], R_col, x0, xg, step])
    params = as_column(np.concatenate([base, np.zeros(LOCAL_SIZE * nlp.num_points)]))
    frac = np.linspace(0.0, 1.0, num_controls + 2)[1:-1]
    init = x0[:, None] + (xg - x0)[:, None] * frac[None, :]
    warm = warm_start.decision if isinstance(warm_start, Solution) else warm_start
    if warm is not None and np.size(warm) == init.size and np.all(np.isfinite(warm)):
        init = np.asarray(warm, float).reshape(init.shape, order="F")
    lbx = np.tile(robot.lower, num_controls) if robot is not None else -np.inf
    ubx = np.tile(robot.upper, num_controls) if robot is not None else np.inf
    try:
        nc = nlp.num_clearances
        bound = _clearance_bound(esdf, nlp, robot, x0, A) if esdf is not None else 0.0
        lbc = np.full(nc, bound)
        lbg = np.concatenate([-np.tile(step, num_controls + 1), lbc])
        ubg = np.concatenate([np.tile(step, num_controls + 1), np.full(nc, np.inf)])
        x = init.reshape(-1, order="F")
        iterations = 0
        for _ in range(MAX_LINEARIZATIONS if esdf is not None else 1):
            if esdf is not None:
                pts = np.asarray(nlp.samples_fn(as_column(x), params)[2])
                params = as_column(np.concatenate([base, local_model(esdf, pts.T)]))
            res = nlp.solver(x0=as_column(x), p=params, lbx=lbx, ubx=ubx,
                             lbg=as_column(lbg), ubg=as_column(ubg))  # fmt: skip
            iterations += int(nlp.solver.stats().get("iter_count", 0))
            x = np.asarray(res["x"], float).reshape(-1)
            if esdf is None or _clear(esdf, nlp, x, params, bound):
                break
        configs, poses, _ = (np.asarray(v) for v in nlp.samples_fn(as_column(x), params))
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
    if esdf is not None:
        clear = _sample_clearance(esdf, robot, configs.T, traj)
        clear[0] = np.inf  # the start is where the robot is: not judged here
        worst_i = int(np.argmin(clear))
        if clear[worst_i] < bound - COLLISION_TOL_M:
            ok = False
            reason += (f"; sample {worst_i} of {len(traj)} collides (sphere clearance "
                       f"{clear[worst_i]:.3f} m)")
        else:
            reason += f"; collision-free (least sphere clearance {clear[worst_i]:.3f} m)"
    if robot is not None:
        reason += f"; duration {duration:.2f} s within joint velocity limits"
    return Solution(
        kind="path", backend=BACKEND_NAME, feasible=ok, status="solved" if ok else "infeasible",
        reason=reason, pose=traj[-1], trajectory=traj,
        joint_positions=configs.T if robot is not None else None, decision=x,
        violations=worst, max_violation=mv, cost=float(res["f"]),
        iterations=iterations,
        wall_time_s=time.perf_counter() - t0, traced=nlp.exprs.traced, numeric=nlp.exprs.numeric,
    )  # fmt: skip


def softmin(values: Any, sharpness: float) -> Any:
    """Smooth lower bound of ``min(values)`` (column): ``-log(sum exp(-k v)) / k``."""
    return -ca.log(ca.sum1(ca.exp(-sharpness * values))) / sharpness


def _clearance_bound(esdf: Esdf, nlp: _PathNLP, robot: Any, x0: FloatArray,
                     A: FloatArray) -> float:  # fmt: skip
    """Least clearance the samples must keep, metres: :func:`hard_clearance`, or less when
    the start is already closer (the path may leave, but not approach further; the soft
    minimum's gap ``log(n) / k`` is allowed for)."""
    start = float(_sample_clearance(esdf, robot, x0[None], A[None]).min())
    gap = math.log(max(nlp.spheres_per_sample, 1)) / SOFTMIN_SHARPNESS
    return min(hard_clearance(esdf), start - gap - COLLISION_TOL_M)


def _clear(esdf: Esdf, nlp: _PathNLP, x: FloatArray, params: ca.DM, bound: float) -> bool:
    """True when every hard sphere of the interior samples at decision ``x`` clears the
    true field by ``bound``."""
    n = nlp.spheres_per_sample
    pts = np.asarray(nlp.samples_fn(as_column(x), params)[2])[:, n: n * (nlp.num_clearances + 1)]
    clear = esdf.distance(pts.T) - nlp.radii[n: n * (nlp.num_clearances + 1)]
    return bool(clear.size == 0 or clear.min() >= bound - COLLISION_TOL_M)


def _sample_clearance(esdf: Esdf, robot: Any, configs: FloatArray,
                      traj: FloatArray) -> FloatArray:  # fmt: skip
    """(N,) least hard-sphere clearance at each dense sample, metres (ESDF values)."""
    if robot is not None:
        return np.array([float(numeric_clearance(esdf, robot, q).min()) for q in configs])
    return np.array([float(numeric_tcp_clearance(esdf, T).min()) for T in traj])


def _error(A: FloatArray, names: tuple[str, ...], reason: str, t0: float,
           traced: tuple[str, ...], numeric: tuple[str, ...]) -> Solution:  # fmt: skip
    return Solution(
        kind="path", backend=BACKEND_NAME, feasible=False, status="error", reason=reason,
        pose=A, trajectory=A[None], violations=dict.fromkeys(names, math.nan),
        max_violation=math.nan, wall_time_s=time.perf_counter() - t0, traced=traced,
        numeric=numeric,
    )  # fmt: skip
