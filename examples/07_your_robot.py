"""Drive your own arm with the closed loop: implement the small `LoopRobot` interface.

This example runs the loop on :class:`rekep.loop.FakeRobot`, a kinematic stand-in that moves
its hand at bounded speed and carries keypoints it has grasped. A real arm implements the
same nine members (see :class:`rekep.loop.LoopRobot`): ``time_s``, ``joint_positions()``,
``hand_pose()``, ``inverse_kinematics(T, q_seed)``, ``send_joint_targets(q)`` (non-blocking),
``command_gripper(close)``, ``gripper_width()``, ``observe()`` (an ``RGBD``) and
``advance(seconds)`` (wait while the controller tracks the targets). The tracker here reads
the fake's ground truth; on a real robot use ``make_tracker("flow")`` on ``observe()``.
Run: ``python examples/07_your_robot.py``.
"""

from __future__ import annotations

import numpy as np

from rekep.keypoint_set import Keypoints
from rekep.loop import ClosedLoop, FakeRobot, LoopConfig, LoopRobot, ScriptedTracker
from rekep.planner import PlannerConfig
from rekep.poses import make_pose
from rekep.program import load_program

PROGRAM = """
num_stages = 2
def stage1_subgoal_constraint1(end_effector, keypoints):
    \"\"\"Reach the cup handle (keypoint 0).\"\"\"
    return np.linalg.norm(end_effector - keypoints[0])
def stage2_subgoal_constraint1(end_effector, keypoints):
    \"\"\"The handle is 10 cm above the coaster (keypoint 2).\"\"\"
    return np.linalg.norm(keypoints[0] - (keypoints[2] + np.array([0, 0, 0.1])))
def stage2_path_constraint1(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(0)
grasp_keypoints = [0, -1]
release_keypoints = [-1, 0]
"""


def main() -> None:
    points = np.array([[0.5, 0.1, 0.05], [0.5, 0.12, 0.02], [0.5, -0.2, 0.01]])  # metres
    object_ids = np.array([1, 1, 2])  # the cup (two keypoints) and the coaster
    T_start = make_pose(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.4])  # hand pointing down
    robot = FakeRobot(points, object_ids, T_start, max_speed_m_s=0.5, max_speed_rad_s=2.0)
    assert isinstance(robot, LoopRobot)  # the protocol a real arm implements
    tracker = ScriptedTracker(robot.keypoint_positions)
    keypoints = Keypoints(points.copy(), np.zeros((3, 2)), object_ids.copy())
    config = LoopConfig(planner=PlannerConfig(subgoal_backend="scipy"), lookahead_m=0.05)
    run = ClosedLoop(robot, tracker, load_program(PROGRAM, num_keypoints=3), keypoints,
                     config).run()  # fmt: skip
    for time_s, action, stage, reason in run.events:
        print(f"t={time_s:5.2f} s  stage {stage}: {action} {reason}")
    final = robot.keypoint_positions()
    print(f"handle ends {np.round(final[0], 3)} m, coaster at {np.round(final[2], 3)} m")
    print(f"{run.ticks} ticks at {config.hz:.0f} Hz, planner + tracker median "
          f"{run.latency_ms.get('total', float('nan')):.1f} ms")  # fmt: skip
    print(f"success: {'true' if run.outcome == 'success' else 'false'}")


if __name__ == "__main__":
    main()
