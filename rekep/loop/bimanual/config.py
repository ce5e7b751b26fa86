"""Settings of the bimanual closed loop (robot time in seconds, distances in metres)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rekep.errors import ConfigurationError
from rekep.loop.config import check_episode_options
from rekep.loop.held_model import HeldModelConfig
from rekep.loop.stage_machine import StageMachineConfig
from rekep.robot import GraspConfig

DISTURBANCES = ("knock_out", "move_target", "rotate_object")


@dataclass(frozen=True)
class BimanualLoopConfig:
    """How the bimanual loop runs.

    Attributes:
        hz: planner ticks per second of robot time (physics steps in between).
        observe_every: ticks between observations for trackers that read images (default 2:
            10 Hz; rendering the two-arm scene took half of a handover's wall time, and the
            hands move at most a few centimetres between two frames, well within pyramidal
            Lucas-Kanade's reach).
        lookahead_m / lookahead_rad: how far ahead of each hand a streamed Cartesian target
            lies (approach and grasp motions; bounds the hands' speed).
        waypoint_tol_m: a via pose (pre-grasp) counts as passed within this distance.
        replan_m: a re-solved sub-goal farther than this (either hand) from the goal of the
            streamed joint path replans the path while it runs; ``settle_replan_m`` once it
            is over (the measured sub-goal was missed: correct it).
        max_joint_speed: joint speed the streamed path is stretched to, rad/s.
        max_joint_step_rad: largest change of any joint target per tick of a Cartesian
            motion (bounds a jump of the IK to another posture), radians.
        infeasible_timeout_s: consecutive seconds of infeasible solves (or solver
            exceptions) after which the episode ends ``infeasible`` (``solver_error``).
        episode_timeout_s: robot time after which the episode ends ``timeout``.
        primitive_timeout_s: robot seconds per grasp/release phase.
        tolerance / num_seeds / min_arm_distance_m / workspace_*: bimanual solver settings
            (:class:`solvers.bimanual.BimanualProblem`); the solver minimizes the costs
            regardless, ``tolerance`` only judges its answer executable: by default the stage
            machine's sub-goal tolerance, so an answer the loop would measure as reached is
            executed (measured: a re-grasped block whose yaw in the hand leaves the handover
            orientation 2 cm off was refused forever at 1 cm, ``infeasible``).
        path_controls / path_samples: the joint path's free controls and samples.
        retreat_m: how far a releasing hand backs away along its approach axis.
        track_hold_check: also verify each hold by its object's image tracks (they must
            follow the hand); off by default: the gripper width verifies a hold (a knocked or
            dropped object lets the squeezing fingers close on nothing), while tracks of a
            lifted, partly covered plain-coloured object slide along it (measured with
            ``flow`` on handover_block: holds cleared while the block sat firmly in the hand).
        machine / held / grasp: stage machine, held-object models and grasp geometry.
    """

    hz: float = 20.0
    observe_every: int = 2
    lookahead_m: float = 0.03
    lookahead_rad: float = 0.25
    waypoint_tol_m: float = 0.015
    replan_m: float = 0.03
    settle_replan_m: float = 0.005
    max_joint_speed: float = 0.6
    max_joint_step_rad: float = 0.2
    infeasible_timeout_s: float = 3.0
    episode_timeout_s: float = 90.0
    primitive_timeout_s: float = 2.0
    tolerance: float = 0.025
    num_seeds: int = 4
    min_arm_distance_m: float = 0.02
    workspace_lower: tuple[float, float, float] = (-0.2, -0.8, 0.005)
    workspace_upper: tuple[float, float, float] = (0.9, 0.8, 0.8)
    path_controls: int = 1
    path_samples: int = 10
    retreat_m: float = 0.10
    track_hold_check: bool = False
    machine: StageMachineConfig = field(
        default_factory=lambda: StageMachineConfig(subgoal_tolerance=0.025, stage_timeout_s=25.0)
    )
    held: HeldModelConfig = field(default_factory=HeldModelConfig)
    grasp: GraspConfig = field(default_factory=GraspConfig)

    def __post_init__(self) -> None:
        if self.observe_every < 1 or self.num_seeds < 1 or self.path_controls < 1:
            raise ConfigurationError("observe_every, num_seeds and path_controls must be >= 1")
        if self.path_samples < 2 or self.min_arm_distance_m < 0:
            raise ConfigurationError("path_samples must be >= 2 and min_arm_distance_m >= 0")
        positive = ("hz", "lookahead_m", "lookahead_rad", "waypoint_tol_m", "replan_m",
                    "settle_replan_m", "max_joint_speed", "max_joint_step_rad",
                    "infeasible_timeout_s", "episode_timeout_s", "primitive_timeout_s",
                    "tolerance", "retreat_m")  # fmt: skip
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def dt(self) -> float:
        """Robot seconds per tick."""
        return 1.0 / self.hz


@dataclass(frozen=True)
class BimanualClosedLoopConfig:
    """One simulated bimanual closed-loop episode: task, seed, keypoint mode and proposer,
    tracker (:data:`rekep.loop.config.TRACKERS`), optional disturbance (``auto`` or a kind),
    loop settings."""

    task: str = "lift_box_bimanual"
    seed: int = 1000
    keypoint_mode: str = "annotated"
    proposer: str = "features"
    tracker: str = "auto"
    anchor_tolerance_m: float = 0.03
    disturbance: str | None = None
    disturb_stage: int | None = None
    disturb_delay_s: float | None = None
    loop: BimanualLoopConfig = field(default_factory=BimanualLoopConfig)

    def __post_init__(self) -> None:
        check_episode_options(self.seed, self.keypoint_mode, self.tracker)
        if self.disturbance not in (None, "auto", *DISTURBANCES):
            raise ConfigurationError(
                f"disturbance must be None, 'auto' or one of {DISTURBANCES}, "
                f"got {self.disturbance!r}"
            )
