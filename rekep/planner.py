"""Plans a constraint program stage by stage: sub-goal pose, then a path to it.

The planner is the bridge between a :class:`~rekep.program.ConstraintProgram` and the
``solvers`` package. It binds the grasp state (constant within one solve) into each
constraint function and carries the held object's keypoints forward with the hand, so a
whole program can be planned open-loop from one observation (``rekep.solve``) or one stage at
a time from fresh observations (the closed loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.errors import SolverError
from rekep.keypoint_set import Keypoints
from rekep.plan import StagePlan
from rekep.program import ConstraintFunction, ConstraintProgram, Stage
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
) -> StagePlan:
    """Solve one stage's sub-goal from ``T_world_tcp`` and a path to it.

    ``positions`` (K, 3) are the current keypoint positions (held ones already moved with the
    hand); ``held`` are the indices of keypoints that move with the hand during this stage.
    """
    grasp = _single_arm_index(stage.grasp_keypoint, "grasp keypoint", stage)
    release = _single_arm_index(stage.release_keypoint, "release keypoint", stage)
    held_mask = held_mask_of(keypoints, held)
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
