"""Task "pour_particles": pour the small balls from the cup into the bowl.

Scene: a narrow open cup built from box parts (inner footprint 4.5 x 12 cm, walls 9 cm
above a 5 mm floor, 5 mm thick; 0.12 kg) holding ``NUM_BALLS`` (12) balls of radius 9 mm
(5 g each) resting on its floor in a 2 x 6 grid, and a square bowl built from box parts
(inner footprint 20 x 20 cm, walls 5 cm above the floor; 1 kg). Both stand on the table at
random positions and yaws within comfortable reach of the Panda, at least
``MIN_SEPARATION`` apart. The cup is narrower than the open gripper across its short side,
so the top-down grasp closes across it; its far short wall (+y in the cup frame) is the
spout. The balls rest exactly on the cup floor at reset, so they stay put.

Appearance (what an image tracker can follow): two thin tabs flush with the cup's rim stick
out ``TAB_LENGTH`` from its short walls, a pouring lip on the spout wall and a wider tab on
the back wall (a cup's handle-side flange), both checkered dark/orange; the bowl floor is
four quadrants of two blues. Every anchor sits on an X-corner of a checker on a flat,
visible surface, where Lucas-Kanade has texture and the depth is that of the anchor (no
anchor in a cavity, in the air above the opening or on a 5 mm wall edge).

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success: at least ``MIN_FRACTION`` (70 %, i.e. 9 of 12) of the balls are in the bowl: the
ball centre, in the bowl frame, lies inside the inner footprint (``|x|, |y| <= 0.10`` m)
and at most the wall height (5 cm) above the bowl floor's top surface.

Anchors (object frames, all at rim height for the cup): ``cup_spout`` the middle of the
spout lip's top, ``cup_back_left`` / ``cup_back_right`` two points on the back tab's top
``BACK_MARK_X`` either side of the cup's mid-plane (-x / +x), ``bowl_center`` the centre
of the bowl floor's top surface. The reference program (:mod:`.pour_program`) derives the
centre of the opening and the cup's up axis from the three cup anchors.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import make_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import open_box_parts, sample_apart, yaw_pose
from rekep.sim.tasks.pour_program import make_program
from rekep.sim.world import BoxPart, SimWorld

p = require("pybullet", "simulation")

CUP_INNER = (0.0225, 0.06)
"""Half the cup's inner size along its x (across, the grasp side) and y (long), metres."""
CUP_WALL = 0.005
"""Cup wall and floor thickness, metres; the cup frame origin is under the floor's centre."""
CUP_WALL_HEIGHT = 0.09
"""Cup wall height above the floor's top surface, metres."""
CUP_MASS = 0.12
CUP_RGBA = (0.9, 0.55, 0.15, 1.0)
CUP_SPINNING_FRICTION = 1.0
"""Torsional friction of the cup, metres. PyBullet multiplies it with the finger pads'
(0.05), so a 40 N grip resists about 2 N m: the cup does not pivot in the fingers while
it is tilted about the closing axis."""
TAB_LENGTH = 0.025
"""How far the spout lip and the back tab reach out from the cup's short walls, metres."""
TAB_THICKNESS = 0.005
"""Thickness of the tabs, metres; their tops are flush with the rim."""
BACK_TAB_HALF = 0.04
"""Half the back tab's width across the cup, metres (wider than the cup, so its two checker
corners lie far enough apart to give the cup's roll)."""
BACK_MARK_X = 0.02
"""The back tab's checker corners lie this far either side of the cup's mid-plane, metres."""
MARK_RGBA = (0.25, 0.12, 0.05, 1.0)
"""Colour of the dark checker squares on the tabs."""
BALL_RADIUS = 0.009
"""Ball radius, metres."""
BALL_MASS = 0.005
NUM_BALLS = 12
BOWL_INNER_HALF = 0.10
"""Half the bowl's inner side length, metres."""
BOWL_WALL = 0.01
BOWL_WALL_HEIGHT = 0.05
"""Bowl wall height above the floor's top surface, metres."""
BOWL_FLOOR = 0.01
"""Bowl floor thickness, metres; the bowl frame origin is under the floor's centre."""
BOWL_MASS = 1.0
BOWL_RGBA = (0.3, 0.5, 0.8, 1.0)
BOWL_FLOOR_RGBA = ((0.3, 0.5, 0.8, 1.0), (0.75, 0.82, 0.95, 1.0))
"""Colours of the bowl floor's quadrants (a checker with its corner at the centre)."""
MIN_FRACTION = 0.7
"""Success: at least this fraction of the balls must be in the bowl."""
CUP_BOX = ((0.40, 0.58), (-0.25, 0.25))
"""Sampling box of the cup centre (x, y), metres (world = robot base frame)."""
BOWL_BOX = ((0.45, 0.60), (-0.25, 0.25))
"""Sampling box of the bowl centre (x, y), metres."""
MIN_SEPARATION = 0.26
"""Minimum distance between cup and bowl centres when sampling, metres."""
CUP_YAW = (-np.pi + 0.2, -0.2)
"""Sampling range of the cup yaw, radians. The top-down grasp closes across the cup with
the finger axis nearest the hand's (home: world -y); over this range that puts the spout on
the side the wrist can pitch down by more than 120 degrees without reaching a joint limit
(over the other half turn the same pour needs a wrist flip the open-loop runner's straight
Cartesian paths cannot follow)."""


