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
   engine to **act** and advances only when the primitive reports success. A sub-goal
   that depends on a keypoint the tracker lost less than ``stale_grace_s`` ago is not
   measured (a point that just vanished may have been moved with its object, e.g. the
   target was pushed): the machine **continues**, giving re-detection that long, then
   trusts the last position (static points hidden for long, e.g. under the arm). The
   dependence is found by moving the lost keypoints and evaluating again (any program).

Constraint costs come from the program's own functions bound to the current grasp state
(:func:`rekep.planner.bind_constraints`): the same code the solver optimizes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.planner import bind_constraints
from rekep.program import ConstraintFunction, ConstraintProgram

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

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
STALE_PROBE_M = np.array([0.1, -0.1, 0.1])
"""How far a lost keypoint is moved to test whether a cost depends on it, metres."""


@dataclass(frozen=True)
class StageMachineConfig:
    """Tolerances (constraint cost units, usually metres) and limits (seconds, counts)."""

    path_tolerance: float = 0.10
    subgoal_tolerance: float = 0.02
    stage_timeout_s: float = 30.0
    lost_timeout_s: float = 5.0
    max_backtracks: int = 6
    max_primitive_attempts: int = 3
    stale_grace_s: float = 1.0

    def __post_init__(self) -> None:
        if not (self.path_tolerance > 0 and self.subgoal_tolerance > 0):
            raise ConfigurationError("path_tolerance and subgoal_tolerance must be positive")
        if not (self.stage_timeout_s > 0 and self.lost_timeout_s > 0):
            raise ConfigurationError("stage_timeout_s and lost_timeout_s must be positive")
        if self.max_backtracks < 0 or self.max_primitive_attempts < 1:
            raise ConfigurationError("max_backtracks >= 0 and max_primitive_attempts >= 1")
        if not self.stale_grace_s >= 0:
            raise ConfigurationError("stale_grace_s must be >= 0 seconds")


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


@dataclass(frozen=True)
class Verdict:
    """The machine's decision for one tick (``action`` in :data:`ACTIONS`)."""

    action: str
    stage: int
    reason: str = ""
    outcome: str | None = None
    path_cost: float = 0.0
    subgoal_cost: float = float("nan")


@dataclass
class _Counters:
    backtracks: int = 0
    recoveries: int = 0
    events: list[tuple[float, str, int, str]] = field(default_factory=list)


def _costs(fns: tuple[ConstraintFunction, ...], obs: StageObservation) -> FloatArray:
    bound = bind_constraints(fns, obs.held)
    return np.array([f(obs.end_effector, obs.positions) for _, f in bound], dtype=np.float64)


def _max_cost(fns: tuple[ConstraintFunction, ...], obs: StageObservation) -> float:
    values = _costs(fns, obs)
    return float(values.max()) if values.size else 0.0


def _stale_keypoints(
    fns: tuple[ConstraintFunction, ...], obs: StageObservation, lost: list[int]
) -> list[int]:
    """Those of the ``lost`` keypoints (not held) that any of ``fns``' costs depends on:
    each is moved by :data:`STALE_PROBE_M` and the costs evaluated again."""
    lost = [k for k in lost if k not in obs.held]
    if not lost or not fns:
        return []
    base, stale = _costs(fns, obs), []
    for k in lost:
        moved = np.array(obs.positions, dtype=np.float64)
        moved[k] += STALE_PROBE_M
        probe = StageObservation(obs.time_s, obs.end_effector, moved, obs.held, obs.visible)
        if not np.allclose(_costs(fns, probe), base, rtol=0.0, atol=1e-6, equal_nan=True):
            stale.append(int(k))
    return stale


