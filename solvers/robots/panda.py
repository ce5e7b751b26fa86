"""The Franka Panda with the Franka hand, as in pybullet_data's ``franka_panda/panda.urdf``.

Facts only: joint origins, axes and limits copied from that URDF (a test re-reads it), the
tool centre point (TCP) and collision spheres fitted to its collision meshes.

TCP frame (same definition as the simulator's, ``rekep.sim.panda_model``): origin midway
between the fingertip pads, :data:`TCP_OFFSET` along the hand's z axis from the
``panda_hand`` frame; z = approach direction (out of the hand); x = finger closing
direction (the hand's y axis); so ``T_hand_tcp = [Rz(+90 deg) | (0, 0, TCP_OFFSET)]``.

Collision spheres: centres in their link frames, radii in metres. Each link's spheres
cover every vertex of that link's collision mesh (k-means centres on the mesh's convex-hull
volume, radius = farthest surface point assigned to the centre, rounded up to a
millimetre; a test checks the covering against the meshes). The finger spheres are in the
hand frame with the gripper fully open (each finger 0.04 m out), so they do not fill the
space between the fingers where grasped objects go.
"""

from __future__ import annotations

import math

from solvers.robots.chain import CollisionSphere, JointSpec, RobotSpec

HALF_PI = 1.57079632679  # as written in the URDF

PANDA_JOINTS: tuple[JointSpec, ...] = (
    JointSpec("panda_joint1", "panda_link0", "panda_link1", (0.0, 0.0, 0.333), (0.0, 0.0, 0.0),
              lower=-2.9671, upper=2.9671, velocity=2.1750),
    JointSpec("panda_joint2", "panda_link1", "panda_link2", (0.0, 0.0, 0.0), (-HALF_PI, 0.0, 0.0),
              lower=-1.8326, upper=1.8326, velocity=2.1750),
    JointSpec("panda_joint3", "panda_link2", "panda_link3", (0.0, -0.316, 0.0), (HALF_PI, 0.0, 0.0),
              lower=-2.9671, upper=2.9671, velocity=2.1750),
    JointSpec("panda_joint4", "panda_link3", "panda_link4", (0.0825, 0.0, 0.0), (HALF_PI, 0.0, 0.0),
              lower=-3.1416, upper=0.0, velocity=2.1750),
    JointSpec("panda_joint5", "panda_link4", "panda_link5", (-0.0825, 0.384, 0.0),
              (-HALF_PI, 0.0, 0.0), lower=-2.9671, upper=2.9671, velocity=2.6100),
    JointSpec("panda_joint6", "panda_link5", "panda_link6", (0.0, 0.0, 0.0), (HALF_PI, 0.0, 0.0),
              lower=-0.0873, upper=3.8223, velocity=2.6100),
    JointSpec("panda_joint7", "panda_link6", "panda_link7", (0.088, 0.0, 0.0), (HALF_PI, 0.0, 0.0),
              lower=-2.9671, upper=2.9671, velocity=2.6100),
    JointSpec("panda_joint8", "panda_link7", "panda_link8", (0.0, 0.0, 0.107), (0.0, 0.0, 0.0),
              kind="fixed", axis=(0.0, 0.0, 0.0)),
    JointSpec("panda_hand_joint", "panda_link8", "panda_hand", (0.0, 0.0, 0.0),
              (0.0, 0.0, -0.785398163397), kind="fixed", axis=(0.0, 0.0, 0.0)),
)
"""The arm's joints, base to hand, as in the URDF (the two finger joints are left out)."""

TCP_OFFSET = 0.1034
"""Distance from the ``panda_hand`` frame to the TCP along the hand's z axis, metres."""

_C, _S = math.cos(math.pi / 2), math.sin(math.pi / 2)
T_HAND_TCP: tuple[tuple[float, ...], ...] = (
    (_C, -_S, 0.0, 0.0),
    (_S, _C, 0.0, 0.0),
    (0.0, 0.0, 1.0, TCP_OFFSET),
    (0.0, 0.0, 0.0, 1.0),
)
"""(4, 4) TCP pose in the ``panda_hand`` frame: Rz(+90 deg), TCP_OFFSET along z."""

FINGER_OPEN = 0.04
"""Travel of each finger at which the finger spheres were fitted (fully open), metres."""

