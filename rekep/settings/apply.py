"""Turn the settings tree into the configuration objects the runners take."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rekep.settings.tree import RekepSettings

if TYPE_CHECKING:
    from rekep.episode import EpisodeConfig
    from rekep.loop.episode import ClosedLoopConfig


def _planner(settings: RekepSettings) -> Any:
    from rekep.episode import PANDA_WORKSPACE

    return replace(
        PANDA_WORKSPACE,
        approach=settings.solver.approach,
        tolerance=settings.solver.tolerance,
        num_seeds=settings.solver.num_seeds,
    )


def closed_loop_config(settings: RekepSettings) -> ClosedLoopConfig:
    """The :class:`~rekep.loop.episode.ClosedLoopConfig` of ``rekep demo`` (closed loop)."""
    from rekep.loop.config import LoopConfig
    from rekep.loop.episode import ClosedLoopConfig

    loop = settings.loop
    return ClosedLoopConfig(
        task=settings.run.task,
        seed=settings.run.seed,
        keypoint_mode=settings.run.keypoints,
        proposer=settings.proposer.name,
        tracker=loop.tracker,
        backend=settings.solver.backend,
        loop=LoopConfig(hz=loop.hz, observe_every=loop.observe_every,
                        episode_timeout_s=loop.episode_timeout_s, planner=_planner(settings),
                        grasp=settings.grasp),
        disturbance=loop.disturbance,
        disturb_stage=loop.disturb_stage,
        out_dir=settings.run.out,
    )


def episode_config(settings: RekepSettings) -> EpisodeConfig:
    """The :class:`~rekep.episode.EpisodeConfig` of ``rekep demo --loop open``."""
    from rekep.episode import EpisodeConfig

    planner = _planner(settings)
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
