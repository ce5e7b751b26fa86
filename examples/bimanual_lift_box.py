"""Bimanual, closed loop: two Pandas lift a long box 15 cm, level, with both hands.

PyBullet, headless. The task ``lift_box_bimanual`` ships a bimanual constraint program
(``end_effector`` is (2, 3): row 0 the left hand, row 1 the right; grasp/release lists hold
``[left, right]`` pairs). The closed loop (:mod:`rekep.loop.bimanual`) ticks at 20 Hz of
robot time: it tracks the keypoints with the image-based ``flow`` tracker (no simulator
ground truth), keeps one held-object model per hand, re-solves the stage for both arms
jointly (arm-arm clearance) and streams both arms' next targets; a broken path constraint
(e.g. the box knocked out of the hands: pass ``--disturb``) backtracks to the grasp.

Run: ``python examples/bimanual_lift_box.py [--disturb]``. The last line is
``success: true`` or ``success: false``.
"""

from __future__ import annotations

import sys

from rekep.loop.bimanual import BimanualClosedLoopConfig, run_bimanual_closed_loop_episode


def main() -> None:
    disturb = "knock_out" if "--disturb" in sys.argv[1:] else None
    config = BimanualClosedLoopConfig(task="lift_box_bimanual", seed=1000, tracker="flow",
                                      disturbance=disturb)  # fmt: skip
    result = run_bimanual_closed_loop_episode(config)
    for line in result.summary():
        print(line)

if __name__ == "__main__":
    main()
