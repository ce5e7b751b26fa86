"""Settings of the closed-loop engine (robot time in seconds, distances in metres)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rekep.errors import ConfigurationError
from rekep.loop.held_model import HeldModelConfig
from rekep.loop.stage_machine import StageMachineConfig
from rekep.planner import PlannerConfig
from rekep.robot import GraspConfig

TRACKERS = ("auto", "sim", "flow", "cotracker")
"""Tracker names an episode config accepts; ``auto``: ``flow`` when importable, else the
privileged ``sim`` tracker (with a notice)."""


def check_episode_options(seed: int, keypoint_mode: str, tracker: str) -> None:
    """The checks every closed-loop episode config (one arm or two) makes on its options.

    Raises:
        ConfigurationError: a negative seed, an unknown keypoint mode or tracker.
    """
    if seed < 0:
        raise ConfigurationError(f"seed must be >= 0, got {seed}")
    if keypoint_mode not in ("proposed", "annotated"):
        raise ConfigurationError(
            f"keypoint_mode must be 'proposed' or 'annotated', got {keypoint_mode!r}"
        )
    if tracker not in TRACKERS:
        raise ConfigurationError(f"tracker must be one of {TRACKERS}, got {tracker!r}")


@dataclass(frozen=True)
class LoopConfig:
    """How the loop runs.

    Attributes:
        hz: planner ticks per second of robot time (physics steps separately in between).
        observe_every: ticks between observations for trackers that read images.
        lookahead_m / lookahead_rad: how far ahead of the hand each streamed target lies
            along the way to the current waypoint (bounds the hand's speed).
        waypoint_tol_m: a via pose (pre-grasp, lift) counts as passed within this distance.
        lift_m: a stage that starts holding something first lifts the hand this much.
        infeasible_timeout_s: consecutive seconds of infeasible solves (or solver
            exceptions) after which the episode ends ``infeasible`` (``solver_error``).
        episode_timeout_s: robot time after which the episode ends ``timeout``.
        primitive_timeout_s: robot seconds per grasp/release phase.
        planner: stage planner settings (backend, workspace, tolerance).
        machine / held / grasp: stage machine, held-object model and grasp geometry.
    """

    hz: float = 20.0
    observe_every: int = 1
    lookahead_m: float = 0.03
    lookahead_rad: float = 0.25
    waypoint_tol_m: float = 0.015
    lift_m: float = 0.08
    infeasible_timeout_s: float = 3.0
    episode_timeout_s: float = 120.0
    primitive_timeout_s: float = 2.0
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    machine: StageMachineConfig = field(default_factory=StageMachineConfig)
    held: HeldModelConfig = field(default_factory=HeldModelConfig)
    grasp: GraspConfig = field(default_factory=GraspConfig)

    def __post_init__(self) -> None:
        if not self.hz > 0:
            raise ConfigurationError(f"hz must be positive, got {self.hz}")
        if self.observe_every < 1:
            raise ConfigurationError(f"observe_every must be >= 1, got {self.observe_every}")
        positive = ("lookahead_m", "lookahead_rad", "waypoint_tol_m", "infeasible_timeout_s",
                    "episode_timeout_s", "primitive_timeout_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lift_m < 0:
            raise ConfigurationError(f"lift_m must be >= 0, got {self.lift_m}")

    @property
    def dt(self) -> float:
        """Robot seconds per tick."""
        return 1.0 / self.hz
