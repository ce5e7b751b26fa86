"""The fixed benchmark problem set for sub-goal and path solvers.

Public API::

    bench_problems() -> list[BenchProblem]
    perturbed(problem, rng, sigma_m=0.005) -> BenchProblem   # one loop tick later
    BenchProblem: .subgoal_problem(), .constraints(), .load(), .obstacles, ...
"""

from __future__ import annotations

from solvers.benchmark.problem import CATEGORIES, BenchProblem, perturbed
from solvers.benchmark.problems import bench_problems

__all__ = ["CATEGORIES", "BenchProblem", "bench_problems", "perturbed"]
