"""``rekep bench keypoints --quick``: one task, one seed; keys present, figures consistent."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("pybullet")

from rekep.bench_keypoints import run_keypoint_bench
from rekep.cli import main

ROW_KEYS = {
    "extractor", "mask_source", "ms_median", "cpu_ms_median", "features_ms_median",
    "masks_ms_median", "keypoints_median", "keypoints_min", "keypoints_max", "empty_results",
    "anchors_total", "anchors_found", "anchor_recall_3cm", "per_task_recall_3cm", "targets",
}  # fmt: skip


def _check_row(row: dict, report: dict) -> None:
    assert set(row) >= ROW_KEYS
    for key in ("ms_median", "cpu_ms_median", "features_ms_median", "masks_ms_median"):
        assert math.isfinite(row[key]) and row[key] >= 0.0
    assert row["features_ms_median"] <= row["ms_median"]
    assert 0 <= row["keypoints_min"] <= row["keypoints_median"] <= row["keypoints_max"] <= 40
    assert row["empty_results"] == 0 and row["keypoints_min"] >= 1
    assert 0 <= row["anchors_found"] <= row["anchors_total"]
    assert row["anchors_total"] >= 2 * report["scenes"]  # every task has >= 2 anchors
    assert row["anchor_recall_3cm"] == pytest.approx(row["anchors_found"] / row["anchors_total"])
    assert set(row["per_task_recall_3cm"]) == set(report["tasks"])
    assert all(0.0 <= v <= 1.0 for v in row["per_task_recall_3cm"].values())
    assert all(isinstance(v, bool) for v in row["targets"].values())


def test_quick_json_from_the_cli(capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["bench", "keypoints", "--quick", "--json", "--tasks", "block_in_tray",
                 "--extractors", "geometric"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["tasks"] == ["block_in_tray"] and report["seeds"] == [1000]
    assert report["scenes"] == 1 and report["frame"] == [640, 480]
    assert 0.0 <= report["anchor_observable_3cm"] <= 1.0
    rows = {(r["extractor"], r["mask_source"]): r for r in report["results"]}
    assert set(rows) == {("geometric", "sim"), ("geometric", "segmenter")}
    for row in rows.values():
        _check_row(row, report)
    sim = rows[("geometric", "sim")]
    # simulator masks hold only the task's two objects: both anchors are found
    assert sim["anchor_recall_3cm"] == 1.0
    assert "anchor_recall_3cm >= 0.9" in sim["targets"]
    assert sim["masks_ms_median"] <= sim["ms_median"]


def test_human_table(capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["bench", "keypoints", "--quick", "--tasks", "stack_blocks",
                 "--extractors", "geometric", "--mask-sources", "sim"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "recall@3cm" in out and "geometric" in out and "stack_blocks" in out


def test_dinov2_with_random_weights_is_timed() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    report = run_keypoint_bench(["block_in_tray"], extractors=("dinov2",), sources=("sim",),
                                quick=True)  # fmt: skip
    (row,) = report["results"]
    _check_row(row, report)
    assert row["extractor"] == "dinov2" and "random weights" in report["extractors"]["dinov2"]
    assert "ms_median <= 1000" in row["targets"]


def test_bad_arguments(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "keypoints", "--seeds", "0"]) == 2
    assert main(["bench", "keypoints", "--quick", "--tasks", "no_such_task"]) == 2
    assert "valid tasks" in capsys.readouterr().err
