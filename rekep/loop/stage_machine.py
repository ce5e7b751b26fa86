"""The stage machine of the closed loop: pure logic over measured keypoints, no simulator.

Each tick (:meth:`StageMachine.update`) it receives the measured hand position, the tracked
keypoints (K, 3) metres, which keypoints are held and which are visible, and decides:

1. **done** when a terminal outcome is set (see :data:`OUTCOMES`);
2. a per-stage **timeout** (robot time in the current stage) ends the episode;
3. **tracking_lost** when a keypoint the program uses stays invisible too long;
4. while a grasp/release primitive runs (phase ``acting``), it **waits** for
   :meth:`StageMachine.primitive_done`;
5. **backtrack** when the current stage's path constraints exceed ``path_tolerance``: to the
   latest earlier stage whose path constraints hold now (stage 1 at worst), e.g. the held
   object was knocked out of the hand -> back to its grasp stage;
6. otherwise the sub-goal is measured: when every sub-goal cost is at most
   ``subgoal_tolerance``, a plain stage **advances**; a grasp or release stage asks the
   engine to **act** and advances only when the primitive reports success.

Constraint costs come from the program's own functions bound to the current grasp state
(:func:`rekep.planner.bind_constraints`): the same code the solver optimizes. The
bookkeeping shared with the bimanual machine is :class:`rekep.loop.stage_core.StageBook`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.loop.stage_core import ACTIONS, OUTCOMES, StageBook, StageMachineConfig, Verdict
from rekep.planner import bind_constraints
from rekep.program import ConstraintFunction, ConstraintProgram

__all__ = ["ACTIONS", "OUTCOMES", "StageMachine", "StageMachineConfig", "StageObservation",
           "Verdict"]  # fmt: skip

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class StageObservation:
    """What the machine measures each tick.

    Attributes:
        time_s: robot time, seconds.
        end_effector: (3,) TCP position, metres.
        positions: (K, 3) tracked keypoints (held ones as measured), metres.
        held: indices of the keypoints that move with the hand now.
        visible: (K,) bool, False for keypoints the tracker has lost (a hidden one whose
            last position is still trusted, e.g. occluded or held, counts as visible).
    """

    time_s: float
    end_effector: FloatArray
    positions: FloatArray
    held: tuple[int, ...] = ()
    visible: NDArray[np.bool_] | None = None


def _max_cost(fns: tuple[ConstraintFunction, ...], obs: StageObservation) -> float:
    values = [f(obs.end_effector, obs.positions) for _, f in bind_constraints(fns, obs.held)]
    return float(max(values)) if values else 0.0


class StageMachine(StageBook):
    """Current stage, phase and outcome of one episode of ``program``."""

    def __init__(
        self,
        program: ConstraintProgram,
        config: StageMachineConfig | None = None,
        start_time_s: float = 0.0,
    ) -> None:
        if program.bimanual:
            raise ConfigurationError("the single-arm stage machine cannot run a bimanual program")
        super().__init__(program, config, start_time_s)

    def _grasps(self) -> bool:
        return self.program.stages[self.stage - 1].is_grasp_stage

    def update(self, obs: StageObservation) -> Verdict:
        """Decide this tick's action from measurements (see the module docstring)."""
        if self.outcome is not None:
            return Verdict("done", self.stage, self.reason, self.outcome)
        t = obs.time_s
        timed_out = self._timed_out(t)
        if timed_out:
            return timed_out
        lost = self._lost_for(t, obs.visible)
        if lost:
            return self.fail("tracking_lost", lost, t)
        if self.phase == "acting":
            return Verdict("wait", self.stage, "primitive running")
        stage = self.program.stages[self.stage - 1]
        path_cost = _max_cost(stage.path_constraints, obs)
        if path_cost > self.config.path_tolerance:
            return self._backtrack(obs, path_cost)
        sub_cost = _max_cost(stage.subgoal_constraints, obs)
        if sub_cost > self.config.subgoal_tolerance:
            return Verdict("continue", self.stage, "", None, path_cost, sub_cost)
        why = f"sub-goal measured {sub_cost:.4f} <= {self.config.subgoal_tolerance}"
        if stage.is_grasp_stage or stage.is_release_stage:
            self.phase = "acting"
            self._log(t, "act", why)
            return Verdict("act", self.stage, why, None, path_cost, sub_cost)
        verdict = self._advance(t, why)
        return Verdict(verdict.action, verdict.stage, why, verdict.outcome, path_cost, sub_cost)

    def _backtrack(self, obs: StageObservation, path_cost: float) -> Verdict:
        t = obs.time_s
        if self.stage == 1:
            return Verdict("continue", 1, "stage 1 path constraint violated", None, path_cost)
        failed = self._start_backtrack(t)
        if failed:
            return failed
        target = self._latest_stage_where(lambda j: _max_cost(
            self.program.stages[j - 1].path_constraints, obs) <= self.config.path_tolerance)
        return self._backtrack_to(target, t, path_cost)
