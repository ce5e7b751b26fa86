"""Task "open_drawer": pull the drawer of a cabinet open (articulated object).

Scene: a static cabinet (carcass 30 cm deep, 36 cm wide, 16 cm tall, open at the front)
facing the robot, with a drawer on a prismatic joint (travel 0 - 25 cm, 1 kg, joint
friction 6 N and damping 8 N s/m, so it stays where it is left). A dark bar handle (30 cm
long, 1.5 cm square) stands 7 cm off the drawer's front panel on two posts, its centre 2.5
cm below the cabinet top. Built with :func:`rekep.sim.articulated.add_drawer_cabinet`. The
cabinet centre is sampled in x 0.72 - 0.80 m, y -0.15 - 0.15 m, its yaw within 8 degrees of
facing the robot straight on; the drawer starts closed.

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success: the drawer's joint position (how far it is open) is at least ``OPEN_MIN`` (15 cm).

Anchors: ``handle_left`` and ``handle_right`` on the handle bar's top face right above its
two posts (drawer body; the bar's dark corners against the light front track well, and the
hand, working at the bar's middle, does not hide them); ``cabinet_top`` the centre of the
cabinet's top face and ``cabinet_front`` the centre of its top front edge (carcass body).
The horizontal direction from ``cabinet_top`` to ``cabinet_front`` is the direction the
drawer opens.

Reference program: the open-loop runner's grasp primitive lifts the hand 10 cm right after
closing the fingers (and the transport path lifts 8 cm more), which a drawer handle cannot
follow. So the program opens the drawer the way people often do, without a grasp: it
reaches into the gap behind the middle of the handle bar, fingertips 2 cm below the bar's
top, and pulls. The pull's goal is measured from the static cabinet keypoints (the hand 26
cm in front of the cabinet's front edge): a goal written relative to the moving handle
("20 cm out from where the handle is") recedes as the drawer follows the hand, and became
infeasible at the end of the drawer's travel once the handle was tracked truthfully.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from rekep.poses import transform_points
from rekep.sim.articulated import (
    DrawerGeometry,
    add_drawer_cabinet,
    joint_position,
    link_pose,
    set_joint_position,
)
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import yaw_pose
from rekep.sim.world import SimWorld

GEOMETRY = DrawerGeometry()
"""Cabinet and drawer sizes (metres)."""
CABINET_X, CABINET_Y = (0.72, 0.80), (-0.15, 0.15)
"""Sampling box of the cabinet centre, metres (world = robot base frame)."""
MAX_YAW_DEG = 8.0
"""The cabinet faces the robot (its drawer opens towards -x) within this many degrees."""
OPEN_MIN = 0.15
"""Success of open_drawer: the drawer is open at least this far, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 4

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Hover 10 cm above the gap behind the middle of the handle bar (the bar runs between
    keypoints {handle_left} and {handle_right}, on its top face). The drawer opens
    horizontally from the cabinet top centre (keypoint {cabinet_top}) towards the cabinet's
    front edge (keypoint {cabinet_front})."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    gap = bar - 0.04 * axis - np.array([0, 0, 0.02])
    cost = np.linalg.norm(end_effector - (gap + np.array([0, 0, 0.1])))
    return cost

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """Lower the fingertips into the gap behind the bar, 2 cm below its top face so the
    fingers catch it; the height matters most (weighted 3x)."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    gap = bar - 0.04 * axis - np.array([0, 0, 0.02])
    cost = np.linalg.norm((end_effector - gap) * np.array([1, 1, 3]))
    return cost

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """Pull the drawer about 20 cm open: the hand, still at the height of the gap, ends 26
    cm in front of the cabinet's front edge (the bar stands 8 cm off the drawer front, the
    fingers start 4 cm behind it and travel 2 cm before they meet it). Measured from the
    static cabinet keypoints, so the goal stays put while the drawer moves."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    gap = bar - 0.04 * axis - np.array([0, 0, 0.02])
    out = np.sum((gap - keypoints[{cabinet_front}]) * axis)
    cost = np.linalg.norm(end_effector - (gap + (0.26 - out) * axis))
    return cost

