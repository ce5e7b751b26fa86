"""Run a task in the closed loop and knock the block out of the hand while it is carried.

The loop tracks the keypoints with optical flow on the rendered images (the `flow` tracker,
no simulator state), notices that the block no longer follows the hand (the stage's path
constraint "still grasping" breaks), backtracks to the grasp stage, grasps again and
finishes. Run: ``python examples/04_closed_loop_disturbance.py``.
"""

from __future__ import annotations

from rekep.loop.episode import ClosedLoopConfig, run_closed_loop_episode


def main() -> None:
    config = ClosedLoopConfig(task="block_in_tray", seed=1000, keypoint_mode="proposed",
                              tracker="flow", disturbance="knock_out")  # fmt: skip
    result = run_closed_loop_episode(config)
    for line in result.summary():
        print(line)

if __name__ == "__main__":
    main()
