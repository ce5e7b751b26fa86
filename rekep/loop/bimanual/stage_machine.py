"""The stage machine of the bimanual closed loop: pure logic over measured keypoints.

Like :mod:`rekep.loop.stage_machine` (same :class:`~rekep.loop.stage_machine.Verdict`,
:class:`~rekep.loop.stage_machine.StageMachineConfig` and outcome names), for programs whose
``end_effector`` is (2, 3) (row 0 left, row 1 right) and whose grasp/release entries are
``[left, right]`` pairs. Each tick (:meth:`BimanualStageMachine.update`):

1. **done** when a terminal outcome is set;
2. a per-stage **timeout** (robot time in the current stage) ends the episode;
3. **tracking_lost** when a keypoint the program uses stays invisible too long;
4. while the stage's grasp/release primitive runs (phase ``acting``) it **waits**;
5. **backtrack** when the current stage's path constraints exceed ``path_tolerance``: to the
   latest earlier stage whose path constraints hold now and whose entry holds
   (:func:`entry_holds`: what earlier stages grasped and did not release) are all held now
   (stage 1 at worst; e.g. a block dropped after a handover goes back to the first grasp,
   not to the handover grasp, whose sub-goal needs the block in the other hand);
6. otherwise the sub-goal is measured on the tracked keypoints and both hands' positions:
   when every cost is at most ``subgoal_tolerance`` a plain stage **advances**, a stage that
   grasps or releases (either hand) asks the engine to **act** and advances only when the
   primitive reports success (:meth:`primitive_done`).
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.loop.stage_machine import OUTCOMES, StageMachineConfig, Verdict
from rekep.planner import bind_constraints
from rekep.program import ConstraintFunction, ConstraintProgram, Stage

FloatArray = NDArray[np.float64]
Event = tuple[float, str, int, str]
logger = logging.getLogger(__name__)


def arm_pair(entry: int | tuple[int, int]) -> tuple[int, int]:
    """``[left, right]`` keypoint pair of a bimanual grasp/release entry.

    Raises:
        ConfigurationError: a single-arm entry (an int).
    """
    if not isinstance(entry, tuple) or len(entry) != 2:
        raise ConfigurationError(
            f"a bimanual program needs [left, right] grasp/release pairs, got {entry!r}"
        )
    return int(entry[0]), int(entry[1])


def stage_acts(stage: Stage) -> bool:
    """True when the stage grasps or releases with either hand."""
    return any(k >= 0 for k in (*arm_pair(stage.grasp_keypoint), *arm_pair(stage.release_keypoint)))


def entry_holds(program: ConstraintProgram, number: int) -> frozenset[int]:
    """Keypoints the program holds when stage ``number`` starts: grasped by an earlier stage
    (either hand) and not released since."""
    held: set[int] = set()
    for stage in program.stages[: number - 1]:
        held |= {k for k in arm_pair(stage.grasp_keypoint) if k >= 0}
        held -= set(arm_pair(stage.release_keypoint))
    return frozenset(held)


def max_cost(fns: tuple[ConstraintFunction, ...], end_effector: FloatArray,
             positions: FloatArray, held: tuple[int, ...]) -> float:  # fmt: skip
    """Largest cost of ``fns`` bound to the grasp state ``held`` (0 without functions)."""
    values = [f(end_effector, positions) for _, f in bind_constraints(fns, held)]
    return float(max(values)) if values else 0.0


class BimanualStageMachine:
    """Current stage, phase and outcome of one episode of a bimanual ``program``."""

    def __init__(self, program: ConstraintProgram, config: StageMachineConfig | None = None,
                 start_time_s: float = 0.0, hold_ticks: int = 3) -> None:  # fmt: skip
        """``hold_ticks``: consecutive updates the sub-goal must measure as reached (with
        the motion done) before the stage advances or acts (a disturbance that fires as
        the sub-goal is reached shows in the measurements a few ticks later)."""
        if hold_ticks < 1:
            raise ConfigurationError(f"hold_ticks must be >= 1, got {hold_ticks}")
        self.hold_ticks = hold_ticks
        self._held_for = 0
        if not program.bimanual:
            raise ConfigurationError(
                "the bimanual stage machine needs a bimanual program; use "
                "rekep.loop.stage_machine.StageMachine for a single arm"
            )
        self.program = program
        self.config = config or StageMachineConfig()
        self.stage = 1
        self.phase = "moving"
        self.outcome: str | None = None
        self.reason = ""
        self.backtracks = 0
        self.recoveries = 0
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

    def current(self) -> Stage:
        return self.program.stages[self.stage - 1]

    def _log(self, time_s: float, action: str, reason: str) -> None:
        logger.info("t=%.2f s stage %d: %s (%s)", time_s, self.stage, action, reason)
        self._events.append((float(time_s), action, self.stage, reason))

    def fail(self, outcome: str, reason: str, time_s: float) -> Verdict:
        """End the episode with a named failure imposed by the engine."""
        if outcome not in OUTCOMES or outcome == "success":
            raise ConfigurationError(f"failure outcome must be one of {OUTCOMES[1:]}: {outcome!r}")
        if self.outcome is None:
            self.outcome, self.reason = outcome, reason
            self._log(time_s, "done", f"{outcome}: {reason}")
        return Verdict("done", self.stage, self.reason, self.outcome)

    def _advance(self, time_s: float, reason: str) -> Verdict:
        self._log(time_s, "advance", reason)
        self.stage += 1
        self.phase, self._attempts, self._stage_start = "moving", 0, time_s
        if self._recover_to and self.stage >= self._recover_to:
            self.recoveries += 1
            self._recover_to = 0
        if self.stage > self.program.num_stages:
            self.stage = self.program.num_stages
            self.outcome, self.reason = "success", "every stage's sub-goal was reached"
            self._log(time_s, "done", self.reason)
            return Verdict("done", self.stage, self.reason, "success")
        return Verdict("advance", self.stage, reason)

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
            grasps = any(k >= 0 for k in arm_pair(self.current().grasp_keypoint))
            name = "grasp_missed" if grasps else "release_failed"
            return self.fail(name, f"{reason} ({self._attempts} attempts)", time_s)
        self.phase = "moving"
        self._log(time_s, "retry", reason)
        return Verdict("retry", self.stage, reason)

    def update(self, time_s: float, end_effector: FloatArray, positions: FloatArray,
               held: tuple[int, ...], visible: NDArray[np.bool_] | None = None,
               ready: bool = True) -> Verdict:
        """Decide this tick's action (see the module docstring).

        Args:
            time_s: robot time, seconds.
            end_effector: (2, 3) TCP positions [left, right], metres.
            positions: (K, 3) tracked keypoints (held ones as measured), metres.
            held: indices of the keypoints either hand holds now.
            visible: (K,) bool, False for keypoints the tracker has lost (None: all seen).
            ready: False while the engine's motion towards the sub-goal is unfinished (a
                streamed path not yet over, a pre-grasp not yet passed): no advance or act.
        """
        if self.outcome is not None:
            return Verdict("done", self.stage, self.reason, self.outcome)
        t = time_s
        if t - self._stage_start > self.config.stage_timeout_s:
            return self.fail(
                "timeout", f"stage {self.stage} took over {self.config.stage_timeout_s:.0f} s", t
            )
        lost = self._lost_for(t, visible)
        if lost:
            return self.fail("tracking_lost", lost, t)
        if self.phase == "acting":
            return Verdict("wait", self.stage, "primitive running")
        stage = self.current()
        ee = np.asarray(end_effector, dtype=np.float64).reshape(2, 3)
        path_cost = max_cost(stage.path_constraints, ee, positions, held)
        if path_cost > self.config.path_tolerance:
            return self._backtrack(t, ee, positions, held, path_cost)
        sub_cost = max_cost(stage.subgoal_constraints, ee, positions, held)
        if sub_cost > self.config.subgoal_tolerance or not ready:
            self._held_for = 0
            return Verdict("continue", self.stage, "", None, path_cost, sub_cost)
        self._held_for += 1
        if self._held_for < self.hold_ticks:
            return Verdict("continue", self.stage, "sub-goal reached, confirming", None,
                           path_cost, sub_cost)  # fmt: skip
        self._held_for = 0
        why = f"sub-goal measured {sub_cost:.4f} <= {self.config.subgoal_tolerance}"
        if stage_acts(stage):
            self.phase = "acting"
            self._log(t, "act", why)
            return Verdict("act", self.stage, why, None, path_cost, sub_cost)
        verdict = self._advance(t, why)
        return Verdict(verdict.action, verdict.stage, why, verdict.outcome, path_cost, sub_cost)

    def _backtrack(self, t: float, ee: FloatArray, positions: FloatArray,
                   held: tuple[int, ...], path_cost: float) -> Verdict:  # fmt: skip
        if self.stage == 1:
            return Verdict("continue", 1, "stage 1 path constraint violated", None, path_cost)
        self.backtracks += 1
        if self.backtracks > self.config.max_backtracks:
            return self.fail("backtrack_limit",
                             f"more than {self.config.max_backtracks} backtracks", t)
        target = 1
        for j in range(self.stage - 1, 0, -1):
            fns = self.program.stages[j - 1].path_constraints
            if not entry_holds(self.program, j) <= set(held):
                continue
            if max_cost(fns, ee, positions, held) <= self.config.path_tolerance:
                target = j
                break
        why = f"stage {self.stage} path cost {path_cost:.3f} > {self.config.path_tolerance}"
        self._recover_to = max(self._recover_to, self.stage)
        self._log(t, "backtrack", f"{why}; back to stage {target}")
        self.stage, self.phase, self._attempts, self._stage_start = target, "moving", 0, t
        self._held_for = 0
        return Verdict("backtrack", target, why, None, path_cost)

    def _lost_for(self, t: float, visible: NDArray[np.bool_] | None) -> str:
        if visible is None:
            return ""
        vis = np.asarray(visible, dtype=bool)
        for k in self._watched:
            if k >= len(vis) or vis[k]:
                self._lost_since.pop(k, None)
                continue
            if t - self._lost_since.setdefault(k, t) > self.config.lost_timeout_s:
                return f"keypoint {k} lost for over {self.config.lost_timeout_s:.1f} s"
        return ""
