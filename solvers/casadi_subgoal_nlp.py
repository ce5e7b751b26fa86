"""The sub-goal NLP on CasADi, built once per problem structure and cached.

Decision ``x``:

* joint space (the problem has a ``robot``): ``x = [q (dof,) rad, s (m,)]`` with
  ``q`` within the joint limits and the TCP pose ``fk(q)``; the TCP position is kept in the
  workspace box by inequality constraints.
* SE(3) (no robot): ``x = [p (3,) m, r (3,) rad, s (m,)]`` exactly as in
  :mod:`solvers.subgoal_problem` (``R = exp(r) R_now``), bounded by ``problem.bounds()``.

The objective is the one of :mod:`solvers.subgoal_costs` (penalty ``w_c max(0, g)^2``,
consistency, approach preference) with the consistency distances ``d`` made strictly convex
(``d + d^2 / (2 scale)``), plus in joint space ``JOINT_CONSISTENCY |q - q_now|^2`` and a
posture term ``POSTURE |q - q_rest|^2``. Measured: the penalty form (default,
``PENALTY = True``) converges in fewer IPOPT iterations than hard/elastic constraints
``g_i - s_i <= MARGIN * tolerance`` with slacks ``s >= 0`` (``PENALTY = False``, kept for
comparison): norm-shaped constraints have a kink at their optimum that a constraint
Jacobian feels but a squared penalty does not. Without the extra convexity, the null space
of the 7-joint arm left IPOPT wandering for 150+ iterations.

Collision (the problem has an ``esdf`` with obstacles, see :mod:`solvers.collision`): hard
inequalities ``clearance >= hard_clearance`` on the arm/hand spheres (joint space) or the
hand spheres (SE(3)) and the soft hinge in the objective. Two ways to read the field
(:data:`COLLISION_MODEL`), measured with ``casadi`` on the 7 benchmark problems with
obstacles (2 warm ticks each; noisy 2-core machine):

* ``"interpolant"`` (default): the ESDF's CasADi interpolant, node values embedded, so
  the field's digest is in the structure key (a new cloud builds a new NLP: build median
  556 ms). Sub-goal cold median 770 ms, warm 43 ms, feasible rate 1.0 (without collision:
  107 / 12 ms). Node values as NLP parameters cost 2-8 ms per evaluation (see
  :mod:`solvers.esdf`); derivatives through the interpolant's call nodes cost about 1.7 ms
  per Hessian.
* ``"local"``: a local model (the cloud point nearest to each sphere, as parameters) and
  re-solves until the true field clears every sphere
  (:class:`solvers.collision.RelinearizingSolver`); no rebuild per cloud (build 158 ms
  once). Cold median 360 ms, warm 19 ms, but warm p95 930 ms and feasible rate 0.81: the
  single-point model is optimistic along walls, so starts need several re-solves.

Parameters (change without rebuilding): keypoints (K, 3), current TCP pose, current joints,
approach weight. The structure key is the constraint identities, held set, K, approach,
weights, robot and whether collision is on.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import NDArray

from solvers.casadi_exprs import (
    ConstraintExprs,
    _unwrap_bound,
    approach_expr,
    as_column,
    build_constraint_exprs,
    held_keypoints_expr,
    rodrigues,
    rotation_distance,
    snorm,
)
from solvers.casadi_ik import default_rest
from solvers.collision import (
    HELD_POINT_RADIUS_M,
    LOCAL_SIZE,
    RelinearizingSolver,
    hard_clearance,
    local_clearance,
    robot_sphere_centres,
    tcp_sphere_centres,
)
from solvers.subgoal_problem import SubgoalProblem

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

LINEAR_SLACK = 100.0
"""Exact-penalty weight per unit of constraint violation (cost units per metre)."""
JOINT_CONSISTENCY = 0.1
"""Weight of ``|q - q_now|^2`` (per rad^2)."""
POSTURE = 1e-3
"""Weight of ``|q - q_rest|^2`` (per rad^2), a mild pull toward the rest posture."""
CACHE_SIZE = 64
CONSISTENCY_SCALE_M = 0.1
CONSISTENCY_SCALE_RAD = 0.5
ROTATION_SMOOTHING_RAD = 0.05
"""Smoothing of the joint-space rotation distance at the current orientation (radians):
the answer often sits exactly there, and a sharp kink through the kinematics stalls IPOPT."""
COLLISION_MODEL = "interpolant"
"""How the NLP reads the ESDF: ``"interpolant"`` (embedded, the field's digest in the
structure key) or ``"local"`` (:func:`solvers.collision.local_clearance`, no rebuild per
cloud). See the module docstring for the measurements."""
PENALTY = True
MARGIN = 0.1
"""Constraints are enforced as ``g <= MARGIN * tolerance`` (inside the tolerance, off the kink)."""

IPOPT_BASE: dict[str, Any] = {
    "print_level": 0, "sb": "yes", "tol": 1e-6, "acceptable_tol": 1e-4,
    "acceptable_iter": 5, "max_iter": 150, "mu_strategy": "adaptive",
    "nlp_scaling_method": "none",
}  # fmt: skip
IPOPT_WARM: dict[str, Any] = {
    "warm_start_init_point": "yes", "warm_start_bound_push": 1e-6,
    "warm_start_mult_bound_push": 1e-6, "warm_start_slack_bound_push": 1e-6,
    "mu_init": 1e-4, "mu_strategy": "monotone",
}  # fmt: skip


@dataclass
class SubgoalNLP:
    """A built NLP: solvers (cold and warm), helper functions and the last answer.

    ``pose_fn(x, p) -> T (4, 4)``; ``g_fn(x, p) -> constraint values (m,)``. With collision,
    ``cold`` and ``warm`` are :class:`~solvers.collision.RelinearizingSolver` s reading the
    field of the problem last passed to :meth:`parameters`.
    """

    joint_space: bool
    num_q: int
    exprs: ConstraintExprs
    cold: Any
    warm: Any
    pose_fn: ca.Function
    g_fn: ca.Function
    lbx: FloatArray
    ubx: FloatArray
    lbg: FloatArray
    ubg: FloatArray
    refs: list[Any] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    esdf: Any = None
    checker: RelinearizingSolver | None = None

    def collision_free(self, x: Any, params: ca.DM) -> bool:
        """True when decision ``x`` clears every hard sphere (always without obstacles)."""
        if self.checker is None:
            return True
        return self.checker.clear(as_column(np.asarray(x, float)), params)

    @property
    def num_slacks(self) -> int:
        return self.lbx.shape[0] - self.num_q

    def parameters(self, problem: SubgoalProblem, q_now: FloatArray | None) -> ca.DM:
        """The parameter vector of ``problem`` (keypoints, pose, joints, approach weight);
        also selects ``problem.esdf`` as the field of the next solves."""
        self.esdf = problem.esdf
        T = problem.T_world_tcp
        parts = [problem.keypoints.reshape(-1), T[:3, 3], T[:3, :3].reshape(-1, order="F")]
        if self.joint_space:
            parts.append(np.asarray(q_now, dtype=float))
        parts.append(np.array([problem.approach_weight]))
        return as_column(np.concatenate([np.asarray(p, dtype=float).reshape(-1) for p in parts]))


_CACHE: OrderedDict[tuple[Any, ...], SubgoalNLP] = OrderedDict()


def _fn_key(fn: Any, held: tuple[int, ...]) -> tuple[Any, ...]:
    target, bound = _unwrap_bound(fn, held)
    return (id(target), bound)


def structure_key(problem: SubgoalProblem, joint_space: bool, solver: str) -> tuple[Any, ...]:
    """Everything that changes the NLP's structure (not its parameters)."""
    held = tuple(int(i) for i in np.flatnonzero(problem.held_mask))
    return (
        joint_space, id(problem.robot) if joint_space else None, solver,
        problem.keypoints.shape[0], held, problem.approach, problem.weights,
        tuple((name, _fn_key(fn, held)) for name, fn in problem.constraints),
        problem.esdf.key if problem.has_obstacles and COLLISION_MODEL == "interpolant"
        and problem.esdf is not None else problem.has_obstacles,
    )  # fmt: skip


