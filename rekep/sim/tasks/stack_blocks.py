"""Task "stack_blocks": put the red block on top of the blue block.

Scene: a red 4.5 x 4.5 x 5 cm block (0.1 kg) and a wider, heavier blue 7 x 7 x 5 cm block
(0.4 kg), both upright on the table at random positions and yaws within comfortable reach
of the Panda, at least ``MIN_SEPARATION`` apart.

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success (all must hold), with the tolerances named in ``details``:

* the red block's centre, in the blue block's frame, lies over the blue top face:
  ``|x|, |y| <= 0.035 - XY_MARGIN`` m with ``XY_MARGIN`` = 0.5 cm;
* the red block rests on the blue top face: its centre height above that face equals one
  of its half sizes (2.25 cm on a side, 2.5 cm upright) within ``Z_TOL`` (1 cm);
* the blue block still stands on the table: its centre within ``Z_TOL`` of its upright
  resting height and tilted at most ``MAX_TILT`` (10 degrees);
* no robot touches the red block (it has been released).

Anchors (object frames): ``red_top`` the centre of the red block's top face,
``blue_top`` the centre of the blue block's top face.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.poses import make_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import nearest_rest_error, sample_apart, tilt_rad, yaw_pose
from rekep.sim.world import SimWorld

RED_HALF = (0.0225, 0.0225, 0.025)
"""Red block half sizes (x, y, z), metres."""
RED_MASS = 0.1
BLUE_HALF = (0.035, 0.035, 0.025)
"""Blue block half sizes (x, y, z), metres."""
BLUE_MASS = 0.4
XY_MARGIN = 0.005
"""Success: the red centre must be this far inside the blue top face, metres."""
Z_TOL = 0.01
"""Success: tolerance on resting heights, metres."""
MAX_TILT = np.deg2rad(10.0)
"""Success: the blue block may tilt at most this much, radians."""
RED_BOX = ((0.36, 0.62), (-0.27, 0.27))
"""Sampling box of the red block centre (x, y), metres (world = robot base frame)."""
BLUE_BOX = ((0.40, 0.62), (-0.25, 0.25))
"""Sampling box of the blue block centre (x, y), metres."""
MIN_SEPARATION = 0.18
"""Minimum distance between the block centres when sampling, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the top of the red block (keypoint {red_top})."""
    cost = np.linalg.norm(end_effector - keypoints[{red_top}])
    return cost

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The top of the red block (keypoint {red_top}) is one block height (5 cm) plus a 2 cm
    margin above the top of the blue block (keypoint {blue_top}), so that releasing drops
    the red block onto the blue one."""
    offsetted_point = keypoints[{blue_top}] + np.array([0, 0, 0.07])
    cost = np.linalg.norm(keypoints[{red_top}] - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the red block (keypoint {red_top})."""
    return get_grasping_cost_by_keypoint_idx({red_top})

grasp_keypoints = [{red_top}, -1]
release_keypoints = [-1, {red_top}]
'''


class StackBlocks(Task):
    """Stack the red block on the blue block (see the module docstring for the check)."""

    name = "stack_blocks"
    description = "pick the red block and stack it on top of the blue block"
    instruction = "put the red block on top of the blue block"
    reference_program = REFERENCE_PROGRAM

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.red = world.add_box(
            RED_HALF, make_pose(np.eye(3), [0.5, 0.2, RED_HALF[2]]), mass=RED_MASS,
            rgba=(0.85, 0.1, 0.1, 1.0), lateral_friction=1.0, spinning_friction=0.01,
        )
        self.blue = world.add_box(
            BLUE_HALF, make_pose(np.eye(3), [0.5, -0.2, BLUE_HALF[2]]), mass=BLUE_MASS,
            rgba=(0.15, 0.3, 0.85, 1.0), lateral_friction=1.0, spinning_friction=0.01,
        )

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        red_xy, blue_xy = sample_apart(rng, [RED_BOX, BLUE_BOX], MIN_SEPARATION, seed)
        red_yaw, blue_yaw = rng.uniform(-np.pi, np.pi, size=2)
        self._place_and_settle({
            self.blue: yaw_pose(blue_xy, BLUE_HALF[2], blue_yaw),
            self.red: yaw_pose(red_xy, RED_HALF[2], red_yaw),
        })
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_blue = self.world.body_pose(self.blue)
        red_centre = self.world.body_pose(self.red)[:3, 3]
        local = transform_points(np.linalg.inv(T_blue), red_centre)
        xy_limit = BLUE_HALF[0] - XY_MARGIN
        height = float(local[2] - BLUE_HALF[2])
        rest_heights = sorted(set(RED_HALF))
        z_error = nearest_rest_error(height, rest_heights)
        blue_z_error = abs(float(T_blue[2, 3]) - BLUE_HALF[2])
        blue_tilt = tilt_rad(T_blue)
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.red)]
        over = bool(abs(local[0]) <= xy_limit and abs(local[1]) <= xy_limit)
        resting = bool(z_error <= Z_TOL)
        blue_standing = bool(blue_z_error <= Z_TOL and blue_tilt <= MAX_TILT)
        released = not touching
        return TaskOutcome(
            success=over and resting and blue_standing and released,
            details={
                "red_in_blue_frame_m": [float(v) for v in local],
                "xy_limit_m": xy_limit,
                "over_blue_top": over,
                "height_above_blue_top_m": height,
                "rest_heights_m": rest_heights,
                "z_error_m": z_error,
                "z_tol_m": Z_TOL,
                "resting_on_blue": resting,
                "blue_z_error_m": blue_z_error,
                "blue_tilt_rad": blue_tilt,
                "max_tilt_rad": float(MAX_TILT),
                "blue_standing": blue_standing,
                "released": released,
            },
        )

    # ------------------------------------------------------------------ semantics
    def manipulated_body(self) -> int:
        """The red (``knock_out`` and ``rotate_object`` act on it)."""
        return self.red

    def target_body(self) -> int:
        """The blue (``move_target`` moves it)."""
        return self.blue

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_red = self.world.body_pose(self.red)
        T_blue = self.world.body_pose(self.blue)
        return {
            "red_top": transform_points(T_red, np.array([0.0, 0.0, RED_HALF[2]])),
            "blue_top": transform_points(T_blue, np.array([0.0, 0.0, BLUE_HALF[2]])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"red_top": self.red, "blue_top": self.blue}

    def object_bodies(self) -> dict[str, int]:
        return {"red_block": self.red, "blue_block": self.blue}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, looking back at the workspace."""
        return Camera(640, 480, 55.0, look_at([1.15, 0.0, 0.75], [0.48, 0.0, 0.0]))
