"""Task "handover_block" (two arms): hand a block from the left arm to the right arm, which
places it on a target pad.

Scene (bimanual layout of :mod:`rekep.sim.bimanual_world`: left Panda at y = +0.35, right
at y = -0.35): an orange bar-shaped block, 4.5 x 20 x 5 cm (long along its y axis), 0.15 kg,
lying on the LEFT side of the table with its long axis near world y; a flat blue target pad
(14 x 24 cm, 6 mm thick, 0.3 kg) on the RIGHT side. The block is long so that both hands
can hold it at once, one at each end (top-down grasps ``2 * GRASP_OFFSET`` = 13 cm apart).

The reference program has four stages: (1) the left hand grasps the block's left end;
(2) it carries the block's middle (halfway between its end keypoints, so the program holds
for any spacing of the two keypoints a proposer puts near the ends) to the handover point
above the table's centre line, long axis along world y; (3) the right hand grasps the
right end, then the left hand releases; (4) the right hand puts the block on the pad and
releases it.

Success (all must hold), with the tolerances named in ``details``:

* the block centre, in the pad frame, is within ``|x| <= XY_LIMIT[0]`` (5 cm) and
  ``|y| <= XY_LIMIT[1]`` (8 cm) (the pad's half sizes less 2 and 4 cm);
* the block rests on the pad: its centre height above the pad's top surface equals one of
  its half sizes (2.25 or 2.5 cm lying on a side) within ``Z_TOL`` (1 cm);
* no robot touches the block (it has been released).

Seeds: train 0-999, test 1000-1999 (:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is
deterministic. Anchors (object frames): ``block_left_end`` / ``block_right_end`` on the
block's top face ``GRASP_OFFSET`` from the centre along +y / -y, ``block_center`` its top
centre, ``pad_center`` the centre of the pad's top surface (offered, not used by the reference
program), ``pad_corner_a`` / ``pad_corner_b`` two opposite corners of the pad's top surface
(the program places the block at their midpoint: the plain pad's centre has no texture an
image tracker can follow, its corners do; measured with ``flow`` and proposed keypoints, a
centre keypoint was lost at the first update and the episode ended ``tracking_lost``).
Disturbances: ``knock_out`` and ``rotate_object`` act on the block, ``move_target`` moves
the pad.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from rekep.poses import make_pose, transform_points
from rekep.sim.bimanual_world import bimanual_camera
from rekep.sim.camera import Camera
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import nearest_rest_error, sample_apart, yaw_pose
from rekep.sim.world import SimWorld

BLOCK_HALF = (0.0225, 0.10, 0.025)
"""Block half sizes (x, y, z), metres."""
BLOCK_MASS = 0.15
BLOCK_SPINNING_FRICTION = 0.1
"""Torsional friction of the block, metres: held at one end by a top-down grasp, its weight
twists it about the closing axis; this keeps it from pivoting in the fingers."""
GRASP_OFFSET = 0.065
"""Distance of each end anchor from the block centre along its long axis, metres."""
PAD_HALF = (0.07, 0.12, 0.003)
"""Pad half sizes (x, y, z), metres; its frame origin is its centre."""
PAD_MASS = 0.3
BLOCK_BOX = ((0.42, 0.54), (0.20, 0.30))
"""Sampling box of the block centre (left side), metres."""
PAD_BOX = ((0.42, 0.54), (-0.32, -0.22))
"""Sampling box of the pad centre (right side), metres."""
MIN_SEPARATION = 0.3
BLOCK_YAW = 0.4
"""The block's yaw is drawn from [-BLOCK_YAW, BLOCK_YAW] radians (long axis near world y)."""
PAD_YAW = 0.2
"""The pad's yaw is drawn from [-PAD_YAW, PAD_YAW] radians."""
HANDOVER = (0.50, 0.0, 0.22)
"""Where the reference program holds the block's top centre for the handover, metres."""
XY_LIMIT = (PAD_HALF[0] - 0.02, PAD_HALF[1] - 0.04)
"""Success: largest |x|, |y| of the block centre in the pad frame, metres."""
Z_TOL = 0.01
"""Success: tolerance on the block's resting height above the pad, metres."""