def get_nlp(problem: SubgoalProblem, joint_space: bool, solver: str = "ipopt") -> SubgoalNLP:
    """The cached NLP for ``problem``'s structure (built on first use)."""
    key = structure_key(problem, joint_space, solver)
    nlp = _CACHE.get(key)
    if nlp is not None:
        _CACHE.move_to_end(key)
        return nlp
    nlp = build_nlp(problem, joint_space, solver)
    # keep the functions alive: the key holds their ids
    nlp.refs.append(tuple(fn for _, fn in problem.constraints))
    _CACHE[key] = nlp
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return nlp


def clear_cache() -> None:
    """Forget every built NLP (tests, or after reloading constraint programs)."""
    _CACHE.clear()


def build_nlp(problem: SubgoalProblem, joint_space: bool, solver: str = "ipopt") -> SubgoalNLP:
    """Build the NLP of ``problem`` (see the module docstring)."""
    K = problem.keypoints.shape[0]
    held = [int(i) for i in np.flatnonzero(problem.held_mask)]
    exprs = build_constraint_exprs(problem.constraints, K, held)
    m = len(exprs.names)
    w = problem.weights
    robot = problem.robot if joint_space else None
    nq = robot.dof if robot is not None else 6

    kp_flat = ca.MX.sym("kps", 3 * K)
    p_now = ca.MX.sym("p_now", 3)
    R_now_v = ca.MX.sym("R_now", 9)
    q_now = ca.MX.sym("q_now", nq if robot is not None else 0)
    w_app = ca.MX.sym("w_approach", 1)
    params = ca.vertcat(kp_flat, p_now, R_now_v, q_now, w_app)
    kps = ca.reshape(kp_flat, 3, K).T
    R_now = ca.reshape(R_now_v, 3, 3)

    q = ca.MX.sym("q", nq)
    s = ca.MX.sym("s", m)
    extra_g: list[Any] = []
    if robot is not None:
        T = robot.fk_casadi(q)
        R, p = T[:3, :3], T[:3, 3]
        rest = as_column(default_rest(robot))
        rot_dist = rotation_distance(R, R_now, max(w.smoothing, ROTATION_SMOOTHING_RAD))
        cost = (
            w.rotation * _consistency(rot_dist, CONSISTENCY_SCALE_RAD)
            + JOINT_CONSISTENCY * ca.sumsqr(q - q_now)
            + POSTURE * ca.sumsqr(q - rest)
        )
        extra_g.append(p)
        lbq, ubq = np.asarray(robot.lower, float), np.asarray(robot.upper, float)
        lbg_extra, ubg_extra = problem.workspace_lower, problem.workspace_upper
    else:
        p, r = q[:3], q[3:]
        R = ca.mtimes(rodrigues(r), R_now)
        T = ca.vertcat(ca.horzcat(R, p), ca.DM([[0, 0, 0, 1]]))
        cost = w.rotation * _consistency(snorm(r, w.smoothing), CONSISTENCY_SCALE_RAD)
        lbq, ubq = problem.bounds()
        lbg_extra, ubg_extra = np.zeros(0), np.zeros(0)
    cost = cost + w.position * _consistency(snorm(p - p_now, w.smoothing), CONSISTENCY_SCALE_M)
    cost = cost + w_app * approach_expr(R[:, 2], problem.approach)
    moved = held_keypoints_expr(kps, held, R_now, p_now, R, p)
    values = ca.vertcat(*exprs.evaluate(p, moved)) if m else ca.MX(0, 1)
    points, radii, n_hard = None, np.zeros(0), 0
    base_params = params
    if problem.has_obstacles:
        centres, hard_r = robot_sphere_centres(robot, q) if robot is not None else \
            tcp_sphere_centres(R, p)  # fmt: skip
        points = ca.horzcat(centres, *[moved[i, :].T for i in held])
        n_hard = len(hard_r)
        radii = np.concatenate([hard_r, np.full(len(held), HELD_POINT_RADIUS_M)])
        if COLLISION_MODEL == "local":
            lin = ca.MX.sym("local_model", LOCAL_SIZE * int(points.shape[1]))
            params = ca.vertcat(params, lin)
            clearance = local_clearance(points, radii, lin)  # hard rows: bound folded in
        else:
            assert problem.esdf is not None
            offset = np.concatenate([np.full(n_hard, hard_clearance(problem.esdf)),
                                     np.zeros(len(held))])  # fmt: skip
            clearance = (problem.esdf.casadi_distance(points) - ca.DM(radii + offset).T).T
        cost = cost + w.collision * ca.sumsqr(ca.fmax(w.collision_margin_m - clearance, 0.0))
        extra_g.append(clearance[:n_hard])
        lbg_extra = np.concatenate([lbg_extra, np.zeros(n_hard)])
        ubg_extra = np.concatenate([ubg_extra, np.full(n_hard, np.inf)])
    if PENALTY:
        cost = cost + w.constraint * ca.sumsqr(ca.fmax(values, 0.0))
        g = ca.vertcat(*extra_g) if extra_g else ca.MX(0, 1)
        x = q
    else:
        cost = cost + w.constraint * ca.sumsqr(s) + LINEAR_SLACK * ca.sum1(s)
        g = ca.vertcat(values - s, *extra_g)
        x = ca.vertcat(q, s)

    nlp = {"x": x, "p": params, "f": cost, "g": g}
    cold, warm = _make_solvers(nlp, exprs.all_exact, solver)
    pose_fn = ca.Function("subgoal_pose", [x, base_params], [T])
    g_fn = ca.Function("subgoal_g", [x, base_params], [values])
    ms = 0 if PENALTY else m
    lbx = np.concatenate([lbq, np.zeros(ms)])
    ubx = np.concatenate([ubq, np.full(ms, np.inf)])
    lbg = np.concatenate([np.full(ms, -np.inf), lbg_extra])
    ubg = np.concatenate([np.zeros(ms), ubg_extra])
    logger.debug("built sub-goal NLP: %d vars, %d constraints (%d numeric), joint=%s, "
                 "collision=%s", nq + m, m, len(exprs.numeric), joint_space,
                 points is not None)  # fmt: skip
    out = SubgoalNLP(joint_space, nq, exprs, cold, warm, pose_fn, g_fn, lbx, ubx, lbg, ubg)
    if points is not None:
        points_fn = ca.Function("subgoal_collision_points", [x, base_params], [points])
        field_of = lambda: out.esdf  # noqa: E731
        out.checker = RelinearizingSolver(cold, warm, points_fn, radii, n_hard, field_of)
        if COLLISION_MODEL == "local":
            out.cold = out.checker
            out.warm = RelinearizingSolver(warm, warm, points_fn, radii, n_hard, field_of)
    return out


