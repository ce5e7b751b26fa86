"""Plan from one RGB-D frame with a given constraint program.

Renders a frame of the simulated ``block_in_tray`` scene (any RGB-D camera works the same
way), proposes keypoints on the object masks, and asks ``rekep.solve`` for a plan with a
hand-written ReKep program. Run: ``python examples/01_solve_from_rgbd.py``.
"""

from __future__ import annotations

import numpy as np

import rekep
from keypoints.proposer import get_proposer
from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
from rekep.sim.keypoint_modes import task_masks

PROGRAM = """
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    \"\"\"Align the end-effector with the red block's top.\"\"\"
    return np.linalg.norm(end_effector - keypoints[{block}])

def stage2_subgoal_constraint1(end_effector, keypoints):
    \"\"\"The block is 10 cm above the tray's centre.\"\"\"
    offsetted_point = keypoints[{tray}] + np.array([0, 0, 0.1])
    return np.linalg.norm(keypoints[{block}] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    \"\"\"Keep holding the block.\"\"\"
    return get_grasping_cost_by_keypoint_idx({block})

grasp_keypoints = [{block}, -1]
release_keypoints = [-1, {block}]
"""


def main() -> None:
    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(seed=0)
        rgbd, segmentation = task.camera().render(world.client)
        masks = task_masks(task, segmentation, rgbd)
        hand = panda.hand_pose()

    # Pick keypoint numbers the way a person reading the annotated image would: the block's
    # keypoint nearest its top, and the tray's keypoint nearest its middle.
    keypoints = get_proposer("simple").propose(rgbd, masks)
    block_id, tray_id = task.object_bodies()["block"], task.object_bodies()["tray"]
    on_block = np.flatnonzero(keypoints.object_ids == block_id)
    on_tray = np.flatnonzero(keypoints.object_ids == tray_id)
    block = int(on_block[np.argmax(keypoints.positions[on_block, 2])])
    tray_mid = keypoints.positions[on_tray].mean(axis=0)
    tray = int(on_tray[np.argmin(np.linalg.norm(keypoints.positions[on_tray] - tray_mid, axis=1))])

    program = PROGRAM.format(block=block, tray=tray)
    plan = rekep.solve(
        task.instruction, rgbd, program=program, keypoints=keypoints, T_world_tcp=hand
    )
    for stage in plan.stages:
        p = stage.subgoal.pose[:3, 3]
        print(f"stage {stage.number}: feasible={stage.feasible} sub-goal TCP at {np.round(p, 3)} m")
    print(f"trajectory: {len(plan.trajectory)} poses; feasible: {plan.feasible}")


if __name__ == "__main__":
    main()
