"""Task "close_drawer": push an open drawer of a cabinet closed (articulated object).

Scene: the cabinet of :mod:`rekep.sim.tasks.open_drawer` (same sizes, joint friction and
placement ranges), with the drawer starting open by a random ``OPEN_RANGE`` (12 - 18 cm).

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success: the drawer's joint position (how far it is open) is at most ``CLOSED_MAX``
(2 cm).

Anchors: those of :mod:`rekep.sim.tasks.open_drawer` (the two ends of the handle bar's
top face, the cabinet's top centre and top front edge centre).

Reference program: a push without a grasp (every grasp keypoint -1): lower the open
fingers in front of the middle of the handle bar, fingertips 2 cm below its top (so the
fingers cover the bar rather than slide over it), push until the hand is 10 cm in front of
the cabinet's front edge (the closed bar stands 8 cm off it), lift away. The push goal is
measured from the static cabinet keypoints, so it holds still while the drawer moves and
while the hand hides the drawer's middle from the camera.
"""

from __future__ import annotations

import numpy as np

from rekep.sim.tasks.base import TaskOutcome
from rekep.sim.tasks.open_drawer import DrawerTask

OPEN_RANGE = (0.12, 0.18)
"""The drawer starts open by a uniform distance in this range, metres."""
CLOSED_MAX = 0.02
"""Success of close_drawer: the drawer is open at most this far, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 4

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Hover 10 cm above a point 4 cm in front of the middle of the handle bar (the bar runs
    between keypoints {handle_left} and {handle_right}, on its top face). The drawer axis
    points horizontally from the cabinet top centre (keypoint {cabinet_top}) to the
    cabinet's front edge (keypoint {cabinet_front})."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    front = bar + 0.04 * axis - np.array([0, 0, 0.02])
    cost = np.linalg.norm(end_effector - (front + np.array([0, 0, 0.1])))
    return cost

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """Lower the fingertips in front of the bar, 2 cm below its top face so the fingers
    cover it; the height matters most (weighted 3x)."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    front = bar + 0.04 * axis - np.array([0, 0, 0.02])
    cost = np.linalg.norm((end_effector - front) * np.array([1, 1, 3]))
    return cost

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """Push the bar back until the drawer is shut: the hand, at the same height, ends 10
    cm in front of the cabinet's front edge (the bar stands 8 cm off the drawer front, the
    fingers are about 2 cm thick). Measured from the static cabinet keypoints, so the goal
    stays put while the drawer moves; to within about 7 mm (weighted 3x)."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    front = bar + 0.04 * axis - np.array([0, 0, 0.02])
    out = np.sum((front - keypoints[{cabinet_front}]) * axis)
    cost = 3 * np.linalg.norm(end_effector - (front + (0.10 - out) * axis))
    return cost

### stage 4 sub-goal constraints
def stage4_subgoal_constraint1(end_effector, keypoints):
    """Lift the hand 12 cm away from the closed drawer's handle."""
    axis = (keypoints[{cabinet_front}] - keypoints[{cabinet_top}]) * np.array([1, 1, 0])
    axis = axis / np.linalg.norm(axis)
    bar = (keypoints[{handle_left}] + keypoints[{handle_right}]) / 2
    front = bar + 0.04 * axis - np.array([0, 0, 0.02])
    out = np.sum((front - keypoints[{cabinet_front}]) * axis)
    cost = np.linalg.norm(end_effector - (front + (0.10 - out) * axis + np.array([0, 0, 0.12])))
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
