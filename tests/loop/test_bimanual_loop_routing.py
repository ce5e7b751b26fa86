"""The benchmark routes two-arm tasks: the closed loop (``--loop closed``/auto) runs the
bimanual closed loop with the spec's tracker, keypoint mode and disturbance; ``--loop open``
keeps the open-loop stage-by-stage runner (fakes; no simulation)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import rekep.bimanual_episode as open_module
import rekep.loop.bimanual as bimanual
from rekep.bench_tasks import episodes
from rekep.bench_tasks.spec import EpisodeSpec


def test_closed_loop_runs_the_bimanual_loop_with_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_run(config: Any) -> Any:
        seen.append(config)
        return SimpleNamespace(to_dict=lambda: {"success": True, "failure": None,
                                                "loop_hz_median": 33.0})  # fmt: skip

    monkeypatch.setattr(bimanual, "run_bimanual_closed_loop_episode", fake_run)
    spec = EpisodeSpec("handover_block", 1003, keypoint_mode="proposed", tracker="flow",
                       disturb=True)  # fmt: skip
    record = episodes.closed_loop_episode(spec)
    config = seen[0]
    assert (config.task, config.seed, config.keypoint_mode) == ("handover_block", 1003, "proposed")
    assert config.tracker == "flow" and config.disturbance == "auto"
    assert record["loop_hz"] == 33.0 and "loop_hz_median" not in record
    episodes.closed_loop_episode(EpisodeSpec("lift_box_bimanual", 1000))
    assert seen[1].tracker == "auto" and seen[1].disturbance is None


def test_open_loop_keeps_the_stage_by_stage_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_open(config: Any, on_event: Any = None) -> Any:
        seen.append(config)
        return SimpleNamespace(to_dict=lambda: {"success": True, "failure": None})

    def closed_must_not_run(config: Any) -> Any:
        raise AssertionError("the open loop ran the closed loop")

    monkeypatch.setattr(open_module, "run_bimanual_episode", fake_open)
    monkeypatch.setattr(bimanual, "run_bimanual_closed_loop_episode", closed_must_not_run)
    record = episodes.open_loop_episode(EpisodeSpec("lift_box_bimanual", 1001, tracker="flow"))
    assert seen[0].task == "lift_box_bimanual" and seen[0].seed == 1001
    assert record["loop_hz"] is None and record["success"] is True
