"""Warm re-solving of a bimanual stage and the joint path the loop streams.

:class:`StagePlanner` builds the stage's :class:`solvers.bimanual.BimanualProblem` from the
tracked keypoints, both hands' holds and the measured joints, solves the sub-goal for both
arms jointly (warm from the last answer) and plans the joint path
(:func:`solvers.bimanual.plan_bimanual_path`, arm-arm clearance at every sample).
:class:`JointPathFollower` turns a path into the joint targets of the next tick.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.loop.bimanual.config import BimanualLoopConfig
from rekep.loop.bimanual.stage_machine import arm_pair
from rekep.planner import bind_constraints
from rekep.program import Stage

FloatArray = NDArray[np.float64]


@functools.lru_cache(maxsize=1)
def robot_pair() -> tuple[Any, Any]:
    """The (left, right) robot models, built once per process (the bimanual solvers cache
    their compiled problems per robot object)."""
    from solvers.bimanual import dual_panda

    return dual_panda()


class StagePlanner:
    """Sub-goal and path solves for one stage, warm-started tick to tick."""

    def __init__(self, config: BimanualLoopConfig, rng_seed: int = 0) -> None:
        self.config = config
        self.rng_seed = rng_seed
        self.warm: FloatArray | None = None
        self.cold_done = False

    def reset(self) -> None:
        """Forget the warm start (a new stage): the next solve is multi-start again."""
        self.warm = None
        self.cold_done = False

    def problem(self, stage: Stage, positions: FloatArray, masks: NDArray[np.bool_],
                T: FloatArray, q: FloatArray) -> Any:  # fmt: skip
        """The stage's problem at the (K, 3) tracked keypoints, (2, K) holds, (2, 4, 4) hand
        poses and (2, 7) joints."""
        from solvers.bimanual import BimanualProblem

        held = tuple(int(i) for i in np.flatnonzero(masks.any(axis=0)))
        cfg = self.config
        return BimanualProblem(
            subgoal_constraints=tuple(bind_constraints(stage.subgoal_constraints, held)),
            path_constraints=tuple(bind_constraints(stage.path_constraints, held)),
            keypoints=positions, held_masks=masks, T_world_tcp=T, robots=robot_pair(),
            q_current=q, grasp_keypoints=np.array(arm_pair(stage.grasp_keypoint)),
            approaches=("top_down", "top_down"), tolerance=cfg.tolerance,
            min_arm_distance_m=cfg.min_arm_distance_m,
            workspace_lower=np.array(cfg.workspace_lower),
            workspace_upper=np.array(cfg.workspace_upper),
        )

    def subgoal(self, problem: Any) -> Any:
        """Solve the sub-goal warm; a feasible answer becomes the next warm start. Only the
        first solve of a stage samples ``num_seeds`` starts; later ticks try the warm start
        and the current joints (one cheap solve per tick, also while infeasible)."""
        from solvers.bimanual import solve_bimanual_subgoal

        seeds = 0 if self.cold_done else self.config.num_seeds
        self.cold_done = True
        solution = solve_bimanual_subgoal(problem, warm_start=self.warm, num_seeds=seeds,
                                          rng_seed=self.rng_seed)  # fmt: skip
        if solution.feasible:
            self.warm = np.asarray(solution.decision, dtype=np.float64)
        return solution

    def path(self, problem: Any, solution: Any) -> Any:
        """The joint path of both arms from the current joints to ``solution``."""
        from solvers.bimanual import plan_bimanual_path

        return plan_bimanual_path(problem, solution, num_controls=self.config.path_controls,
                                  samples=self.config.path_samples)  # fmt: skip


class JointPathFollower:
    """Streams a (N, 2, J) joint path started at robot time ``start_s``.

    The path's times are stretched (never compressed) so that no joint moves faster than
    ``max_joint_speed`` rad/s between samples; :meth:`target` is the path at ``time_s``
    (the last sample once the path is over).
    """

    def __init__(self, q_path: FloatArray, times_s: FloatArray, goal_poses: FloatArray,
                 start_s: float, max_joint_speed: float) -> None:  # fmt: skip
        q = np.asarray(q_path, dtype=np.float64)
        t = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if len(t) > 1:
            dq = np.abs(np.diff(q, axis=0)).max(axis=(1, 2))
            dt = np.maximum(np.diff(t), dq / max_joint_speed)
            t = np.concatenate([[0.0], np.cumsum(np.maximum(dt, 1e-6))])
        self.q, self.t = q, t
        self.goal_poses = np.asarray(goal_poses, dtype=np.float64)
        self.start_s = float(start_s)

    @property
    def duration_s(self) -> float:
        return float(self.t[-1])

    def target(self, time_s: float) -> FloatArray:
        """(2, J) joint targets at robot time ``time_s``."""
        s = float(np.clip(time_s - self.start_s, 0.0, self.t[-1]))
        flat = self.q.reshape(len(self.t), -1)
        row = np.array([np.interp(s, self.t, flat[:, j]) for j in range(flat.shape[1])])
        return row.reshape(self.q.shape[1:])

    def goal_moved(self, poses: FloatArray, tol_m: float) -> bool:
        """Whether either hand of the (2, 4, 4) ``poses`` is over ``tol_m`` from the goal."""
        d = np.linalg.norm(poses[:, :3, 3] - self.goal_poses[:, :3, 3], axis=1)
        return bool(np.max(d) > tol_m)
