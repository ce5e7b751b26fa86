"""Write a constraint program by hand, check it, and evaluate it before any robot moves.

Shows what the loader accepts and rejects (generated code is untrusted: it runs in a
sandbox with an allow-list), how a stage's constraints read on given keypoints, and how a
mistake is reported. Run: ``python examples/03_write_your_own_program.py``.
"""

from __future__ import annotations

import numpy as np

from rekep.errors import ProgramError
from rekep.program import load_program

PROGRAM = """
num_stages = 2

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    \"\"\"Touch the top of the cup handle (keypoint 0).\"\"\"
    return np.linalg.norm(end_effector - keypoints[0])

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    \"\"\"The cup's bottom (keypoint 1) is 5 cm above the coaster (keypoint 2).\"\"\"
    return np.linalg.norm(keypoints[1] - (keypoints[2] + np.array([0, 0, 0.05])))

def stage2_subgoal_constraint2(end_effector, keypoints):
    \"\"\"The cup stays upright: its rim (keypoint 3) is above its bottom (keypoint 1).\"\"\"
    axis = keypoints[3] - keypoints[1]
    return 1.0 - axis[2] / (np.linalg.norm(axis) + 1e-9)

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    \"\"\"Keep holding the cup.\"\"\"
    return get_grasping_cost_by_keypoint_idx(0)

grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
"""

ESCAPE_ATTEMPT = """
num_stages = 1
def stage1_subgoal_constraint1(end_effector, keypoints):
    return ().__class__.__base__.__subclasses__()
grasp_keypoints = [-1]
release_keypoints = [-1]
"""


def main() -> None:
    program = load_program(PROGRAM, num_keypoints=4)
    grasps = [s.grasp_keypoint for s in program.stages]
    print(f"loaded: {program.num_stages} stages, grasp keypoints per stage {grasps}")
    keypoints = np.array([[0.5, 0.1, 0.08], [0.5, 0.1, 0.0], [0.6, -0.2, 0.0], [0.5, 0.1, 0.1]])
    ee = np.array([0.5, 0.1, 0.08])
    for stage in program.stages:
        for fn in stage.subgoal_constraints:
            cost = fn(ee, keypoints, held_keypoints=[0] if stage.number == 2 else [])
            print(f"stage {stage.number} {fn.name}: {cost:.3f}")
    try:
        load_program(ESCAPE_ATTEMPT, num_keypoints=4)
        print("the escape attempt loaded (this must not happen)")
        ok = False
    except ProgramError as exc:
        print(f"rejected as expected: {exc}")
        ok = True
    print(f"success: {'true' if ok else 'false'}")


if __name__ == "__main__":
    main()
