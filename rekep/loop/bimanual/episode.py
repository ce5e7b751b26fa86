"""One simulated bimanual closed-loop episode: :func:`run_bimanual_closed_loop_episode`.

Two Pandas (:mod:`rekep.sim.bimanual_world`) and a bimanual task (``cls.bimanual`` True):
observe once to get keypoints (``proposed`` or the privileged ``annotated`` mode), load the
task's bimanual program, then run the :class:`~rekep.loop.bimanual.engine.BimanualClosedLoop`
with a keypoint tracker (:func:`rekep.loop.episode.make_loop_tracker`: ``sim``, ``flow``,
``auto``) and judge the end state with the task's physical success check. A disturbance
(``auto`` or a kind the task supports) is armed and fired from the loop's tick.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rekep.errors import ConfigurationError, KeypointError
from rekep.loop.bimanual.config import BimanualClosedLoopConfig
from rekep.loop.bimanual.result import BimanualLoopResult
from rekep.loop.result import stage_reports

logger = logging.getLogger(__name__)


def bimanual_disturbance(config: BimanualClosedLoopConfig, supported: tuple[str, ...],
                         num_stages: int) -> Any:  # fmt: skip
    """The :class:`~rekep.sim.disturbances.DisturbanceSchedule` ``config`` asks for (None
    without one): ``auto`` picks one of the task's kinds by seed; stage and delay default to
    :data:`rekep.loop.episode.DEFAULT_DISTURB_TIMING` (the stage clipped to the program).

    Raises:
        ConfigurationError: the task does not support the kind asked for.
    """
    from rekep.loop.episode import DEFAULT_DISTURB_TIMING
    from rekep.sim.disturbances import DisturbanceSchedule

    if config.disturbance is None or not supported:
        return None
    kind = config.disturbance
    if kind == "auto":
        kind = supported[config.seed % len(supported)]
    elif kind not in supported:
        raise ConfigurationError(f"task {config.task!r} supports disturbances {supported}, "
                                 f"not {kind!r}")  # fmt: skip
    stage, delay = DEFAULT_DISTURB_TIMING[kind]
    stage = min(config.disturb_stage or stage, num_stages)
    delay = delay if config.disturb_delay_s is None else config.disturb_delay_s
    return DisturbanceSchedule(kind, stage, delay, seed=config.seed)


def run_bimanual_closed_loop_episode(config: BimanualClosedLoopConfig) -> BimanualLoopResult:
    """Run one bimanual closed-loop episode headless and judge it with the task's check.

    Raises:
        ConfigurationError: unknown task, or a task that is not bimanual.
        ProgramError: the task's program does not load.
    """
    from rekep.loop.bimanual.arms import SimArmPair
    from rekep.loop.bimanual.engine import BimanualClosedLoop
    from rekep.loop.episode import disturbance_hook, make_loop_tracker, object_clouds
    from rekep.program import load_program
    from rekep.sim import GRASP_MODE, SimWorld, get_task_class
    from rekep.sim.bimanual_world import add_two_pandas
    from rekep.sim.keypoint_modes import proposal_latency_ms, task_keypoints

    task_cls = get_task_class(config.task)
    if not getattr(task_cls, "bimanual", False):
        raise ConfigurationError(f"task {config.task!r} is single-arm; run it with "
                                 "rekep.loop.run_closed_loop_episode")  # fmt: skip
    started = time.perf_counter()
    with SimWorld() as world:
        pandas = add_two_pandas(world)
        task = task_cls(world)
        task.reset(config.seed)
        camera = task.camera()
        rgbd, segmentation = camera.render(world.client)
        proposing = time.perf_counter()
        try:
            keypoints, mapping = task_keypoints(
                task, rgbd, segmentation, config.keypoint_mode, config.proposer,
                config.anchor_tolerance_m,
            )
        except KeypointError as exc:
            return BimanualLoopResult(
                config.task, config.seed, False, f"perception: {exc}", (),
                task.success().details, config.keypoint_mode, GRASP_MODE, 0,
                time.perf_counter() - started, tracker=config.tracker, privileged=False,
                terminal="perception", loop_hz_median=float("nan"), backtracks=0, recovered=0,
            )
        proposal_ms = proposal_latency_ms(config.keypoint_mode, time.perf_counter() - proposing)
        program = load_program(task.resolved_program(mapping), num_keypoints=len(keypoints),
                               bimanual=True)  # fmt: skip
        schedule = bimanual_disturbance(config, tuple(task.disturbances()), program.num_stages)
        fired: list[dict[str, Any]] = []
        on_tick = disturbance_hook(task, schedule, fired)
        clouds, masks = object_clouds(rgbd, segmentation, keypoints.object_ids)
        tracker = make_loop_tracker(config.tracker, world, keypoints, masks)
        loop = BimanualClosedLoop(SimArmPair(pandas, camera), tracker, program, keypoints,
                                  config.loop, clouds, on_tick=on_tick, rng_seed=config.seed)
        run = loop.run()
        outcome = task.judge_at_rest()
    failure: str | None = None
    if not run.success:
        failure = f"{run.outcome}: {run.reason}"
    elif not outcome.success:
        failure = f"task_check: {outcome.details}"
    logger.info("bimanual closed loop %s seed %d: %s", config.task, config.seed,
                failure or "success")  # fmt: skip
    return BimanualLoopResult(
        task=config.task, seed=config.seed, success=failure is None, failure=failure,
        stages=stage_reports(run.events), outcome=outcome.details,
        keypoint_mode=config.keypoint_mode, grasp_mode=GRASP_MODE,
        num_keypoints=len(keypoints), wall_time_s=time.perf_counter() - started,
        tracker=str(tracker.name), privileged=bool(tracker.privileged), terminal=run.outcome,
        loop_hz_median=run.loop_hz_median, backtracks=run.backtracks,
        recovered=run.recoveries, latency_ms={**run.latency_ms, **proposal_ms},
        ticks=run.ticks,
        robot_time_s=run.robot_time_s, infeasible_ticks=run.infeasible_ticks,
        solver_exceptions=run.solver_exceptions, disturbances=tuple(fired),
    )
