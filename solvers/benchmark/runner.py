"""The solver benchmark: every backend on the fixed stage problems, cold then warm.

For each problem and backend: one cold sub-goal solve (multi-start, no warm start), then
``warm_ticks`` warm solves of the same stage one loop tick later (keypoints jittered by
:func:`solvers.benchmark.perturbed`, warm start = the previous answer); the same for the
path from the current pose to the sub-goal. Times are milliseconds (:data:`CLOCK`) of
the solve call alone (the CasADi NLP build, once per program stage, and the warm ticks'
SQP solver are timed apart as ``subgoal_build_ms_median``). The ``casadi`` backend runs in
joint space on the Panda (base at the world origin, current joints by IK of the problem's
pose). ``rekep_baseline``
runs the original recipe in full on the same scene: the Panda behind its IK reachability
and reset-posture terms (IK seeded at the same current joints), the problem's obstacle
cloud as its distance field, read at up to 60 points of the gripper and the held object
(:func:`solvers.baseline.collision.gripper_and_held_points`), and the workspace box as its
variable bounds. ``scipy`` runs in SE(3) with its own defaults.

:func:`run_solver_bench` returns a JSON-ready dict; :func:`format_table` renders it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from solvers.benchmark.problem import BenchProblem, perturbed
from solvers.solution import Solution
from solvers.subgoal_problem import SubgoalProblem

logger = logging.getLogger(__name__)

DEFAULT_BACKENDS = ("casadi", "scipy", "rekep_baseline")
BASELINE = "rekep_baseline"
METRICS = ("subgoal_cold_ms", "subgoal_warm_ms", "path_cold_ms", "path_warm_ms")
SCALING_CONSTRAINTS = (1, 2, 4, 8, 16, 32)
SCALING_KEYPOINTS = (4, 8, 16, 32, 64)
CLOCK: Callable[[], float] = time.perf_counter
"""Clock of the timings, seconds (wall clock; ``time.process_time`` on a crowded machine)."""


class _Robot:
    """The Panda model and the current joints of each problem (IK of its pose, cached by
    problem name: a perturbed tick keeps its problem's name, pose and joints)."""

    def __init__(self) -> None:
        from solvers.kinematics import RobotModel

        self.model = RobotModel()
        self._q: dict[str, np.ndarray] = {}

    def q_current(self, bp: BenchProblem) -> np.ndarray:
        """(dof,) current joints of ``bp``, radians."""
        from solvers.casadi_ik import solve_ik

        if bp.name not in self._q:
            self._q[bp.name] = solve_ik(self.model, bp.T_world_tcp)[0]
        return self._q[bp.name]

    def attach(self, bp: BenchProblem, prob: SubgoalProblem) -> SubgoalProblem:
        return dataclasses.replace(prob, robot=self.model, q_current=self.q_current(bp))


class _BaselineScene:
    """What the original recipe sees of a bench problem: robot, distance field, points."""

    def __init__(self, robot: _Robot) -> None:
        self.robot = robot
        self._cache: dict[str, tuple[Any, Any]] = {}

    def kwargs(self, bp: BenchProblem, origin: BenchProblem, T_now: np.ndarray,
               keypoints: np.ndarray) -> dict[str, Any]:  # fmt: skip
        """``robot``, ``sdf`` and ``collision_points`` for the baseline solvers (the robot
        and field of ``origin``, the unperturbed problem; held points from ``keypoints``)."""
        from solvers.baseline.collision import gripper_and_held_points, point_cloud_sdf
        from solvers.baseline.robot_adapter import panda_robot

        key = origin.name
        if key not in self._cache:
            q_now = self.robot.q_current(origin)
            sdf = point_cloud_sdf(origin.obstacles) if origin.has_obstacles else None
            self._cache[key] = (panda_robot(q_init=q_now, model=self.robot.model), sdf)
        robot, sdf = self._cache[key]
        points = gripper_and_held_points(T_now, keypoints[bp.held_mask])
        return {"robot": robot, "sdf": sdf, "collision_points": points if sdf is not None else None}


def _subgoal_solver(backend: str, scene: _BaselineScene) -> Callable[..., Solution]:
    """``(bp, origin, prob, warm_pose) -> Solution`` for ``backend``."""
    from solvers.subgoal import solve_subgoal, warm_start_decision

    if backend == BASELINE:
        from solvers.baseline.subgoal_solver import solve_subgoal_baseline

        def baseline(bp: BenchProblem, origin: BenchProblem, prob: SubgoalProblem,
                     warm: np.ndarray | None) -> Solution:  # fmt: skip
            extra = scene.kwargs(bp, origin, prob.T_world_tcp, prob.keypoints)
            return solve_subgoal_baseline(prob, warm_start=warm_start_decision(prob, warm),
                                          **extra)  # fmt: skip

        return baseline

    def solve(bp: BenchProblem, origin: BenchProblem, prob: SubgoalProblem,
              warm: np.ndarray | None) -> Solution:  # fmt: skip
        return solve_subgoal(prob, backend=backend, warm_start=warm)

    return solve


def _path_solver(backend: str, robot: _Robot,
                 scene: _BaselineScene) -> Callable[..., Solution] | None:  # fmt: skip
    """``(bp, origin, subgoal_solution, previous_path) -> Solution`` for ``backend``
    (None: none)."""
    if backend == "casadi":
        from solvers.casadi_path import plan_path_casadi

        def casadi_path(bp: BenchProblem, origin: BenchProblem, goal: Solution,
                        prev: Solution | None) -> Solution:  # fmt: skip
            _, path = bp.constraints()
            q_start = robot.q_current(bp)
            return plan_path_casadi(
                bp.T_world_tcp, goal.pose, path_constraints=path, keypoints=bp.keypoints,
                held_mask=bp.held_mask, tolerance=bp.tolerance, robot=robot.model,
                q_start=q_start, q_goal=goal.joint_positions, warm_start=prev,
            )  # fmt: skip

        return casadi_path
    if backend == BASELINE:
        from solvers.baseline.path_solver import plan_path_baseline

        def baseline_path(bp: BenchProblem, origin: BenchProblem, goal: Solution,
                          prev: Solution | None) -> Solution:  # fmt: skip
            _, path = bp.constraints()
            return plan_path_baseline(
                bp.T_world_tcp, goal.pose, path_constraints=path, keypoints=bp.keypoints,
                held_mask=bp.held_mask, tolerance=bp.tolerance,
                workspace_lower=bp.workspace_lower, workspace_upper=bp.workspace_upper,
                warm_start=None if prev is None else prev.decision,
                **scene.kwargs(bp, origin, bp.T_world_tcp, bp.keypoints),
            )  # fmt: skip

        return baseline_path
    if backend == "scipy":
        from solvers.path import plan_path

        def interpolated(bp: BenchProblem, origin: BenchProblem, goal: Solution,
                         prev: Solution | None) -> Solution:  # fmt: skip
            _, path = bp.constraints()
            return plan_path(bp.T_world_tcp, goal.pose, path_constraints=path,
                             keypoints=bp.keypoints, held_mask=bp.held_mask,
                             tolerance=bp.tolerance)  # fmt: skip

        return interpolated
    return None


def _timed(fn: Callable[[], Solution]) -> tuple[Solution, float]:
    t0 = CLOCK()
    sol = fn()
    return sol, (CLOCK() - t0) * 1e3


def _bench_backend(backend: str, problems: Sequence[BenchProblem], repeats: int,
                   warm_ticks: int, robot: _Robot, seed: int) -> dict[str, Any]:  # fmt: skip
    scene = _BaselineScene(robot)
    solve = _subgoal_solver(backend, scene)
    path_fn = _path_solver(backend, robot, scene)
    times: dict[str, list[float]] = {m: [] for m in (*METRICS, "subgoal_build_ms")}
    feasible: list[bool] = []
    violations: list[float] = []
    for i, bp in enumerate(problems):
        logger.info("bench %s: problem %d/%d %s", backend, i + 1, len(problems), bp.name)
        prob = bp.subgoal_problem()
        if backend == "casadi":
            from solvers.casadi_subgoal import fast_solver
            from solvers.casadi_subgoal_nlp import get_nlp

            prob = robot.attach(bp, prob)
            t0 = CLOCK()
            nlp = get_nlp(prob, True)
            nlp.last.clear()
            fast_solver(nlp)  # the warm ticks' SQP solver is part of the stage's build
            times["subgoal_build_ms"].append((CLOCK() - t0) * 1e3)
        cold: Solution | None = None
        for _ in range(max(1, repeats)):
            cold, ms = _timed(functools.partial(solve, bp, bp, prob, None))
            times["subgoal_cold_ms"].append(ms)
        assert cold is not None
        feasible.append(cold.feasible)
        violations.append(cold.max_violation)
        path = None
        if path_fn is not None and cold.status != "error":
            path, ms = _timed(functools.partial(path_fn, bp, bp, cold, None))
            times["path_cold_ms"].append(ms)
        rng = np.random.default_rng(seed + i)
        prev, cur = cold, bp
        for _ in range(warm_ticks):
            cur = perturbed(cur, rng)
            tick = cur.subgoal_problem()
            if backend == "casadi":
                tick = robot.attach(bp, tick)
            warm_pose = prev.pose if prev.status != "error" else None
            warm, ms = _timed(functools.partial(solve, cur, bp, tick, warm_pose))
            times["subgoal_warm_ms"].append(ms)
            feasible.append(warm.feasible)
            violations.append(warm.max_violation)
            if path_fn is not None and warm.status != "error":
                path, ms = _timed(functools.partial(path_fn, cur, bp, warm, path))
                times["path_warm_ms"].append(ms)
            prev = warm
    out: dict[str, Any] = {}
    for name, values in times.items():
        out[f"{name}_median"] = _stat(values, 50)
        out[f"{name}_p95"] = _stat(values, 95)
    out["feasible_rate"] = float(np.mean(feasible)) if feasible else math.nan
    finite = [v for v in violations if math.isfinite(v)]
    out["max_violation_median"] = float(np.median(finite)) if finite else math.nan
    out["solves"] = len(feasible)
    return out


def _stat(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def scaling_problem(num_constraints: int, num_keypoints: int) -> SubgoalProblem:
    """A synthetic satisfiable problem: the TCP within 0.2 m of every keypoint used, and
    10 cm above their centroid (which depends on all keypoints)."""
    from rekep.poses import make_pose

    rng = np.random.default_rng(num_constraints * 1000 + num_keypoints)
    kps = np.array([0.5, 0.0, 0.15]) + rng.uniform(-0.05, 0.05, size=(num_keypoints, 3))

    def near(j: int) -> Callable[[Any, Any], Any]:
        return lambda ee, k: np.linalg.norm(ee - k[j % num_keypoints]) - 0.2

    def above_centroid(ee: Any, k: Any) -> Any:
        return np.linalg.norm(ee - (np.mean(k, axis=0) + np.array([0.0, 0.0, 0.1])))

    cons: list[tuple[str, Callable[[Any, Any], Any]]] = [("above_centroid", above_centroid)]
    cons += [(f"near{j}", near(j)) for j in range(num_constraints - 1)]
    from solvers.subgoal_problem import build_subgoal_problem

    T = make_pose(np.diag([1.0, -1.0, -1.0]), [0.4, 0.0, 0.35])
    return build_subgoal_problem(subgoal_constraints=cons, keypoints=kps, T_world_tcp=T,
                                 workspace_lower=[0.15, -0.45, 0.0],
                                 workspace_upper=[0.85, 0.45, 0.65])  # fmt: skip


def run_scaling(robot: _Robot, quick: bool = False) -> dict[str, Any]:
    """Median casadi cold/warm sub-goal ms against constraint and keypoint counts."""
    from solvers.casadi_ik import solve_ik
    from solvers.casadi_subgoal_nlp import get_nlp
    from solvers.subgoal import solve_subgoal

    def measure(nc: int, nk: int) -> dict[str, float]:
        prob = scaling_problem(nc, nk)
        q_now = solve_ik(robot.model, prob.T_world_tcp)[0]
        prob = dataclasses.replace(prob, robot=robot.model, q_current=q_now)
        get_nlp(prob, True).last.clear()
        cold, cold_ms = _timed(lambda: solve_subgoal(prob, backend="casadi"))
        _, warm_ms = _timed(lambda: solve_subgoal(prob, backend="casadi", warm_start=cold.pose))
        return {"cold_ms": cold_ms, "warm_ms": warm_ms, "feasible": float(cold.feasible)}

    ncs = SCALING_CONSTRAINTS[:3] if quick else SCALING_CONSTRAINTS
    nks = SCALING_KEYPOINTS[:2] if quick else SCALING_KEYPOINTS
    return {
        "constraints": {str(n): measure(n, 8) for n in ncs},
        "keypoints": {str(n): measure(4, n) for n in nks},
    }


def run_solver_bench(
    backends: Sequence[str] = DEFAULT_BACKENDS,
    problems: Sequence[BenchProblem] | None = None,
    repeats: int = 1,
    warm_ticks: int = 3,
    *,
    quick: bool = False,
    scaling: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Benchmark ``backends`` on ``problems`` (default: :func:`bench_problems`).

    Args:
        backends: sub-goal backend names (see :data:`solvers.subgoal.SUBGOAL_BACKENDS`).
        problems: the problems; ``quick`` keeps the first 2 when None.
        repeats: cold solves per problem (>= 1).
        warm_ticks: warm (perturbed) solves after each cold one (>= 0).
        quick: small settings for tests (2 problems, 1 warm tick, small scaling sweep).
        scaling: also sweep the casadi solve time against problem size.
        seed: seed of the keypoint perturbations.

    Returns:
        ``{"problems": n, "backends": {name: metrics}, "speedup_vs_baseline": {...},
        "scaling": {...}}`` with ``<metric>_median`` / ``_p95`` in milliseconds,
        ``feasible_rate`` and ``max_violation_median`` per backend.
    """
    if problems is None:
        from solvers.benchmark import bench_problems

        problems = bench_problems()[:2] if quick else bench_problems()
    if quick:
        warm_ticks = min(warm_ticks, 1)
    robot = _Robot()
    results = {b: _bench_backend(b, problems, repeats, warm_ticks, robot, seed) for b in backends}
    speedup: dict[str, dict[str, float | None]] = {}
    if BASELINE in results:
        base = results[BASELINE]
        for b, r in results.items():
            if b == BASELINE:
                continue
            speedup[b] = {m: _ratio(base.get(f"{m}_median"), r.get(f"{m}_median"))
                          for m in METRICS}  # fmt: skip
    out: dict[str, Any] = {"problems": len(problems), "repeats": repeats,
                           "warm_ticks": warm_ticks, "backends": results,
                           "speedup_vs_baseline": speedup}  # fmt: skip
    if scaling and "casadi" in backends:
        out["scaling"] = run_scaling(robot, quick=quick)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def format_table(report: dict[str, Any]) -> str:
    """Plain-text table of a :func:`run_solver_bench` report."""
    cols = [f"{m}_median" for m in METRICS] + ["feasible_rate", "max_violation_median"]
    heads = ["backend", "sg cold ms", "sg warm ms", "path cold ms", "path warm ms",
             "feasible", "max viol"]  # fmt: skip
    rows = [heads]
    for name, r in report["backends"].items():
        rows.append([name, *(_fmt(r.get(c)) for c in cols)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"problems: {report['problems']}")
    for name, ratios in report.get("speedup_vs_baseline", {}).items():
        listed = ", ".join(f"{m}: {_fmt(v)}x" for m, v in ratios.items())
        lines.append(f"speed-up of {name} vs {BASELINE}: {listed}")
    for axis, data in report.get("scaling", {}).items():
        listed = ", ".join(f"{n}: {_fmt(d['cold_ms'])}/{_fmt(d['warm_ms'])}"
                           for n, d in data.items())  # fmt: skip
        lines.append(f"casadi cold/warm ms vs {axis}: {listed}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
