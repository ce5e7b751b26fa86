"""The bimanual closed loop: two arms, one fixed-rate planner tick, tracked keypoints.

Entry points:

* :func:`run_bimanual_closed_loop_episode` (:class:`BimanualClosedLoopConfig`) -> a
  :class:`BimanualLoopResult` (same ``to_dict`` keys as the single-arm
  :class:`rekep.loop.result.ClosedLoopResult`);
* :class:`BimanualClosedLoop`: the engine, on any :class:`ArmPair` (the simulated pair is
  :class:`SimArmPair`) with any :class:`rekep.tracking.base.PointTracker`;
* :class:`BimanualStageMachine`: advance / backtrack / act / timeout logic, simulator-free.
"""

from __future__ import annotations

from rekep.loop.bimanual.arms import ArmPair, SimArmPair
from rekep.loop.bimanual.config import BimanualClosedLoopConfig, BimanualLoopConfig
from rekep.loop.bimanual.engine import BimanualClosedLoop
from rekep.loop.bimanual.episode import run_bimanual_closed_loop_episode
from rekep.loop.bimanual.result import BimanualLoopResult
from rekep.loop.bimanual.stage_machine import BimanualStageMachine

__all__ = [
    "ArmPair",
    "BimanualClosedLoop",
    "BimanualClosedLoopConfig",
    "BimanualLoopConfig",
    "BimanualLoopResult",
    "BimanualStageMachine",
    "SimArmPair",
    "run_bimanual_closed_loop_episode",
]
