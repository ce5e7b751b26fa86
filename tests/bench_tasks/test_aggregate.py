"""Records -> report: keys, counts, intervals, medians; table and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rekep.bench_tasks.aggregate import aggregate
from rekep.bench_tasks.failures import CATEGORIES
from rekep.bench_tasks.records import LATENCY_MODULES, make_record
from rekep.bench_tasks.report import format_table, write_results
from rekep.bench_tasks.spec import EpisodeSpec
from rekep.bench_tasks.stats import wilson_interval


def _record(task: str, seed: int, failure: str | None, seconds: float, **raw: Any) -> dict:
    return make_record(
        EpisodeSpec(task, seed), {"success": failure is None, "failure": failure, **raw}, seconds
    )


@pytest.fixture
def records() -> list[dict]:
    return [
        _record("a", 1000, None, 2.0, latency_ms={"subgoal": [10.0, 30.0], "path": [5.0]}),
        _record("a", 1001, "grasp missed: x", 4.0, latency_ms={"subgoal": [20.0]}),
        _record("a", 1002, None, 9.0, loop_hz=25.0),
        _record("b", 1000, "crash: worker process died", 1.0),
        _record("b", 1001, "timeout: too slow", 3.0, loop_hz=15.0),
    ]


def test_report_keys_are_exactly_the_documented_ones(records: list[dict]) -> None:
    report = aggregate(records, {"seeds": 3})
    assert set(report) == {
        "tasks", "mean_success", "backtracking", "privileged", "latency_ms", "loop_hz_median",
        "config",
    }  # fmt: skip
    assert list(report["tasks"]) == ["a", "b"]
    for block in report["tasks"].values():
        assert set(block) == {
            "episodes", "successes", "success_rate", "ci95", "episode_s_median", "failures",
            "backtracked", "recovered",
        }  # fmt: skip
        assert list(block["failures"]) == list(CATEGORIES)
    assert set(report["latency_ms"]) == set(LATENCY_MODULES)
    assert report["config"] == {"seeds": 3}
    json.dumps(report, allow_nan=False)


def test_counts_rates_intervals_and_medians(records: list[dict]) -> None:
    report = aggregate(records, {})
    a, b = report["tasks"]["a"], report["tasks"]["b"]
    assert (a["episodes"], a["successes"], b["episodes"], b["successes"]) == (3, 2, 2, 0)
    assert a["success_rate"] == pytest.approx(2 / 3)
    assert a["ci95"] == pytest.approx(list(wilson_interval(2, 3)))
    assert b["ci95"] == pytest.approx(list(wilson_interval(0, 2)))
    assert a["episode_s_median"] == 4.0 and b["episode_s_median"] == 2.0
    assert a["failures"]["grasp missed"] == 1 and sum(a["failures"].values()) == 1
    assert b["failures"]["crash"] == 1 and b["failures"]["timeout"] == 1
    assert report["mean_success"] == pytest.approx((2 / 3 + 0.0) / 2)  # unweighted over tasks
    lat = report["latency_ms"]
    assert lat["subgoal"] == 20.0 and lat["path"] == 5.0  # pooled samples 10, 20, 30
    assert lat["proposal"] is None and lat["tracking"] is None
    assert report["loop_hz_median"] == 20.0


def test_backtracking_counts_episodes_that_fell_back_and_those_that_still_succeeded() -> None:
    records = [
        _record("a", 1, None, 1.0, backtracks=2, tracker="flow", privileged=False),
        _record("a", 2, "tracking lost: x", 1.0, backtracks=1, privileged=False),
        _record("a", 3, None, 1.0, backtracks=0),
        _record("b", 1, None, 1.0),  # open loop: no backtrack field at all
        _record("b", 2, None, 1.0, backtracks=3),
    ]
    report = aggregate(records, {})
    assert (report["tasks"]["a"]["backtracked"], report["tasks"]["a"]["recovered"]) == (2, 1)
    assert (report["tasks"]["b"]["backtracked"], report["tasks"]["b"]["recovered"]) == (1, 1)
    assert report["backtracking"] == {"episodes": 3, "recovered": 2, "recovered_rate": 2 / 3}
    assert report["privileged"] is False
    assert "backtracked episodes 3, recovered 2 (0.67)" in format_table(report)
    assert "PRIVILEGED" not in format_table(report)
    sim = aggregate([_record("a", 1, None, 1.0, privileged=True)], {})
    assert sim["privileged"] is True and sim["backtracking"]["recovered_rate"] is None
    assert "PRIVILEGED" in format_table(sim)


def test_record_normalization_keeps_raw_reason_and_cleans_types() -> None:
    rec = make_record(
        EpisodeSpec("a", 3),
        {"success": np.bool_(False), "failure": "grasp lost: dropped",
         "outcome": {"held": np.bool_(True), "offset": np.float64(0.25), "v": np.arange(2)}},
        1.5,
    )  # fmt: skip
    assert rec["failure"] == "grasp lost: dropped" and rec["category"] == "grasp missed"
    assert rec["details"]["outcome"] == {"held": True, "offset": 0.25, "v": [0, 1]}
    assert type(rec["details"]["outcome"]["held"]) is bool
    json.dumps(rec, allow_nan=False)
    # success without a reason is fine; a failure without a reason gets one, never dropped
    silent = make_record(EpisodeSpec("a", 4), {"success": False}, 1.0)
    assert not silent["success"] and silent["category"] == "other"
    contradictory = make_record(EpisodeSpec("a", 5), {"success": True, "failure": "crash: x"}, 1)
    assert not contradictory["success"]


def test_table_and_files(records: list[dict], tmp_path: Path) -> None:
    report = aggregate(records, {"loop": "open", "keypoints": "annotated"})
    table = format_table(report)
    assert "a " in table and "b " in table and "mean_success 0.333" in table
    assert "grasp missed 1" in table and "crash 1" in table
    target = write_results(tmp_path, report, records)
    assert json.loads(target.read_text()) == report
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == len(records)
    per = json.loads((tmp_path / "episodes" / "b" / "1001" / "record.json").read_text())
    assert per["failure"] == "timeout: too slow" and per["category"] == "timeout"
    pytest.importorskip("matplotlib")
    assert (tmp_path / "episode_seconds.png").is_file()  # from the records' episode_s
