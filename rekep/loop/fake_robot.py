"""A scripted, kinematic :class:`~rekep.loop.robot_interface.LoopRobot` for tests and docs.

The "arm" is a free-flying Cartesian hand: its six joints are the TCP position (metres) and
rotation vector (radians), so forward and inverse kinematics are exact and trivial. Joint
targets are reached instantly (``max_speed_m_s=None``) or at a bounded speed. The scene is a
set of rigid keypoint groups (objects); closing the gripper with the TCP within
``grasp_radius_m`` of an object's keypoint catches it (the fingers stop at the object's
width) and its keypoints then move rigidly with the hand until the gripper opens or a
scripted disturbance knocks it out. :meth:`keypoint_positions` is the ground truth a fake
tracker reads.

A user wiring a real arm implements the same methods: read joints and the TCP pose, run
their IK, stream joint targets to the controller, command the gripper, grab a frame, and
wait in :meth:`advance`.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ConfigurationError
from rekep.observation import RGBD
from rekep.poses import invert_pose, pose_from_pos_rotvec, rotvec_from_matrix, transform_points

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

OPEN_WIDTH = 0.08
"""Width of the open gripper, metres."""
CATCH_WIDTH = 0.07
"""Fingers closing from at least this wide close around an object (narrower: they hit it)."""


def _pose_to_joints(T: FloatArray) -> FloatArray:
    return np.concatenate([T[:3, 3], rotvec_from_matrix(T[:3, :3])])


class FakeRobot:
    """Kinematic hand over a scripted scene of rigid keypoint groups.

    Args:
        keypoints: (K, 3) world positions of the scene's keypoints, metres.
        object_ids: (K,) object id of each keypoint (keypoints sharing one move together).
        T_world_tcp: (4, 4) initial TCP pose.
        object_widths: object id -> width between the fingers when held (default 0.04 m).
        max_speed_m_s / max_speed_rad_s: joint rate limits; None = targets reached at once.
        grasp_radius_m: a closing gripper catches an object with a keypoint this near the TCP.
        gripper_speed_m_s: finger closing/opening speed (width change per second).
    """

    name = "fake"

    def __init__(
        self,
        keypoints: ArrayLike,
        object_ids: ArrayLike,
        T_world_tcp: ArrayLike,
        *,
        object_widths: dict[int, float] | None = None,
        max_speed_m_s: float | None = None,
        max_speed_rad_s: float | None = None,
        grasp_radius_m: float = 0.03,
        gripper_speed_m_s: float = 0.2,
    ) -> None:
        self._points = np.array(keypoints, dtype=np.float64).reshape(-1, 3)
        self._ids = np.asarray(object_ids, dtype=np.int64).reshape(-1)
        if self._ids.shape != (len(self._points),):
            raise ConfigurationError("FakeRobot needs one object id per keypoint")
        for limit in (max_speed_m_s, max_speed_rad_s, grasp_radius_m, gripper_speed_m_s):
            if limit is not None and not limit > 0:
                raise ConfigurationError(f"FakeRobot speeds and radii must be positive: {limit}")
        self._q = _pose_to_joints(np.asarray(T_world_tcp, dtype=np.float64))
        self._q_target = self._q.copy()
        self._widths = dict(object_widths or {})
        self._v_lin, self._v_ang = max_speed_m_s, max_speed_rad_s
        self._radius = grasp_radius_m
        self._grip_speed = gripper_speed_m_s
        self._width = OPEN_WIDTH
        self._closing = False
        self._held: int | None = None
        self._held_in_tcp = np.zeros((0, 3))
        self._time = 0.0
        self.commands: list[FloatArray] = []
        """Every joint target received (for tests)."""

    # ------------------------------------------------------------------ LoopRobot
    @property
    def time_s(self) -> float:
        return self._time

    def joint_positions(self) -> FloatArray:
        return self._q.copy()

    def hand_pose(self) -> FloatArray:
        return pose_from_pos_rotvec(self._q[:3], self._q[3:])

    def inverse_kinematics(self, T_world_tcp: ArrayLike, q_seed: ArrayLike) -> FloatArray | None:
        return _pose_to_joints(np.asarray(T_world_tcp, dtype=np.float64))

    def send_joint_targets(self, q: ArrayLike) -> None:
        target = np.asarray(q, dtype=np.float64).reshape(6)
        self._q_target = target.copy()
        self.commands.append(target.copy())

    def command_gripper(self, close: bool) -> None:
        self._closing = bool(close)

    def gripper_width(self) -> float:
        return self._width

    def observe(self) -> RGBD:
        """A tiny blank frame (the fake tracker does not read images)."""
        K = np.array([[10.0, 0.0, 2.0], [0.0, 10.0, 2.0], [0.0, 0.0, 1.0]])
        return RGBD(np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), np.float32), K)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ConfigurationError(f"cannot advance by negative time {seconds}")
        self._time += seconds
        self._move_arm(seconds)
        self._move_gripper(seconds)
        if self._held is not None:
            mask = self._ids == self._held
            self._points[mask] = transform_points(self.hand_pose(), self._held_in_tcp)

    # ------------------------------------------------------------------ scene
    def keypoint_positions(self) -> FloatArray:
        """(K, 3) ground-truth keypoint positions now, metres."""
        return self._points.copy()

    @property
    def held_object(self) -> int | None:
        """Object id between the fingers, or None."""
        return self._held

    def displace_object(self, object_id: int, offset: ArrayLike) -> None:
        """Scripted disturbance: move an object by ``offset`` (3,) metres; a held one is
        knocked out of the hand (the fingers then close on nothing)."""
        if self._held == object_id:
            self._held = None
            if self._closing:
                self._width = 0.0
        mask = self._ids == object_id
        self._points[mask] += np.asarray(offset, dtype=np.float64).reshape(3)

    # ------------------------------------------------------------------ internals
    def _move_arm(self, dt: float) -> None:
        delta = self._q_target - self._q
        scale = 1.0
        lin, ang = float(np.linalg.norm(delta[:3])), float(np.linalg.norm(delta[3:]))
        if self._v_lin is not None and lin > self._v_lin * dt:
            scale = min(scale, self._v_lin * dt / lin)
        if self._v_ang is not None and ang > self._v_ang * dt:
            scale = min(scale, self._v_ang * dt / ang)
        self._q = self._q + scale * delta

    def _move_gripper(self, dt: float) -> None:
        step = self._grip_speed * dt
        if not self._closing:
            self._width = min(OPEN_WIDTH, self._width + step)
            if self._held is not None:
                logger.debug("fake robot: released object %d", self._held)
                self._held = None
            return
        if self._held is None and self._width >= CATCH_WIDTH:
            self._held = self._catch()
        stop = self._widths.get(self._held, 0.04) if self._held is not None else 0.0
        self._width = max(stop, self._width - step)

    def _catch(self) -> int | None:
        tcp = self.hand_pose()[:3, 3]
        dist = np.linalg.norm(self._points - tcp, axis=1)
        if len(dist) == 0 or float(dist.min()) > self._radius:
            return None
        obj = int(self._ids[int(np.argmin(dist))])
        self._held_in_tcp = transform_points(
            invert_pose(self.hand_pose()), self._points[self._ids == obj]
        )
        return obj
