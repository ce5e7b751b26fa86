"""The task interface of the PyBullet suite, and reference-program resolution.

A task builds its objects in a :class:`~rekep.sim.world.SimWorld`, randomizes them from a
seed, and judges success from physical state with explicit tolerances.

Semantic anchors (:meth:`Task.anchors`) are points fixed in object frames, read from the
simulator's ground truth. They are PRIVILEGED: use them only for the annotated keypoint
mode (keypoints placed at known semantic points) and to resolve the task's reference
program; a planner under test must never read them otherwise.

Disturbances (issue 6): every task offers :meth:`Task.disturbances` (kind -> ready
:class:`~rekep.sim.disturbances.Disturbance`) built from two hooks, :meth:`Task.target_body`
(what ``move_target`` moves) and :meth:`Task.manipulated_body` (what ``knock_out`` and
``rotate_object`` act on). The defaults read the reference program and the anchors: the
manipulated object owns the first grasped anchor, the target is the first other object of
:meth:`Task.object_bodies`; tasks override them to name their objects explicitly, and narrow
``disturbance_kinds`` when a kind makes no sense for them. A runner arms one with
:meth:`Task.arm_disturbance` and calls ``trigger.maybe_fire(stage, world.sim_time)``:

* open loop (:func:`rekep.episode.run_episode`): before planning each stage and once more
  after executing it, so a ``delay_s`` > 0 fires after the stage's motion;
* closed loop (:mod:`rekep.loop`): every tick, with the stage being executed.

Firing is deterministic given the schedule's seed and the state when it fires.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.sim.camera import Camera
from rekep.sim.disturbances import (
    DISTURBANCE_KINDS,
    Disturbance,
    DisturbanceSchedule,
    DisturbanceTrigger,
)
from rekep.sim.world import TIME_STEP, SimWorld

logger = logging.getLogger(__name__)

SETTLE_BEFORE_JUDGING_S = 0.5
"""Robot-time seconds the world runs after an episode before its success check."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GRASP_LIST = re.compile(r"^grasp_keypoints\s*=\s*\[(.*)\]", re.MULTILINE)


@dataclass(frozen=True)
class TaskOutcome:
    """Whether a task succeeded, with what was measured.

    Attributes:
        success: True when every criterion holds.
        details: measured quantities (metres, radians, booleans) and the tolerances used,
            e.g. ``{"xy_offset_m": 0.03, "xy_limit_m": 0.08, ...}``; JSON-friendly values.
    """

    success: bool
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.success, bool | np.bool_):
            raise TypeError(f"TaskOutcome.success must be a bool, got {type(self.success)}")
        object.__setattr__(self, "success", bool(self.success))
        object.__setattr__(self, "details", dict(self.details))


def resolve_reference_program(
    template: str,
    anchor_to_index: Mapping[str, int],
    known_anchors: Iterable[str] | None = None,
) -> str:
    """Substitute ``{anchor}`` placeholders in a program template with keypoint indices.

    Args:
        template: program text whose keypoint indices are written ``{anchor_name}``.
        anchor_to_index: anchor name -> keypoint index (int >= 0) in the proposed keypoints.
        known_anchors: the names that are anchors. A ``{name}`` placeholder whose name is not
            among them is left untouched (it is ordinary code, e.g. a set literal). None means
            every ``{identifier}`` is an anchor placeholder.

    Raises:
        ConfigurationError: a placeholder names an anchor missing from ``anchor_to_index``,
            or an index is not a non-negative int.
    """
    known = None if known_anchors is None else set(known_anchors)
    for name, idx in anchor_to_index.items():
        if isinstance(idx, bool) or not isinstance(idx, int | np.integer) or idx < 0:
            raise ConfigurationError(
                f"keypoint index for anchor {name!r} must be an int >= 0, got {idx!r}"
            )

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if known is not None and name not in known:
            return match.group(0)
        if name not in anchor_to_index:
            raise ConfigurationError(
                f"the program uses anchor {{{name}}} but no keypoint index was given for it; "
                f"given: {sorted(anchor_to_index)}; map every anchor of the task to a keypoint"
            )
        return str(int(anchor_to_index[name]))

    return _PLACEHOLDER.sub(substitute, template)


