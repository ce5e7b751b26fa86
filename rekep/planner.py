"""Plans a constraint program stage by stage: sub-goal pose, then a path to it.

The planner is the bridge between a :class:`~rekep.program.ConstraintProgram` and the
``solvers`` package. It binds the grasp state (constant within one solve) into each
constraint function and carries the held object's keypoints forward with the hand, so a
whole program can be planned open-loop from one observation (``rekep.solve``) or one stage at
a time from fresh observations (the closed loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SolverError
from rekep.keypoint_set import Keypoints
from rekep.plan import StagePlan
from rekep.program import ConstraintFunction, ConstraintProgram, Stage
from solvers.collision import OBJECT_RADIUS_M, TABLE_Z_M, obstacle_cloud
from solvers.forward_model import move_held_keypoints
from solvers.path import plan_path
from solvers.subgoal import build_subgoal_problem, solve_subgoal

NamedConstraint = tuple[str, Callable[[NDArray[np.float64], NDArray[np.float64]], float]]


@dataclass(frozen=True)
class PlannerConfig:
    """Settings of the stage planner.

    ``workspace_lower``/``workspace_upper`` bound the tool centre point (metres, world frame);
    ``tolerance`` is the cost at or below which a constraint counts as satisfied;
    ``lift_m`` lifts the hand before a transport path so a held object clears the table;
    ``robot`` (a :class:`solvers.kinematics.RobotModel`) lets joint-space backends such as
    ``casadi`` solve over joint angles, so every answer is reachable by construction.
    ``obstacle_points`` is an optional (N, 3) world cloud of the scene (metres); before each
    stage the planner removes the points within ``object_radius_m`` of the keypoints of the
    grasped and held objects and those below ``obstacle_min_z`` (the table top; None keeps
    them), and the ``casadi`` backend keeps the arm, hand and held object clear of the rest
    (other backends ignore it). ``plan_stage(scene_points=...)`` overrides it per call.
    """

    approach: str = "top_down"
    tolerance: float = 0.01
    workspace_lower: tuple[float, float, float] = (-1.5, -1.5, -0.5)
    workspace_upper: tuple[float, float, float] = (1.5, 1.5, 2.0)
    subgoal_backend: str = "scipy"
    num_seeds: int = 4
    path_step_m: float = 0.02
    path_step_rad: float = 0.1
    lift_m: float = 0.08
    robot: Any = None
    obstacle_points: Any = field(default=None, compare=False, repr=False)
    obstacle_min_z: float | None = TABLE_Z_M
    object_radius_m: float = OBJECT_RADIUS_M

    def __post_init__(self) -> None:
        if self.approach not in ("top_down", "side", "free"):
            raise SolverError(
                f"approach must be 'top_down', 'side' or 'free', got {self.approach!r}"
            )
        if not self.tolerance > 0:
            raise SolverError(f"tolerance must be positive, got {self.tolerance}")
        if np.any(np.asarray(self.workspace_lower) >= np.asarray(self.workspace_upper)):
            raise SolverError("workspace_lower must be below workspace_upper on every axis")
        if self.path_step_m <= 0 or self.path_step_rad <= 0 or self.lift_m < 0:
            raise SolverError("path steps must be positive and lift_m non-negative")
        if not self.object_radius_m >= 0:
            raise SolverError(f"object_radius_m must be >= 0 metres, got {self.object_radius_m}")


def held_keypoint_indices(keypoints: Keypoints, grasped: Iterable[int]) -> tuple[int, ...]:
    """Indices of every keypoint on the same object as any grasped keypoint (sorted)."""
    ids = {int(keypoints.object_ids[i]) for i in grasped if i >= 0}
    return tuple(int(i) for i in np.flatnonzero(np.isin(keypoints.object_ids, list(ids))))


def held_mask_of(keypoints: Keypoints, held: Iterable[int]) -> NDArray[np.bool_]:
    """(K,) True for the keypoints in ``held``."""
    mask = np.zeros(len(keypoints), dtype=bool)
    mask[list(held)] = True
    return mask


def bind_constraints(
    functions: Sequence[ConstraintFunction], held: Sequence[int]
) -> list[NamedConstraint]:
    """Turn program functions into ``(name, f(ee, kps))`` with the grasp state fixed."""
    return [(fn.name, fn.bind(held)) for fn in functions]


def _single_arm_index(value: int | tuple[int, int], what: str, stage: Stage) -> int:
    if isinstance(value, tuple):
        raise SolverError(
            f"stage {stage.number}: bimanual {what} {value} needs the bimanual planner, which is "
            "not available yet; use a single-arm program"
        )
    return int(value)


def plan_stage(
    stage: Stage,
    keypoints: Keypoints,
    positions: NDArray[np.float64],
    held: Sequence[int],
    T_world_tcp: NDArray[np.float64],
    config: PlannerConfig,
    warm_start: NDArray[np.float64] | None = None,
    q_current: NDArray[np.float64] | None = None,
    scene_points: NDArray[np.float64] | None = None,
) -> StagePlan:
    """Solve one stage's sub-goal from ``T_world_tcp`` and a path to it.

    ``positions`` (K, 3) are the current keypoint positions (held ones already moved with the
    hand); ``held`` are the indices of keypoints that move with the hand during this stage.
    ``scene_points`` (N, 3) world metres (default ``config.obstacle_points``) is the observed
    cloud; it is filtered by :func:`stage_obstacles` before the sub-goal solve.
    """
    grasp = _single_arm_index(stage.grasp_keypoint, "grasp keypoint", stage)
    release = _single_arm_index(stage.release_keypoint, "release keypoint", stage)
    held_mask = held_mask_of(keypoints, held)
    cloud = scene_points if scene_points is not None else config.obstacle_points
    obstacles = None if cloud is None else stage_obstacles(
        cloud, keypoints, positions, [*held, grasp], config)  # fmt: skip
    problem = build_subgoal_problem(
        subgoal_constraints=bind_constraints(stage.subgoal_constraints, held),
        path_constraints=bind_constraints(stage.path_constraints, held),
        keypoints=positions,
        held_mask=held_mask,
        T_world_tcp=T_world_tcp,
        grasp_keypoint=grasp,
        approach=config.approach,
        workspace_lower=np.asarray(config.workspace_lower),
        workspace_upper=np.asarray(config.workspace_upper),
        tolerance=config.tolerance,
        robot=config.robot,
        q_current=q_current if config.robot is not None else None,
        obstacle_points=obstacles,
    )
    subgoal = solve_subgoal(
        problem, backend=config.subgoal_backend, warm_start=warm_start, num_seeds=config.num_seeds
    )
    path = plan_path(
        T_world_tcp,
        subgoal.pose,
        path_constraints=bind_constraints(stage.path_constraints, held),
        keypoints=positions,
        held_mask=held_mask,
        tolerance=config.tolerance,
        step_m=config.path_step_m,
        step_rad=config.path_step_rad,
        lift_m=config.lift_m if held_mask.any() else 0.0,
    )
    return StagePlan(
        number=stage.number,
        subgoal=subgoal,
        path=path,
        grasp_keypoint=grasp,
        release_keypoint=release,
        held_keypoints=tuple(held),
    )


def stage_obstacles(
    scene_points: NDArray[np.float64],
    keypoints: Keypoints,
    positions: NDArray[np.float64],
    objects_of: Sequence[int],
    config: PlannerConfig,
) -> NDArray[np.float64]:
    """(M, 3) obstacle points of a stage: ``scene_points`` without the objects owning the
    keypoints ``objects_of`` (grasped and held; every keypoint of those objects, at their
    current ``positions``, excludes a ball of ``config.object_radius_m``) and without the
    points below ``config.obstacle_min_z``; NaN rows dropped with a warning."""
    owned = held_keypoint_indices(keypoints, [int(i) for i in objects_of if int(i) >= 0])
    return obstacle_cloud(scene_points, exclude_keypoints=np.asarray(positions)[list(owned)],
                          radius_m=config.object_radius_m, min_z=config.obstacle_min_z)  # fmt: skip


def plan_program(
    program: ConstraintProgram,
    keypoints: Keypoints,
    T_world_tcp: NDArray[np.float64],
    config: PlannerConfig | None = None,
) -> tuple[StagePlan, ...]:
    """Plan every stage open-loop from one observation, carrying held keypoints forward."""
    config = config or PlannerConfig()
    positions = keypoints.positions.copy()
    T_now = np.asarray(T_world_tcp, dtype=np.float64)
    grasped: set[int] = set()
    plans: list[StagePlan] = []
    for stage in program.stages:
        held = held_keypoint_indices(keypoints, grasped)
        stage_plan = plan_stage(stage, keypoints, positions, held, T_now, config)
        positions = move_held_keypoints(
            positions, held_mask_of(keypoints, held), T_now, stage_plan.subgoal.pose
        )
        T_now = stage_plan.subgoal.pose
        if isinstance(stage_plan.grasp_keypoint, int) and stage_plan.grasp_keypoint >= 0:
            grasped.add(stage_plan.grasp_keypoint)
        if isinstance(stage_plan.release_keypoint, int) and stage_plan.release_keypoint >= 0:
            released = set(held_keypoint_indices(keypoints, [stage_plan.release_keypoint]))
            grasped -= released
        plans.append(stage_plan)
    return tuple(plans)
