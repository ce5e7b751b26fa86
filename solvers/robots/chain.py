"""A serial kinematic chain as data: joints, limits, tool frame and collision spheres.

Conventions follow URDF: a joint's ``xyz``/``rpy`` place the child frame in the parent
frame at zero joint value (``rpy`` = fixed-axis roll-pitch-yaw, R = Rz(yaw) Ry(pitch)
Rx(roll)); a revolute joint then rotates about ``axis`` (unit vector in the child frame).
Lengths in metres, angles in radians, velocities in rad/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SolverError

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class JointSpec:
    """One URDF joint of the chain (``kind`` is ``"revolute"`` or ``"fixed"``)."""

    name: str
    parent: str
    child: str
    xyz: Vec3
    rpy: Vec3
    kind: str = "revolute"
    axis: Vec3 = (0.0, 0.0, 1.0)
    lower: float = 0.0
    upper: float = 0.0
    velocity: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("revolute", "fixed"):
            raise SolverError(f"joint {self.name}: kind must be 'revolute' or 'fixed'")
        if len(self.xyz) != 3 or len(self.rpy) != 3 or len(self.axis) != 3:
            raise SolverError(f"joint {self.name}: xyz, rpy and axis must have 3 entries")
        if self.kind == "revolute":
            if not math.isclose(math.hypot(*self.axis), 1.0, abs_tol=1e-9):
                raise SolverError(f"joint {self.name}: axis {self.axis} is not a unit vector")
            if not (self.lower < self.upper and self.velocity > 0):
                raise SolverError(
                    f"joint {self.name}: need lower < upper and velocity > 0, got "
                    f"[{self.lower}, {self.upper}], {self.velocity}"
                )


@dataclass(frozen=True)
class CollisionSphere:
    """A sphere fixed in frame ``link``: ``center`` (3,) metres, ``radius`` metres."""

    link: str
    center: Vec3
    radius: float

    def __post_init__(self) -> None:
        if len(self.center) != 3 or not self.radius > 0:
            raise SolverError(f"collision sphere on {self.link}: need a 3-d centre and radius > 0")


@dataclass(frozen=True)
class RobotSpec:
    """A serial arm: ``joints`` from ``base_link`` outwards, the tool frame and spheres.

    ``T_link_tcp`` (4, 4, as nested tuples) places the tool centre point in ``tcp_link``.
    """

    name: str
    base_link: str
    joints: tuple[JointSpec, ...]
    tcp_link: str
    T_link_tcp: tuple[tuple[float, ...], ...]
    spheres: tuple[CollisionSphere, ...] = ()

    def __post_init__(self) -> None:
        link = self.base_link
        for j in self.joints:
            if j.parent != link:
                raise SolverError(
                    f"{self.name}: joint {j.name} hangs from {j.parent}, expected {link} "
                    "(joints must be listed base to tip along one chain)"
                )
            link = j.child
        links = set(self.link_names)
        if self.tcp_link not in links:
            raise SolverError(f"{self.name}: tcp_link {self.tcp_link} is not in {sorted(links)}")
        for s in self.spheres:
            if s.link not in links:
                raise SolverError(f"{self.name}: sphere on unknown link {s.link}")
        if np.asarray(self.T_link_tcp).shape != (4, 4):
            raise SolverError(f"{self.name}: T_link_tcp must be 4x4")

    @property
    def link_names(self) -> tuple[str, ...]:
        """Base link followed by every joint's child, in chain order."""
        return (self.base_link, *(j.child for j in self.joints))

    @property
    def actuated(self) -> tuple[JointSpec, ...]:
        """The revolute joints, in chain order (the configuration vector's order)."""
        return tuple(j for j in self.joints if j.kind == "revolute")

    @property
    def dof(self) -> int:
        return len(self.actuated)

    def limits(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(dof,) lower and upper joint limits, radians."""
        lo = np.array([j.lower for j in self.actuated])
        hi = np.array([j.upper for j in self.actuated])
        return lo, hi

    def velocity_limits(self) -> NDArray[np.float64]:
        """(dof,) joint velocity limits, rad/s."""
        return np.array([j.velocity for j in self.actuated])


def rpy_matrix(rpy: Vec3) -> NDArray[np.float64]:
    """URDF roll-pitch-yaw (radians) -> (3, 3) rotation Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    r, p, y = rpy
    cr, sr = math.cos(r), math.sin(r)
    cp, sp = math.cos(p), math.sin(p)
    cy, sy = math.cos(y), math.sin(y)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def origin_matrix(xyz: Vec3, rpy: Vec3) -> NDArray[np.float64]:
    """(4, 4) transform of a URDF ``<origin xyz rpy>``."""
    T = np.eye(4)
    T[:3, :3] = rpy_matrix(rpy)
    T[:3, 3] = xyz
    return T
