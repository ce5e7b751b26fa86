"""Task "lift_box_bimanual" (two arms): lift the long box level with both hands.

Scene (bimanual layout of :mod:`rekep.sim.bimanual_world`: left Panda at y = +0.35, right
at y = -0.35): a long grey box, 40 cm long (along its y axis, i.e. between the arms) x 6 cm
wide x 8 cm tall, 0.5 kg, lying on the table centred near ``(0.5, 0)`` with a small random
offset and yaw. (6 cm wide rather than 8 so the Panda's 8 cm gripper closes over it with
room to spare.)

The reference program has two stages: (1) both hands grasp the box's ends top-down
(``box_left_end`` with the left hand, ``box_right_end`` with the right); (2) both lift it
15 cm, level (path constraint: the ends' heights differ by at most 2 cm, about 4 deg over
the 30 cm between the grasp points), the hands as far apart as the two end keypoints (not a
fixed 30 cm: proposed keypoints lie up to ~1 cm from the anchors, and hands forced to a
fixed spacing twist the box in the fingers; measured 13-15 deg tilt with ``--keypoints
proposed``), and hold it there. Success is measured AT THE END WITH
THE BOX HELD (the lift sub-goal is the last one); all must hold:

* the box centre is at least ``LIFT_MIN`` (10 cm) above its resting height;
* the box is level: its z axis is within ``TILT_MAX`` (8 deg) of vertical (covers pitch
  along the long axis and roll about it).

Seeds: train 0-999, test 1000-1999 (:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is
deterministic. Anchors (box frame, on its top face): ``box_left_end`` and ``box_right_end``
``GRASP_OFFSET`` (15 cm) from the centre along +y / -y, ``box_center`` the top centre.
Disturbances: ``knock_out`` and ``rotate_object`` act on the box; there is no target
object, so ``move_target`` is not offered.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SimulationError
from rekep.poses import make_pose, transform_points
from rekep.sim.bimanual_world import bimanual_camera
from rekep.sim.camera import Camera
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import tilt_rad, yaw_pose
from rekep.sim.world import SimWorld

BOX_HALF = (0.03, 0.20, 0.04)
"""Box half sizes (x, y, z), metres: 6 x 40 x 8 cm."""
BOX_MASS = 0.5
GRASP_OFFSET = 0.15
"""Distance of each grasp anchor from the box centre along its long axis, metres."""
BOX_X, BOX_Y = (0.46, 0.54), (-0.03, 0.03)
"""Sampling box of the box centre, metres (world frame)."""
BOX_YAW = 0.15
"""The box's yaw is drawn from [-BOX_YAW, BOX_YAW] radians (long axis near world y)."""
LIFT_M = 0.15
"""How far the reference program lifts the box, metres."""
LIFT_MIN = 0.10
"""Success: the box centre must be at least this far above its resting height, metres."""
TILT_MAX = np.deg2rad(8.0)
"""Success: largest angle between the box's z axis and world z, radians."""
LEVEL_TOL = 0.02
"""Path constraint of the reference program: largest height difference of the ends, m."""

