"""Damped-least-squares IK: the reachability term of the ReKep recipe.

The original scores reachability by how many iterations its IK solver needs (budget 20)
from the robot's current joints towards the candidate pose, and adds the distance of the
IK answer from a reset posture. Here the IK is a plain damped-least-squares iteration over
any forward-kinematics callable, so a robot model is an injectable dependency; a robot may
also bring a compiled version of the same iteration (``BaselineRobot.ik``, see
:mod:`solvers.baseline.compiled_ik`), as the original's IK is compiled code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from rekep.errors import SolverError
from solvers.baseline.options import (
    IK_MAX_ITERATIONS,
    IK_POSITION_TOLERANCE_M,
    IK_ROTATION_TOLERANCE_RAD,
)

FloatArray = NDArray[np.float64]
FkFn = Callable[[FloatArray], FloatArray]
JacobianFn = Callable[[FloatArray], FloatArray]
IKFn = Callable[..., "IKResult"]
"""``ik(seed (J,), T_target (4, 4), *, max_iterations, position_tolerance,
rotation_tolerance, damping) -> IKResult``: the same iteration as :func:`solve_ik`."""
DAMPING = 0.05
FD_STEP = 1.0e-6


def _joint_vector(value: ArrayLike, name: str, size: int | None = None) -> FloatArray:
    arr = np.array(value, dtype=np.float64).reshape(-1)
    if (size is not None and arr.shape != (size,)) or not np.all(np.isfinite(arr)):
        want = f"({size},)" if size is not None else "(J,)"
        raise SolverError(f"BaselineRobot.{name} must be {want} finite radians, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class BaselineRobot:
    """What the baseline needs to know of a robot.

    Attributes:
        fk: ``q (J,) rad -> T_world_tcp (4, 4)`` forward kinematics of the tool centre point.
        joint_lower: (J,) joint lower limits, rad.
        joint_upper: (J,) joint upper limits, rad.
        q_reset: (J,) reset posture, rad (the posture term pulls towards it).
        q_init: (J,) current joints, the IK seed (None: ``q_reset``).
        jacobian: optional ``q -> (6, J)`` world-frame Jacobian (rows: linear velocity, then
            angular velocity); finite differences of ``fk`` when None.
        ik: optional compiled damped-least-squares IK (:data:`IKFn`) used by
            :func:`solve_ik` instead of the Python loop; it must give the same answer.
    """

    fk: FkFn
    joint_lower: FloatArray
    joint_upper: FloatArray
    q_reset: FloatArray
    q_init: FloatArray | None = None
    jacobian: JacobianFn | None = None
    ik: IKFn | None = None

    def __post_init__(self) -> None:
        if not callable(self.fk):
            raise SolverError("BaselineRobot.fk must be callable: q (J,) -> (4, 4) pose")
        lo = _joint_vector(self.joint_lower, "joint_lower")
        hi = _joint_vector(self.joint_upper, "joint_upper", lo.shape[0])
        if not np.all(lo < hi):
            raise SolverError("BaselineRobot.joint_lower must be < joint_upper for every joint")
        set_ = object.__setattr__
        set_(self, "joint_lower", lo)
        set_(self, "joint_upper", hi)
        set_(self, "q_reset", _joint_vector(self.q_reset, "q_reset", lo.shape[0]))
        if self.q_init is not None:
            set_(self, "q_init", _joint_vector(self.q_init, "q_init", lo.shape[0]))

    @property
    def dof(self) -> int:
        """Number of joints J."""
        return int(self.joint_lower.shape[0])

    @property
    def seed(self) -> FloatArray:
        """(J,) IK seed: the current joints when known, else the reset posture."""
        return self.q_reset if self.q_init is None else self.q_init


@dataclass(frozen=True)
class IKResult:
    """Outcome of one IK solve.

    Attributes:
        q: (J,) final joints, rad (within limits).
        success: position error <= 1 cm and rotation error <= 0.05 rad.
        iterations: updates spent (0 when the seed already reaches the pose).
        position_error: metres.
        rotation_error: radians.
    """

    q: FloatArray
    success: bool
    iterations: int
    position_error: float
    rotation_error: float


def pose_error(T_target: FloatArray, T: FloatArray) -> FloatArray:
    """(6,) ``[p_target - p, rotvec(R_target R^T)]`` in the world frame (m, rad)."""
    rot = Rotation.from_matrix(T_target[:3, :3] @ T[:3, :3].T).as_rotvec()
    return np.concatenate([T_target[:3, 3] - T[:3, 3], rot])


def numeric_jacobian(fk: FkFn, q: FloatArray, T: FloatArray | None = None) -> FloatArray:
    """(6, J) world-frame Jacobian of ``fk`` at ``q`` by forward differences."""
    base = fk(q) if T is None else T
    J = np.empty((6, q.shape[0]))
    for i in range(q.shape[0]):
        dq = q.copy()
        dq[i] += FD_STEP
        J[:, i] = pose_error(fk(dq), base) / FD_STEP
    return J


def solve_ik(
    robot: BaselineRobot,
    T_target: ArrayLike,
    *,
    max_iterations: int = IK_MAX_ITERATIONS,
    position_tolerance: float = IK_POSITION_TOLERANCE_M,
    rotation_tolerance: float = IK_ROTATION_TOLERANCE_RAD,
    damping: float = DAMPING,
) -> IKResult:
    """Damped least squares from ``robot.seed`` towards ``T_target`` (4, 4).

    Each iteration: ``dq = J^T (J J^T + damping^2 I)^-1 e`` with ``e`` the (6,) pose error,
    then clip to the joint limits. Stops when both tolerances hold or after
    ``max_iterations`` updates. Runs ``robot.ik`` (compiled) when the robot has one.
    """
    target = np.asarray(T_target, dtype=np.float64)
    if robot.ik is not None:
        return robot.ik(robot.seed, target, max_iterations=max_iterations,
                        position_tolerance=position_tolerance,
                        rotation_tolerance=rotation_tolerance, damping=damping)  # fmt: skip
    q = robot.seed.copy()
    eye = np.eye(6) * damping**2
    iterations = 0
    while True:
        T = np.asarray(robot.fk(q), dtype=np.float64)
        e = pose_error(target, T)
        pos_err = float(np.linalg.norm(e[:3]))
        rot_err = float(np.linalg.norm(e[3:]))
        success = pos_err <= position_tolerance and rot_err <= rotation_tolerance
        if success or iterations >= max_iterations:
            return IKResult(q, success, iterations, pos_err, rot_err)
        J = robot.jacobian(q) if robot.jacobian is not None else numeric_jacobian(robot.fk, q, T)
        dq = J.T @ np.linalg.solve(J @ J.T + eye, e)
        q = np.clip(q + dq, robot.joint_lower, robot.joint_upper)
        iterations += 1
