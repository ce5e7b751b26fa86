"""Constraint programs used by the tests, written in the VLM's own format.

``PEN_PROGRAM`` follows the original ReKep pen task style (separate ``def stage{i}_...``
functions with docstrings, local variables, the grasping helper, ``np.mean`` over a keypoint
slice, ``np.cross``, ``np.dot``, ``np.linalg.norm``, ``np.arccos``), wrapped in prose and a
```python fence as a VLM answer. Keypoints (K = 8): 0-2 on the holder rim, 3 the pen tip end
(where it is grasped), 3..6 along the pen, 7 the holder opening centre.
"""

from __future__ import annotations

PEN_NUM_KEYPOINTS = 8

PEN_PROGRAM = '''\
Sure. The task has three stages: grasp the pen, reorient it upright above the holder, and
insert it into the holder.

```python
num_stages = 3

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the pen's grasping keypoint 3."""
    pen_grasp_point = keypoints[3]
    cost = np.linalg.norm(end_effector - pen_grasp_point)
    return cost

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The pen is upright: its axis (keypoint 3 to the mean of 3..6) is parallel to z."""
    pen_axis = np.mean(keypoints[3:7], axis=0) - keypoints[3]
    pen_axis = pen_axis / np.linalg.norm(pen_axis)
    z_axis = np.array([0, 0, 1])
    side = np.cross(pen_axis, z_axis)
    cost = np.linalg.norm(side) + (1 - np.dot(pen_axis, z_axis))
    return cost

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The pen tip (keypoint 6) is 10 cm above the holder opening (keypoint 7)."""
    offsetted_point = keypoints[7] + np.array([0, 0, 0.1])
    cost = np.linalg.norm(keypoints[6] - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the pen."""
    return get_grasping_cost_by_keypoint_idx(3)

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """The pen tip is 2 cm inside the holder opening."""
    offsetted_point = keypoints[7] + np.array([0, 0, -0.02])
    cost = np.linalg.norm(keypoints[6] - offsetted_point)
    return cost

def stage3_subgoal_constraint2(end_effector, keypoints):
    """The pen stays upright while it goes in (angle to z below 10 degrees)."""
    pen_axis = keypoints[3] - keypoints[6]
    cos_angle = np.dot(pen_axis, np.array([0, 0, 1])) / np.linalg.norm(pen_axis)
    angle = np.arccos(np.clip(cos_angle, -1.0, 1.0))
    return angle - np.pi / 18

### stage 3 path constraints
def stage3_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the pen."""
    return get_grasping_cost_by_keypoint_idx(3)

"""
Summarize keypoints to be grasped in all grasping stages.
"""
grasp_keypoints = [3, -1, -1]

"""
Summarize at the end of which stage the robot should release the keypoints.
"""
release_keypoints = [-1, -1, 3]
```

The pen is released at the end of stage 3.
'''

BIMANUAL_NUM_KEYPOINTS = 6

BIMANUAL_PROGRAM = '''\
```python
num_stages = 3

def grip_error(hand, point):
    """Distance from one hand (3,) to one keypoint (3,), metres."""
    return np.linalg.norm(hand - point)

def stage1_subgoal_constraint1(end_effector, keypoints):
    """Left hand at corner 0, right hand at corner 1 of the towel."""
    return max(grip_error(end_effector[0], keypoints[0]), grip_error(end_effector[1], keypoints[1]))

LIFT = 0.15

def stage2_subgoal_constraint1(end_effector, keypoints):
    """Both hands LIFT above the towel centre (mean of keypoints 2..5), 30 cm apart."""
    centre = np.mean(keypoints[2:6], axis=0)
    height = np.abs(end_effector[:, 2].mean() - (centre[2] + LIFT))
    spread = np.abs(np.linalg.norm(end_effector[0] - end_effector[1]) - 0.3)
    return height + spread

def stage2_path_constraint1(end_effector, keypoints):
    """Both corners stay held."""
    return get_grasping_cost_by_keypoint_idx(0) + get_grasping_cost_by_keypoint_idx(1)

def stage3_subgoal_constraint1(end_effector, keypoints):
    """Corners 0 and 1 laid onto corners 4 and 5 (fold in half)."""
    return np.linalg.norm(keypoints[0] - keypoints[4]) + np.linalg.norm(keypoints[1] - keypoints[5])

grasp_keypoints = [[0, 1], [-1, -1], [-1, -1]]
release_keypoints = [[-1, -1], [-1, -1], [0, 1]]
```
'''

MINIMAL = '''\
num_stages = 1

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0]) - 0.01

grasp_keypoints = [-1]
release_keypoints = [-1]
'''


def single_function_program(body: str, module: str = "") -> str:
    """A one-stage program whose sub-goal function has ``body`` (indented 4 spaces here)."""
    indented = "\n".join("    " + line for line in body.splitlines())
    return (
        f"num_stages = 1\n{module}\n"
        f"def stage1_subgoal_constraint1(end_effector, keypoints):\n{indented}\n"
        "    return 0.0\n\n"
        "grasp_keypoints = [-1]\nrelease_keypoints = [-1]\n"
    )
