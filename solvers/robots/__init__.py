"""Robot models as data (kinematic chains, limits, tool frames, collision spheres)."""

from solvers.robots.chain import CollisionSphere, JointSpec, RobotSpec
from solvers.robots.panda import PANDA

__all__ = ["PANDA", "CollisionSphere", "JointSpec", "RobotSpec"]