def _shade(dark: bool) -> tuple[float, float, float, float]:
    return MARK_RGBA if dark else CUP_RGBA


def _cup_parts() -> list[BoxPart]:
    """Floor, four walls, and the two checkered tabs flush with the rim: the spout lip (+y,
    2 x 2 squares) and the back tab (-y, 3 columns x 2 rows)."""
    hx, hy = CUP_INNER
    t, h = CUP_WALL, CUP_WALL_HEIGHT
    ox, oy = hx + t, hy + t
    z = t + h / 2
    rgba = CUP_RGBA
    parts = [
        BoxPart((ox, oy, t / 2), (0.0, 0.0, t / 2), rgba=rgba),
        BoxPart((t / 2, oy, h / 2), (hx + t / 2, 0.0, z), rgba=rgba),
        BoxPart((t / 2, oy, h / 2), (-hx - t / 2, 0.0, z), rgba=rgba),
        BoxPart((hx, t / 2, h / 2), (0.0, hy + t / 2, z), rgba=rgba),
        BoxPart((hx, t / 2, h / 2), (0.0, -hy - t / 2, z), rgba=rgba),
    ]
    zc, q = t + h - TAB_THICKNESS / 2, TAB_LENGTH / 4  # tab centre height, half a row
    for row in (0, 1):  # row 0 next to the wall, row 1 at the tab's outer edge
        y = oy + q + 2 * q * row
        for col, sx in enumerate((-1.0, 1.0)):  # spout lip: two columns across the cup
            parts.append(BoxPart((ox / 2, q, TAB_THICKNESS / 2), (sx * ox / 2, y, zc),
                                 rgba=_shade((row + col) % 2 == 0)))  # fmt: skip
        a = BACK_MARK_X
        columns = ((-(BACK_TAB_HALF + a) / 2, (BACK_TAB_HALF - a) / 2), (0.0, a),
                   ((BACK_TAB_HALF + a) / 2, (BACK_TAB_HALF - a) / 2))  # (centre, half)
        for col, (cx, half) in enumerate(columns):
            parts.append(BoxPart((half, q, TAB_THICKNESS / 2), (cx, -y, zc),
                                 rgba=_shade((row + col) % 2 == 0)))  # fmt: skip
    return parts


def _bowl_parts() -> list[BoxPart]:
    """The bowl's four walls and its floor as four quadrants of two blues."""
    walls = open_box_parts(BOWL_INNER_HALF, BOWL_WALL, BOWL_WALL_HEIGHT, BOWL_FLOOR, BOWL_RGBA)
    half = (BOWL_INNER_HALF + BOWL_WALL) / 2
    floor = [
        BoxPart((half, half, BOWL_FLOOR / 2), (sx * half, sy * half, BOWL_FLOOR / 2),
                rgba=BOWL_FLOOR_RGBA[int(sx * sy > 0)])
        for sx in (-1.0, 1.0) for sy in (-1.0, 1.0)
    ]  # fmt: skip
    return floor + walls[1:]


def ball_grid() -> NDArray[np.float64]:
    """(NUM_BALLS, 3) resting ball centres in the cup frame: a 2 x 6 grid on the floor."""
    xs = np.array([-1.0, 1.0]) * (BALL_RADIUS + 0.0015)
    ys = (np.arange(6) - 2.5) * (2 * BALL_RADIUS + 0.0015)
    z = CUP_WALL + BALL_RADIUS
    return np.array([[x, y, z] for y in ys for x in xs])[:NUM_BALLS]


def _add_ball(world: SimWorld, position: NDArray[np.float64]) -> int:
    cid = world.client
    try:
        col = p.createCollisionShape(p.GEOM_SPHERE, radius=BALL_RADIUS, physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=BALL_RADIUS,
                                  rgbaColor=[0.9, 0.15, 0.2, 1.0], physicsClientId=cid)
        body = int(p.createMultiBody(
            baseMass=BALL_MASS, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
            basePosition=position.tolist(), physicsClientId=cid,
        ))
    except Exception as exc:
        raise SimulationError(f"PyBullet could not create a ball: {exc}") from exc
    p.changeDynamics(body, -1, lateralFriction=0.4, rollingFriction=0.0005,
                     spinningFriction=0.0005, restitution=0.0, physicsClientId=cid)
    return body


