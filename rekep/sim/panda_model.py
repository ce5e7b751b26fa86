"""Fixed facts about the Franka Panda model shipped in pybullet_data (franka_panda/panda.urdf).

TCP (tool centre point) frame, used by every pose this package reads or commands:

* origin: midway between the two fingertip pads, 0.1034 m along the hand's z axis from the
  hand (flange) frame (the pads span 0.094..0.112 m there, so this is their centre; it is
  also Franka's standard TCP offset);
* z axis: the approach direction, pointing out of the hand towards the fingertips;
* x axis: the finger closing direction (the hand's y axis, along which the fingers slide);
* y axis: z cross x (so the frame is right-handed); T_hand_tcp = Rz(+90 deg), offset above.

With the gripper pointing straight down and yaw ``psi``, the TCP axes in the world are
x = (cos psi, sin psi, 0), y = (sin psi, -cos psi, 0), z = (0, 0, -1); see
:func:`top_down_tcp_pose`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.poses import make_pose

URDF_PATH = "franka_panda/panda.urdf"
ARM_JOINTS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
FINGER_JOINTS: tuple[int, int] = (9, 10)
FINGER_LINKS: tuple[int, int] = (9, 10)
HAND_LINK = 8
NUM_DOF = 9
"""Movable joints (7 arm + 2 fingers), the length PyBullet's IK works with."""

ARM_LOWER = np.array([-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671])
"""(7,) arm joint lower limits, radians (from the URDF)."""
ARM_UPPER = np.array([2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671])
"""(7,) arm joint upper limits, radians (from the URDF)."""
ARM_EFFORT = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])
"""(7,) joint torque limits, N m."""
FINGER_MAX = 0.04
"""Travel of one finger, metres; the gripper opens to 2 * FINGER_MAX = 0.08 m."""

HOME_Q = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
"""(7,) home configuration: TCP at (0.307, 0, 0.487) m, pointing down, TCP yaw -90 deg."""

TCP_OFFSET = 0.1034
"""Distance from the hand frame to the TCP along the hand z axis, metres."""
_RZ90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
T_HAND_TCP: NDArray[np.float64] = make_pose(_RZ90, [0.0, 0.0, TCP_OFFSET])
"""(4, 4) TCP pose in the hand frame."""
T_TCP_HAND: NDArray[np.float64] = make_pose(_RZ90.T, -_RZ90.T @ np.array([0.0, 0.0, TCP_OFFSET]))
"""(4, 4) hand pose in the TCP frame (inverse of T_HAND_TCP)."""


def top_down_tcp_pose(position: ArrayLike, yaw: float) -> NDArray[np.float64]:
    """(4, 4) TCP pose pointing straight down at ``position`` (metres), closing along ``yaw``.

    ``yaw`` (radians) is the angle of the TCP x axis (finger closing direction) from world x.
    """
    c, s = float(np.cos(yaw)), float(np.sin(yaw))
    R = np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])
    return make_pose(R, position)
