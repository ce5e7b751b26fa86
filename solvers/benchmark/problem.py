"""One benchmark stage problem: a ReKep program stage in a fixed scene.

A :class:`BenchProblem` is plain data (program text, keypoints, the hand's pose, what it
holds, obstacles). Its constraints are compiled by :func:`rekep.program.load_program` (the
real sandbox) and bound to the grasp state as ``(name, fn.bind(held))``. Its obstacles reach
the sub-goal problem (and, through :meth:`BenchProblem.obstacle_cloud`, the path), so the
``casadi`` backend avoids them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from rekep.poses import as_pose
from solvers.collision import obstacle_cloud
from solvers.constraint_set import ConstraintFn, NamedConstraint
from solvers.subgoal_problem import (
    APPROACHES,
    SubgoalProblem,
    SubgoalWeights,
    build_subgoal_problem,
)

if TYPE_CHECKING:
    from rekep.program import ConstraintFunction, ConstraintProgram, Stage

FloatArray = NDArray[np.float64]
CATEGORIES = ("grasp", "place", "reach", "insert_upright", "pour_tilt", "keep_upright")
WORKSPACE_LOWER = (0.15, -0.45, 0.0)
"""Default TCP position box of the Panda benchmark, metres (robot base at the origin)."""
WORKSPACE_UPPER = (0.85, 0.45, 0.65)


@functools.lru_cache(maxsize=64)
def _load(text: str, num_keypoints: int) -> ConstraintProgram:
    from rekep.program import load_program  # lazy: importing solvers stays light

    return load_program(text, num_keypoints=num_keypoints)


def _frozen(value: ArrayLike, shape: tuple[int | None, ...], name: str, dtype: type) -> NDArray:
    arr: NDArray = np.array(value, dtype=dtype)
    bad = arr.ndim != len(shape) or any(s is not None and s != a for s, a in
                                        zip(shape, arr.shape, strict=False))  # fmt: skip
    if bad or (dtype is np.float64 and not np.all(np.isfinite(arr))):
        raise SolverError(f"BenchProblem.{name} must be finite with shape {shape}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class BenchProblem:
    """A fixed, deterministic sub-goal (and path) problem for benchmarking solvers.

    Attributes:
        name: unique name.
        category: one of :data:`CATEGORIES`.
        program: the whole ReKep program text; ``stage`` selects the stage solved here.
        stage: 1-based stage number.
        keypoints: (K, 3) world positions, metres, observed with the hand at ``T_world_tcp``.
        held_mask: (K,) bool, keypoints on the object in the hand.
        T_world_tcp: (4, 4) current TCP pose (z axis out of the hand).
        grasp_keypoint: keypoint grasped in this stage (-1: none); must match the program.
        tolerance: a constraint holds when its value <= tolerance.
        obstacles: (N, 3) obstacle points in the world, metres (N = 0: no obstacles).
        workspace_lower, workspace_upper: (3,) TCP position box, metres.
        approach: grasp approach preference, one of ``APPROACHES``.
        expect_feasible: False for problems made to be unsatisfiable.
        description: what the scene is.
    """

    name: str
    category: str
    program: str
    stage: int
    keypoints: FloatArray
    held_mask: NDArray[np.bool_]
    T_world_tcp: FloatArray
    grasp_keypoint: int = -1
    tolerance: float = 0.01
    obstacles: FloatArray = dataclasses.field(default_factory=lambda: np.zeros((0, 3)))
    workspace_lower: FloatArray = dataclasses.field(
        default_factory=lambda: np.array(WORKSPACE_LOWER)
    )
    workspace_upper: FloatArray = dataclasses.field(
        default_factory=lambda: np.array(WORKSPACE_UPPER)
    )
    approach: str = "top_down"
    expect_feasible: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.category not in CATEGORIES:
            raise SolverError(f"{self.name}: category must be one of {CATEGORIES}")
        if self.approach not in APPROACHES:
            raise SolverError(f"{self.name}: approach must be one of {APPROACHES}")
        kps = _frozen(self.keypoints, (None, 3), "keypoints", np.float64)
        set_(self, "keypoints", kps)
        set_(self, "held_mask", _frozen(self.held_mask, (kps.shape[0],), "held_mask", np.bool_))
        T = _frozen(as_pose(self.T_world_tcp, f"{self.name}.T_world_tcp"), (4, 4), "T", np.float64)
        set_(self, "T_world_tcp", T)
        set_(self, "obstacles", _frozen(self.obstacles, (None, 3), "obstacles", np.float64))
        set_(self, "workspace_lower", _frozen(self.workspace_lower, (3,), "lower", np.float64))
        set_(self, "workspace_upper", _frozen(self.workspace_upper, (3,), "upper", np.float64))
        if not (math.isfinite(self.tolerance) and self.tolerance > 0):
            raise SolverError(f"{self.name}: tolerance must be > 0")
        program = self.load()
        if not 1 <= self.stage <= program.num_stages:
            raise SolverError(f"{self.name}: stage {self.stage} is not in the program")
        expected = self.stage_spec().grasp_keypoint
        if expected != self.grasp_keypoint:
            raise SolverError(
                f"{self.name}: grasp_keypoint {self.grasp_keypoint} differs from the program's "
                f"grasp_keypoints entry {expected} for stage {self.stage}"
            )

    def load(self) -> ConstraintProgram:
        """The :class:`rekep.program.ConstraintProgram` (sandbox-compiled, cached)."""
        return _load(self.program, int(self.keypoints.shape[0]))

    def stage_spec(self) -> Stage:
        """The program's :class:`rekep.program.Stage` for ``stage``."""
        return self.load().stages[self.stage - 1]

    @property
    def held_keypoints(self) -> tuple[int, ...]:
        """Indices of the held keypoints (the grasping helper returns 0 for them)."""
        return tuple(int(i) for i in np.flatnonzero(self.held_mask))

    @property
    def holds_object(self) -> bool:
        return bool(self.held_mask.any())

    @property
    def has_obstacles(self) -> bool:
        return bool(self.obstacles.shape[0])

    def constraints(self) -> tuple[tuple[NamedConstraint, ...], tuple[NamedConstraint, ...]]:
        """(sub-goal, path) ``(name, f(ee, kps))`` pairs bound to the grasp state."""
        stage = self.stage_spec()
        held = self.held_keypoints

        def bind(fns: tuple[ConstraintFunction, ...]) -> tuple[NamedConstraint, ...]:
            return tuple((fn.name, _bound(fn, held)) for fn in fns)

        return bind(stage.subgoal_constraints), bind(stage.path_constraints)

    def obstacle_cloud(self) -> FloatArray:
        """(M, 3) obstacle points the solvers see: ``obstacles`` without points near the
        grasped or held keypoints and without the table plane (see
        :func:`solvers.collision.obstacle_cloud`)."""
        near = list(self.held_keypoints) + ([self.grasp_keypoint] if self.grasp_keypoint >= 0
                                            else [])  # fmt: skip
        return obstacle_cloud(self.obstacles, exclude_keypoints=self.keypoints[near])

    def subgoal_problem(self, weights: SubgoalWeights | None = None) -> SubgoalProblem:
        """The :class:`SubgoalProblem` of this stage (with :meth:`obstacle_cloud`)."""
        sub, path = self.constraints()
        return build_subgoal_problem(
            subgoal_constraints=sub, path_constraints=path, keypoints=self.keypoints,
            T_world_tcp=self.T_world_tcp, workspace_lower=self.workspace_lower,
            workspace_upper=self.workspace_upper, held_mask=self.held_mask,
            grasp_keypoint=self.grasp_keypoint, approach=self.approach,
            tolerance=self.tolerance, weights=weights, obstacle_points=self.obstacle_cloud(),
        )  # fmt: skip


def _bound(fn: ConstraintFunction, held: tuple[int, ...]) -> ConstraintFn:
    """``f(ee, kps)`` calling the sandboxed ``fn`` with the grasp state ``held``."""
    return fn.bind(held)


def perturbed(
    problem: BenchProblem, rng: np.random.Generator, sigma_m: float = 0.005
) -> BenchProblem:
    """The same problem one loop tick later: every keypoint jittered by N(0, sigma_m^2) m."""
    if not (math.isfinite(sigma_m) and sigma_m >= 0):
        raise SolverError(f"sigma_m must be finite and >= 0 metres, got {sigma_m}")
    noise = rng.normal(0.0, sigma_m, size=problem.keypoints.shape)
    return dataclasses.replace(problem, keypoints=problem.keypoints + noise)
