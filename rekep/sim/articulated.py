"""Articulated bodies built from box primitives: a prismatic slider and a drawer cabinet.

A slider is one PyBullet multibody: a fixed, invisible, collision-free base (the rail) and
one link made of :class:`~rekep.sim.world.BoxPart` boxes on a prismatic joint. The joint has
position limits, viscous damping and Coulomb friction (a zero-velocity motor with a bounded
force), so the link stays where it is left and only moves when pushed or pulled harder
than ``friction_n`` newtons.

A drawer cabinet is two bodies, so segmentation (which reports body ids only) and keypoint
grouping tell them apart: a static carcass (open at its front) and a drawer slider whose
link holds the drawer box, its front panel and a bar handle standing off the panel.

Cabinet frame (origin: centre of the carcass's footprint on the table, z up): the drawer
opens along +x (the front face is at ``x = depth / 2``), y spans the width. The slider
base frame coincides with the cabinet frame, so the joint position is the opening in
metres (0 = closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import as_pose, pos_quat_from_pose
from rekep.sim.world import BoxPart, SimWorld, box_part_shapes

p = require("pybullet", "simulation")

SLIDER_JOINT = 0
"""Index of the prismatic joint (and of its link) in a slider body."""
DRAWER_CLEARANCE = 0.004
"""Free space between the drawer and the carcass on every side, metres."""


def add_slider(
    world: SimWorld,
    parts: Sequence[BoxPart],
    T_world_base: ArrayLike,
    *,
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0),
    lower: float = 0.0,
    upper: float = 0.3,
    mass: float = 1.0,
    friction_n: float = 5.0,
    damping: float = 5.0,
    lateral_friction: float = 0.8,
) -> int:
    """Add a fixed rail with one prismatic link made of ``parts``; returns the body id.

    Args:
        parts: boxes of the moving link, in the link frame (= base frame at position 0).
        T_world_base: (4, 4) pose of the fixed base (the rail).
        axis: (3,) unit joint axis in the base frame.
        lower, upper: joint limits, metres (lower < upper).
        mass: link mass, kg.
        friction_n: Coulomb friction of the joint, newtons (>= 0).
        damping: viscous joint damping, N s/m (>= 0).
        lateral_friction: contact friction coefficient of the link's surfaces.
    """
    if not parts:
        raise SimulationError("add_slider needs at least one BoxPart for the moving link")
    if not lower < upper:
        raise SimulationError(f"slider limits need lower < upper, got {lower} and {upper}")
    if mass <= 0 or friction_n < 0 or damping < 0:
        raise SimulationError("slider mass must be > 0 kg; friction and damping >= 0")
    ax = np.asarray(axis, dtype=np.float64).reshape(3)
    if not np.isclose(np.linalg.norm(ax), 1.0, atol=1e-6):
        raise SimulationError(f"slider axis must be a unit vector, got {axis}")
    cid = world.client
    pos, quat = pos_quat_from_pose(as_pose(T_world_base, "T_world_base"))
    try:
        col, vis = box_part_shapes(parts, cid)
        body = int(p.createMultiBody(
            baseMass=0.0, baseCollisionShapeIndex=-1, baseVisualShapeIndex=-1,
            basePosition=pos.tolist(), baseOrientation=quat.tolist(),
            linkMasses=[mass], linkCollisionShapeIndices=[col], linkVisualShapeIndices=[vis],
            linkPositions=[[0.0, 0.0, 0.0]], linkOrientations=[[0.0, 0.0, 0.0, 1.0]],
            linkInertialFramePositions=[[0.0, 0.0, 0.0]],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]],
            linkParentIndices=[0], linkJointTypes=[p.JOINT_PRISMATIC],
            linkJointAxis=[ax.tolist()], physicsClientId=cid,
        ))
        p.changeDynamics(
            body, SLIDER_JOINT, jointLowerLimit=float(lower), jointUpperLimit=float(upper),
            jointDamping=float(damping), lateralFriction=lateral_friction,
            linearDamping=0.0, angularDamping=0.0, physicsClientId=cid,
        )
        p.setJointMotorControl2(
            body, SLIDER_JOINT, p.VELOCITY_CONTROL, targetVelocity=0.0, force=float(friction_n),
            physicsClientId=cid,
        )
    except Exception as exc:
        raise SimulationError(f"PyBullet could not create the slider body: {exc}") from exc
    return body


def joint_position(world: SimWorld, body: int) -> float:
    """Position of a slider's prismatic joint, metres."""
    return float(p.getJointState(body, SLIDER_JOINT, physicsClientId=world.client)[0])


