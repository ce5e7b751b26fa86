"""One simulated BIMANUAL episode end to end (open loop, stage by stage).

Two Pandas (:mod:`rekep.sim.bimanual_world`), a bimanual task (``cls.bimanual`` True), a
bimanual constraint program (``end_effector`` (2, 3), ``[left, right]`` grasp/release
pairs). Each stage is solved for both arms jointly (:func:`solvers.bimanual.
solve_bimanual_subgoal`, with arm-arm clearance), then executed with both arms moving at
once (joint targets streamed to both arms while physics steps):

* a stage that grasps: the grasping arms approach their solved grasp poses from above
  (pre-grasp ``approach_m`` back along the approach axis, closing axis across the object
  from its observed points), descend, close, verify the hold by gripper width, and lift
  back when the object was lying free; the other arms go to their solved poses;
* any other stage: a joint path for both arms (:func:`solvers.bimanual.plan_bimanual_path`)
  is streamed, held keypoints are carried with their hands (the solver's forward model),
  the hold is re-verified by width and the sub-goal is measured at the reached poses;
* then the stage's releases: open, forget the hold, retreat ``retreat_m`` along the approach.

A solution or path with ``feasible=False`` is never executed: the episode ends with a
named failure (``solver infeasible``, ``grasp missed``, ``grasp lost``, ``sub-goal not
reached``, ``perception``). Results use :class:`rekep.episode.EpisodeResult`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.episode import EpisodeResult, StageReport
from rekep.errors import ConfigurationError, KeypointError, RekepError
from rekep.keypoint_set import Keypoints
from rekep.planner import bind_constraints, held_keypoint_indices, held_mask_of
from rekep.program import ConstraintProgram, Stage, load_program
from rekep.robot import GraspConfig
from rekep.sim.disturbances import DisturbanceSchedule, DisturbanceTrigger

logger = logging.getLogger(__name__)

ARMS = ("left", "right")


@dataclass(frozen=True)
class BimanualEpisodeConfig:
    """What to run: a bimanual task and seed, the keypoint mode (``annotated`` or
    ``proposed``), solver settings (``tolerance`` in the constraints' units, metres;
    ``min_arm_distance_m`` arm-arm clearance; ``num_seeds`` multi-start; the path's
    ``path_controls`` free control configurations and at least ``path_samples`` checked
    samples), the grasp primitive's geometry, and optionally a disturbance to arm."""

    task: str = "lift_box_bimanual"
    seed: int = 1000
    keypoint_mode: str = "annotated"
    proposer: str = "features"
    anchor_tolerance_m: float = 0.03
    tolerance: float = 0.01
    num_seeds: int = 4
    min_arm_distance_m: float = 0.02
    workspace_lower: tuple[float, float, float] = (-0.2, -0.8, 0.005)
    workspace_upper: tuple[float, float, float] = (0.9, 0.8, 0.8)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    retreat_m: float = 0.10
    path_controls: int = 1
    path_samples: int = 10
    disturbance: DisturbanceSchedule | None = None

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ConfigurationError(f"seed must be >= 0, got {self.seed}")
        if self.keypoint_mode not in ("proposed", "annotated"):
            raise ConfigurationError(
                f"keypoint_mode must be 'proposed' or 'annotated', got {self.keypoint_mode!r}"
            )
        if (not self.tolerance > 0 or self.num_seeds < 1 or self.min_arm_distance_m < 0
                or self.path_controls < 1 or self.path_samples < 2):
            raise ConfigurationError(
                "tolerance must be > 0, num_seeds >= 1, min_arm_distance_m >= 0, "
                "path_controls >= 1 and path_samples >= 2"
            )


class _Failure(RekepError):
    """Ends an episode with a named failure."""


