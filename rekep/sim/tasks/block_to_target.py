"""Task "block_to_target": place the yellow block on the green target pad.

Scene: a yellow 5 x 5 x 5 cm cube (0.1 kg) and a flat green target pad (12 x 12 cm,
6 mm thick, 0.2 kg) lying on the table, at random positions and yaws within comfortable
reach of the Panda, at least ``MIN_SEPARATION`` apart.

Seeds: train 0-999, test 1000-1999 (the suite's convention, see
:mod:`rekep.sim.tasks.placement`); ``reset(seed)`` is deterministic.

Success (all must hold), with the tolerances named in ``details``:

* the cube's centre, in the pad frame, is within ``XY_TOL`` (3.5 cm) of the pad centre
  (horizontal distance), so the whole cube stands on the pad;
* the cube rests on the pad: its centre height above the pad's top surface equals its half
  size (2.5 cm) within ``Z_TOL`` (1 cm);
* the pad did not slide: its centre moved at most ``PAD_SHIFT_TOL`` (2 cm) from where the
  reset put it, or, after a ``move_target`` disturbance teleported it, from where the
  disturbance put it (a pad the robot pushes fails; a pad the disturbance moved does not);
* no robot touches the cube (it has been released).

Anchors (object frames): ``block_top`` the centre of the cube's top face,
``target_center`` the centre of the pad's top surface.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.poses import make_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.disturbances import DisturbanceSchedule, DisturbanceTrigger
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import sample_apart, yaw_pose
from rekep.sim.world import SimWorld

BLOCK_HALF = 0.025
"""Half the cube's side, metres."""
BLOCK_MASS = 0.1
PAD_HALF = (0.06, 0.06, 0.003)
"""Target pad half sizes (x, y, z), metres; its frame origin is its centre."""
PAD_MASS = 0.2
XY_TOL = 0.035
"""Success: largest horizontal distance of the cube centre from the pad centre, metres."""
Z_TOL = 0.01
"""Success: tolerance on the cube's resting height above the pad, metres."""
PAD_SHIFT_TOL = 0.02
"""Success: the pad may move at most this far from its reset position, metres."""
BLOCK_BOX = ((0.36, 0.62), (-0.27, 0.27))
"""Sampling box of the cube centre (x, y), metres (world = robot base frame)."""
PAD_BOX = ((0.40, 0.64), (-0.27, 0.27))
"""Sampling box of the pad centre (x, y), metres."""
MIN_SEPARATION = 0.18
"""Minimum distance between cube and pad centres when sampling, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the top of the yellow block (keypoint {block_top})."""
    cost = np.linalg.norm(end_effector - keypoints[{block_top}])
    return cost

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The top of the yellow block (keypoint {block_top}) is one block height (5 cm) plus
    a 1 cm margin above the centre of the green target (keypoint {target_center})."""
    offsetted_point = keypoints[{target_center}] + np.array([0, 0, 0.06])
    cost = np.linalg.norm(keypoints[{block_top}] - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the yellow block (keypoint {block_top})."""
    return get_grasping_cost_by_keypoint_idx({block_top})

grasp_keypoints = [{block_top}, -1]
release_keypoints = [-1, {block_top}]
'''


class BlockToTarget(Task):
    """Place the yellow block on the green target pad (see the module docstring)."""

    name = "block_to_target"
    description = "pick a yellow block and place it on a flat green target pad"
    instruction = "place the yellow block on the green target"
    reference_program = REFERENCE_PROGRAM

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.block = world.add_box(
            (BLOCK_HALF,) * 3, make_pose(np.eye(3), [0.5, 0.2, BLOCK_HALF]), mass=BLOCK_MASS,
            rgba=(0.95, 0.8, 0.1, 1.0), lateral_friction=1.0, spinning_friction=0.01,
        )
        self.pad = world.add_box(
            PAD_HALF, make_pose(np.eye(3), [0.5, -0.2, PAD_HALF[2]]), mass=PAD_MASS,
            rgba=(0.1, 0.75, 0.3, 1.0), lateral_friction=1.0,
        )
        self._pad_start = np.array([0.5, -0.2, PAD_HALF[2]])
        self._trigger: DisturbanceTrigger | None = None

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        block_xy, pad_xy = sample_apart(rng, [BLOCK_BOX, PAD_BOX], MIN_SEPARATION, seed)
        block_yaw, pad_yaw = rng.uniform(-np.pi, np.pi, size=2)
        self._place_and_settle({
            self.pad: yaw_pose(pad_xy, PAD_HALF[2], pad_yaw),
            self.block: yaw_pose(block_xy, BLOCK_HALF, block_yaw),
        })
        self._pad_start = self.world.body_pose(self.pad)[:3, 3].copy()
        self._trigger = None
        self.seed = seed

    def arm_disturbance(self, schedule: DisturbanceSchedule) -> DisturbanceTrigger:
        """As :meth:`Task.arm_disturbance`; the task keeps the trigger so that the success
        check measures the pad's slide from where a ``move_target`` put it."""
        self._trigger = super().arm_disturbance(schedule)
        return self._trigger

    def pad_reference(self) -> NDArray[np.float64]:
        """(3,) world position the pad was last put at, metres: by the reset, or by a
        fired disturbance that teleported it."""
        event = None if self._trigger is None else self._trigger.event
        if event is not None and event.body == self.pad:
            return np.asarray(event.T_after[:3, 3], dtype=np.float64).copy()
        return self._pad_start.copy()

    def success(self) -> TaskOutcome:
        T_pad = self.world.body_pose(self.pad)
        centre = self.world.body_pose(self.block)[:3, 3]
        local = transform_points(np.linalg.inv(T_pad), centre)
        xy_offset = float(np.hypot(local[0], local[1]))
        height = float(local[2] - PAD_HALF[2])
        z_error = abs(height - BLOCK_HALF)
        pad_shift = float(np.linalg.norm(T_pad[:3, 3] - self.pad_reference()))
        touching = [r for r in self.world.robot_bodies if self.world.in_contact(r, self.block)]
        on_target = xy_offset <= XY_TOL
        resting = z_error <= Z_TOL
        pad_still = pad_shift <= PAD_SHIFT_TOL
        released = not touching
        return TaskOutcome(
            success=on_target and resting and pad_still and released,
            details={
                "block_in_pad_frame_m": [float(v) for v in local],
                "xy_offset_m": xy_offset,
                "xy_tol_m": XY_TOL,
                "on_target": on_target,
                "height_above_pad_m": height,
                "z_error_m": z_error,
                "z_tol_m": Z_TOL,
                "resting_on_pad": resting,
                "pad_shift_m": pad_shift,
                "pad_shift_tol_m": PAD_SHIFT_TOL,
                "pad_still": pad_still,
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
        return {
            "block_top": transform_points(T_block, np.array([0.0, 0.0, BLOCK_HALF])),
            "target_center": transform_points(T_pad, np.array([0.0, 0.0, PAD_HALF[2]])),
        }

    def anchor_objects(self) -> dict[str, int]:
        return {"block_top": self.block, "target_center": self.pad}

    def object_bodies(self) -> dict[str, int]:
        return {"block": self.block, "target": self.pad}

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, looking back at the workspace."""
        return Camera(640, 480, 55.0, look_at([1.15, 0.0, 0.75], [0.48, 0.0, 0.0]))
