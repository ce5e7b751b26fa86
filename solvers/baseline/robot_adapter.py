"""Build a :class:`BaselineRobot` from a :class:`solvers.kinematics.RobotModel` (e.g. the Panda).

The adapter gives the IK the model's numeric forward kinematics and a geometric Jacobian
computed from one pass over the link frames (revolute joints: ``[a x (p_tcp - p_j); a]``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solvers.baseline.ik import BaselineRobot

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


def robot_from_model(
    model: RobotModel, *, q_reset: ArrayLike | None = None, q_init: ArrayLike | None = None
) -> BaselineRobot:
    """A :class:`BaselineRobot` for ``model`` (reset posture: :data:`PANDA_READY` for a
    7-joint arm when not given, else the middle of the joint range)."""
    if q_reset is None:
        q_reset = PANDA_READY if model.dof == 7 else (model.lower + model.upper) / 2.0
    return BaselineRobot(
        fk=model.fk, joint_lower=model.lower, joint_upper=model.upper,
        q_reset=np.asarray(q_reset, dtype=np.float64),
        q_init=None if q_init is None else np.asarray(q_init, dtype=np.float64),
        jacobian=lambda q: geometric_jacobian(model, q),
    )  # fmt: skip


def panda_robot(q_init: ArrayLike | None = None) -> BaselineRobot:
    """The Panda at the world origin (needs :mod:`solvers.kinematics`)."""
    from solvers.kinematics import RobotModel

    return robot_from_model(RobotModel(), q_init=q_init)
