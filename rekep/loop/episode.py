"""One simulated closed-loop episode: :func:`run_closed_loop_episode`.

Observe once to propose keypoints (``proposed`` or the privileged ``annotated`` mode, as
:func:`rekep.episode.run_episode` does), load the task's reference program, then run the
:class:`~rekep.loop.engine.ClosedLoop` on the PyBullet Panda with a keypoint tracker and
judge the end state with the task's physical success check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.episode import PANDA_WORKSPACE
from rekep.errors import ConfigurationError, KeypointError
from rekep.keypoint_set import Keypoints
from rekep.loop.config import LoopConfig, check_episode_options
from rekep.loop.result import ClosedLoopResult, stage_reports
from rekep.program import load_program
from rekep.record.recorder import Recorder
from rekep.tracking.base import PointTracker
from solvers.kinematics import RobotModel
from solvers.subgoal import SUBGOAL_BACKENDS

logger = logging.getLogger(__name__)

DEFAULT_DISTURB_TIMING = {"knock_out": (2, 0.5), "move_target": (2, 0.5), "rotate_object": (1, 0.2)}
"""kind -> (stage, delay in seconds of robot time) used when the config leaves them open."""


@dataclass(frozen=True)
class ClosedLoopConfig:
    """What to run: task, seed, keypoint mode and proposer, tracker, sub-goal backend
    (``casadi`` solves in the Panda's joint space), and the loop settings."""

    task: str = "block_in_tray"
    seed: int = 0
    keypoint_mode: str = "proposed"
    proposer: str = "features"
    tracker: str = "auto"
    backend: str = "casadi"
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(planner=PANDA_WORKSPACE))
    anchor_tolerance_m: float = 0.03
    disturbance: str | None = None
    disturb_stage: int | None = None
    disturb_delay_s: float | None = None
    out_dir: Path | None = None

    def __post_init__(self) -> None:
        kinds = tuple(DEFAULT_DISTURB_TIMING)
        if self.disturbance not in (None, "auto", *kinds):
            raise ConfigurationError(
                f"disturbance must be None, 'auto' or one of {kinds}, "
                f"got {self.disturbance!r}"
            )
        check_episode_options(self.seed, self.keypoint_mode, self.tracker)
        if self.backend not in SUBGOAL_BACKENDS:
            raise ConfigurationError(
                f"unknown solver backend {self.backend!r}; choose from {sorted(SUBGOAL_BACKENDS)}"
            )

    def loop_config(self) -> LoopConfig:
        """The loop settings with the backend applied (and the Panda model for casadi)."""
        robot = RobotModel() if self.backend == "casadi" else None
        planner = replace(self.loop.planner, subgoal_backend=self.backend, robot=robot)
        return replace(self.loop, planner=planner)


def make_loop_tracker(
    name: str, world: Any, keypoints: Keypoints, masks: dict[int, Any] | None = None
) -> PointTracker:
    """The tracker called ``name`` (see :data:`rekep.loop.config.TRACKERS`) for keypoints in
    ``world``.

    Image trackers get the keypoints' object ids and the proposal's object ``masks``
    ((H, W) bool per object id, first observation) for whole-object re-detection."""
    if name in ("auto", "flow"):
        try:
            from rekep.tracking.flow import FlowTracker
        except ImportError as exc:
            if name == "flow":
                raise ConfigurationError(f"the flow tracker is not available: {exc}") from exc
            logger.warning("flow tracker not importable (%s); using the privileged sim tracker",
                           exc)
        else:
            return FlowTracker(  # type: ignore[return-value]
                point_groups=keypoints.object_ids, group_masks=masks
            )
    from rekep.tracking.sim_tracker import SimTracker

    return SimTracker(world.moving_pose, keypoints.object_ids)  # type: ignore[return-value]


def disturbance_schedule(config: ClosedLoopConfig, supported: tuple[str, ...],
                         num_stages: int) -> Any:  # fmt: skip
    """The schedule ``config`` asks for. ``auto`` picks one of the task's supported kinds by
    seed (so a bench run covers all kinds); default stage and delay per kind: knock the
    object out and move the target 0.5 s into stage 2 (transport), rotate the object 0.2 s
    into stage 1 (before the grasp closes)."""
    from rekep.sim.disturbances import DisturbanceSchedule

    if config.disturbance is None or not supported:
        return None
    kind = supported[config.seed % len(supported)] if config.disturbance == "auto" \
        else config.disturbance
    stage, delay = DEFAULT_DISTURB_TIMING[kind]
    stage = min(config.disturb_stage or stage, num_stages)
    delay = delay if config.disturb_delay_s is None else config.disturb_delay_s
    return DisturbanceSchedule(kind, stage, delay, seed=config.seed)


def disturbance_hook(
    task: Any, schedule: Any, fired: list[dict[str, Any]],
    on_fire: Callable[[int, str], None] | None = None,
) -> Callable[[int, float], None] | None:
    """The loop's ``on_tick(stage, time_s)`` that fires ``schedule`` on ``task`` (None when
    nothing is scheduled); each fired disturbance is appended to ``fired`` (kind, stage,
    time_s, displacement_m) and reported to ``on_fire(stage, kind)``."""
    if schedule is None:
        return None
    trigger = task.arm_disturbance(schedule)

    def on_tick(stage: int, time_s: float) -> None:
        event = trigger.maybe_fire(stage, time_s)
        if event is not None:
            logger.info("disturbance %s fired at stage %d", schedule.kind, stage)
            fired.append({"kind": schedule.kind, "stage": stage, "time_s": time_s,
                          "displacement_m": float(event.displacement_m)})  # fmt: skip
            if on_fire is not None:
                on_fire(stage, schedule.kind)

    return on_tick