def run_bimanual_episode(
    config: BimanualEpisodeConfig, on_event: Callable[[str], None] | None = None
) -> EpisodeResult:
    """Run one bimanual episode headless and judge it with the task's success check.

    Raises:
        ConfigurationError: unknown task, or a task that is not bimanual.
    """
    from rekep.sim import GRASP_MODE, SimWorld, get_task_class
    from rekep.sim.bimanual_world import add_two_pandas
    from rekep.sim.keypoint_modes import task_keypoints

    task_cls = get_task_class(config.task)
    if not getattr(task_cls, "bimanual", False):
        raise ConfigurationError(
            f"task {config.task!r} is single-arm; run it with rekep.episode.run_episode"
        )
    emit = on_event or (lambda line: logger.info(line))
    started = time.perf_counter()
    reports: list[StageReport] = []
    failure: str | None = None
    keypoints: Keypoints | None = None
    with SimWorld() as world:
        arms = add_two_pandas(world)
        task = task_cls(world)
        task.reset(config.seed)
        trigger = None if config.disturbance is None else task.arm_disturbance(config.disturbance)
        rgbd, segmentation = task.camera().render(world.client)
        try:
            try:
                keypoints, mapping = task_keypoints(
                    task, rgbd, segmentation, config.keypoint_mode, config.proposer,
                    config.anchor_tolerance_m,
                )
            except KeypointError as exc:
                raise _Failure(str(exc)) from exc
            emit(f"keypoints: {len(keypoints)} ({config.keypoint_mode}), anchors {mapping}")
            program = load_program(
                task.resolved_program(mapping), num_keypoints=len(keypoints), bimanual=True
            )
            cloud = rgbd.points_world()
            points = {
                int(o): _finite(cloud[segmentation == o]) for o in set(keypoints.object_ids)
            }
            runner = _Runner(world, arms, keypoints, points, config, emit, trigger)
            runner.run(program, reports)
        except _Failure as exc:
            failure = str(exc)
        outcome = task.judge_at_rest()
    if failure is None and not outcome.success:
        failure = f"task check failed: {outcome.details}"
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
    )


@functools.lru_cache(maxsize=1)
def _robot_pair() -> tuple[Any, Any]:
    """The (left, right) robot models, built once per process: the bimanual solvers cache
    their compiled problems per robot object, so reusing them saves rebuilding."""
    from solvers.bimanual import dual_panda

    return dual_panda()


def _finite(points: NDArray[np.float64]) -> NDArray[np.float64]:
    return points[np.all(np.isfinite(points), axis=1)]


def _pair(entry: int | tuple[int, int]) -> tuple[int, int]:
    if not isinstance(entry, tuple):
        raise ConfigurationError("a bimanual episode needs [left, right] grasp/release pairs")
    return int(entry[0]), int(entry[1])