class StageMachine:
    """Current stage, phase and outcome of one episode of ``program``."""

    def __init__(
        self,
        program: ConstraintProgram,
        config: StageMachineConfig | None = None,
        start_time_s: float = 0.0,
    ) -> None:
        if program.bimanual:
            raise ConfigurationError("the single-arm stage machine cannot run a bimanual program")
        self.program = program
        self.config = config or StageMachineConfig()
        self.stage = 1
        self.phase = "moving"
        self.outcome: str | None = None
        self.reason = ""
        self._stage_start = start_time_s
        self._attempts = 0
        self._lost_since: dict[int, float] = {}
        self._recover_to = 0
        self._watched = sorted(program.referenced_keypoints())
        self._counters = _Counters()

    # ------------------------------------------------------------------ read-only
    @property
    def backtracks(self) -> int:
        return self._counters.backtracks

    @property
    def recoveries(self) -> int:
        """Backtracks after which the loop got back to the stage it had fallen from."""
        return self._counters.recoveries

    @property
    def events(self) -> list[tuple[float, str, int, str]]:
        """(time_s, action, stage, reason) of every stage change and terminal outcome."""
        return list(self._counters.events)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    # ------------------------------------------------------------------ transitions
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
            self._counters.recoveries += 1
            self._recover_to = 0
        if self.stage > self.program.num_stages:
            self.stage = self.program.num_stages
            self.outcome, self.reason = "success", "every stage's sub-goal was reached"
            self._log(time_s, "done", self.reason)
            return Verdict("done", self.stage, self.reason, "success")
        return Verdict("advance", self.stage, reason)

    def _log(self, time_s: float, action: str, reason: str) -> None:
        logger.info("t=%.2f s stage %d: %s (%s)", time_s, self.stage, action, reason)
        self._counters.events.append((float(time_s), action, self.stage, reason))

    def primitive_done(self, ok: bool, reason: str, time_s: float) -> Verdict:
        """The engine's grasp/release primitive of the current stage finished."""
        if self.outcome is not None:
            return Verdict("done", self.stage, self.reason, self.outcome)
        if self.phase != "acting":
            raise ConfigurationError("primitive_done called while no primitive was requested")
        if ok:
            return self._advance(time_s, reason)
        self._attempts += 1
        stage = self.program.stages[self.stage - 1]
        if self._attempts >= self.config.max_primitive_attempts:
            name = "grasp_missed" if stage.is_grasp_stage else "release_failed"
            return self.fail(name, f"{reason} ({self._attempts} attempts)", time_s)
        self.phase = "moving"
        self._log(time_s, "retry", reason)
        return Verdict("retry", self.stage, reason)

    def update(self, obs: StageObservation) -> Verdict:
        """Decide this tick's action from measurements (see the module docstring)."""
        if self.outcome is not None:
            return Verdict("done", self.stage, self.reason, self.outcome)
        t = obs.time_s
        if t - self._stage_start > self.config.stage_timeout_s:
            return self.fail(
                "timeout", f"stage {self.stage} took over {self.config.stage_timeout_s:.0f} s", t
            )
        lost = self._lost_for(obs)
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
        fresh = [k for k, since in self._lost_since.items()
                 if t - since < self.config.stale_grace_s]  # fmt: skip
        stale = _stale_keypoints(stage.subgoal_constraints, obs, sorted(fresh))
        if stale:
            why = f"sub-goal holds only on just-lost keypoints {stale}: waiting to see them"
            return Verdict("continue", self.stage, why, None, path_cost, sub_cost)
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
        self._counters.backtracks += 1
        if self._counters.backtracks > self.config.max_backtracks:
            return self.fail("backtrack_limit", f"more than {self.config.max_backtracks} "
                             "backtracks", t)
        target = 1
        for j in range(self.stage - 1, 0, -1):
            if _max_cost(self.program.stages[j - 1].path_constraints, obs) <= (
                self.config.path_tolerance
            ):
                target = j
                break
        why = f"stage {self.stage} path cost {path_cost:.3f} > {self.config.path_tolerance}"
        self._recover_to = max(self._recover_to, self.stage)
        self._log(t, "backtrack", f"{why}; back to stage {target}")
        self.stage, self.phase, self._attempts, self._stage_start = target, "moving", 0, t
        return Verdict("backtrack", target, why, None, path_cost)

    def _lost_for(self, obs: StageObservation) -> str:
        if obs.visible is None:
            return ""
        vis = np.asarray(obs.visible, dtype=bool)
        for k in self._watched:
            if k >= len(vis) or vis[k]:
                self._lost_since.pop(k, None)
                continue
            since = self._lost_since.setdefault(k, obs.time_s)
            if obs.time_s - since > self.config.lost_timeout_s:
                return f"keypoint {k} lost for over {self.config.lost_timeout_s:.1f} s"
        return ""
