"""Task "can_in_bin": put the can into the bin.

Scene: a green cylindrical can (radius 2.8 cm, height 10 cm, 0.12 kg) standing on the table,
and a bin built from five boxes (floor plus four walls; inner footprint 18 x 18 cm, walls
6 cm above the floor), at random positions and yaws within comfortable reach of the Panda,
at least ``MIN_SEPARATION`` apart. The can is a PyBullet cylinder primitive.

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success (all must hold), with the tolerances named in ``details``:

* the can's centre, in the bin frame, is inside the inner footprint shrunk by
  ``XY_MARGIN`` (1 cm) on every side: ``|x|, |y| <= 0.09 - 0.01`` m;
* the can rests on the bin floor: its centre height above the floor's top surface equals
  its upright (5 cm) or lying (2.8 cm) resting height within ``Z_TOL`` (1.5 cm; a lying can
  may lean on a wall);
* no robot touches the can (it has been released).

Anchors (object frames): ``can_top`` the centre of the can's top face, ``bin_center``
the centre of the bin floor's top surface.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import make_pose, pos_quat_from_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import (
    nearest_rest_error,
    open_box_parts,
    sample_apart,
    yaw_pose,
)
from rekep.sim.world import SimWorld

p = require("pybullet", "simulation")

CAN_RADIUS = 0.028
"""Can radius, metres."""
CAN_HEIGHT = 0.10
"""Can height, metres; the can frame origin is its centre, z along its axis."""
CAN_MASS = 0.12
BIN_INNER_HALF = 0.09
"""Half the bin's inner side length, metres."""
BIN_WALL = 0.01
"""Wall thickness, metres."""
BIN_WALL_HEIGHT = 0.06
"""Wall height above the floor's top surface, metres."""
BIN_FLOOR = 0.01
"""Floor thickness, metres; the bin frame origin is the centre of the floor's underside."""
BIN_MASS = 0.6
BIN_RGBA = (0.55, 0.55, 0.6, 1.0)
XY_MARGIN = 0.01
"""Success: the can centre must be this far inside the inner footprint, metres."""
Z_TOL = 0.015
"""Success: tolerance on the can's resting height above the bin floor, metres."""
CAN_BOX = ((0.38, 0.60), (-0.27, 0.27))
"""Sampling box of the can centre (x, y), metres (world = robot base frame)."""
BIN_BOX = ((0.44, 0.60), (-0.25, 0.25))
"""Sampling box of the bin centre (x, y), metres."""
MIN_SEPARATION = 0.22
"""Minimum distance between can and bin centres when sampling, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the top of the can (keypoint {can_top})."""
    cost = np.linalg.norm(end_effector - keypoints[{can_top}])
    return cost

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The top of the can (keypoint {can_top}) is 18 cm above the bin centre (keypoint
    {bin_center}): one can height (10 cm) over the 6 cm walls plus a 2 cm margin, so the
    can drops into the bin when released."""
    offsetted_point = keypoints[{bin_center}] + np.array([0, 0, 0.18])
    cost = np.linalg.norm(keypoints[{can_top}] - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the can (keypoint {can_top})."""
    return get_grasping_cost_by_keypoint_idx({can_top})

grasp_keypoints = [{can_top}, -1]
release_keypoints = [-1, {can_top}]
'''


class CanInBin(Task):
    """Put the can into the bin (see the module docstring for the success test)."""

    name = "can_in_bin"
    description = "pick an upright can and drop it into a bin"
    instruction = "put the can into the bin"
    reference_program = REFERENCE_PROGRAM

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.can = _add_cylinder(world, make_pose(np.eye(3), [0.5, 0.2, CAN_HEIGHT / 2]))
        self.bin = world.add_compound(
            open_box_parts(BIN_INNER_HALF, BIN_WALL, BIN_WALL_HEIGHT, BIN_FLOOR, BIN_RGBA),
            make_pose(np.eye(3), [0.5, -0.2, 0.0]), mass=BIN_MASS,
            lateral_friction=0.8,
        )

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        can_xy, bin_xy = sample_apart(rng, [CAN_BOX, BIN_BOX], MIN_SEPARATION, seed)
        can_yaw, bin_yaw = rng.uniform(-np.pi, np.pi, size=2)
        self._place_and_settle({
            self.bin: yaw_pose(bin_xy, 0.0, bin_yaw),
            self.can: yaw_pose(can_xy, CAN_HEIGHT / 2, can_yaw),
        })
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_bin = self.world.body_pose(self.bin)
        centre = self.world.body_pose(self.can)[:3, 3]
        local = transform_points(np.linalg.inv(T_bin), centre)
        xy_limit = BIN_INNER_HALF - XY_MARGIN
        height = float(local[2] - BIN_FLOOR)
        rest_heights = [CAN_RADIUS, CAN_HEIGHT / 2]
        z_error = nearest_rest_error(height, rest_heights)
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.can)]
        inside = bool(abs(local[0]) <= xy_limit and abs(local[1]) <= xy_limit)
        resting = bool(z_error <= Z_TOL)
        released = not touching
        return TaskOutcome(
            success=inside and resting and released,
            details={
                "can_in_bin_frame_m": [float(v) for v in local],
                "xy_limit_m": xy_limit,
                "inside_footprint": inside,
                "height_above_floor_m": height,
                "rest_heights_m": rest_heights,
                "z_error_m": z_error,
                "z_tol_m": Z_TOL,
                "resting_on_floor": resting,
                "released": released,
            },
        )

    # ------------------------------------------------------------------ semantics
    def manipulated_body(self) -> int:
        """The can (``knock_out`` and ``rotate_object`` act on it)."""
        return self.can

    def target_body(self) -> int:
        """The bin (``move_target`` moves it)."""
        return self.bin

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_can = self.world.body_pose(self.can)
        T_bin = self.world.body_pose(self.bin)
        return {
            "can_top": transform_points(T_can, np.array([0.0, 0.0, CAN_HEIGHT / 2])),
            "bin_center": transform_points(T_bin, np.array([0.0, 0.0, BIN_FLOOR])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"can_top": self.can, "bin_center": self.bin}

    def object_bodies(self) -> dict[str, int]:
        return {"can": self.can, "bin": self.bin}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, looking back at the workspace;
        steep enough to see the bin floor over its walls."""
        return Camera(640, 480, 55.0, look_at([1.1, 0.0, 0.85], [0.48, 0.0, 0.0]))


def _add_cylinder(world: SimWorld, T_world_can: NDArray[np.float64]) -> int:
    """A dynamic cylinder primitive (the can) at a (4, 4) pose; returns its body id."""
    pos, quat = pos_quat_from_pose(T_world_can)
    cid = world.client
    try:
        col = p.createCollisionShape(
            p.GEOM_CYLINDER, radius=CAN_RADIUS, height=CAN_HEIGHT, physicsClientId=cid
        )
        vis = p.createVisualShape(
            p.GEOM_CYLINDER, radius=CAN_RADIUS, length=CAN_HEIGHT,
            rgbaColor=[0.1, 0.7, 0.25, 1.0], physicsClientId=cid,
        )
        body = int(p.createMultiBody(
            baseMass=CAN_MASS, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
            basePosition=pos.tolist(), baseOrientation=quat.tolist(), physicsClientId=cid,
        ))
    except Exception as exc:
        raise SimulationError(f"PyBullet could not create the can cylinder: {exc}") from exc
    p.changeDynamics(
        body, -1, lateralFriction=1.0, spinningFriction=0.01, rollingFriction=0.001,
        physicsClientId=cid,
    )
    return body
