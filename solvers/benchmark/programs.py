"""Constraint programs of the benchmark, in the ReKep text format (loaded by the sandbox).

Each program is a whole task; a benchmark problem picks one stage of it in one scene.
Keypoint meanings are listed at the top of each program.
"""

from __future__ import annotations

PICK_PLACE = '''\
# keypoints: 0 top of the block, 1 centre of the tray floor, 2 and 3 tray corners
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    """The gripper is at the top of the block."""
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The top of the block is 10 cm above the centre of the tray."""
    offsetted_point = keypoints[1] + np.array([0.0, 0.0, 0.10])
    return np.linalg.norm(keypoints[0] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    """Still holding the block."""
    return get_grasping_cost_by_keypoint_idx(0)

grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
'''

STACK = '''\
# keypoints: 0 top of the small block, 1 its bottom, 2 top of the large block
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The bottom of the small block rests 1 cm above the top of the large block."""
    offsetted_point = keypoints[2] + np.array([0.0, 0.0, 0.01])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
'''

PRESS_BUTTON = '''\
# keypoints: 0 the button, 1 and 2 corners of its panel
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    """The gripper hovers 8 cm above the button."""
    offsetted_point = keypoints[0] + np.array([0.0, 0.0, 0.08])
    return np.linalg.norm(end_effector - offsetted_point)

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The gripper presses 1 cm into the button."""
    offsetted_point = keypoints[0] + np.array([0.0, 0.0, -0.01])
    return np.linalg.norm(end_effector - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    """Stay within 1 cm of the vertical line through the button."""
    offset = end_effector - keypoints[0]
    return np.linalg.norm(offset[:2]) - 0.01

grasp_keypoints = [-1, -1]
release_keypoints = [-1, -1]
'''

INSERT_UPRIGHT = '''\
# keypoints: 0 top end of the peg, 1 bottom end of the peg, 2 centre of the hole,
# 3 and 4 corners of the base
num_stages = 3

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The bottom of the peg is 10 cm above the hole."""
    offsetted_point = keypoints[2] + np.array([0.0, 0.0, 0.10])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The peg points straight up (within about 11 degrees)."""
    axis = keypoints[0] - keypoints[1]
    axis = axis / np.linalg.norm(axis)
    return 0.98 - np.dot(axis, np.array([0.0, 0.0, 1.0]))

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

def stage3_subgoal_constraint1(end_effector, keypoints):
    """The bottom of the peg is 3 cm below the rim of the hole."""
    offsetted_point = keypoints[2] + np.array([0.0, 0.0, -0.03])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage3_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

def stage3_path_constraint2(end_effector, keypoints):
    """The peg stays upright on the way down."""
    axis = keypoints[0] - keypoints[1]
    axis = axis / np.linalg.norm(axis)
    return 0.98 - np.dot(axis, np.array([0.0, 0.0, 1.0]))

def stage3_path_constraint3(end_effector, keypoints):
    """The bottom of the peg stays within 1 cm of the vertical line through the hole."""
    offset = keypoints[1] - keypoints[2]
    return np.linalg.norm(offset[:2]) - 0.01

grasp_keypoints = [0, -1, -1]
release_keypoints = [-1, -1, 0]
'''

POUR = '''\
# keypoints: 0 handle of the mug, 1 rim opposite the handle (where water leaves),
# 2 centre of the mug bottom, 3 to 6 around the rim of the bowl
num_stages = 3

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The pouring rim is 12 cm above the centre of the bowl."""
    bowl_centre = np.mean(keypoints[3:7], axis=0)
    offsetted_point = bowl_centre + np.array([0.0, 0.0, 0.12])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

def stage2_path_constraint2(end_effector, keypoints):
    """The mug stays upright: its rim at least 5 cm above its bottom."""
    return keypoints[2][2] + 0.05 - keypoints[1][2]

def stage3_subgoal_constraint1(end_effector, keypoints):
    """The pouring rim is 8 cm above the centre of the bowl."""
    bowl_centre = np.mean(keypoints[3:7], axis=0)
    offsetted_point = bowl_centre + np.array([0.0, 0.0, 0.08])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage3_subgoal_constraint2(end_effector, keypoints):
    """The mug is tilted: the pouring rim is at least 1 cm below the bottom centre."""
    return keypoints[1][2] - keypoints[2][2] + 0.01

def stage3_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

grasp_keypoints = [0, -1, -1]
release_keypoints = [-1, -1, -1]
'''

CARRY_UPRIGHT = '''\
# keypoints: 0 cap of the bottle, 1 centre of its base, 2 the coaster
num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """The base of the bottle is 2 cm above the coaster."""
    offsetted_point = keypoints[2] + np.array([0.0, 0.0, 0.02])
    return np.linalg.norm(keypoints[1] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

def stage2_path_constraint2(end_effector, keypoints):
    """The bottle stays upright (within about 8 degrees) all the way."""
    axis = keypoints[0] - keypoints[1]
    axis = axis / np.linalg.norm(axis)
    return 0.99 - np.dot(axis, np.array([0.0, 0.0, 1.0]))

grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
'''
