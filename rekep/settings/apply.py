"""Turn the settings tree into the configuration objects the runners take."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rekep.settings.tree import RekepSettings

if TYPE_CHECKING:
    from rekep.episode import EpisodeConfig


def episode_config(settings: RekepSettings) -> EpisodeConfig:
    """The :class:`~rekep.episode.EpisodeConfig` of ``rekep demo`` for these settings."""
    from rekep.episode import PANDA_WORKSPACE, EpisodeConfig

    planner = replace(
        PANDA_WORKSPACE,
        approach=settings.solver.approach,
        tolerance=settings.solver.tolerance,
        num_seeds=settings.solver.num_seeds,
    )
    return EpisodeConfig(
        task=settings.run.task,
        seed=settings.run.seed,
        keypoint_mode=settings.run.keypoints,
        proposer=settings.proposer.name,
        out_dir=settings.run.out,
        backend=settings.solver.backend,
        planner=planner,
        grasp=settings.grasp,
    )
