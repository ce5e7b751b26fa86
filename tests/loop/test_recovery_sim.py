"""The non-privileged loop recovers from a knock-out in PyBullet: the flow tracker re-detects
the block on the table and the loop grasps it again (about 15 s of CPU on an idle core)."""

from __future__ import annotations

import pytest

pytest.importorskip("pybullet")
pytest.importorskip("cv2")

from rekep.loop.episode import ClosedLoopConfig, run_closed_loop_episode


@pytest.mark.sim
def test_flow_loop_recovers_from_a_knock_out() -> None:
    result = run_closed_loop_episode(
        ClosedLoopConfig(task="block_in_tray", seed=1000, keypoint_mode="proposed",
                         tracker="flow", disturbance="knock_out")
    )
    assert result.tracker == "flow" and not result.privileged
    assert result.latency_ms["proposal"] > 0  # the proposal is timed in proposed mode
    assert [d["kind"] for d in result.disturbances] == ["knock_out"]
    assert result.backtracks >= 1 and result.recovered >= 1
    assert result.success, result.failure