PANDA_SPHERES: tuple[CollisionSphere, ...] = (
    CollisionSphere("panda_link0", (-0.089, -0.004, 0.037), 0.093),
    CollisionSphere("panda_link0", (-0.001, 0.039, 0.035), 0.090),
    CollisionSphere("panda_link0", (0.001, -0.041, 0.048), 0.089),
    CollisionSphere("panda_link0", (-0.010, 0.007, 0.108), 0.081),
    CollisionSphere("panda_link1", (-0.001, 0.000, -0.155), 0.072),
    CollisionSphere("panda_link1", (0.003, -0.025, 0.007), 0.074),
    CollisionSphere("panda_link1", (-0.003, -0.085, -0.009), 0.073),
    CollisionSphere("panda_link1", (-0.005, 0.001, -0.071), 0.074),
    CollisionSphere("panda_link1", (0.004, -0.056, -0.095), 0.073),
    CollisionSphere("panda_link2", (-0.001, -0.092, -0.009), 0.071),
    CollisionSphere("panda_link2", (0.001, 0.001, 0.082), 0.071),
    CollisionSphere("panda_link2", (0.000, -0.006, 0.017), 0.073),
    CollisionSphere("panda_link2", (0.000, -0.161, 0.006), 0.072),
    CollisionSphere("panda_link2", (0.000, -0.085, 0.057), 0.073),
    CollisionSphere("panda_link3", (0.052, 0.029, -0.071), 0.071),
    CollisionSphere("panda_link3", (0.078, 0.073, -0.003), 0.070),
    CollisionSphere("panda_link3", (0.016, 0.011, -0.023), 0.068),
    CollisionSphere("panda_link3", (-0.006, -0.005, -0.087), 0.070),
    CollisionSphere("panda_link3", (0.091, 0.018, 0.005), 0.067),
    CollisionSphere("panda_link4", (-0.006, 0.013, 0.074), 0.078),
    CollisionSphere("panda_link4", (-0.031, 0.077, 0.006), 0.077),
    CollisionSphere("panda_link4", (0.007, -0.008, 0.020), 0.066),
    CollisionSphere("panda_link4", (-0.095, 0.088, 0.002), 0.076),
    CollisionSphere("panda_link4", (-0.065, 0.024, 0.020), 0.076),
    CollisionSphere("panda_link5", (0.001, 0.061, -0.154), 0.071),
    CollisionSphere("panda_link5", (0.000, 0.068, 0.009), 0.073),
    CollisionSphere("panda_link5", (0.000, 0.004, -0.223), 0.070),
    CollisionSphere("panda_link5", (0.001, 0.022, -0.059), 0.074),
    CollisionSphere("panda_link5", (-0.001, 0.002, -0.142), 0.070),
    CollisionSphere("panda_link5", (-0.001, 0.082, -0.066), 0.070),
    CollisionSphere("panda_link6", (0.038, 0.036, 0.009), 0.054),
    CollisionSphere("panda_link6", (0.089, -0.021, -0.001), 0.055),
    CollisionSphere("panda_link6", (-0.015, 0.004, 0.011), 0.056),
    CollisionSphere("panda_link6", (0.092, 0.041, -0.001), 0.055),
    CollisionSphere("panda_link6", (0.029, -0.022, 0.016), 0.054),
    CollisionSphere("panda_link7", (-0.005, 0.027, 0.078), 0.046),
    CollisionSphere("panda_link7", (0.023, -0.010, 0.078), 0.045),
    CollisionSphere("panda_link7", (0.041, 0.039, 0.082), 0.043),
    CollisionSphere("panda_link7", (-0.019, -0.016, 0.078), 0.045),
    CollisionSphere("panda_hand", (0.000, -0.076, 0.024), 0.051),
    CollisionSphere("panda_hand", (0.000, 0.071, 0.029), 0.049),
    CollisionSphere("panda_hand", (0.000, -0.026, 0.044), 0.047),
    CollisionSphere("panda_hand", (0.000, 0.026, 0.022), 0.048),
    CollisionSphere("panda_hand", (0.000, -0.023, 0.001), 0.051),
    CollisionSphere("panda_hand", (0.001, 0.055, 0.066), 0.019),
    CollisionSphere("panda_hand", (0.000, 0.049, 0.099), 0.017),
    CollisionSphere("panda_hand", (-0.001, 0.053, 0.080), 0.018),
    CollisionSphere("panda_hand", (0.000, -0.049, 0.100), 0.017),
    CollisionSphere("panda_hand", (0.000, -0.055, 0.066), 0.018),
    CollisionSphere("panda_hand", (0.000, -0.052, 0.081), 0.018),
)
"""Collision spheres (see the module docstring); the last six are the open fingers."""

PANDA = RobotSpec(
    name="panda",
    base_link="panda_link0",
    joints=PANDA_JOINTS,
    tcp_link="panda_hand",
    T_link_tcp=T_HAND_TCP,
    spheres=PANDA_SPHERES,
)
"""The Franka Panda arm with the Franka hand."""
