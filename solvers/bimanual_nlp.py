"""The bimanual sub-goal NLP on CasADi: both arms in one problem, built once per structure.

Decision ``x = [q_left (dof,), q_right (dof,)]`` radians, within each arm's joint limits.

Objective, per arm ``a`` with TCP pose ``(R_a, p_a) = fk_a(q_a)``:

* ``JOINT_CONSISTENCY |q_a - q_now_a|^2 + POSTURE |q_a - q_rest|^2``;
* ``POSITION c(snorm(p_a - p_now_a), 0.1 m) + ROTATION c(rot_dist(R_a, R_now_a), 0.5 rad)``
  with ``c(d, s) = d + d^2 / (2 s)`` (strictly convex, as in the single-arm NLP);
* ``w_approach_a * approach(R_a[:, 2])`` (:func:`solvers.casadi_exprs.approach_expr`; the
  weight is a parameter: ``SubgoalWeights.approach_grasp`` in that arm's grasp stage,
  ``approach_hold`` while it holds something top-down, else 0);
* constraints: ``CONSTRAINT * sum max(0, g_i)^2`` over the sub-goal and path constraints,
  evaluated on ``end_effector = [p_left; p_right]`` (2, 3) and the forward-modelled
  keypoints. The penalty form is the one the single-arm NLP measured fastest (norm-shaped
  constraints have a kink at their optimum that a constraint Jacobian feels); feasibility
  is judged on the exact numeric values (<= tolerance) afterwards;
* grip consistency (an object held by both hands): ``GRIP * (|p_rel - p_rel_now|^2 +
  GRIP_ROT_SCALE^2 |R_rel - R_rel_now|_F^2)``, ``(R_rel, p_rel)`` the right TCP in the left
  TCP frame.

Hard constraints: both TCP positions inside the workspace box (6 rows), and the arm-arm
sphere pairs of :func:`solvers.bimanual_exprs.arm_pairs` clear by ``min_arm_distance_m``:
one row per (left link, right link), the soft minimum of that link pair's sphere clearances
(:data:`SOFTMIN_SHARPNESS`; at most ``log(121) / 1000`` = 4.8 mm conservative). Measured
(2-arm reach problem): one row per sphere pair (1196 rows, elbows included then) spent
about 19 ms per IPOPT iteration in linear algebra, 0.6 ms in the functions; grouped rows
remove it.

Parameters (no rebuild): keypoints, current poses, relative pose, current joints, approach
weights, ``min_arm_distance_m``. Structure key: the two robots, K, who holds what, the
approaches and the constraint functions' identities.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import NDArray

from solvers.bimanual_exprs import (
    arm_pairs,
    build_bimanual_exprs,
    end_effector_expr,
    grouped_clearance_expr,
    moved_keypoints_expr,
    pair_clearance_expr,
    pair_groups,
    pair_radii,
)
from solvers.bimanual_problem import BimanualProblem, relative_pose
from solvers.casadi_exprs import (
    ConstraintExprs,
    _unwrap_bound,
    approach_expr,
    as_column,
    rotation_distance,
    snorm,
)
from solvers.casadi_ik import default_rest
from solvers.casadi_subgoal_nlp import IPOPT_BASE, IPOPT_WARM
from solvers.subgoal_problem import SubgoalWeights

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

WEIGHTS = SubgoalWeights()
"""Constraint, position, rotation, approach and smoothing weights (single-arm defaults)."""
JOINT_CONSISTENCY = 0.1
POSTURE = 1e-3
GRIP = 1e4
"""Grip consistency per m^2 of right-TCP drift in the left TCP frame."""
GRIP_ROT_SCALE = 0.1
"""Metres per unit of rotation-matrix drift in the grip term."""
ROTATION_SMOOTHING_RAD = 0.05
CACHE_SIZE = 32
HESSIAN = "exact"
"""``"exact"`` Hessian of the Lagrangian, or ``"objective"`` (the clearance rows' curvature
left out, as in :mod:`solvers.bimanual_path`). Measured: ``"objective"`` halves cold solves
(294 vs 536 ms median) but barely changes warm ticks (23 vs 25 ms) and left the crossing-arms
test 1.6 cm in collision (judged infeasible), so the sub-goal keeps the exact Hessian."""
SOFTMIN_SHARPNESS = 1000.0
"""Per metre, of the grouped arm-arm clearance rows."""
SOFTMIN_CAP_M = 0.2


@dataclass
class BimanualNLP:
    """A built NLP: cold and warm IPOPT solvers, helper functions and the last answer.

    ``pose_fn(x, p) -> (T_left (4, 4), T_right (4, 4))``; ``lbx``/``ubx`` joint limits;
    ``lbg``/``ubg`` rows: 6 workspace rows then one per arm link pair.
    """

    dof: int
    exprs: ConstraintExprs
    cold: Any
    warm: Any
    pose_fn: ca.Function
    lbx: FloatArray
    ubx: FloatArray
    num_pairs: int
    refs: list[Any] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)

    def bounds_g(self, problem: BimanualProblem) -> tuple[ca.DM, ca.DM]:
        lbg = np.concatenate([problem.workspace_lower, problem.workspace_lower,
                              np.zeros(self.num_pairs)])  # fmt: skip
        ubg = np.concatenate([problem.workspace_upper, problem.workspace_upper,
                              np.full(self.num_pairs, np.inf)])  # fmt: skip
        return as_column(lbg), as_column(ubg)

    def parameters(self, problem: BimanualProblem) -> ca.DM:
        """The parameter vector of ``problem`` (see the module docstring)."""
        T = problem.T_world_tcp
        rel = relative_pose(T)
        parts = [problem.keypoints.reshape(-1)]
        for arm in range(2):
            parts += [T[arm, :3, 3], T[arm, :3, :3].reshape(-1, order="F")]
        parts += [rel[:3, 3], rel[:3, :3].reshape(-1, order="F"), problem.q_current.reshape(-1),
                  problem.approach_weights(WEIGHTS.approach_grasp, WEIGHTS.approach_hold),
                  np.array([problem.min_arm_distance_m])]  # fmt: skip
        return as_column(np.concatenate([np.asarray(p, float).reshape(-1) for p in parts]))


_CACHE: OrderedDict[tuple[Any, ...], BimanualNLP] = OrderedDict()


def structure_key(problem: BimanualProblem) -> tuple[Any, ...]:
    """Everything that changes the NLP's structure (not its parameters)."""
    held = problem.any_held
    return (
        id(problem.robots[0]), id(problem.robots[1]), problem.keypoints.shape[0],
        problem.left_held, problem.right_held, problem.shared_grip, problem.approaches,
        tuple((n, id(_unwrap_bound(f, held)[0]), _unwrap_bound(f, held)[1])
              for n, f in problem.constraints),
    )  # fmt: skip


