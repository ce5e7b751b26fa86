"""Task "block_in_tray": put the red block in the tray.

Scene: a red 4.5 x 4.5 x 5 cm block (0.1 kg) and a tray built from five boxes (floor plus
four walls; inner footprint 20 x 20 cm, walls 3.5 cm above the floor), both on the table
at random positions and yaws within comfortable reach of the Panda, never overlapping.

Success (all must hold), with the tolerances named in ``details``:

* the block centre, in the tray frame, is inside the tray's inner footprint shrunk by
  ``XY_MARGIN`` (1 cm) on every side: ``|x|, |y| <= 0.10 - 0.01`` m;
* the block rests on the tray floor: its centre height above the floor's top surface equals
  one of its half sizes (2.25 cm lying on a side, 2.5 cm upright) within ``Z_TOL`` (1 cm);
* no robot touches the block (it has been released).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SimulationError
from rekep.poses import make_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import open_box_parts
from rekep.sim.world import SimWorld

BLOCK_HALF = (0.0225, 0.0225, 0.025)
"""Block half sizes (x, y, z), metres."""
BLOCK_MASS = 0.1
TRAY_INNER_HALF = 0.10
"""Half the tray's inner side length, metres."""
TRAY_WALL = 0.01
"""Wall thickness, metres."""
TRAY_WALL_HEIGHT = 0.035
"""Wall height above the floor's top surface, metres."""
TRAY_FLOOR = 0.01
"""Floor thickness, metres; the tray frame origin is the centre of the floor's underside."""
TRAY_MASS = 0.4
TRAY_RGBA = (0.25, 0.45, 0.75, 1.0)
XY_MARGIN = 0.01
"""Success: the block centre must be this far inside the inner footprint, metres."""
Z_TOL = 0.01
"""Success: tolerance on the block's resting height above the tray floor, metres."""
TRAY_X, TRAY_Y = (0.42, 0.60), (-0.25, 0.25)
"""Sampling box of the tray centre, metres (world = robot base frame)."""
BLOCK_X, BLOCK_Y = (0.36, 0.62), (-0.27, 0.27)
"""Sampling box of the block centre, metres."""
MIN_SEPARATION = 0.22
"""Minimum distance between block and tray centres when sampling, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the top of the red block (keypoint {block_top})."""
    cost = np.linalg.norm(end_effector - keypoints[{block_top}])
    return cost

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The top of the red block (keypoint {block_top}) is 10 cm above the tray centre
    (keypoint {tray_center})."""
    offsetted_point = keypoints[{tray_center}] + np.array([0, 0, 0.1])
    cost = np.linalg.norm(keypoints[{block_top}] - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the red block (keypoint {block_top})."""
    return get_grasping_cost_by_keypoint_idx({block_top})

grasp_keypoints = [{block_top}, -1]
release_keypoints = [-1, {block_top}]
'''


class BlockInTray(Task):
    """Put the red block in the tray (see the module docstring for the success test)."""

    name = "block_in_tray"
    description = "pick a red block and place it inside a tray"
    instruction = "put the red block in the tray"
    reference_program = REFERENCE_PROGRAM

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.block = world.add_box(
            BLOCK_HALF, make_pose(np.eye(3), [0.5, 0.2, BLOCK_HALF[2]]), mass=BLOCK_MASS,
            rgba=(0.85, 0.1, 0.1, 1.0), lateral_friction=1.0, spinning_friction=0.01,
        )
        self.tray = world.add_compound(
            open_box_parts(TRAY_INNER_HALF, TRAY_WALL, TRAY_WALL_HEIGHT, TRAY_FLOOR, TRAY_RGBA),
            make_pose(np.eye(3), [0.5, -0.2, 0.0]), mass=TRAY_MASS,
            lateral_friction=0.8,
        )

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(1000):
            tray_xy = rng.uniform([TRAY_X[0], TRAY_Y[0]], [TRAY_X[1], TRAY_Y[1]])
            block_xy = rng.uniform([BLOCK_X[0], BLOCK_Y[0]], [BLOCK_X[1], BLOCK_Y[1]])
            if np.linalg.norm(tray_xy - block_xy) >= MIN_SEPARATION:
                break
        else:  # pragma: no cover - the boxes make this practically impossible
            raise SimulationError(f"could not place block and tray apart for seed {seed}")
        tray_yaw, block_yaw = rng.uniform(-np.pi, np.pi, size=2)
        self._place_and_settle({
            self.tray: _yaw_pose(tray_xy, 0.0, tray_yaw),
            self.block: _yaw_pose(block_xy, BLOCK_HALF[2], block_yaw),
        })
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_tray = self.world.body_pose(self.tray)
        centre = self.world.body_pose(self.block)[:3, 3]
        local = transform_points(np.linalg.inv(T_tray), centre)
        xy_limit = TRAY_INNER_HALF - XY_MARGIN
        height = float(local[2] - TRAY_FLOOR)
        rest_heights = sorted(set(BLOCK_HALF))
        z_error = min(abs(height - h) for h in rest_heights)
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.block)]
        inside = bool(abs(local[0]) <= xy_limit and abs(local[1]) <= xy_limit)
        resting = bool(z_error <= Z_TOL)
        released = not touching
        return TaskOutcome(
            success=inside and resting and released,
            details={
                "block_in_tray_frame_m": [float(v) for v in local],
                "xy_limit_m": xy_limit,
                "inside_footprint": inside,
                "height_above_floor_m": height,
                "rest_heights_m": rest_heights,
                "z_error_m": float(z_error),
                "z_tol_m": Z_TOL,
                "resting_on_floor": resting,
                "released": released,
            },
        )

    # ------------------------------------------------------------------ semantics
    def manipulated_body(self) -> int:
        """The block (``knock_out`` and ``rotate_object`` act on it)."""
        return self.block

    def target_body(self) -> int:
        """The tray (``move_target`` moves it)."""
        return self.tray

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_block = self.world.body_pose(self.block)
        T_tray = self.world.body_pose(self.tray)
        return {
            "block_top": transform_points(T_block, np.array([0.0, 0.0, BLOCK_HALF[2]])),
            "tray_center": transform_points(T_tray, np.array([0.0, 0.0, TRAY_FLOOR])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"block_top": self.block, "tray_center": self.tray}

    def object_bodies(self) -> dict[str, int]:
        return {"block": self.block, "tray": self.tray}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, looking back at the workspace."""
        return Camera(640, 480, 55.0, look_at([1.15, 0.0, 0.75], [0.48, 0.0, 0.0]))


def _yaw_pose(xy: NDArray[np.float64], z: float, yaw: float) -> NDArray[np.float64]:
    c, s = np.cos(yaw), np.sin(yaw)
    return make_pose([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], [xy[0], xy[1], z])