_HX, _HY, _HZ = HANDOVER
REFERENCE_PROGRAM = f'''\
num_stages = 4

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """The left hand is at the left end of the orange block (keypoint {{block_left_end}})."""
    return np.linalg.norm(end_effector[0] - keypoints[{{block_left_end}}])

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The middle of the block (halfway between its ends, keypoints {{block_left_end}} and
    {{block_right_end}}) is at the handover point ({_HX}, {_HY}, {_HZ})."""
    middle = (keypoints[{{block_left_end}}] + keypoints[{{block_right_end}}]) / 2
    return np.linalg.norm(middle - np.array([{_HX}, {_HY}, {_HZ}]))

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The block lies along world y with its right end (keypoint {{block_right_end}})
    towards the right arm: the ends differ in y only, the left end (keypoint
    {{block_left_end}}) at least 5 cm further left."""
    d = keypoints[{{block_left_end}}] - keypoints[{{block_right_end}}]
    return np.abs(d[0]) + np.abs(d[2]) + np.maximum(0.05 - d[1], 0.0)

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The left hand keeps holding the block (keypoint {{block_left_end}})."""
    return get_grasping_cost_by_keypoint_idx({{block_left_end}})

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """The right hand is at the block's right end (keypoint {{block_right_end}}) while the
    block's middle stays at the handover point."""
    reach = np.linalg.norm(end_effector[1] - keypoints[{{block_right_end}}])
    middle = (keypoints[{{block_left_end}}] + keypoints[{{block_right_end}}]) / 2
    stay = np.linalg.norm(middle - np.array([{_HX}, {_HY}, {_HZ}]))
    return reach + stay

### stage 3 path constraints
# (none: this is a grasping stage)

### stage 4 sub-goal constraints
def stage4_subgoal_constraint1(end_effector, keypoints):
    """The block's top centre (keypoint {{block_center}}) is one block height (5 cm) plus
    a 1 cm margin above the centre of the blue pad, halfway between two opposite corners of
    its top (keypoints {{pad_corner_a}} and {{pad_corner_b}})."""
    pad = (keypoints[{{pad_corner_a}}] + keypoints[{{pad_corner_b}}]) / 2
    return np.linalg.norm(keypoints[{{block_center}}] - (pad + np.array([0, 0, 0.06])))

### stage 4 path constraints
def stage4_path_constraint1(end_effector, keypoints):
    """The right hand keeps holding the block (keypoint {{block_right_end}})."""
    return get_grasping_cost_by_keypoint_idx({{block_right_end}})

grasp_keypoints = [[{{block_left_end}}, -1], [-1, -1], [-1, {{block_right_end}}], [-1, -1]]
release_keypoints = [[-1, -1], [-1, -1], [{{block_left_end}}, -1], [-1, {{block_right_end}}]]
'''


class HandoverBlock(Task):
    """Left arm picks the block, hands it to the right arm, which puts it on the pad."""

    name = "handover_block"
    description = "the left arm hands a block to the right arm, which places it on a pad"
    instruction = (
        "pick up the orange block with the left arm, hand it over to the right arm, and "
        "put it on the blue pad"
    )
    reference_program = REFERENCE_PROGRAM
    bimanual: ClassVar[bool] = True

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.block = world.add_box(
            BLOCK_HALF, make_pose(np.eye(3), [0.5, 0.25, BLOCK_HALF[2]]), mass=BLOCK_MASS,
            rgba=(0.95, 0.5, 0.1, 1.0), lateral_friction=1.0,
            spinning_friction=BLOCK_SPINNING_FRICTION,
        )
        self.pad = world.add_box(
            PAD_HALF, make_pose(np.eye(3), [0.5, -0.27, PAD_HALF[2]]), mass=PAD_MASS,
            rgba=(0.15, 0.35, 0.85, 1.0), lateral_friction=1.0,
        )

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        block_xy, pad_xy = sample_apart(rng, [BLOCK_BOX, PAD_BOX], MIN_SEPARATION, seed)
        block_yaw = float(rng.uniform(-BLOCK_YAW, BLOCK_YAW))
        pad_yaw = float(rng.uniform(-PAD_YAW, PAD_YAW))
        self._place_and_settle({
            self.pad: yaw_pose(pad_xy, PAD_HALF[2], pad_yaw),
            self.block: yaw_pose(block_xy, BLOCK_HALF[2], block_yaw),
        })
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_pad = self.world.body_pose(self.pad)
        centre = self.world.body_pose(self.block)[:3, 3]
        local = transform_points(np.linalg.inv(T_pad), centre)
        height = float(local[2] - PAD_HALF[2])
        z_error = nearest_rest_error(height, sorted({BLOCK_HALF[0], BLOCK_HALF[2]}))
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.block)]
        on_pad = bool(abs(local[0]) <= XY_LIMIT[0] and abs(local[1]) <= XY_LIMIT[1])
        resting = z_error <= Z_TOL
        released = not touching
        return TaskOutcome(
            success=on_pad and resting and released,
            details={
                "block_in_pad_frame_m": [float(v) for v in local],
                "xy_limit_m": list(XY_LIMIT),
                "on_pad": on_pad,
                "height_above_pad_m": height,
                "z_error_m": z_error,
                "z_tol_m": Z_TOL,
                "resting_on_pad": resting,
                "released": released,
            },
        )

    # ------------------------------------------------------------------ semantics
    def manipulated_body(self) -> int:
        """The block (``knock_out`` and ``rotate_object`` act on it)."""
        return self.block

    def target_body(self) -> int:
        """The pad (``move_target`` moves it)."""
        return self.pad

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_block = self.world.body_pose(self.block)
        T_pad = self.world.body_pose(self.pad)
        top = BLOCK_HALF[2]
        return {
            "block_left_end": transform_points(T_block, np.array([0.0, GRASP_OFFSET, top])),
            "block_right_end": transform_points(T_block, np.array([0.0, -GRASP_OFFSET, top])),
            "block_center": transform_points(T_block, np.array([0.0, 0.0, top])),
            "pad_center": transform_points(T_pad, np.array([0.0, 0.0, PAD_HALF[2]])),
            "pad_corner_a": transform_points(T_pad, np.array([-PAD_HALF[0], -PAD_HALF[1],
                                                              PAD_HALF[2]])),
            "pad_corner_b": transform_points(T_pad, np.array(PAD_HALF)),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {
            "block_left_end": self.block,
            "block_right_end": self.block,
            "block_center": self.block,
            "pad_center": self.pad,
            "pad_corner_a": self.pad,
            "pad_corner_b": self.pad,
        }

    def object_bodies(self) -> dict[str, int]:
        return {"block": self.block, "pad": self.pad}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, seeing both arms' workspace."""
        return bimanual_camera()
