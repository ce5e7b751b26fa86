"""One bimanual episode end to end: two Pandas lift the long box with the reference program
(annotated keypoints), solved jointly per stage and executed with both arms at once."""

from __future__ import annotations

import pytest

pytest.importorskip("pybullet")

from rekep.bimanual_episode import BimanualEpisodeConfig, run_bimanual_episode
from rekep.errors import ConfigurationError


def test_single_arm_task_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="single-arm"):
        run_bimanual_episode(BimanualEpisodeConfig(task="block_in_tray"))
    with pytest.raises(ConfigurationError, match="keypoint_mode"):
        BimanualEpisodeConfig(keypoint_mode="oracle")


@pytest.mark.sim
def test_lift_box_episode_succeeds() -> None:
    lines: list[str] = []
    result = run_bimanual_episode(
        BimanualEpisodeConfig(task="lift_box_bimanual", seed=1000), on_event=lines.append
    )
    assert result.success, (result.failure, lines)
    assert result.failure is None
    assert [s.number for s in result.stages] == [1, 2]
    assert "left" in result.stages[0].event and "right" in result.stages[0].event
    assert result.outcome["lift_m"] >= result.outcome["lift_min_m"]
    assert result.outcome["tilt_deg"] <= result.outcome["tilt_max_deg"]
    assert result.outcome["robots_touching"] == 2  # still held by both hands
    assert result.stages[1].measured_subgoal_cost is not None
    assert result.to_dict()["keypoint_mode"] == "annotated"
