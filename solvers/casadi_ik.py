"""Inverse kinematics on CasADi: joint angles of a robot for a TCP pose.

Used to find the current joints when a problem gives a robot but no ``q_current``, and to
map warm-start poses to joint seeds. A small IPOPT problem with the target pose and the
seed as parameters, built once per robot and cached.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import ArrayLike, NDArray

from solvers.casadi_exprs import as_column

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

#: Weight of the pull toward the seed (rad^-2): picks the nearest solution branch.
SEED_WEIGHT = 1e-7
#: Rotation error weight: metres of position error per unit of rotation-matrix error.
ROTATION_WEIGHT = 0.1

_CACHE: weakref.WeakKeyDictionary[Any, ca.Function] = weakref.WeakKeyDictionary()


def _ik_solver(robot: Any) -> ca.Function:
    solver = _CACHE.get(robot)
    if solver is not None:
        return solver
    q = ca.SX.sym("q", robot.dof)
    target = ca.SX.sym("target", 12)  # position (3) then rotation column-major (9)
    seed = ca.SX.sym("seed", robot.dof)
    T = robot.fk_casadi(q)
    err_p = T[:3, 3] - target[:3]
    err_R = ca.vec(T[:3, :3]) - target[3:]
    f = ca.sumsqr(err_p) + ROTATION_WEIGHT**2 * ca.sumsqr(err_R) + SEED_WEIGHT * ca.sumsqr(q - seed)
    nlp = {"x": q, "p": ca.vertcat(target, seed), "f": f}
    opts = {"print_time": False, "ipopt.print_level": 0, "ipopt.sb": "yes",
            "ipopt.max_iter": 200, "ipopt.tol": 1e-12}  # fmt: skip
    solver = ca.nlpsol("ik", "ipopt", nlp, opts)  # type: ignore[arg-type]
    _CACHE[robot] = solver
    return solver


def default_rest(robot: Any) -> FloatArray:
    """(dof,) rest posture: the Panda's ready posture for 7 joints, else mid-range."""
    if robot.dof == 7:
        return np.array([0.0, -np.pi / 4, 0.0, -3 * np.pi / 4, 0.0, np.pi / 2, np.pi / 4])
    return (np.asarray(robot.lower) + np.asarray(robot.upper)) / 2.0


def solve_ik(
    robot: Any, T_world_tcp: ArrayLike, seeds: list[FloatArray] | None = None
) -> tuple[FloatArray, float]:
    """Joint angles (dof,) reaching ``T_world_tcp`` (4, 4), and the residual pose error.

    Tries each seed (default: the rest posture) within the joint limits and keeps the
    smallest error (metres of position plus 0.1 x rotation-matrix Frobenius error).
    """
    T = np.asarray(T_world_tcp, dtype=float)
    target = np.concatenate([T[:3, 3], T[:3, :3].reshape(-1, order="F")])
    solver = _ik_solver(robot)
    best_q, best_err = default_rest(robot), np.inf
    for seed in seeds or [default_rest(robot)]:
        s = np.clip(np.asarray(seed, dtype=float), robot.lower, robot.upper)
        res = solver(x0=as_column(s), p=ca.vertcat(as_column(target), as_column(s)),
                     lbx=as_column(robot.lower), ubx=as_column(robot.upper))  # fmt: skip
        q = np.asarray(res["x"]).reshape(-1)
        Tq = robot.fk(q)
        err = float(np.linalg.norm(Tq[:3, 3] - T[:3, 3]) +
                    ROTATION_WEIGHT * np.linalg.norm(Tq[:3, :3] - T[:3, :3]))  # fmt: skip
        if err < best_err:
            best_q, best_err = q, err
        if err < 1e-6:
            break
    logger.debug("IK residual %.3g", best_err)
    return best_q, best_err
