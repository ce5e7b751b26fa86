"""What the single-arm and bimanual stage machines share: settings, verdicts, outcomes, and
the bookkeeping of stages (advance, retry, fail, recoveries, lost keypoints, the event log).

The decisions of a tick differ between the two (one hand or two, when a stage acts, where
to backtrack) and live in :mod:`rekep.loop.stage_machine` and
:mod:`rekep.loop.bimanual.stage_machine`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.program import ConstraintProgram

logger = logging.getLogger(__name__)
Event = tuple[float, str, int, str]

OUTCOMES = (
    "success",
    "timeout",
    "infeasible",
    "grasp_missed",
    "release_failed",
    "tracking_lost",
    "backtrack_limit",
    "solver_error",
)
"""Every way an episode ends: ``success`` or a named failure."""
ACTIONS = ("continue", "advance", "backtrack", "act", "wait", "retry", "done")


@dataclass(frozen=True)
class StageMachineConfig:
    """Tolerances (constraint cost units, usually metres) and limits (seconds, counts)."""

    path_tolerance: float = 0.10
    subgoal_tolerance: float = 0.02
    stage_timeout_s: float = 30.0
    lost_timeout_s: float = 5.0
    max_backtracks: int = 6
    max_primitive_attempts: int = 3

    def __post_init__(self) -> None:
        if not (self.path_tolerance > 0 and self.subgoal_tolerance > 0):
            raise ConfigurationError("path_tolerance and subgoal_tolerance must be positive")
        if not (self.stage_timeout_s > 0 and self.lost_timeout_s > 0):
            raise ConfigurationError("stage_timeout_s and lost_timeout_s must be positive")
        if self.max_backtracks < 0 or self.max_primitive_attempts < 1:
            raise ConfigurationError("max_backtracks >= 0 and max_primitive_attempts >= 1")


@dataclass(frozen=True)
class Verdict:
    """The machine's decision for one tick (``action`` in :data:`ACTIONS`)."""

    action: str
    stage: int
    reason: str = ""
    outcome: str | None = None
    path_cost: float = 0.0
    subgoal_cost: float = float("nan")


class StageBook:
    """Stage, phase, outcome and counters of one episode of ``program``; the transitions
    both stage machines make the same way. Subclasses decide each tick."""

    def __init__(self, program: ConstraintProgram, config: StageMachineConfig | None = None,
                 start_time_s: float = 0.0) -> None:  # fmt: skip
        self.program = program
        self.config = config or StageMachineConfig()
        self.stage = 1
        self.phase = "moving"
        self.outcome: str | None = None
        self.reason = ""
        self.backtracks = 0
        self.recoveries = 0
        """Backtracks after which the loop got back to the stage it had fallen from."""
        self._events: list[Event] = []
        self._stage_start = start_time_s
        self._attempts = 0
        self._recover_to = 0
        self._lost_since: dict[int, float] = {}
        self._watched = sorted(program.referenced_keypoints())

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def events(self) -> list[Event]:
        """(time_s, action, stage, reason) of every stage change and terminal outcome."""
        return list(self._events)

    def _grasps(self) -> bool:
        """Whether the current stage's primitive is a grasp (its failure: grasp_missed)."""
        raise NotImplementedError

    def fail(self, outcome: str, reason: str, time_s: float) -> Verdict:
        """End the episode with a named failure imposed by the engine."""
        if outcome not in OUTCOMES or outcome == "success":
            raise ConfigurationError(f"failure outcome must be one of {OUTCOMES[1:]}: {outcome!r}")
        if self.outcome is None:
            self.outcome, self.reason = outcome, reason
            self._log(time_s, "done", f"{outcome}: {reason}")
        return Verdict("done", self.stage, self.reason, self.outcome)

    def primitive_done(self, ok: bool, reason: str, time_s: float) -> Verdict:
        """The engine's grasp/release primitive of the current stage finished."""
        if self.outcome is not None:
            return Verdict("done", self.stage, self.reason, self.outcome)
        if self.phase != "acting":
            raise ConfigurationError("primitive_done called while no primitive was requested")
        if ok:
            return self._advance(time_s, reason)
        self._attempts += 1
        if self._attempts >= self.config.max_primitive_attempts:
            name = "grasp_missed" if self._grasps() else "release_failed"
            return self.fail(name, f"{reason} ({self._attempts} attempts)", time_s)
        self.phase = "moving"
        self._log(time_s, "retry", reason)
        return Verdict("retry", self.stage, reason)

    def _advance(self, time_s: float, reason: str) -> Verdict:
        self._log(time_s, "advance", reason)
        self._enter(self.stage + 1, time_s)
        if self._recover_to and self.stage >= self._recover_to:
            self.recoveries += 1
            self._recover_to = 0
        if self.stage > self.program.num_stages:
            self.stage = self.program.num_stages
            self.outcome, self.reason = "success", "every stage's sub-goal was reached"
            self._log(time_s, "done", self.reason)
            return Verdict("done", self.stage, self.reason, "success")
        return Verdict("advance", self.stage, reason)

    def _start_backtrack(self, time_s: float) -> Verdict | None:
        """Count a backtrack from the current stage; the failure verdict past the limit."""
        self.backtracks += 1
        if self.backtracks > self.config.max_backtracks:
            return self.fail("backtrack_limit",
                             f"more than {self.config.max_backtracks} backtracks", time_s)
        self._recover_to = max(self._recover_to, self.stage)
        return None

    def _latest_stage_where(self, ok: Callable[[int], bool]) -> int:
        """The latest stage before the current one for which ``ok(number)`` (1 at worst):
        where a backtrack goes."""
        return next((j for j in range(self.stage - 1, 0, -1) if ok(j)), 1)

    def _backtrack_to(self, target: int, time_s: float, path_cost: float) -> Verdict:
        why = f"stage {self.stage} path cost {path_cost:.3f} > {self.config.path_tolerance}"
        self._log(time_s, "backtrack", f"{why}; back to stage {target}")
        self._enter(target, time_s)
        return Verdict("backtrack", target, why, None, path_cost)

    def _enter(self, stage: int, time_s: float) -> None:
        self.stage, self.phase, self._attempts, self._stage_start = stage, "moving", 0, time_s

    def _timed_out(self, time_s: float) -> Verdict | None:
        if time_s - self._stage_start > self.config.stage_timeout_s:
            limit = self.config.stage_timeout_s
            return self.fail("timeout", f"stage {self.stage} took over {limit:.0f} s", time_s)
        return None

    def _lost_for(self, time_s: float, visible: NDArray[np.bool_] | None) -> str:
        """Why the episode is lost: a watched keypoint invisible over ``lost_timeout_s``."""
        if visible is None:
            return ""
        vis = np.asarray(visible, dtype=bool)
        for k in self._watched:
            if k >= len(vis) or vis[k]:
                self._lost_since.pop(k, None)
                continue
            if time_s - self._lost_since.setdefault(k, time_s) > self.config.lost_timeout_s:
                return f"keypoint {k} lost for over {self.config.lost_timeout_s:.1f} s"
        return ""

    def _log(self, time_s: float, action: str, reason: str) -> None:
        logger.info("t=%.2f s stage %d: %s (%s)", time_s, self.stage, action, reason)
        self._events.append((float(time_s), action, self.stage, reason))