def set_joint_position(world: SimWorld, body: int, value: float) -> None:
    """Teleport a slider's joint to ``value`` metres with zero velocity (scene set-up only)."""
    p.resetJointState(body, SLIDER_JOINT, float(value), 0.0, physicsClientId=world.client)


def link_pose(world: SimWorld, body: int) -> NDArray[np.float64]:
    """(4, 4) world pose of a slider's moving link frame."""
    return world.moving_pose(body)


@dataclass(frozen=True)
class DrawerGeometry:
    """Sizes of a drawer cabinet, metres (see the module docstring for the frame).

    Attributes:
        depth, width, height: outer carcass size along x, y, z.
        wall: carcass and drawer panel thickness.
        travel: how far the drawer opens at most (upper joint limit).
        handle_gap: free space between the front panel and the handle bar (the fingers
            reach into it).
        handle_bar: square cross-section side of the bar and of its two posts.
        handle_length: length of the bar along y (its posts are at its ends).
        handle_drop: height of the bar's centre below the carcass top.
    """

    depth: float = 0.30
    width: float = 0.36
    height: float = 0.16
    wall: float = 0.015
    travel: float = 0.25
    handle_gap: float = 0.07
    handle_bar: float = 0.015
    handle_length: float = 0.30
    handle_drop: float = 0.025

    def __post_init__(self) -> None:
        values = [getattr(self, n) for n in self.__dataclass_fields__]
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise SimulationError(f"DrawerGeometry sizes must be positive metres, got {self}")
        if self.handle_length > self.width - 2 * self.wall:
            raise SimulationError("the handle must be shorter than the drawer front")
        if self.travel > self.depth - 2 * self.wall:
            raise SimulationError("the drawer cannot travel further than the carcass is deep")

    @property
    def front_x(self) -> float:
        """x of the carcass front face (and of the closed drawer's front face)."""
        return self.depth / 2

    @property
    def handle_centre(self) -> NDArray[np.float64]:
        """(3,) centre of the handle bar in the drawer link frame (= cabinet frame, closed)."""
        x = self.front_x + self.handle_gap + self.handle_bar / 2
        return np.array([x, 0.0, self.height - self.handle_drop])

    @property
    def handle_ends(self) -> NDArray[np.float64]:
        """(2, 3) points on the bar's top face right above its two posts, drawer link frame
        (= cabinet frame, closed); row 0 at -y, row 1 at +y. Corners of the dark bar and its
        posts against the light front: visible and well textured for image tracking."""
        centre = self.handle_centre
        y = self.handle_length / 2 - self.handle_bar / 2
        z = centre[2] + self.handle_bar / 2
        return np.array([[centre[0], -y, z], [centre[0], y, z]])


@dataclass(frozen=True)
class DrawerCabinet:
    """Body ids of a drawer cabinet: ``carcass`` (static) and ``drawer`` (slider)."""

    carcass: int
    drawer: int
    geometry: DrawerGeometry