def _consistency(distance: Any, scale: float) -> Any:
    """``d`` made strictly convex: ``d + d^2 / (2 scale)`` (the linear cost alone has no
    curvature along the task, which makes Newton steps through the kinematics overshoot)."""
    return distance + distance * distance / (2.0 * scale)


def _make_solvers(nlp: dict[str, Any], exact: bool, solver: str) -> tuple[ca.Function, ca.Function]:
    if solver == "sqpmethod":
        opts: dict[str, Any] = {
            "print_time": False, "print_header": False, "print_iteration": False,
            "print_status": False, "qpsol": "qrqp", "max_iter": 100,
            "qpsol_options": {"print_iter": False, "print_header": False, "error_on_fail": False},
            "error_on_fail": False, "expand": exact, "convexify_strategy": "eigen-clip",
            "convexify_margin": 1e-4, "tol_du": 1e-6, "tol_pr": 1e-6,
        }  # fmt: skip
        if not exact:
            opts["hessian_approximation"] = "limited-memory"
        f = ca.nlpsol("subgoal_sqp", "sqpmethod", nlp, opts)
        return f, f
    base = dict(IPOPT_BASE)
    if not exact:
        base["hessian_approximation"] = "limited-memory"
    common = {"print_time": False, "expand": exact, "error_on_fail": False}
    cold = ca.nlpsol("subgoal_cold", "ipopt", nlp, {**common, "ipopt": base})
    warm = ca.nlpsol("subgoal_warm", "ipopt", nlp, {**common, "ipopt": {**base, **IPOPT_WARM}})
    return cold, warm