### stage 4 sub-goal constraints
def stage4_subgoal_constraint1(end_effector, keypoints):
    """Lift the hand 12 cm out of the handle gap of the opened drawer."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    gap = bar - 0.04 * axis - np.array([0, 0, 0.02])
    out = np.sum((gap - keypoints[{cabinet_front}]) * axis)
    cost = np.linalg.norm(end_effector - (gap + (0.26 - out) * axis + np.array([0, 0, 0.12])))
    return cost

grasp_keypoints = [-1, -1, -1, -1]
release_keypoints = [-1, -1, -1, -1]
'''


class DrawerTask(Task):
    """Shared scene of the drawer tasks: a cabinet with one drawer, placed from a seed.

    Subclasses choose the starting opening (:meth:`initial_opening`) and the success test.
    """

    disturbance_kinds: ClassVar[tuple[str, ...]] = ()
    """No disturbance applies yet: nothing is picked up, and the cabinet is static."""

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        cabinet = add_drawer_cabinet(world, yaw_pose((0.76, 0.0), 0.0, np.pi), GEOMETRY)
        self.cabinet = cabinet.carcass
        self.drawer = cabinet.drawer

    def initial_opening(self, rng: np.random.Generator) -> float:
        """How far the drawer is open after reset, metres."""
        return 0.0

    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        xy = rng.uniform([CABINET_X[0], CABINET_Y[0]], [CABINET_X[1], CABINET_Y[1]])
        yaw = np.pi + np.deg2rad(rng.uniform(-MAX_YAW_DEG, MAX_YAW_DEG))
        opening = self.initial_opening(rng)
        T = yaw_pose(xy, 0.0, yaw)
        for body in (self.cabinet, self.drawer):
            self.world.set_body_pose(body, T)
        set_joint_position(self.world, self.drawer, opening)
        self.world.step(5)
        set_joint_position(self.world, self.drawer, opening)
        self._rest_poses = {self.cabinet: T, self.drawer: T}
        self.seed = seed

    def opening(self) -> float:
        """How far the drawer is open now, metres (0 = closed)."""
        return joint_position(self.world, self.drawer)

    # ------------------------------------------------------------------ semantics
    def anchors(self) -> dict[str, NDArray[np.float64]]:
        g = GEOMETRY
        T_cab = self.world.body_pose(self.cabinet)
        left, right = transform_points(link_pose(self.world, self.drawer), g.handle_ends)
        return {
            "handle_left": left,
            "handle_right": right,
            "cabinet_top": transform_points(T_cab, np.array([0.0, 0.0, g.height])),
            "cabinet_front": transform_points(T_cab, np.array([g.front_x, 0.0, g.height])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"handle_left": self.drawer, "handle_right": self.drawer,
                "cabinet_top": self.cabinet, "cabinet_front": self.cabinet}

    def object_bodies(self) -> dict[str, int]:
        return {"cabinet": self.cabinet, "drawer": self.drawer}

    def manipulated_body(self) -> int:
        """The drawer (the articulated part the robot moves)."""
        return self.drawer

    def target_body(self) -> int:
        """The cabinet."""
        return self.cabinet

    def camera(self) -> Camera:
        """From the robot's side, left and above, looking at the cabinet front."""
        return Camera(640, 480, 55.0, look_at([0.12, -0.55, 0.62], [0.6, 0.0, 0.08]))


class OpenDrawer(DrawerTask):
    """Pull the drawer open (see the module docstring for the success test)."""

    name = "open_drawer"
    description = "pull a cabinet drawer open by its handle (articulated)"
    instruction = "open the drawer"
    reference_program = REFERENCE_PROGRAM

    def success(self) -> TaskOutcome:
        opening = self.opening()
        return TaskOutcome(
            success=bool(opening >= OPEN_MIN),
            details={"opening_m": opening, "open_min_m": OPEN_MIN},
        )
