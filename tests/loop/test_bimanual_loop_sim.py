"""One bimanual closed-loop episode in simulation, through the benchmark's routing:
``lift_box_bimanual`` with the privileged sim tracker must succeed and report the same
record keys as a single-arm closed-loop episode."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("pybullet")

from rekep.bench_tasks.episodes import closed_loop_episode
from rekep.bench_tasks.spec import EpisodeSpec
from rekep.loop.result import ClosedLoopResult


def single_arm_keys() -> set[str]:
    fields: dict[str, object] = {f.name: None for f in dataclasses.fields(ClosedLoopResult)}
    fields.update(task="t", seed=0, success=True, stages=(), outcome={}, keypoint_mode="annotated",
                  grasp_mode="g", num_keypoints=0, wall_time_s=0.0, tracker="sim",
                  privileged=True, terminal="success", loop_hz_median=1.0, backtracks=0,
                  recovered=0, latency_ms={}, disturbances=())  # fmt: skip
    return set(ClosedLoopResult(**fields).to_dict())  # type: ignore[arg-type]


def test_lift_box_closed_loop_succeeds_with_the_single_arm_record_keys() -> None:
    record = dict(closed_loop_episode(EpisodeSpec(task="lift_box_bimanual", seed=1000,
                                                  tracker="sim")))  # fmt: skip
    assert record["success"] is True, record["failure"]
    assert record["tracker"] == "sim" and record["privileged"] is True
    assert record["terminal"] == "success" and record["ticks"] > 10
    assert record["loop_hz"] is not None and record["loop_hz"] > 0
    assert {"tracking", "subgoal", "path", "total"} <= set(record["latency_ms"])
    assert "proposal" not in record["latency_ms"]  # annotated keypoints are not proposed
    assert record["outcome"]["lifted"] and record["outcome"]["level"]
    assert [s["number"] for s in record["stages"]] == [1, 2]
    expected = single_arm_keys() - {"loop_hz_median"} | {"loop_hz", "arms"}
    assert set(record) == expected