def get_nlp(problem: BimanualProblem) -> BimanualNLP:
    """The cached NLP for ``problem``'s structure (built on first use)."""
    key = structure_key(problem)
    nlp = _CACHE.get(key)
    if nlp is not None:
        _CACHE.move_to_end(key)
        return nlp
    nlp = build_nlp(problem)
    nlp.refs.append((problem.robots, tuple(fn for _, fn in problem.constraints)))
    _CACHE[key] = nlp
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return nlp


def clear_cache() -> None:
    """Forget every built bimanual NLP."""
    _CACHE.clear()


def _consistency(distance: Any, scale: float) -> Any:
    return distance + distance * distance / (2.0 * scale)


def build_nlp(problem: BimanualProblem) -> BimanualNLP:
    """Build the NLP of ``problem`` (see the module docstring)."""
    K, n = problem.keypoints.shape[0], problem.dof
    left, right = problem.robots
    exprs = build_bimanual_exprs(problem.constraints, K, problem.any_held)
    kp_flat = ca.MX.sym("kps", 3 * K)
    now = [(ca.MX.sym(f"p_now{a}", 3), ca.MX.sym(f"R_now{a}", 9)) for a in range(2)]
    p_rel0, R_rel0 = ca.MX.sym("p_rel", 3), ca.MX.sym("R_rel", 9)
    q_now, w_app, dmin = ca.MX.sym("q_now", 2 * n), ca.MX.sym("w_app", 2), ca.MX.sym("dmin", 1)
    params = ca.vertcat(kp_flat, *[ca.vertcat(p, R) for p, R in now], p_rel0, R_rel0, q_now,
                        w_app, dmin)  # fmt: skip
    kps = ca.reshape(kp_flat, 3, K).T
    R_now = [ca.reshape(R, 3, 3) for _, R in now]

    x = ca.MX.sym("q", 2 * n)
    qs = [x[:n], x[n:]]
    rest = as_column(default_rest(left))
    poses, new = [], []
    cost: Any = 0
    for a, robot in enumerate(problem.robots):
        T = robot.fk_casadi(qs[a])
        R, p = T[:3, :3], T[:3, 3]
        poses.append(T)
        new.append((R, p))
        rot = rotation_distance(R, R_now[a], max(WEIGHTS.smoothing, ROTATION_SMOOTHING_RAD))
        cost = cost + (
            JOINT_CONSISTENCY * ca.sumsqr(qs[a] - q_now[a * n:(a + 1) * n])
            + POSTURE * ca.sumsqr(qs[a] - rest)
            + WEIGHTS.position * _consistency(snorm(p - now[a][0], WEIGHTS.smoothing), 0.1)
            + WEIGHTS.rotation * _consistency(rot, 0.5)
            + w_app[a] * approach_expr(R[:, 2], problem.approaches[a])
        )  # fmt: skip
    now_pairs = [(R_now[a], now[a][0]) for a in range(2)]
    moved = moved_keypoints_expr(kps, problem.left_held, problem.right_held, now_pairs, new)
    ee = end_effector_expr(new[0][1], new[1][1])
    m = len(exprs.names)
    values = ca.vertcat(*exprs.evaluate(ee, moved)) if m else ca.MX(0, 1)
    cost = cost + WEIGHTS.constraint * ca.sumsqr(ca.fmax(values, 0.0))
    if problem.shared_grip:
        R_rel = ca.mtimes(new[0][0].T, new[1][0])
        p_rel = ca.mtimes(new[0][0].T, new[1][1] - new[0][1])
        cost = cost + GRIP * (ca.sumsqr(p_rel - p_rel0)
                              + GRIP_ROT_SCALE**2 * ca.sumsqr(ca.vec(R_rel) - R_rel0))  # fmt: skip
    pairs = arm_pairs(left, right)
    clear_pairs = pair_clearance_expr(left.sphere_centers_casadi(qs[0]),
                                      right.sphere_centers_casadi(qs[1]),
                                      pair_radii(left, right, pairs), pairs)  # fmt: skip
    groups = pair_groups(left, right, pairs)
    clear = grouped_clearance_expr(clear_pairs, groups, SOFTMIN_SHARPNESS, SOFTMIN_CAP_M) - dmin
    g = ca.vertcat(new[0][1], new[1][1], clear)
    nlp = {"x": x, "p": params, "f": cost, "g": g}
    base = dict(IPOPT_BASE)
    if not exprs.all_exact:
        base["hessian_approximation"] = "limited-memory"
    common: dict[str, Any] = {"print_time": False, "expand": exprs.all_exact,
                              "error_on_fail": False}
    if exprs.all_exact and HESSIAN == "objective":
        lam_f, lam_g = ca.MX.sym("lam_f"), ca.MX.sym("lam_g", int(g.shape[0]))
        H = ca.triu(ca.hessian(lam_f * cost, x)[0])
        common["hess_lag"] = ca.Function("nlp_hess_l", [x, params, lam_f, lam_g], [H],
                                         ["x", "p", "lam_f", "lam_g"], ["triu_hess_gamma_x_x"])
    cold = ca.nlpsol("bimanual_cold", "ipopt", nlp, {**common, "ipopt": base})
    warm = ca.nlpsol("bimanual_warm", "ipopt", nlp, {**common, "ipopt": {**base, **IPOPT_WARM}})
    pose_fn = ca.Function("bimanual_poses", [x], poses)
    lbx = np.concatenate([left.lower, right.lower]).astype(float)
    ubx = np.concatenate([left.upper, right.upper]).astype(float)
    logger.debug("built bimanual NLP: %d vars, %d constraints (%d numeric), %d arm pairs",
                 2 * n, m, len(exprs.numeric), len(pairs[0]))  # fmt: skip
    return BimanualNLP(n, exprs, cold, warm, pose_fn, lbx, ubx, len(groups))
