"""The solver benchmark: every backend on the fixed stage problems, cold then warm.

For each problem and backend: one cold sub-goal solve (multi-start, no warm start), then
``warm_ticks`` warm solves of the same stage one loop tick later (keypoints jittered by
:func:`solvers.benchmark.perturbed`, warm start = the previous answer); the same for the
path from the current pose to the sub-goal. Times are wall-clock milliseconds of the
solve call alone (the CasADi NLP build, once per program stage, is timed apart as
``subgoal_build_ms_median``). The ``casadi`` backend runs in joint space on the Panda
(base at the world origin, current joints by IK of the problem's pose); the others in
SE(3) with their own defaults.

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


class _Robot:
    """The Panda model and IK of each problem's current pose (lazily, cached)."""

    def __init__(self) -> None:
        from solvers.kinematics import RobotModel

        self.model = RobotModel()
        self._q: dict[int, np.ndarray] = {}

    def attach(self, bp: BenchProblem, prob: SubgoalProblem) -> SubgoalProblem:
        from solvers.casadi_ik import solve_ik

        key = id(bp.T_world_tcp)
        if key not in self._q:
            self._q[key] = solve_ik(self.model, bp.T_world_tcp)[0]
        return dataclasses.replace(prob, robot=self.model, q_current=self._q[key])


def _subgoal_solver(backend: str) -> Callable[..., Solution]:
    from solvers.subgoal import solve_subgoal

    def solve(prob: SubgoalProblem, warm: np.ndarray | None) -> Solution:
        return solve_subgoal(prob, backend=backend, warm_start=warm)

    return solve


def _path_solver(backend: str, robot: _Robot) -> Callable[..., Solution] | None:
    """``(bp, subgoal_solution, previous_path) -> Solution`` for ``backend`` (None: none)."""
    if backend == "casadi":
        from solvers.casadi_path import plan_path_casadi

        def casadi_path(bp: BenchProblem, goal: Solution, prev: Solution | None) -> Solution:
            _, path = bp.constraints()
            q_start = robot.attach(bp, bp.subgoal_problem()).q_current
            return plan_path_casadi(
                bp.T_world_tcp, goal.pose, path_constraints=path, keypoints=bp.keypoints,
                held_mask=bp.held_mask, tolerance=bp.tolerance, robot=robot.model,
                q_start=q_start, q_goal=goal.joint_positions, warm_start=prev,
            )  # fmt: skip

        return casadi_path
    if backend == BASELINE:
        from solvers.baseline.path_solver import plan_path_baseline

        def baseline_path(bp: BenchProblem, goal: Solution, prev: Solution | None) -> Solution:
            _, path = bp.constraints()
            return plan_path_baseline(
                bp.T_world_tcp, goal.pose, path_constraints=path, keypoints=bp.keypoints,
                held_mask=bp.held_mask, tolerance=bp.tolerance,
                warm_start=None if prev is None else prev.decision,
            )  # fmt: skip

        return baseline_path
    if backend == "scipy":
        from solvers.path import plan_path

        def interpolated(bp: BenchProblem, goal: Solution, prev: Solution | None) -> Solution:
            _, path = bp.constraints()
            return plan_path(bp.T_world_tcp, goal.pose, path_constraints=path,
                             keypoints=bp.keypoints, held_mask=bp.held_mask,
                             tolerance=bp.tolerance)  # fmt: skip

        return interpolated
    return None


def _timed(fn: Callable[[], Solution]) -> tuple[Solution, float]:
    t0 = time.perf_counter()
    sol = fn()
    return sol, (time.perf_counter() - t0) * 1e3


def _bench_backend(backend: str, problems: Sequence[BenchProblem], repeats: int,
                   warm_ticks: int, robot: _Robot, seed: int) -> dict[str, Any]:  # fmt: skip
    solve = _subgoal_solver(backend)
    path_fn = _path_solver(backend, robot)
    times: dict[str, list[float]] = {m: [] for m in (*METRICS, "subgoal_build_ms")}
    feasible: list[bool] = []
    violations: list[float] = []
    for i, bp in enumerate(problems):
        logger.info("bench %s: problem %d/%d %s", backend, i + 1, len(problems), bp.name)
        prob = bp.subgoal_problem()
        if backend == "casadi":
            from solvers.casadi_subgoal_nlp import get_nlp

            prob = robot.attach(bp, prob)
            t0 = time.perf_counter()
            get_nlp(prob, True).last.clear()
            times["subgoal_build_ms"].append((time.perf_counter() - t0) * 1e3)
        cold: Solution | None = None
        for _ in range(max(1, repeats)):
            cold, ms = _timed(functools.partial(solve, prob, None))
            times["subgoal_cold_ms"].append(ms)
        assert cold is not None
        feasible.append(cold.feasible)
        violations.append(cold.max_violation)
        path = None
        if path_fn is not None and cold.status != "error":
            path, ms = _timed(functools.partial(path_fn, bp, cold, None))
            times["path_cold_ms"].append(ms)
        rng = np.random.default_rng(seed + i)
        prev, cur = cold, bp
        for _ in range(warm_ticks):
            cur = perturbed(cur, rng)
            tick = cur.subgoal_problem()
            if backend == "casadi":
                tick = robot.attach(bp, tick)
            warm_pose = prev.pose if prev.status != "error" else None
            warm, ms = _timed(functools.partial(solve, tick, warm_pose))
            times["subgoal_warm_ms"].append(ms)
            feasible.append(warm.feasible)
            violations.append(warm.max_violation)
            if path_fn is not None and warm.status != "error":
                path, ms = _timed(functools.partial(path_fn, cur, warm, path))
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
