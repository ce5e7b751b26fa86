"""One simulated episode end to end: observe once, propose keypoints, load the task's
program, then plan and execute stage by stage with the held object carried by the forward
model. (The closed loop with tracking and backtracking builds on this.)
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

from keypoints.annotate import save_png
from rekep.errors import ConfigurationError, KeypointError, RekepError
from rekep.keypoint_set import Keypoints
from rekep.plan import Plan, StagePlan
from rekep.planner import (
    PlannerConfig,
    bind_constraints,
    held_keypoint_indices,
    held_mask_of,
    plan_stage,
)
from rekep.program import ConstraintProgram, Stage, load_program
from rekep.record.recorder import Recorder
from rekep.robot import GraspConfig, grasp, release
from solvers.forward_model import move_held_keypoints
from solvers.kinematics import RobotModel
from solvers.subgoal import SUBGOAL_BACKENDS

logger = logging.getLogger(__name__)

# The Panda's comfortable TCP workspace in its base frame (= world), metres.
PANDA_WORKSPACE = PlannerConfig(
    workspace_lower=(0.15, -0.55, 0.005), workspace_upper=(0.85, 0.55, 0.7)
)


@dataclass(frozen=True)
class EpisodeConfig:
    """What to run: a task, a seed, the keypoint mode (``proposed`` or the privileged
    ``annotated``), the proposer, where to write artefacts, the sub-goal solver backend
    (``casadi`` solves in the Panda's joint space; ``scipy`` and ``rekep_baseline`` in SE(3)
    within the workspace box), and planner/grasp settings."""

    task: str = "block_in_tray"
    seed: int = 0
    keypoint_mode: str = "proposed"
    proposer: str = "features"
    out_dir: Path | None = None
    backend: str = "casadi"
    planner: PlannerConfig = field(default_factory=lambda: PANDA_WORKSPACE)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    anchor_tolerance_m: float = 0.03

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigurationError(f"seed must be >= 0, got {self.seed}")
        if self.keypoint_mode not in ("proposed", "annotated"):
            raise ConfigurationError(
                f"keypoint_mode must be 'proposed' or 'annotated', got {self.keypoint_mode!r}"
            )
        if self.backend not in SUBGOAL_BACKENDS:
            raise ConfigurationError(
                f"unknown solver backend {self.backend!r}; choose from {sorted(SUBGOAL_BACKENDS)}"
            )

    def planner_config(self) -> PlannerConfig:
        """The planner settings with the backend applied (and the Panda model for casadi)."""
        robot = RobotModel() if self.backend == "casadi" else None
        return replace(self.planner, subgoal_backend=self.backend, robot=robot)


@dataclass(frozen=True)
class StageReport:
    """One stage: what happened (``event``), wall seconds, and the sub-goal cost measured
    at the executed pose (None for grasp stages, whose check is the hold itself)."""

    number: int
    event: str
    seconds: float
    subgoal_feasible: bool
    measured_subgoal_cost: float | None = None


@dataclass(frozen=True)
class EpisodeResult:
    task: str
    seed: int
    success: bool
    failure: str | None
    stages: tuple[StageReport, ...]
    outcome: dict[str, Any]
    keypoint_mode: str
    grasp_mode: str
    num_keypoints: int
    wall_time_s: float
    annotated_image_path: Path | None = None
    plan_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return episode_record(self)


def episode_record(result: Any) -> dict[str, Any]:
    """The JSON-friendly fields every episode result has (open loop, closed loop, bimanual)."""
    return {
        "task": result.task,
        "seed": result.seed,
        "success": result.success,
        "failure": result.failure,
        "keypoint_mode": result.keypoint_mode,
        "grasp_mode": result.grasp_mode,
        "num_keypoints": result.num_keypoints,
        "wall_time_s": result.wall_time_s,
        "outcome": result.outcome,
        "stages": [vars(s) for s in result.stages],
    }


class _StageFailure(RekepError):
    """Ends an episode with a named failure."""


def _object_points(
    keypoints: Keypoints, index: int, cloud: NDArray[np.float64], labels: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Observed points of the object that owns keypoint ``index``."""
    pts = cloud[labels == keypoints.object_ids[index]]
    return pts[np.all(np.isfinite(pts), axis=1)]


