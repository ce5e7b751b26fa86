"""Disturbances of a simulated task, and a schedule that arms one at a chosen stage.

Three kinds (:data:`DISTURBANCE_KINDS`), each a teleport of one rigid body that is fully
determined by the body's current state and an integer seed:

* ``"move_target"``: the target object (tray, bin, holder, ...) jumps by a random distance
  of :data:`MOVE_RANGE_M` (5-10 cm) in a random xy direction; height and orientation kept.
* ``"knock_out"``: the manipulated object leaves the hand: it is put down on the table
  :data:`KNOCK_RANGE_M` (12-18 cm) from where it is (in the hand, when held) in a random
  xy direction, clear of the robot and the other objects, in the
  orientation and at the height it had after ``reset`` (resting), with a random extra yaw.
  The gripper keeps squeezing, so it closes on nothing: a runner sees the loss by the width.
* ``"rotate_object"``: the manipulated object turns about the vertical axis through its
  origin by a random yaw of magnitude :data:`YAW_RANGE_RAD` (30-90 degrees), either sign.

Placements avoid overlapping other bodies of the task (up to 50 draws; the last draw is
used if none is free, with a log message) and stay on the table. Velocities are zeroed.

How a runner uses it (open loop in :mod:`rekep.episode`, closed loop in :mod:`rekep.loop`)::

    trigger = task.arm_disturbance(DisturbanceSchedule("knock_out", stage=2, delay_s=0.5))
    ...  # every control tick (closed loop) or before and after each stage (open loop):
    event = trigger.maybe_fire(stage_number, world.sim_time)

``maybe_fire`` fires at most once: the first call that reports ``stage`` starts the
delay clock, and the first call at least ``delay_s`` simulated seconds later fires. An open-
loop runner that only calls it between stages fires at the first call after the delay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import ConfigurationError
from rekep.sim.world import TABLE_X, TABLE_Y, SimWorld

p = require("pybullet", "simulation")

logger = logging.getLogger(__name__)

DISTURBANCE_KINDS = ("move_target", "knock_out", "rotate_object")
"""Every disturbance kind, in a fixed order."""
MOVE_RANGE_M = (0.05, 0.10)
"""``move_target`` translation distance range, metres."""
KNOCK_RANGE_M = (0.12, 0.18)
"""``knock_out`` distance from the hand (xy) of the dropped object, metres."""
YAW_RANGE_RAD = (np.pi / 6, np.pi / 2)
"""``rotate_object`` yaw magnitude range, radians (the sign is random)."""
TABLE_MARGIN_M = 0.05
"""Teleported objects stay this far inside the table edges, metres."""
_DRAWS = 50


def _yaw(angle: float) -> NDArray[np.float64]:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _on_table(xy: NDArray[np.float64]) -> bool:
    return bool(
        TABLE_X[0] + TABLE_MARGIN_M <= xy[0] <= TABLE_X[1] - TABLE_MARGIN_M
        and TABLE_Y[0] + TABLE_MARGIN_M <= xy[1] <= TABLE_Y[1] - TABLE_MARGIN_M
    )


@dataclass(frozen=True)
class DisturbanceEvent:
    """What a fired disturbance did: ``T_before``/``T_after`` are (4, 4) world poses of
    ``body``; ``sim_time_s`` is the simulated time when it fired (None if fired directly)."""

    kind: str
    body: int
    T_before: NDArray[np.float64]
    T_after: NDArray[np.float64]
    seed: int
    sim_time_s: float | None = None

    @property
    def displacement_m(self) -> float:
        """xy distance the body's origin moved, metres."""
        return float(np.linalg.norm(self.T_after[:2, 3] - self.T_before[:2, 3]))


