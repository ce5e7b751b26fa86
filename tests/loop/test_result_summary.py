"""The closed-loop result's printed summary (used by ``rekep run`` and the examples)."""

from __future__ import annotations

from rekep.episode import StageReport
from rekep.loop.result import ClosedLoopResult


def _result(success: bool, privileged: bool) -> ClosedLoopResult:
    return ClosedLoopResult(
        task="block_in_tray", seed=3, success=success,
        failure=None if success else "tracking_lost: keypoint 2 lost for over 5.0 s",
        stages=(StageReport(1, "holding keypoints [0]", 1.25, True, None),),
        outcome={}, keypoint_mode="annotated", grasp_mode="friction", num_keypoints=3,
        wall_time_s=2.0, tracker="sim" if privileged else "flow", privileged=privileged,
        terminal="success" if success else "tracking_lost", loop_hz_median=42.0, backtracks=1,
        recovered=1, latency_ms={"total": 12.5}, ticks=80,
        disturbances=({"kind": "knock_out", "stage": 2, "time_s": 3.0, "displacement_m": 0.15},),
    )  # fmt: skip


def test_summary_names_stages_disturbances_rate_and_ends_with_success() -> None:
    lines = _result(True, privileged=True).summary()
    assert lines[0] == "stage 1: holding keypoints [0] [1.2 s robot time]"
    assert lines[1] == "disturbance: knock_out at stage 2, t=3.0 s, moved 15.0 cm"
    assert "privileged: debugging only" in lines[2] and "42 Hz" in lines[2]
    assert "backtracks 1, recovered 1" in lines[2]
    assert lines[-1] == "success: true" and not any(s.startswith("failure") for s in lines)


def test_summary_reports_the_failure_and_can_leave_the_outcome_out() -> None:
    lines = _result(False, privileged=False).summary()
    assert lines[-2].startswith("failure: tracking_lost") and lines[-1] == "success: false"
    assert "privileged" not in lines[2]
    short = _result(False, privileged=False).summary(with_outcome=False)
    assert short == lines[:-2]
