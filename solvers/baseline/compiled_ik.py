"""The baseline's IK compiled into one CasADi function (the original's IK is compiled C++).

The original ReKep scores reachability with a compiled IK solver; running the same
damped-least-squares iteration as :func:`solvers.baseline.ik.solve_ik` in interpreted
Python would make the baseline slow for a reason that has nothing to do with its recipe.
So for a :class:`solvers.kinematics.RobotModel` the whole iteration (forward kinematics,
geometric Jacobian, pose error, damped solve, clipping to the joint limits, stopping test)
is unrolled :data:`BLOCK` times into one CasADi SX function evaluated numerically (CasADi's
C++ virtual machine); :func:`run_compiled_ik` calls it block by block until the pose is
reached or the budget is spent. Updates after the stopping test are masked, so the answer
(joints, iteration count, errors, success) is the one of the Python loop, which stays the
reference for robots given as plain callables (a test checks that both agree).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import casadi as ca
import numpy as np
from numpy.typing import NDArray

from solvers.baseline.ik import IKResult

if TYPE_CHECKING:
    from solvers.kinematics import RobotModel

FloatArray = NDArray[np.float64]
BLOCK = 5
"""IK iterations unrolled per call (early exit between blocks)."""
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], ca.Function]] = (
    weakref.WeakKeyDictionary()
)


def _vee_skew(M: Any) -> Any:
    """(3,) ``vee((M - M^T) / 2)``."""
    return 0.5 * ca.vertcat(M[2, 1] - M[1, 2], M[0, 2] - M[2, 0], M[1, 0] - M[0, 1])


def rotvec_error_sx(R_target: Any, R: Any) -> tuple[Any, Any]:
    """(rotation vector (3,) of ``R_target R^T``, its angle) as SX expressions (rad).

    The angle is ``atan2(|w|, (tr - 1) / 2)`` with ``w = vee(skew part)``; the vector is
    ``angle / sin(angle) * w`` (1 x ``w`` near 0). Matches SciPy's ``as_rotvec`` away from
    half turns, where the axis is ill-defined anyway.
    """
    E = ca.mtimes(R_target, R.T)
    w = _vee_skew(E)
    s = ca.norm_2(w)
    c = 0.5 * (E[0, 0] + E[1, 1] + E[2, 2] - 1.0)
    angle = ca.atan2(s, c)
    scale = ca.if_else(s > 1e-9, angle / ca.fmax(s, 1e-12), 1.0)
    return scale * w, angle


def _tcp_and_jacobian(model: RobotModel, q: Any) -> tuple[Any, Any, Any]:
    """(R (3, 3), p (3,), geometric Jacobian (6, dof)) of the TCP at SX joints ``q``."""
    poses = model.link_poses_casadi(q)
    T_tcp = ca.mtimes(poses[model.spec.tcp_link], ca.DM(model.T_link_tcp))
    p_tcp = T_tcp[:3, 3]
    cols = []
    for joint in model.spec.joints:
        if joint.kind != "revolute":
            continue
        T = poses[joint.child]
        axis = ca.mtimes(T[:3, :3], ca.DM(np.asarray(joint.axis, dtype=np.float64)))
        cols.append(ca.vertcat(ca.cross(axis, p_tcp - T[:3, 3]), axis))
    return T_tcp[:3, :3], p_tcp, ca.horzcat(*cols)


def _build(model: RobotModel, steps: int, pos_tol: float, rot_tol: float,
           damping: float) -> ca.Function:  # fmt: skip
    """``(q_seed, target, budget) -> (q, iterations, pos_err, rot_err, ok)``: at most
    ``min(steps, budget)`` masked updates."""
    dof = model.dof
    q0 = ca.SX.sym("q_seed", dof)
    budget = ca.SX.sym("budget")
    target = ca.SX.sym("target", 12)  # position (3), then rotation column-major (9)
    p_t, R_t = target[:3], ca.reshape(target[3:], 3, 3)
    lo, hi = ca.DM(model.lower), ca.DM(model.upper)
    eye = ca.DM.eye(6) * damping**2
    q, done, iters = q0, ca.SX(0), ca.SX(0)
    pos_err = rot_err = ok = ca.SX(0)
    for k in range(steps + 1):
        R, p, J = _tcp_and_jacobian(model, q)
        rot, rot_err = rotvec_error_sx(R_t, R)
        e = ca.vertcat(p_t - p, rot)
        pos_err = ca.norm_2(e[:3])
        ok = ca.logic_and(pos_err <= pos_tol, rot_err <= rot_tol)
        done = ca.logic_or(ca.logic_or(done, ok), k >= budget)
        if k == steps:
            break
        dq = ca.mtimes(J.T, ca.solve(ca.mtimes(J, J.T) + eye, e))
        q = ca.if_else(done, q, ca.fmin(ca.fmax(q + dq, lo), hi))
        iters = iters + ca.if_else(done, 0, 1)
    return ca.Function("baseline_ik", [q0, target, budget], [q, iters, pos_err, rot_err, ok],
                       ["q_seed", "target", "budget"],
                       ["q", "iterations", "pos_err", "rot_err", "ok"])  # fmt: skip


def compiled_ik(model: RobotModel, position_tolerance: float, rotation_tolerance: float,
                damping: float) -> ca.Function:  # fmt: skip
    """The cached CasADi IK block of ``model`` for these settings (built on first use)."""
    per_model = _CACHE.setdefault(model, {})
    key = (position_tolerance, rotation_tolerance, damping)
    fn = per_model.get(key)
    if fn is None:
        fn = _build(model, BLOCK, position_tolerance, rotation_tolerance, damping)
        per_model[key] = fn
    return fn


def run_compiled_ik(fn: ca.Function, seed: FloatArray, T_target: FloatArray,
                    max_iterations: int) -> IKResult:  # fmt: skip
    """Damped least squares from ``seed`` (J,) towards ``T_target`` (4, 4) with a
    :func:`compiled_ik` block, at most ``max_iterations`` updates."""
    target = np.concatenate([T_target[:3, 3], T_target[:3, :3].reshape(-1, order="F")])
    q: Any = seed
    total = 0
    while True:
        q, iters, pos_err, rot_err, ok = fn.call([q, target, float(max_iterations - total)])
        total += round(float(iters))
        success = bool(float(ok))
        if success or total >= max_iterations:
            break
    return IKResult(np.asarray(q, dtype=np.float64).reshape(-1), success, total,
                    float(pos_err), float(rot_err))  # fmt: skip