class PourParticles(Task):
    """Pour the balls from the cup into the bowl (see the module docstring)."""

    name = "pour_particles"
    description = "pour the small balls from a cup into a bowl"
    instruction = "pour the balls from the cup into the bowl"
    reference_program = make_program()
    disturbance_kinds: ClassVar[tuple[str, ...]] = ("move_target",)
    """Knocking or rotating the cup would spill the balls before the pour."""

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.cup = world.add_compound(
            _cup_parts(), make_pose(np.eye(3), [0.45, 0.2, 0.0]), mass=CUP_MASS,
            lateral_friction=1.0, spinning_friction=CUP_SPINNING_FRICTION,
        )
        self.bowl = world.add_compound(
            _bowl_parts(), make_pose(np.eye(3), [0.5, -0.2, 0.0]), mass=BOWL_MASS,
            lateral_friction=0.8,
        )
        T_cup = world.body_pose(self.cup)
        self.balls = [_add_ball(world, transform_points(T_cup, c)) for c in ball_grid()]

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        cup_xy, bowl_xy = sample_apart(rng, [CUP_BOX, BOWL_BOX], MIN_SEPARATION, seed)
        cup_yaw = rng.uniform(*CUP_YAW)
        bowl_yaw = rng.uniform(-np.pi, np.pi)
        T_cup = yaw_pose(cup_xy, 0.0, cup_yaw)
        poses = {self.cup: T_cup, self.bowl: yaw_pose(bowl_xy, 0.0, bowl_yaw)}
        for ball, centre in zip(self.balls, ball_grid(), strict=True):
            poses[ball] = make_pose(np.eye(3), transform_points(T_cup, centre))
        self._place_and_settle(poses)
        self.seed = seed

    def balls_in_bowl(self) -> int:
        """How many balls are inside the bowl (the success criterion's count)."""
        T_inv = np.linalg.inv(self.world.body_pose(self.bowl))
        count = 0
        for ball in self.balls:
            local = transform_points(T_inv, self.world.body_pose(ball)[:3, 3])
            inside = abs(local[0]) <= BOWL_INNER_HALF and abs(local[1]) <= BOWL_INNER_HALF
            below_rim = BOWL_FLOOR <= local[2] <= BOWL_FLOOR + BOWL_WALL_HEIGHT
            count += int(inside and below_rim)
        return count

    def success(self) -> TaskOutcome:
        count = self.balls_in_bowl()
        needed = math.ceil(MIN_FRACTION * len(self.balls))
        return TaskOutcome(
            success=count >= needed,
            details={
                "balls_in_bowl": count,
                "balls_total": len(self.balls),
                "balls_needed": needed,
                "min_fraction": MIN_FRACTION,
                "xy_limit_m": BOWL_INNER_HALF,
                "rim_height_m": BOWL_WALL_HEIGHT,
            },
        )

    # ------------------------------------------------------------------ semantics
    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_cup = self.world.body_pose(self.cup)
        T_bowl = self.world.body_pose(self.bowl)
        rim = CUP_WALL + CUP_WALL_HEIGHT
        tab_y = CUP_INNER[1] + CUP_WALL + TAB_LENGTH / 2  # the tabs' checker corners
        return {
            "cup_spout": transform_points(T_cup, np.array([0.0, tab_y, rim])),
            "cup_back_left": transform_points(T_cup, np.array([-BACK_MARK_X, -tab_y, rim])),
            "cup_back_right": transform_points(T_cup, np.array([BACK_MARK_X, -tab_y, rim])),
            "bowl_center": transform_points(T_bowl, np.array([0.0, 0.0, BOWL_FLOOR])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"cup_spout": self.cup, "cup_back_left": self.cup, "cup_back_right": self.cup,
                "bowl_center": self.bowl}

    def object_bodies(self) -> dict[str, int]:
        return {"cup": self.cup, "bowl": self.bowl}

    def manipulated_body(self) -> int:
        """The cup."""
        return self.cup

    def target_body(self) -> int:
        """The bowl."""
        return self.bowl

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, steep enough to see into the
        cup and the bowl. 480 x 360 pixels over a 42 degree field of view: about 2.2 mm per
        pixel on the table, as fine as a 640 x 480, 55 degree view, which also showed the
        robot's base and the floor, at 56 % of the pixels to render each tick; the cup
        lifted 45 cm above the bowl stays in view."""
        return Camera(480, 360, 42.0, look_at([1.1, 0.0, 0.85], [0.48, 0.0, 0.0]))
