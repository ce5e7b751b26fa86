"""Bimanual: two Pandas lift a long box 15 cm, level, with both hands (PyBullet, headless).

The task ``lift_box_bimanual`` ships a bimanual constraint program (``end_effector`` is
(2, 3): row 0 the left hand, row 1 the right; grasp/release lists hold ``[left, right]``
pairs). Each stage is solved for both arms jointly (with arm-arm clearance) and executed
with both arms moving at once. Keypoints are the task's annotated anchors.

Run: ``python examples/06_bimanual.py``. The last line is ``success: true`` or
``success: false``.
"""

from __future__ import annotations

from rekep.bimanual_episode import BimanualEpisodeConfig, run_bimanual_episode


def main() -> None:
    config = BimanualEpisodeConfig(task="lift_box_bimanual", seed=1000, keypoint_mode="annotated")
    result = run_bimanual_episode(config, on_event=print)
    for stage in result.stages:
        print(f"stage {stage.number}: {stage.event}")
    print(f"outcome: {result.outcome}")
    if result.failure:
        print(f"failure: {result.failure}")
    print(f"wall time: {result.wall_time_s:.1f} s")
    print(f"success: {'true' if result.success else 'false'}")


if __name__ == "__main__":
    main()
