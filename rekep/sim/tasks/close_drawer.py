"""Task "close_drawer": push an open drawer of a cabinet closed (articulated object).

Scene: the cabinet of :mod:`rekep.sim.tasks.open_drawer` (same sizes, joint friction and
placement ranges), with the drawer starting open by a random ``OPEN_RANGE`` (12 - 18 cm).

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success: the drawer's joint position (how far it is open) is at most ``CLOSED_MAX``
(2 cm).

Anchors: ``handle`` the centre of the handle bar and ``drawer_front`` the centre of the
front panel's top edge (drawer body); ``cabinet_top`` the centre of the cabinet's top
face and ``cabinet_front`` the centre of its top front edge (carcass body). The drawer is
open by the distance from ``cabinet_front`` to ``drawer_front`` along the drawer axis.

Reference program: a push without a grasp (every grasp keypoint -1): lower the open
fingers in front of the handle bar, push the bar back by the measured opening, lift away.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.poses import transform_points
from rekep.sim.articulated import DRAWER_CLEARANCE, link_pose
from rekep.sim.tasks.base import TaskOutcome
from rekep.sim.tasks.open_drawer import GEOMETRY, DrawerTask

OPEN_RANGE = (0.12, 0.18)
"""The drawer starts open by a uniform distance in this range, metres."""
CLOSED_MAX = 0.02
"""Success of close_drawer: the drawer is open at most this far, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 4

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Hover 10 cm above a point 4 cm in front of the handle bar (keypoint {handle}). The
    drawer axis points horizontally from the cabinet top centre (keypoint {cabinet_top})
    towards the handle."""
    axis = (keypoints[{handle}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    front = keypoints[{handle}] + 0.04 * axis
    cost = np.linalg.norm(end_effector - (front + np.array([0, 0, 0.1])))
    return cost

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """Lower the fingers to the height of the handle bar (keypoint {handle}), in front of it."""
    axis = (keypoints[{handle}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    front = keypoints[{handle}] + 0.04 * axis
    cost = np.linalg.norm(end_effector - front)
    return cost

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """Push the handle back by the opening: the distance from the cabinet's front edge
    (keypoint {cabinet_front}) to the drawer's front edge (keypoint {drawer_front}) along the
    axis, plus 1.5 cm for the play between the fingers and the bar."""
    axis = (keypoints[{handle}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    opening = np.sum((keypoints[{drawer_front}] - keypoints[{cabinet_front}]) * axis)
    front = keypoints[{handle}] + 0.04 * axis
    cost = np.linalg.norm(end_effector - (front - (opening + 0.015) * axis))
    return cost

### stage 4 sub-goal constraints
def stage4_subgoal_constraint1(end_effector, keypoints):
    """Lift the hand 12 cm away from the closed drawer's handle."""
    axis = (keypoints[{handle}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    opening = np.sum((keypoints[{drawer_front}] - keypoints[{cabinet_front}]) * axis)
    front = keypoints[{handle}] + 0.04 * axis
    target = front - (opening + 0.015) * axis + np.array([0, 0, 0.12])
    cost = np.linalg.norm(end_effector - target)
    return cost

grasp_keypoints = [-1, -1, -1, -1]
release_keypoints = [-1, -1, -1, -1]
'''


class CloseDrawer(DrawerTask):
    """Push the open drawer closed (see the module docstring for the success test)."""

    name = "close_drawer"
    description = "push an open cabinet drawer closed (articulated)"
    instruction = "close the drawer"
    reference_program = REFERENCE_PROGRAM

    def initial_opening(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*OPEN_RANGE))

    def success(self) -> TaskOutcome:
        opening = self.opening()
        return TaskOutcome(
            success=bool(opening <= CLOSED_MAX),
            details={"opening_m": opening, "closed_max_m": CLOSED_MAX},
        )

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        g = GEOMETRY
        T_cab = self.world.body_pose(self.cabinet)
        T_drawer = link_pose(self.world, self.drawer)
        front_top = g.height - g.wall - DRAWER_CLEARANCE  # the front panel's top edge
        return {
            **super().anchors(),
            "cabinet_front": transform_points(T_cab, np.array([g.front_x, 0.0, g.height])),
            "drawer_front": transform_points(T_drawer, np.array([g.front_x, 0.0, front_top])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {
            **super().anchor_objects(),
            "cabinet_front": self.cabinet,
            "drawer_front": self.drawer,
        }
