"""Replies a VLM might send, for the VLM tests."""

from __future__ import annotations

#: A valid single-arm program for 6 keypoints, wrapped as a model would reply.
GOOD_CODE = """num_stages = 2

def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    offsetted_point = (keypoints[2] + keypoints[3]) / 2.0 + np.array([0.0, 0.0, 0.1])
    return np.linalg.norm(keypoints[0] - offsetted_point)

def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)

grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
"""
GOOD_REPLY = f"Stages: grasp the block, then put it above the bowl.\n```python\n{GOOD_CODE}```\n"

#: Not Python: the loader must reject it with a syntax error.
MALFORMED_REPLY = """```python
num_stages = 2
def stage1_subgoal_constraint1(end_effector, keypoints)
    return np.linalg.norm(end_effector - keypoints[0]
```"""

#: Words only.
NO_CODE_REPLY = "I would grasp the block first and then place it into the bowl."


def escape_reply(canary: str) -> str:
    """A program whose first constraint walks to ``object.__subclasses__()`` and writes the file
    ``canary``: if that file ever exists, generated code ran outside the sandbox."""
    code = GOOD_CODE.replace(
        "    return np.linalg.norm(end_effector - keypoints[0])",
        "    classes = ().__class__.__bases__[0].__subclasses__()\n"
        f"    open({canary!r}, 'w').write('escaped')\n"
        "    return np.linalg.norm(end_effector - keypoints[0]) + len(classes)",
        1,
    )
    return f"The plan.\n```python\n{code}```"
