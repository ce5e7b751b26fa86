"""End-to-end simulation episodes of the spine (rendered RGB-D -> keypoints -> program ->
solver -> friction grasp -> physical success check)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pybullet")

from rekep.episode import EpisodeConfig, run_episode
from rekep.errors import ConfigurationError
from rekep.plan import Plan


def test_block_in_tray_succeeds_from_proposed_keypoints(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    result = run_episode(EpisodeConfig(seed=0, out_dir=tmp_path), on_event=lines.append)
    assert result.success, result.failure
    assert result.failure is None
    assert result.grasp_mode == "friction"
    assert result.keypoint_mode == "proposed"
    assert [s.number for s in result.stages] == [1, 2]
    assert result.stages[1].measured_subgoal_cost is not None
    assert result.stages[1].measured_subgoal_cost <= 0.02
    assert any(line.startswith("stage 2/2") for line in lines)
    assert result.annotated_image_path is not None and result.annotated_image_path.exists()
    plan = Plan.load(tmp_path / "plan.json")
    assert plan.feasible and len(plan.stages) == 2
    json.dumps(result.to_dict())


def test_annotated_mode_with_scipy_backend_succeeds() -> None:
    result = run_episode(EpisodeConfig(seed=3, keypoint_mode="annotated", backend="scipy"))
    assert result.success, result.failure
    assert result.keypoint_mode == "annotated"
    assert result.num_keypoints == 2


def test_unknown_task_and_bad_config_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="block_in_tray"):
        run_episode(EpisodeConfig(task="no_such_task"))
    with pytest.raises(ConfigurationError, match="keypoint_mode"):
        EpisodeConfig(keypoint_mode="magic")
    with pytest.raises(ConfigurationError, match="seed"):
        EpisodeConfig(seed=-1)
    with pytest.raises(ConfigurationError, match="casadi"):
        EpisodeConfig(backend="magic")
