"""One simulated closed-loop episode: :func:`run_closed_loop_episode`.

Observe once to propose keypoints (``proposed`` or the privileged ``annotated`` mode, as
:func:`rekep.episode.run_episode` does), load the task's reference program, then run the
:class:`~rekep.loop.engine.ClosedLoop` on the PyBullet Panda with a keypoint tracker and
judge the end state with the task's physical success check.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rekep.episode import PANDA_WORKSPACE
from rekep.errors import ConfigurationError, KeypointError
from rekep.keypoint_set import Keypoints
from rekep.loop.config import LoopConfig
from rekep.loop.result import ClosedLoopResult, stage_reports
from rekep.program import load_program
from rekep.tracking.base import PointTracker
from solvers.kinematics import RobotModel
from solvers.subgoal import SUBGOAL_BACKENDS

logger = logging.getLogger(__name__)

TRACKERS = ("auto", "sim", "flow")
"""``auto``: ``flow`` when importable, else the privileged ``sim`` tracker (with a notice)."""


@dataclass(frozen=True)
class ClosedLoopConfig:
    """What to run: task, seed, keypoint mode and proposer, tracker, sub-goal backend
    (``casadi`` solves in the Panda's joint space), and the loop settings."""

    task: str = "block_in_tray"
    seed: int = 0
    keypoint_mode: str = "proposed"
    proposer: str = "simple"
    tracker: str = "auto"
    backend: str = "casadi"
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(planner=PANDA_WORKSPACE))
    anchor_tolerance_m: float = 0.03

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigurationError(f"seed must be >= 0, got {self.seed}")
        if self.keypoint_mode not in ("proposed", "annotated"):
            raise ConfigurationError(
                f"keypoint_mode must be 'proposed' or 'annotated', got {self.keypoint_mode!r}"
            )
        if self.tracker not in TRACKERS:
            raise ConfigurationError(f"tracker must be one of {TRACKERS}, got {self.tracker!r}")
        if self.backend not in SUBGOAL_BACKENDS:
            raise ConfigurationError(
                f"unknown solver backend {self.backend!r}; choose from {sorted(SUBGOAL_BACKENDS)}"
            )

    def loop_config(self) -> LoopConfig:
        """The loop settings with the backend applied (and the Panda model for casadi)."""
        robot = RobotModel() if self.backend == "casadi" else None
        planner = replace(self.loop.planner, subgoal_backend=self.backend, robot=robot)
        return replace(self.loop, planner=planner)


def make_loop_tracker(name: str, world: Any, keypoints: Keypoints) -> PointTracker:
    """The tracker called ``name`` (see :data:`TRACKERS`) for keypoints in ``world``."""
    if name in ("auto", "flow"):
        try:
            from rekep.tracking.flow import FlowTracker
        except ImportError as exc:
            if name == "flow":
                raise ConfigurationError(f"the flow tracker is not available: {exc}") from exc
            logger.warning("flow tracker not importable (%s); using the privileged sim tracker",
                           exc)
        else:
            return FlowTracker()  # type: ignore[return-value]
    from rekep.tracking.sim_tracker import SimTracker

    return SimTracker(world.body_pose, keypoints.object_ids)  # type: ignore[return-value]


def run_closed_loop_episode(config: ClosedLoopConfig) -> ClosedLoopResult:
    """Run one closed-loop episode headless and judge it with the task's success check."""
    from rekep.loop.engine import ClosedLoop
    from rekep.loop.sim_robot import SimRobot
    from rekep.sim import GRASP_MODE, HOME_Q, Panda, SimWorld, get_task_class
    from rekep.sim.keypoint_modes import task_keypoints

    task_cls = get_task_class(config.task)
    started = time.perf_counter()
    with SimWorld() as world:
        panda = Panda(world)
        task = task_cls(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(config.seed)
        camera = task.camera()
        rgbd, segmentation = camera.render(world.client)
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
        program = load_program(task.resolved_program(mapping), num_keypoints=len(keypoints))
        cloud = rgbd.points_world()
        clouds = {
            int(oid): cloud[(segmentation == oid) & np.all(np.isfinite(cloud), axis=-1)]
            for oid in set(keypoints.object_ids.tolist())
        }
        tracker = make_loop_tracker(config.tracker, world, keypoints)
        loop = ClosedLoop(SimRobot(panda, camera), tracker, program, keypoints,
                          config.loop_config(), clouds)
        run = loop.run()
        outcome = task.success()
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
        recovered=run.recoveries, latency_ms=run.latency_ms, ticks=run.ticks,
        robot_time_s=run.robot_time_s, infeasible_ticks=run.infeasible_ticks,
        solver_exceptions=run.solver_exceptions,
    )