REFERENCE_PROGRAM = f'''\
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """The left hand is at the left end of the box (keypoint {{box_left_end}}) and the
    right hand at its right end (keypoint {{box_right_end}})."""
    left = np.linalg.norm(end_effector[0] - keypoints[{{box_left_end}}])
    right = np.linalg.norm(end_effector[1] - keypoints[{{box_right_end}}])
    return left + right

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The left end of the box (keypoint {{box_left_end}}) is {LIFT_M * 100:.0f} cm above
    its resting height ({2 * BOX_HALF[2] * 100:.0f} cm, the table top is z = 0)."""
    return np.abs(keypoints[{{box_left_end}}][2] - {2 * BOX_HALF[2] + LIFT_M:.3f})

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The right end of the box (keypoint {{box_right_end}}) is {LIFT_M * 100:.0f} cm above
    its resting height."""
    return np.abs(keypoints[{{box_right_end}}][2] - {2 * BOX_HALF[2] + LIFT_M:.3f})

def stage2_subgoal_constraint3(end_effector, keypoints):
    """The box is rigid: the hands stay as far apart as the box ends they hold (keypoints
    {{box_left_end}} and {{box_right_end}})."""
    span = np.linalg.norm(keypoints[{{box_left_end}}] - keypoints[{{box_right_end}}])
    return np.abs(np.linalg.norm(end_effector[0] - end_effector[1]) - span)

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The box stays level: its two ends are at most {LEVEL_TOL * 100:.0f} cm apart in
    height."""
    return np.abs(keypoints[{{box_left_end}}][2] - keypoints[{{box_right_end}}][2]) - {LEVEL_TOL}

def stage2_path_constraint2(end_effector, keypoints):
    """Both hands keep holding the box (keypoints {{box_left_end}}, {{box_right_end}})."""
    return (get_grasping_cost_by_keypoint_idx({{box_left_end}})
            + get_grasping_cost_by_keypoint_idx({{box_right_end}}))

grasp_keypoints = [[{{box_left_end}}, {{box_right_end}}], [-1, -1]]
release_keypoints = [[-1, -1], [-1, -1]]
'''


class LiftBoxBimanual(Task):
    """Lift the long box 15 cm, level, with both arms (see the module docstring)."""

    name = "lift_box_bimanual"
    description = "two arms grasp the ends of a long box and lift it 15 cm, level"
    instruction = "lift the long box with both hands and keep it level"
    reference_program = REFERENCE_PROGRAM
    disturbance_kinds = ("knock_out", "rotate_object")
    bimanual: ClassVar[bool] = True

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.box = world.add_box(
            BOX_HALF, make_pose(np.eye(3), [0.5, 0.0, BOX_HALF[2]]), mass=BOX_MASS,
            rgba=(0.55, 0.55, 0.6, 1.0), lateral_friction=1.0, spinning_friction=0.01,
        )
        self._rest_z = BOX_HALF[2]

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        if seed < 0:
            raise SimulationError(f"seed must be >= 0, got {seed}")
        rng = np.random.default_rng(seed)
        xy = rng.uniform([BOX_X[0], BOX_Y[0]], [BOX_X[1], BOX_Y[1]])
        yaw = float(rng.uniform(-BOX_YAW, BOX_YAW))
        self._place_and_settle({self.box: yaw_pose(xy, BOX_HALF[2], yaw)})
        self._rest_z = float(self.world.body_pose(self.box)[2, 3])
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_box = self.world.body_pose(self.box)
        lift = float(T_box[2, 3] - self._rest_z)
        tilt = tilt_rad(T_box)
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.box)]
        lifted = bool(lift >= LIFT_MIN)
        level = bool(tilt <= TILT_MAX)
        return TaskOutcome(
            success=lifted and level,
            details={
                "lift_m": lift,
                "lift_min_m": LIFT_MIN,
                "lifted": lifted,
                "tilt_deg": float(np.rad2deg(tilt)),
                "tilt_max_deg": float(np.rad2deg(TILT_MAX)),
                "level": level,
                "robots_touching": len(touching),
            },
        )

    # ------------------------------------------------------------------ semantics
    def manipulated_body(self) -> int:
        """The box (``knock_out`` and ``rotate_object`` act on it)."""
        return self.box

    def target_body(self) -> int:
        """No target object: the box itself (``move_target`` is not offered)."""
        return self.box

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T = self.world.body_pose(self.box)
        top = BOX_HALF[2]
        return {
            "box_left_end": transform_points(T, np.array([0.0, GRASP_OFFSET, top])),
            "box_right_end": transform_points(T, np.array([0.0, -GRASP_OFFSET, top])),
            "box_center": transform_points(T, np.array([0.0, 0.0, top])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {name: self.box for name in ("box_left_end", "box_right_end", "box_center")}

    def object_bodies(self) -> dict[str, int]:
        return {"box": self.box}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, seeing both arms' workspace."""
        return bimanual_camera()
