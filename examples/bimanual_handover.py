"""Bimanual, closed loop: the left arm hands a block to the right arm, which puts it on a pad.

PyBullet, headless. The task ``handover_block`` ships a four-stage bimanual program: the
left hand grasps the block's left end, carries it to the handover point, the right hand
grasps the right end while the left one releases, and the right hand places the block on
the pad and lets go. The closed loop (:mod:`rekep.loop.bimanual`) tracks the keypoints with
the image-based ``flow`` tracker, carries each held object with the hand that holds it,
re-solves both arms jointly every tick (warm) and streams their joint paths.

Run: ``python examples/bimanual_handover.py``. The last line is ``success: true`` or
``success: false``.
"""

from __future__ import annotations

from rekep.loop.bimanual import BimanualClosedLoopConfig, run_bimanual_closed_loop_episode


def main() -> None:
    config = BimanualClosedLoopConfig(task="handover_block", seed=1001, tracker="flow")
    result = run_bimanual_closed_loop_episode(config)
    for line in result.summary():
        print(line)

if __name__ == "__main__":
    main()
