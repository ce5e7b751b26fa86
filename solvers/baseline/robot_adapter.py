"""Build a :class:`BaselineRobot` from a :class:`solvers.kinematics.RobotModel` (e.g. the Panda).

The adapter gives the IK the model's numeric forward kinematics, a geometric Jacobian
computed from one pass over the link frames (revolute joints: ``[a x (p_tcp - p_j); a]``)
and the compiled IK of :mod:`solvers.baseline.compiled_ik` (the same iteration in one
CasADi call per few iterations, as the original's IK is compiled code).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solvers.baseline.ik import BaselineRobot, IKResult

if TYPE_CHECKING:
    from solvers.kinematics import RobotModel

FloatArray = NDArray[np.float64]
PANDA_READY = (0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, math.pi / 4)
"""The Panda's usual ready posture, radians (used as the reset posture)."""


def geometric_jacobian(model: RobotModel, q: FloatArray) -> FloatArray:
    """(6, dof) world-frame Jacobian of the TCP (rows: linear, angular)."""
    poses = model.link_poses(q)
    p_tcp = (poses[model.spec.tcp_link] @ model.T_link_tcp)[:3, 3]
    cols = []
    for joint in model.spec.joints:
        if joint.kind != "revolute":
            continue
        T = poses[joint.child]
        axis = T[:3, :3] @ np.asarray(joint.axis, dtype=np.float64)
        cols.append(np.concatenate([np.cross(axis, p_tcp - T[:3, 3]), axis]))
    return np.stack(cols, axis=1)


def _compiled_ik(model: RobotModel) -> Callable[..., IKResult]:
    from solvers.baseline.compiled_ik import compiled_ik, run_compiled_ik

    def ik(seed: FloatArray, T_target: FloatArray, *, max_iterations: int,
           position_tolerance: float, rotation_tolerance: float,
           damping: float) -> IKResult:  # fmt: skip
        fn = compiled_ik(model, position_tolerance, rotation_tolerance, damping)
        return run_compiled_ik(fn, seed, T_target, max_iterations)

    return ik


def robot_from_model(
    model: RobotModel,
    *,
    q_reset: ArrayLike | None = None,
    q_init: ArrayLike | None = None,
    compiled: bool = True,
) -> BaselineRobot:
    """A :class:`BaselineRobot` for ``model`` (reset posture: :data:`PANDA_READY` for a
    7-joint arm when not given, else the middle of the joint range); ``compiled=False``
    keeps the reference Python IK loop."""
    if q_reset is None:
        q_reset = PANDA_READY if model.dof == 7 else (model.lower + model.upper) / 2.0
    return BaselineRobot(
        fk=model.fk, joint_lower=model.lower, joint_upper=model.upper,
        q_reset=np.asarray(q_reset, dtype=np.float64),
        q_init=None if q_init is None else np.asarray(q_init, dtype=np.float64),
        jacobian=lambda q: geometric_jacobian(model, q),
        ik=_compiled_ik(model) if compiled else None,
    )  # fmt: skip


def panda_robot(q_init: ArrayLike | None = None, model: RobotModel | None = None) -> BaselineRobot:
    """The Panda (``model``, default: at the world origin; needs :mod:`solvers.kinematics`)."""
    if model is None:
        from solvers.kinematics import RobotModel

        model = RobotModel()
    return robot_from_model(model, q_init=q_init)