class Task(ABC):
    """One manipulation task in a :class:`SimWorld` (the robot is added separately).

    Subclasses set ``name`` (registry key), ``description`` (one line), ``instruction``
    (free-form natural language for the VLM) and ``reference_program`` (a constraint program
    in the VLM's ReKep text format with ``{anchor}`` placeholders for keypoint indices).
    ``__init__`` builds the scene; :meth:`reset` randomizes it.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    instruction: ClassVar[str]
    reference_program: ClassVar[str]
    disturbance_kinds: ClassVar[tuple[str, ...]] = DISTURBANCE_KINDS
    """The disturbance kinds this task supports (a subset of ``DISTURBANCE_KINDS``)."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.seed: int | None = None
        self._rest_poses: dict[int, NDArray[np.float64]] = {}

    @abstractmethod
    def reset(self, seed: int) -> None:
        """Place the objects from ``seed`` (deterministically) and let them settle.

        Call with the robot out of the way (e.g. after ``Panda.reset_joints(HOME_Q)``).
        """

    def _place_and_settle(self, poses: Mapping[int, NDArray[np.float64]]) -> None:
        """Put bodies at resting poses, let contacts settle, then restore the exact poses.

        Objects are sampled at their exact resting heights, so settling only moves them by
        contact compliance (micrometres); restoring makes a seed give identical poses
        whatever ran before. A body that moved more than 2 mm is left where physics put it.
        """
        self._rest_poses = {body: np.array(T, dtype=np.float64) for body, T in poses.items()}
        for body, T in poses.items():
            self.world.set_body_pose(body, T)
        self.world.settle(max_steps=120, bodies=list(poses))
        for body, T in poses.items():
            if np.linalg.norm(self.world.body_pose(body)[:3, 3] - T[:3, 3]) < 0.002:
                self.world.set_body_pose(body, T)
            else:
                logger.warning("body %d did not rest where it was placed", body)

    @abstractmethod
    def success(self) -> TaskOutcome:
        """Judge the current physical state; tolerances are documented per task."""

    def judge_at_rest(self, settle_s: float = SETTLE_BEFORE_JUDGING_S) -> TaskOutcome:
        """Let physics run ``settle_s`` seconds (the robot holds its last command), then
        :meth:`success`: an episode ends as the hand lets go, and an object still falling
        or rolling must be judged where it comes to rest (measured: can_in_bin 1001 was
        judged 1.5 cm above the bin floor, in the air)."""
        self.world.step(round(settle_s / TIME_STEP))
        return self.success()

    @abstractmethod
    def anchors(self) -> dict[str, NDArray[np.float64]]:
        """Anchor name -> (3,) world position, metres. PRIVILEGED (see module docstring)."""

    @abstractmethod
    def anchor_objects(self) -> dict[str, int]:
        """Anchor name -> body unique id of the object the anchor is fixed to."""

    @abstractmethod
    def object_bodies(self) -> dict[str, int]:
        """Task-relevant object name -> body unique id (for masks from segmentation)."""

    @abstractmethod
    def camera(self) -> Camera:
        """A default camera that sees every task object."""

    def resolved_program(self, anchor_to_index: Mapping[str, int]) -> str:
        """The reference program with this task's anchors replaced by keypoint indices."""
        return resolve_reference_program(
            self.reference_program, anchor_to_index, known_anchors=self.anchor_objects()
        )

    # ------------------------------------------------------------------ disturbances
    def manipulated_body(self) -> int:
        """Body id of the object the robot picks up (``knock_out``, ``rotate_object``).

        Default: the object owning the first anchor in the reference program's
        ``grasp_keypoints``; override to name it explicitly.
        """
        match = _GRASP_LIST.search(self.reference_program)
        owners = self.anchor_objects()
        names = _PLACEHOLDER.findall(match.group(1)) if match else []
        for name in names:
            if name in owners:
                return owners[name]
        raise ConfigurationError(
            f"task {self.name!r}: no grasped anchor in its reference program; "
            "override Task.manipulated_body()"
        )

    def target_body(self) -> int:
        """Body id of the object the manipulated one goes to (``move_target``).

        Default: the first body of :meth:`object_bodies` that is not manipulated.
        """
        held = self.manipulated_body()
        for body in self.object_bodies().values():
            if body != held:
                return body
        raise ConfigurationError(
            f"task {self.name!r} has no target object; override Task.target_body()"
        )

    def rest_pose(self, body: int) -> NDArray[np.float64]:
        """(4, 4) pose of ``body`` right after the last reset (its resting pose)."""
        if body in self._rest_poses:
            return self._rest_poses[body].copy()
        return self.world.body_pose(body)

    def disturbances(self) -> dict[str, Disturbance]:
        """Kind -> ready disturbance for every kind in ``disturbance_kinds`` (see
        :mod:`rekep.sim.disturbances` for what each does). Call after :meth:`reset`."""
        held, target = self.manipulated_body(), self.target_body()
        bodies = set(self.object_bodies().values())
        others = tuple(sorted(bodies - {held}))
        robots = tuple(self.world.robot_bodies)
        made = {
            "move_target": Disturbance(
                "move_target", target, tuple(sorted(bodies - {target}))
            ),
            "knock_out": Disturbance(
                "knock_out", held, others + robots, rest_pose=self.rest_pose(held)
            ),
            "rotate_object": Disturbance("rotate_object", held, others),
        }
        return {kind: made[kind] for kind in self.disturbance_kinds}

    def arm_disturbance(self, schedule: DisturbanceSchedule) -> DisturbanceTrigger:
        """A trigger that fires ``schedule`` when a runner reports its stage and time.

        Raises:
            ConfigurationError: the task does not support the schedule's kind.
        """
        available = self.disturbances()
        if schedule.kind not in available:
            raise ConfigurationError(
                f"task {self.name!r} does not support disturbance {schedule.kind!r}; "
                f"it supports {sorted(available)}"
            )
        return DisturbanceTrigger(schedule, available[schedule.kind], self.world)