def object_clouds(
    observation: Any, segmentation: NDArray[np.int_], object_ids: NDArray[np.int_]
) -> tuple[dict[int, NDArray[np.float64]], dict[int, NDArray[np.bool_]]]:
    """Per object id of the keypoints: its observed (N, 3) world points (finite only) and
    its (H, W) mask in the first observation (the proposal's masks)."""
    cloud = observation.points_world()
    finite = np.all(np.isfinite(cloud), axis=-1)
    clouds = {int(o): cloud[(segmentation == o) & finite] for o in set(object_ids.tolist())}
    return clouds, {oid: segmentation == oid for oid in clouds}


def run_closed_loop_episode(
    config: ClosedLoopConfig,
    *,
    recorder: Recorder | None = None,
    video_path: Path | None = None,
) -> ClosedLoopResult:
    """Run one closed-loop episode headless and judge it with the task's success check.

    ``recorder`` gets the observation, keypoints, program and every tick (the caller closes
    it); ``video_path`` films the run; ``config.disturbance`` arms a disturbance.
    """
    from rekep.loop.engine import ClosedLoop
    from rekep.loop.sim_robot import SimRobot
    from rekep.sim import GRASP_MODE, HOME_Q, Panda, SimWorld, get_task_class
    from rekep.sim.keypoint_modes import proposal_latency_ms, task_keypoints

    task_cls = get_task_class(config.task)
    started = time.perf_counter()
    with SimWorld() as world:
        panda = Panda(world)
        task = task_cls(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(config.seed)
        camera = task.camera()
        video = None
        if video_path is not None:
            from rekep.record.sim_video import SimVideo, recorder_camera

            video = SimVideo(world, recorder_camera(camera), video_path)
        rgbd, segmentation = camera.render(world.client)
        rec = recorder or Recorder()
        rec.set_time(world.sim_time)
        rec.log_observation(rgbd)
        proposing = time.perf_counter()
        try:
            keypoints, mapping = task_keypoints(
                task, rgbd, segmentation, config.keypoint_mode, config.proposer,
                config.anchor_tolerance_m,
            )
        except KeypointError as exc:
            outcome = task.success()
            return ClosedLoopResult(
                config.task, config.seed, False, f"perception: {exc}", (), outcome.details,
                config.keypoint_mode, GRASP_MODE, 0, time.perf_counter() - started,
                tracker=config.tracker, privileged=False, terminal="perception",
                loop_hz_median=float("nan"), backtracks=0, recovered=0,
            )
        proposal_ms = proposal_latency_ms(config.keypoint_mode, time.perf_counter() - proposing)
        image_path = None
        if keypoints.annotated_image is not None:
            rec.log_annotated_image(keypoints.annotated_image)
            if config.out_dir is not None:
                from keypoints.annotate import save_png

                image_path = save_png(Path(config.out_dir) / "keypoints.png",
                                      keypoints.annotated_image)  # fmt: skip
        program_text = task.resolved_program(mapping)
        rec.log_program(program_text)
        program = load_program(program_text, num_keypoints=len(keypoints))
        schedule = disturbance_schedule(config, tuple(task.disturbances()), program.num_stages)
        fired: list[dict[str, Any]] = []
        on_tick = disturbance_hook(task, schedule, fired,
                                   lambda stage, kind: rec.log_stage(stage, f"disturbance: {kind}"))
        clouds, masks = object_clouds(rgbd, segmentation, keypoints.object_ids)
        tracker = make_loop_tracker(config.tracker, world, keypoints, masks)
        loop = ClosedLoop(SimRobot(panda, camera), tracker, program, keypoints,
                          config.loop_config(), clouds, recorder=rec, on_tick=on_tick)
        try:
            run = loop.run()
        finally:
            if video is not None:
                video.close()
        outcome = task.judge_at_rest()
    failure: str | None = None
    if not run.success:
        failure = f"{run.outcome}: {run.reason}"
    elif not outcome.success:
        failure = f"task_check: {outcome.details}"
    logger.info("closed loop %s seed %d: %s", config.task, config.seed, failure or "success")
    return ClosedLoopResult(
        task=config.task, seed=config.seed, success=failure is None, failure=failure,
        stages=stage_reports(run.events), outcome=outcome.details,
        keypoint_mode=config.keypoint_mode, grasp_mode=GRASP_MODE,
        num_keypoints=len(keypoints), wall_time_s=time.perf_counter() - started,
        tracker=tracker.name, privileged=bool(tracker.privileged), terminal=run.outcome,
        loop_hz_median=run.loop_hz_median, backtracks=run.backtracks,
        recovered=run.recoveries, latency_ms={**run.latency_ms, **proposal_ms},
        ticks=run.ticks,
        robot_time_s=run.robot_time_s, infeasible_ticks=run.infeasible_ticks,
        solver_exceptions=run.solver_exceptions,
        disturbances=tuple(fired), annotated_image_path=image_path,
    )
