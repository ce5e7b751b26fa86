"""Inverse kinematics for the Panda on a private, kinematics-only PyBullet client.

PyBullet's ``calculateInverseKinematics`` starts from the body's *current* joint state and
runs a bounded number of damped-least-squares steps, so one call rarely converges; in
null-space mode it also stalls millimetres short of the target. We run a few null-space
rounds (limits, rest posture) and then plain rounds until the residual is below 0.1 mm, on a
shadow copy of the arm that lives in its own DIRECT client (resetting the
shadow's joints to each intermediate answer), which never disturbs the simulated robot.
Joint limits are only honoured by PyBullet when lowerLimits/upperLimits/jointRanges/
restPoses are all given (null-space mode); answers are clipped to the limits as well.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import as_pose, pos_quat_from_pose, pose_from_pos_quat, rotation_angle
from rekep.sim.panda_model import (
    ARM_JOINTS,
    ARM_LOWER,
    ARM_UPPER,
    FINGER_MAX,
    HAND_LINK,
    HOME_Q,
    T_HAND_TCP,
    T_TCP_HAND,
    URDF_PATH,
)

p = require("pybullet", "simulation")
pybullet_data = require("pybullet_data", "simulation")

logger = logging.getLogger(__name__)

POS_TOL = 0.005
"""IK gives up (returns None) when the position residual stays above this, metres."""
ANG_TOL = 0.05
"""IK gives up when the orientation residual stays above this, radians."""

_LOWER = [*ARM_LOWER.tolist(), 0.0, 0.0]
_UPPER = [*ARM_UPPER.tolist(), FINGER_MAX, FINGER_MAX]
_RANGES = [u - lo for lo, u in zip(_LOWER, _UPPER, strict=True)]


class PandaIK:
    """IK solver for a Panda whose base sits at ``T_world_base``.

    Args:
        T_world_base: (4, 4) pose of the robot base in the world.
    """

    def __init__(self, T_world_base: ArrayLike) -> None:
        self.client = int(p.connect(p.DIRECT))
        if self.client < 0:
            raise SimulationError("could not start the PyBullet client used for Panda IK")
        pos, quat = pos_quat_from_pose(as_pose(T_world_base, "T_world_base"))
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        self.body = int(
            p.loadURDF(URDF_PATH, pos.tolist(), quat.tolist(), useFixedBase=True,
                       physicsClientId=self.client)
        )
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                p.disconnect(physicsClientId=self.client)
            except Exception as exc:
                logger.debug("IK client disconnect failed: %s", exc)

    def _set(self, q: NDArray[np.float64]) -> None:
        for j, qj in zip(ARM_JOINTS, q, strict=True):
            p.resetJointState(self.body, j, float(qj), physicsClientId=self.client)

    def forward(self, q: ArrayLike) -> NDArray[np.float64]:
        """(7,) joint angles (radians) -> (4, 4) T_world_tcp."""
        self._set(np.asarray(q, dtype=np.float64).reshape(7))
        state = p.getLinkState(self.body, HAND_LINK, computeForwardKinematics=True,
                               physicsClientId=self.client)
        return pose_from_pos_quat(state[4], state[5]) @ T_HAND_TCP

    def solve_robust(
        self,
        T_world_tcp: ArrayLike,
        q_seed: ArrayLike,
        q_rest: ArrayLike | None = None,
        *,
        restarts: int = 4,
    ) -> NDArray[np.float64] | None:
        """Like :meth:`solve`, retrying from deterministic seeds spread over the joint box.

        Restart ``k`` starts from (and prefers) the middle of the joint ranges, then from
        configurations drawn with a fixed random generator, so results are reproducible.
        """
        q = self.solve(T_world_tcp, q_seed, q_rest)
        if q is not None:
            return q
        rng = np.random.default_rng(0)
        for k in range(restarts):
            seed = (ARM_LOWER + ARM_UPPER) / 2 if k == 0 else rng.uniform(ARM_LOWER, ARM_UPPER)
            q = self.solve(T_world_tcp, seed, seed)
            if q is not None:
                return q
        return None

    def solve(
        self,
        T_world_tcp: ArrayLike,
        q_seed: ArrayLike,
        q_rest: ArrayLike | None = None,
        *,
        null_space_rounds: int = 3,
        max_rounds: int = 20,
    ) -> NDArray[np.float64] | None:
        """(7,) joint angles putting the TCP at ``T_world_tcp``, or None if unreachable.

        Args:
            T_world_tcp: (4, 4) target TCP pose.
            q_seed: (7,) start configuration (radians), e.g. the current joints.
            q_rest: (7,) preferred posture for the null space; defaults to HOME_Q.
            null_space_rounds: rounds of limit-aware null-space IK run first.
            max_rounds: further plain IK rounds (clipped to limits) before giving up.
        """
        T = as_pose(T_world_tcp, "T_world_tcp")
        pos, quat = pos_quat_from_pose(T @ T_TCP_HAND)  # IK works on the hand link frame
        rest = np.asarray(HOME_Q if q_rest is None else q_rest, dtype=np.float64).reshape(7)
        q = np.clip(np.asarray(q_seed, dtype=np.float64).reshape(7), ARM_LOWER, ARM_UPPER)
        best_q, best = q, (np.inf, np.inf)
        self._set(q)
        for k in range(null_space_rounds + max_rounds):
            # First rounds in null-space mode (limits + rest posture shape the answer), then
            # plain DLS rounds from there, which converge to machine precision.
            limits = (
                {"lowerLimits": _LOWER, "upperLimits": _UPPER, "jointRanges": _RANGES,
                 "restPoses": [*rest.tolist(), 0.0, 0.0]}
                if k < null_space_rounds else {}
            )
            sol = p.calculateInverseKinematics(
                self.body, HAND_LINK, pos.tolist(), quat.tolist(), maxNumIterations=100,
                residualThreshold=1e-6, physicsClientId=self.client, **limits,
            )
            q = np.clip(np.asarray(sol[:7], dtype=np.float64), ARM_LOWER, ARM_UPPER)
            reached = self.forward(q)  # also leaves the shadow at q for the next round
            err = (
                float(np.linalg.norm(reached[:3, 3] - T[:3, 3])),
                rotation_angle(reached[:3, :3], T[:3, :3]),
            )
            if err[0] + 0.1 * err[1] < best[0] + 0.1 * best[1]:
                best_q, best = q, err
            if k >= null_space_rounds and err[0] < 1e-4 and err[1] < 1e-3:
                break
        if best[0] > POS_TOL or best[1] > ANG_TOL:
            logger.debug("IK failed: residual %.4f m, %.4f rad", *best)
            return None
        return best_q
