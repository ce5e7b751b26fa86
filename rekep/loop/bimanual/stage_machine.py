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

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.loop.stage_core import StageBook, StageMachineConfig, Verdict
from rekep.planner import bind_constraints
from rekep.program import ConstraintFunction, ConstraintProgram, Stage

FloatArray = NDArray[np.float64]


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


class BimanualStageMachine(StageBook):
    """Current stage, phase and outcome of one episode of a bimanual ``program``."""

    def __init__(self, program: ConstraintProgram, config: StageMachineConfig | None = None,
                 start_time_s: float = 0.0, hold_ticks: int = 3) -> None:  # fmt: skip
        """``hold_ticks``: consecutive updates the sub-goal must measure as reached (with
        the motion done) before the stage advances or acts (a disturbance that fires as
        the sub-goal is reached shows in the measurements a few ticks later)."""
        if hold_ticks < 1:
            raise ConfigurationError(f"hold_ticks must be >= 1, got {hold_ticks}")
        if not program.bimanual:
            raise ConfigurationError(
                "the bimanual stage machine needs a bimanual program; use "
                "rekep.loop.stage_machine.StageMachine for a single arm"
            )
        super().__init__(program, config, start_time_s)
        self.hold_ticks = hold_ticks
        self._held_for = 0

    def current(self) -> Stage:
        return self.program.stages[self.stage - 1]

    def _grasps(self) -> bool:
        return any(k >= 0 for k in arm_pair(self.current().grasp_keypoint))

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
        timed_out = self._timed_out(t)
        if timed_out:
            return timed_out
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
        failed = self._start_backtrack(t)
        if failed:
            return failed
        def resumable(j: int) -> bool:  # its holds are held and its path constraints hold
            fns = self.program.stages[j - 1].path_constraints
            return entry_holds(self.program, j) <= set(held) and (
                max_cost(fns, ee, positions, held) <= self.config.path_tolerance)

        target = self._latest_stage_where(resumable)
        self._held_for = 0
        return self._backtrack_to(target, t, path_cost)