def _carcass_parts(g: DrawerGeometry, rgba: tuple[float, float, float, float]) -> list[BoxPart]:
    t, hd, hw, h = g.wall, g.depth / 2, g.width / 2, g.height
    return [
        BoxPart((hd, hw, t / 2), (0.0, 0.0, h - t / 2), rgba=rgba),  # top
        BoxPart((hd, hw, t / 2), (0.0, 0.0, t / 2), rgba=rgba),  # bottom
        BoxPart((hd, t / 2, h / 2), (0.0, hw - t / 2, h / 2), rgba=rgba),  # sides
        BoxPart((hd, t / 2, h / 2), (0.0, -hw + t / 2, h / 2), rgba=rgba),
        BoxPart((t / 2, hw, h / 2), (-hd + t / 2, 0.0, h / 2), rgba=rgba),  # back
    ]


def _drawer_parts(
    g: DrawerGeometry,
    rgba: tuple[float, float, float, float],
    handle_rgba: tuple[float, float, float, float],
) -> list[BoxPart]:
    t, gap = g.wall, DRAWER_CLEARANCE
    y_half = g.width / 2 - t - gap
    z_lo, z_hi = t + gap, g.height - t - gap
    box_depth = g.depth - 2 * t - 2 * gap
    x_front = g.front_x - t / 2
    x_mid = g.front_x - t - box_depth / 2
    z_mid = (z_lo + z_hi) / 2
    side_h = (z_hi - z_lo) * 0.6
    bar, handle = g.handle_bar / 2, g.handle_centre
    post_x = g.front_x + g.handle_gap / 2
    post_y = g.handle_length / 2 - bar
    return [
        BoxPart((t / 2, y_half, (z_hi - z_lo) / 2), (x_front, 0.0, z_mid), rgba=rgba),  # front
        BoxPart((box_depth / 2, y_half, t / 2), (x_mid, 0.0, z_lo + t / 2), rgba=rgba),  # floor
        BoxPart((box_depth / 2, t / 2, side_h / 2), (x_mid, y_half - t / 2, z_lo + side_h / 2),
                rgba=rgba),
        BoxPart((box_depth / 2, t / 2, side_h / 2), (x_mid, -y_half + t / 2, z_lo + side_h / 2),
                rgba=rgba),
        BoxPart((t / 2, y_half, side_h / 2), (g.front_x - t - box_depth + t / 2, 0.0,
                                              z_lo + side_h / 2), rgba=rgba),  # back
        BoxPart((bar, g.handle_length / 2, bar), tuple(handle), rgba=handle_rgba),  # bar
        BoxPart((g.handle_gap / 2, bar, bar), (post_x, post_y, handle[2]), rgba=handle_rgba),
        BoxPart((g.handle_gap / 2, bar, bar), (post_x, -post_y, handle[2]), rgba=handle_rgba),
    ]


def add_drawer_cabinet(
    world: SimWorld,
    T_world_cabinet: ArrayLike,
    geometry: DrawerGeometry | None = None,
    *,
    drawer_mass: float = 1.0,
    friction_n: float = 6.0,
    damping: float = 8.0,
    rgba: tuple[float, float, float, float] = (0.55, 0.4, 0.28, 1.0),
    drawer_rgba: tuple[float, float, float, float] = (0.8, 0.68, 0.5, 1.0),
    handle_rgba: tuple[float, float, float, float] = (0.2, 0.2, 0.22, 1.0),
) -> DrawerCabinet:
    """A static carcass and a drawer slider at a (4, 4) cabinet pose (module docstring).

    The drawer starts closed; its joint friction (``friction_n`` newtons) and damping
    (N s/m) keep it where the robot leaves it.
    """
    g = geometry or DrawerGeometry()
    carcass = world.add_compound(
        _carcass_parts(g, rgba), T_world_cabinet, mass=0.0, lateral_friction=0.5
    )
    drawer = add_slider(
        world, _drawer_parts(g, drawer_rgba, handle_rgba), T_world_cabinet,
        lower=0.0, upper=g.travel, mass=drawer_mass, friction_n=friction_n, damping=damping,
    )
    return DrawerCabinet(carcass, drawer, g)