def _measured_cost(
    stage: Stage,
    held: tuple[int, ...],
    ee: NDArray[np.float64],
    positions: NDArray[np.float64],
    rec: Recorder,
) -> float:
    named = bind_constraints(stage.subgoal_constraints, held)
    costs = {name: float(f(ee, positions)) for name, f in named}
    rec.log_constraint_costs(costs)
    return max(costs.values()) if costs else 0.0


def run_episode(
    config: EpisodeConfig,
    on_event: Callable[[str], None] | None = None,
    *,
    recorder: Recorder | None = None,
    video_path: Path | None = None,
) -> EpisodeResult:
    """Run one episode headless and judge it with the task's physical success check.

    ``recorder`` receives the observation, keypoints, program, sub-goals, paths, hand poses
    and stage events (e.g. a :class:`~rekep.record.rerun_recorder.RerunRecorder`; the caller
    closes it); ``video_path`` films the run from a recorder camera to an MP4.
    """
    from rekep.sim import GRASP_MODE, HOME_Q, Panda, SimWorld, get_task_class
    from rekep.sim.keypoint_modes import task_keypoints

    emit = on_event or (lambda line: logger.info(line))
    rec = recorder or Recorder()
    task_cls = get_task_class(config.task)
    started = time.perf_counter()
    with SimWorld() as world:
        panda = Panda(world)
        task = task_cls(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(config.seed)
        video = _start_video(world, task.camera(), video_path)
        rgbd, segmentation = task.camera().render(world.client)
        rec.set_time(world.sim_time)
        rec.log_observation(rgbd)
        rec.log_hand(panda.hand_pose())
        failure: str | None = None
        reports: list[StageReport] = []
        stage_plans: list[StagePlan] = []
        image_path = plan_file = None
        keypoints: Keypoints | None = None
        try:
            try:
                keypoints, mapping = task_keypoints(
                    task,
                    rgbd,
                    segmentation,
                    config.keypoint_mode,
                    config.proposer,
                    config.anchor_tolerance_m,
                )
            except KeypointError as exc:
                raise _StageFailure(str(exc)) from exc
            emit(f"keypoints: {len(keypoints)} ({config.keypoint_mode}), anchors {mapping}")
            rec.log_keypoints(keypoints.positions, object_ids=keypoints.object_ids.tolist())
            if keypoints.annotated_image is not None:
                rec.log_annotated_image(keypoints.annotated_image)
            if config.out_dir is not None and keypoints.annotated_image is not None:
                image_path = save_png(
                    Path(config.out_dir) / "keypoints.png", keypoints.annotated_image
                )
            program_text = task.resolved_program(mapping)
            rec.log_program(program_text)
            program = load_program(program_text, num_keypoints=len(keypoints))
            context = _Context(panda, config, emit, rec, world)
            _execute(program, keypoints, rgbd.points_world(), segmentation, context,
                     reports, stage_plans)  # fmt: skip
        except _StageFailure as exc:
            failure = str(exc)
        finally:
            if video is not None:
                video.close()
        outcome = task.judge_at_rest()
        rec.set_time(world.sim_time)
        rec.log_stage(len(reports), "success" if outcome.success and failure is None
                      else f"failure: {failure or 'task check failed'}")  # fmt: skip
        if failure is None and not outcome.success:
            failure = f"task check failed: {outcome.details}"
        if config.out_dir is not None and keypoints is not None and stage_plans:
            plan = Plan(task.instruction, keypoints, program, tuple(stage_plans))
            plan_file = plan.save(Path(config.out_dir) / "plan.json")
    return EpisodeResult(
        task=config.task,
        seed=config.seed,
        success=outcome.success and failure is None,
        failure=failure,
        stages=tuple(reports),
        outcome=outcome.details,
        keypoint_mode=config.keypoint_mode,
        grasp_mode=GRASP_MODE,
        num_keypoints=0 if keypoints is None else len(keypoints),
        wall_time_s=time.perf_counter() - started,
        annotated_image_path=image_path,
        plan_path=plan_file,
    )


def _start_video(world: Any, task_camera: Any, path: Path | None) -> Any:
    if path is None:
        return None
    from rekep.record.sim_video import SimVideo, recorder_camera

    return SimVideo(world, recorder_camera(task_camera), path)


@dataclass(frozen=True)
class _Context:
    """What stage execution talks to: the arm, settings, progress lines, the recorder."""

    panda: Any
    config: EpisodeConfig
    emit: Callable[[str], None]
    rec: Recorder
    world: Any

    def moved(self) -> None:
        self.rec.set_time(self.world.sim_time)
        self.rec.log_hand(self.panda.hand_pose())


def _execute(
    program: ConstraintProgram,
    keypoints: Keypoints,
    cloud: NDArray[np.float64],
    labels: NDArray[np.int64],
    ctx: _Context,
    reports: list[StageReport],
    stage_plans: list[StagePlan],
) -> None:
    """Plan and execute every stage; raises _StageFailure with a named reason."""
    panda, config, emit, rec = ctx.panda, ctx.config, ctx.emit, ctx.rec
    positions = keypoints.positions.copy()
    grasped: set[int] = set()
    planner = config.planner_config()
    for stage in program.stages:
        t0 = time.perf_counter()
        held = held_keypoint_indices(keypoints, grasped)
        held_mask = held_mask_of(keypoints, held)
        T_now = panda.hand_pose()
        plan = plan_stage(
            stage,
            keypoints,
            positions,
            held,
            T_now,
            planner,
            q_current=panda.joint_positions(),
        )
        stage_plans.append(plan)
        sub = plan.subgoal
        rec.set_time(ctx.world.sim_time)
        rec.log_subgoal(stage.number, sub.pose)
        rec.log_path(np.array([T[:3, 3] for T in _control_poses(plan)]))
        head = f"stage {stage.number}/{program.num_stages}"
        solve_note = f"sub-goal {sub.status} in {sub.wall_time_s * 1000:.0f} ms"
        if not sub.feasible:
            raise _StageFailure(
                f"solver infeasible: {head}: {sub.reason} (max violation {sub.max_violation:.3f})"
            )
        measured: float | None = None
        if stage.is_grasp_stage:
            index = int(plan.grasp_keypoint)  # type: ignore[arg-type]
            result = grasp(
                panda, sub.pose, _object_points(keypoints, index, cloud, labels), config.grasp
            )
            ctx.moved()
            if not result.held:
                raise _StageFailure(f"grasp missed: {head}: {result.reason}")
            grasped.add(index)
            mask = held_mask_of(keypoints, held_keypoint_indices(keypoints, grasped))
            positions = move_held_keypoints(positions, mask, result.T_at_close, panda.hand_pose())
            event = f"{solve_note}; grasped keypoint {index} (width {result.width_m * 1000:.1f} mm)"
        else:
            waypoints = _control_poses(plan)
            for T in waypoints[1:]:
                panda.move_to_pose(T)
                ctx.moved()
            T_end = panda.hand_pose()
            positions = move_held_keypoints(positions, held_mask, T_now, T_end)
            if held and panda.gripper_width() < config.grasp.min_width_m:
                raise _StageFailure(f"grasp lost: {head}: the gripper closed during transport")
            measured = _measured_cost(stage, held, T_end[:3, 3], positions, rec)
            if measured > planner.tolerance * 2:
                raise _StageFailure(
                    f"sub-goal not reached: {head}: measured cost {measured:.3f} after execution"
                )
            event = f"{solve_note}; moved, measured sub-goal cost {measured * 1000:.1f} mm"
            if stage.is_release_stage:
                release(panda)
                grasped -= set(held)
                event += "; released"
        seconds = time.perf_counter() - t0
        reports.append(StageReport(stage.number, event, seconds, sub.feasible, measured))
        rec.log_stage(stage.number, event)
        emit(f"{head}: {event} [{seconds:.1f} s]")


def _control_poses(plan: StagePlan) -> list[NDArray[np.float64]]:
    """The path's control poses (start, optional lift, goal) from its decision vector."""
    from rekep.poses import pose_from_pos_rotvec

    rows = np.asarray(plan.path.decision, dtype=np.float64).reshape(-1, 6)
    return [pose_from_pos_rotvec(r[:3], r[3:]) for r in rows]