class _Runner:
    """Executes a bimanual program stage by stage (see the module docstring)."""

    def __init__(
        self,
        world: Any,
        arms: tuple[Any, Any],
        keypoints: Keypoints,
        object_points: dict[int, NDArray[np.float64]],
        config: BimanualEpisodeConfig,
        emit: Callable[[str], None],
        trigger: DisturbanceTrigger | None,
    ) -> None:
        self.world, self.arms, self.keypoints = world, arms, keypoints
        self.object_points = object_points
        self.config, self.emit, self.trigger = config, emit, trigger
        self.robots = _robot_pair()
        self.positions = keypoints.positions.copy()
        self.grasped: tuple[set[int], set[int]] = (set(), set())
        self.warm: NDArray[np.float64] | None = None

    # ------------------------------------------------------------------ state
    def held_masks(self) -> NDArray[np.bool_]:
        """(2, K) keypoints held by [left, right] (all keypoints of a grasped object)."""
        return np.stack([
            held_mask_of(self.keypoints, held_keypoint_indices(self.keypoints, g))
            for g in self.grasped
        ])

    def poses(self) -> NDArray[np.float64]:
        return np.stack([arm.hand_pose() for arm in self.arms])

    def carry(self, masks: NDArray[np.bool_], before: NDArray[np.float64]) -> None:
        """Move held keypoints (and the held objects' points) with their hands from the
        (2, 4, 4) poses ``before`` to now; shared keypoints follow the left hand."""
        after = self.poses()
        own = (masks[0], masks[1] & ~masks[0])
        for arm in range(2):
            if not own[arm].any():
                continue
            move = after[arm] @ np.linalg.inv(before[arm])
            rows = own[arm]
            self.positions[rows] = self.positions[rows] @ move[:3, :3].T + move[:3, 3]
            for obj in {int(o) for o in self.keypoints.object_ids[rows]}:
                pts = self.object_points[obj]
                self.object_points[obj] = pts @ move[:3, :3].T + move[:3, 3]

    def fire_disturbance(self, stage: int) -> None:
        if self.trigger is not None:
            event = self.trigger.maybe_fire(stage, self.world.sim_time)
            if event is not None:
                self.emit(f"disturbance fired at stage {stage}: {event}")

    # ------------------------------------------------------------------ stages
    def run(self, program: ConstraintProgram, reports: list[StageReport]) -> None:
        for stage in program.stages:
            t0 = time.perf_counter()
            head = f"stage {stage.number}/{program.num_stages}"
            self.fire_disturbance(stage.number)
            solution, problem = self.solve(stage, head)
            measured: float | None = None
            if any(g >= 0 for g in _pair(stage.grasp_keypoint)):
                event = self.grasp(stage, solution, head)
            else:
                measured = self.move(stage, problem, solution, head)
                event = f"moved, measured sub-goal cost {measured * 1000:.1f} mm"
            event += self.release(stage)
            self.fire_disturbance(stage.number)
            seconds = time.perf_counter() - t0
            reports.append(StageReport(stage.number, event, seconds, True, measured))
            self.emit(f"{head}: {event} [{seconds:.1f} s]")

    def solve(self, stage: Stage, head: str) -> tuple[Any, Any]:
        from solvers.bimanual import BimanualProblem, solve_bimanual_subgoal

        masks = self.held_masks()
        held = tuple(int(i) for i in np.flatnonzero(masks.any(axis=0)))
        cfg = self.config
        problem = BimanualProblem(
            subgoal_constraints=tuple(bind_constraints(stage.subgoal_constraints, held)),
            path_constraints=tuple(bind_constraints(stage.path_constraints, held)),
            keypoints=self.positions,
            held_masks=masks,
            T_world_tcp=self.poses(),
            robots=self.robots,
            q_current=np.stack([arm.joint_positions() for arm in self.arms]),
            grasp_keypoints=np.array(_pair(stage.grasp_keypoint)),
            approaches=("top_down", "top_down"),
            tolerance=cfg.tolerance,
            min_arm_distance_m=cfg.min_arm_distance_m,
            workspace_lower=np.array(cfg.workspace_lower),
            workspace_upper=np.array(cfg.workspace_upper),
        )
        solution = solve_bimanual_subgoal(
            problem, num_seeds=cfg.num_seeds, rng_seed=cfg.seed
        )
        if not solution.feasible:
            raise _Failure(
                f"solver infeasible: {head}: {solution.reason} "
                f"(max violation {solution.max_violation:.3f})"
            )
        return solution, problem

    def move(self, stage: Stage, problem: Any, solution: Any, head: str) -> float:
        from rekep.sim.bimanual_world import stream_joint_path
        from solvers.bimanual import plan_bimanual_path

        path = plan_bimanual_path(problem, solution, num_controls=self.config.path_controls,
                                  samples=self.config.path_samples)
        if not path.feasible:
            raise _Failure(f"solver infeasible: {head}: path: {path.reason}")
        masks = self.held_masks()
        before = self.poses()
        stream_joint_path(self.world, self.arms, path.q, path.times_s)
        self.carry(masks, before)
        for arm in range(2):
            if masks[arm].any() and self.arms[arm].gripper_width() < self.config.grasp.min_width_m:
                raise _Failure(f"grasp lost: {head}: the {ARMS[arm]} gripper closed in transport")
        held = tuple(int(i) for i in np.flatnonzero(masks.any(axis=0)))
        ee = self.poses()[:, :3, 3]
        costs = [float(f(ee, self.positions))
                 for _, f in bind_constraints(stage.subgoal_constraints, held)]  # fmt: skip
        measured = max(costs) if costs else 0.0
        if measured > 2 * self.config.tolerance:
            raise _Failure(
                f"sub-goal not reached: {head}: measured cost {measured:.3f} after execution"
            )
        return measured

    def grasp(self, stage: Stage, solution: Any, head: str) -> str:
        from rekep.grasp_geometry import closing_axis_from_points, descent_target, grasp_pose
        from rekep.sim.bimanual_world import actuate_grippers, move_tcps

        cfg = self.config.grasp
        grasps = _pair(stage.grasp_keypoint)
        masks_before = self.held_masks()
        free_before = [not masks_before[:, i].any() for i in grasps]
        targets: list[NDArray[np.float64] | None] = [None, None]
        pres: list[NDArray[np.float64] | None] = [None, None]
        for arm, kp in enumerate(grasps):
            if kp < 0:
                targets[arm] = np.array(solution.poses[arm])
                continue
            pts = self.object_points[int(self.keypoints.object_ids[kp])]
            axis = closing_axis_from_points(pts, solution.poses[arm][:3, 0])
            T, _ = grasp_pose(solution.poses[arm], pts, axis, cfg)
            target = descent_target(T, pts, cfg)
            pre = target.copy()
            pre[:3, 3] -= cfg.approach_m * target[:3, 2]
            pres[arm], targets[arm] = pre, target
        before = self.poses()
        reached = move_tcps(self.world, self.arms,
                            [pres[a] if grasps[a] >= 0 else targets[a] for a in range(2)])
        for arm in range(2):
            if grasps[arm] >= 0 and not reached[arm]:
                raise _Failure(f"grasp missed: {head}: {ARMS[arm]} pre-grasp pose unreachable")
        self.carry(masks_before, before)
        move_tcps(self.world, self.arms, [targets[a] if grasps[a] >= 0 else None
                                          for a in range(2)], speed_m_s=0.1)  # fmt: skip
        widths = actuate_grippers(self.world, self.arms, [True if g >= 0 else None
                                                          for g in grasps])  # fmt: skip
        for arm, kp in enumerate(grasps):
            if kp >= 0 and widths[arm] < cfg.min_width_m:
                raise _Failure(f"grasp missed: {head}: {ARMS[arm]} gripper closed to "
                               f"{widths[arm] * 1000:.1f} mm: nothing between the fingers")
            if kp >= 0:
                self.grasped[arm].add(kp)
        lift: list[NDArray[np.float64] | None] = [None, None]
        for arm, kp in enumerate(grasps):
            if kp >= 0 and free_before[arm]:
                T = self.arms[arm].hand_pose()
                T[:3, 3] -= cfg.approach_m * T[:3, 2]
                lift[arm] = T
        if any(T is not None for T in lift):
            masks, before = self.held_masks(), self.poses()
            move_tcps(self.world, self.arms, lift, speed_m_s=0.1)
            self.carry(masks, before)
        for arm, kp in enumerate(grasps):
            width = self.arms[arm].gripper_width()
            if kp >= 0 and width < cfg.min_width_m:
                raise _Failure(f"grasp missed: {head}: the object slipped out of the "
                               f"{ARMS[arm]} hand while lifting")
        held = [f"{ARMS[a]} keypoint {k} ({widths[a] * 1000:.1f} mm)"
                for a, k in enumerate(grasps) if k >= 0]  # fmt: skip
        return "grasped " + ", ".join(held)

    def release(self, stage: Stage) -> str:
        from rekep.sim.bimanual_world import actuate_grippers, move_tcps

        releases = _pair(stage.release_keypoint)
        if all(r < 0 for r in releases):
            return ""
        actuate_grippers(self.world, self.arms, [False if r >= 0 else None for r in releases])
        for arm, kp in enumerate(releases):
            if kp >= 0:
                gone = set(held_keypoint_indices(self.keypoints, [kp]))
                self.grasped[arm].difference_update(gone)
        back: list[NDArray[np.float64] | None] = [None, None]
        for arm, kp in enumerate(releases):
            if kp >= 0:
                T = self.arms[arm].hand_pose()
                T[:3, 3] -= self.config.retreat_m * T[:3, 2]
                back[arm] = T
        move_tcps(self.world, self.arms, back)
        return "; released " + ", ".join(ARMS[a] for a in range(2) if releases[a] >= 0)