@dataclass(frozen=True)
class Disturbance:
    """One ready-to-fire disturbance of ``kind`` acting on rigid ``body``.

    Attributes:
        kind: one of :data:`DISTURBANCE_KINDS`.
        body: the body unique id it teleports.
        avoid: ids of bodies the new pose must not overlap (the other task objects).
        rest_pose: (4, 4) resting pose of ``body`` after reset (``knock_out`` uses its
            height and orientation); None for the other kinds.
    """

    kind: str
    body: int
    avoid: tuple[int, ...] = ()
    rest_pose: NDArray[np.float64] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in DISTURBANCE_KINDS:
            raise ConfigurationError(
                f"unknown disturbance kind {self.kind!r}; valid kinds: {DISTURBANCE_KINDS}"
            )
        if self.kind == "knock_out" and self.rest_pose is None:
            raise ConfigurationError("a knock_out disturbance needs the body's rest_pose")

    def fire(self, world: SimWorld, seed: int, sim_time_s: float | None = None) -> DisturbanceEvent:
        """Teleport the body (deterministic given the current state and ``seed``)."""
        rng = np.random.default_rng([int(seed), DISTURBANCE_KINDS.index(self.kind)])
        T_before = world.body_pose(self.body)
        T_after = T_before
        for _ in range(_DRAWS):
            T_after = self._candidate(T_before, rng)
            if _on_table(T_after[:2, 3]) and self._free(world, T_after, T_before):
                break
        else:
            logger.info("%s: no free placement in %d draws; using the last one", self.kind, _DRAWS)
        world.set_body_pose(self.body, T_after)
        logger.info("disturbance %s moved body %d", self.kind, self.body)
        return DisturbanceEvent(self.kind, self.body, T_before, world.body_pose(self.body),
                                int(seed), sim_time_s)

    def _candidate(
        self, T: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        out = T.copy()
        if self.kind == "move_target":
            angle = rng.uniform(-np.pi, np.pi)
            dist = rng.uniform(*MOVE_RANGE_M)
            out[:2, 3] += dist * np.array([np.cos(angle), np.sin(angle)])
        elif self.kind == "rotate_object":
            yaw = rng.uniform(*YAW_RANGE_RAD) * rng.choice([-1.0, 1.0])
            out[:3, :3] = _yaw(yaw) @ T[:3, :3]
        else:  # knock_out
            assert self.rest_pose is not None
            centre = T[:3, 3]
            angle = rng.uniform(-np.pi, np.pi)
            dist = rng.uniform(*KNOCK_RANGE_M)
            out[:3, :3] = _yaw(rng.uniform(-np.pi, np.pi)) @ self.rest_pose[:3, :3]
            out[:2, 3] = centre[:2] + dist * np.array([np.cos(angle), np.sin(angle)])
            out[2, 3] = self.rest_pose[2, 3]
        return out

    def _free(self, world: SimWorld, T: NDArray[np.float64], T_back: NDArray[np.float64]) -> bool:
        if not self.avoid:
            return True
        world.set_body_pose(self.body, T)
        p.performCollisionDetection(physicsClientId=world.client)
        hits = any(
            p.getClosestPoints(self.body, other, 0.005, physicsClientId=world.client)
            for other in self.avoid
        )
        world.set_body_pose(self.body, T_back)
        return not hits


@dataclass(frozen=True)
class DisturbanceSchedule:
    """When to fire which disturbance: ``kind`` at stage ``stage`` (1-based), ``delay_s``
    simulated seconds after the runner first reports that stage; ``seed`` drives the
    random draw (runners pass the episode seed)."""

    kind: str
    stage: int
    delay_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in DISTURBANCE_KINDS:
            raise ConfigurationError(
                f"unknown disturbance kind {self.kind!r}; valid kinds: {DISTURBANCE_KINDS}"
            )
        if isinstance(self.stage, bool) or not isinstance(self.stage, int) or self.stage < 1:
            raise ConfigurationError(f"stage must be an int >= 1 (1-based), got {self.stage!r}")
        if not (np.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ConfigurationError(f"delay_s must be finite seconds >= 0, got {self.delay_s}")
        if self.seed < 0:
            raise ConfigurationError(f"seed must be >= 0, got {self.seed}")


class DisturbanceTrigger:
    """A schedule armed on a task's world; see the module docstring for the protocol."""

    def __init__(
        self, schedule: DisturbanceSchedule, disturbance: Disturbance, world: SimWorld
    ) -> None:
        self.schedule = schedule
        self.disturbance = disturbance
        self.world = world
        self.event: DisturbanceEvent | None = None
        self._stage_started_s: float | None = None

    @property
    def fired(self) -> bool:
        return self.event is not None

    def maybe_fire(self, stage: int, time_s: float) -> DisturbanceEvent | None:
        """Fire once when ``stage`` is the scheduled one and its delay has elapsed.

        Args:
            stage: the runner's current stage number (1-based).
            time_s: a clock in seconds (the world's ``sim_time``), non-decreasing.

        Returns:
            The event when it fired on this call, else None.
        """
        if self.fired or stage != self.schedule.stage:
            return None
        if self._stage_started_s is None:
            self._stage_started_s = float(time_s)
        if float(time_s) - self._stage_started_s + 1e-9 < self.schedule.delay_s:
            return None
        self.event = self.disturbance.fire(self.world, self.schedule.seed, float(time_s))
        return self.event
