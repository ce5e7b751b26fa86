"""The reference constraint program of :mod:`rekep.sim.tasks.pour_particles`.

Four stages: grasp the cup at the centre of its opening; carry it upright until the opening
is above the bowl; tip it about its short axis (the fingers' closing axis) until the rim
plane's normal points below horizontal, with the cup's back over the bowl centre; bring it
back upright above the bowl. Every keypoint lies on a visible surface (the checker corners
of the cup's spout lip and back tab, the bowl floor's centre); the program derives the
opening's centre (the midpoint of the lip and the back tab) and the cup's up axis (the
normal of the plane through the three cup keypoints).

Why the cup's back, not its spout, goes over the bowl centre: the balls stay in the cup
while it turns and leave together once it is past horizontal, sliding out along its walls
and flying on away from the spout for 10-15 cm while they fall; pouring from a spout held
over the bowl centre throws a third of them over the far wall.
"""

from __future__ import annotations

import math

PROGRAM_TEMPLATE = '''\
num_stages = 4

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the centre of the cup's opening, midway between the
    spout lip (keypoint {cup_spout}) and the middle of the back tab (between keypoints
    {cup_back_left} and {cup_back_right})."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    opening = (keypoints[{cup_spout}] + back) / 2
    cost = np.linalg.norm(end_effector - opening)
    return cost

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The centre of the cup's opening (between the spout lip {cup_spout} and the back
    tab {cup_back_left}, {cup_back_right}) is CARRY_CM cm above the bowl centre (keypoint
    {bowl_center})."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    opening = (keypoints[{cup_spout}] + back) / 2
    offsetted_point = keypoints[{bowl_center}] + np.array([0, 0, CARRY_M])
    cost = np.linalg.norm(opening - offsetted_point)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the cup (keypoint {cup_spout})."""
    return get_grasping_cost_by_keypoint_idx({cup_spout})

def stage2_path_constraint2(end_effector, keypoints):
    """Keep the cup upright enough not to spill over its spout: the line from the middle of
    the back tab (keypoints {cup_back_left}, {cup_back_right}) to the spout lip (keypoint
    {cup_spout}) stays within about 35 degrees of horizontal."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    along = keypoints[{cup_spout}] - back
    along = along / np.linalg.norm(along)
    return abs(along[2]) - 0.57

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """Pour so that the balls land in the middle of the bowl: they leave the tipped cup
    moving away from its spout, towards where its back tab hangs, so hold the middle of the
    back tab (keypoints {cup_back_left}, {cup_back_right}) POUR_CM cm above the bowl centre
    (keypoint {bowl_center}); the spout lip then hangs about 17 cm above the bowl floor."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    offsetted_point = keypoints[{bowl_center}] + np.array([0, 0, POUR_M])
    cost = np.linalg.norm(back - offsetted_point)
    return cost

def stage3_subgoal_constraint2(end_effector, keypoints):
    """Tilt the cup to pour: the normal of its rim plane points at least TILT_DEG degrees
    below horizontal."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    up = np.cross(keypoints[{cup_back_right}] - keypoints[{cup_back_left}],
                  keypoints[{cup_spout}] - back)
    up = up / np.linalg.norm(up)
    return up[2] + TILT_SIN

def stage3_subgoal_constraint3(end_effector, keypoints):
    """Pour over the spout: the spout lip (keypoint {cup_spout}) is at least 3 cm lower
    than the middle of the back tab (keypoints {cup_back_left}, {cup_back_right})."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    return keypoints[{cup_spout}][2] - back[2] + 0.03

def stage3_subgoal_constraint4(end_effector, keypoints):
    """Tip the cup over its spout, not sideways: the back tab's corners (keypoints
    {cup_back_left}, {cup_back_right}) stay level with each other."""
    across = keypoints[{cup_back_right}] - keypoints[{cup_back_left}]
    across = across / np.linalg.norm(across)
    return abs(across[2]) - LEVEL_SIN

### stage 3 path constraints
def stage3_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the cup (keypoint {cup_spout})."""
    return get_grasping_cost_by_keypoint_idx({cup_spout})

### stage 4 sub-goal constraints
def stage4_subgoal_constraint1(end_effector, keypoints):
    """Done pouring: the centre of the cup's opening (between the spout lip {cup_spout}
    and the back tab {cup_back_left}, {cup_back_right}) is DONE_CM cm above the bowl
    centre (keypoint {bowl_center})."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    opening = (keypoints[{cup_spout}] + back) / 2
    offsetted_point = keypoints[{bowl_center}] + np.array([0, 0, DONE_M])
    cost = np.linalg.norm(opening - offsetted_point)
    return cost

def stage4_subgoal_constraint2(end_effector, keypoints):
    """Bring the cup back upright: the normal of its rim plane within about 18 degrees
    of vertical."""
    back = (keypoints[{cup_back_left}] + keypoints[{cup_back_right}]) / 2
    up = np.cross(keypoints[{cup_back_right}] - keypoints[{cup_back_left}],
                  keypoints[{cup_spout}] - back)
    up = up / np.linalg.norm(up)
    return 0.95 - up[2]

### stage 4 path constraints
def stage4_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the cup (keypoint {cup_spout})."""
    return get_grasping_cost_by_keypoint_idx({cup_spout})

grasp_keypoints = [{cup_spout}, -1, -1, -1]
release_keypoints = [-1, -1, -1, -1]
'''


def make_program(carry_m: float = 0.16, pour_m: float = 0.30, tilt_deg: float = 35.0,
                 level_deg: float = 3.0, done_m: float = 0.20) -> str:
    """The reference program with its pour parameters filled in: the opening's height above
    the bowl centre after carrying (``carry_m``), the back tab's while pouring (``pour_m``)
    and the opening's when done (``done_m``), metres; the tilt of the rim plane's normal
    below horizontal and the most the cup may roll sideways while pouring, degrees."""
    values = {
        "CARRY_CM": f"{carry_m * 100:g}", "CARRY_M": f"{carry_m:g}",
        "POUR_CM": f"{pour_m * 100:g}", "POUR_M": f"{pour_m:g}",
        "TILT_DEG": f"{tilt_deg:g}", "TILT_SIN": f"{math.sin(math.radians(tilt_deg)):.2f}",
        "LEVEL_SIN": f"{math.sin(math.radians(level_deg)):.2f}",
        "DONE_CM": f"{done_m * 100:g}", "DONE_M": f"{done_m:g}",
    }
    text = PROGRAM_TEMPLATE
    for key, value in values.items():
        text = text.replace(key, value)
    return text
