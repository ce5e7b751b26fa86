"""``rekep bench tasks``: run the simulated task suite over seeds, locally in worker
processes or as Ray tasks, and report success rates (Wilson 95 % intervals), failure
categories, episode times and module latencies.

Pieces: :mod:`.spec` (what an episode is), :mod:`.records` (episode results and the worker
guard), :mod:`.episodes` (open/closed loop episode functions), :mod:`.local_runner` and
:mod:`.ray_runner`, :mod:`.failures`, :mod:`.stats`, :mod:`.aggregate`, :mod:`.report`,
:mod:`.bench` (the whole run), :mod:`.cli`. Importing this package does not import
PyBullet or Ray.
"""

from rekep.bench_tasks.aggregate import aggregate, summarize_task
from rekep.bench_tasks.bench import BenchConfig, BenchResult, prepare, run_benchmark
from rekep.bench_tasks.episodes import (
    closed_loop_available,
    closed_loop_episode,
    open_loop_episode,
    resolve_loop,
)
from rekep.bench_tasks.failures import CATEGORIES, categorize_failure, count_by_category
from rekep.bench_tasks.local_runner import run_local
from rekep.bench_tasks.records import LATENCY_MODULES, execute_episode, make_record
from rekep.bench_tasks.report import format_table, write_results
from rekep.bench_tasks.spec import BenchInputError, EpisodeSpec, plan_episodes, seed_range
from rekep.bench_tasks.stats import median_or_none, wilson_interval

__all__ = [
    "CATEGORIES",
    "LATENCY_MODULES",
    "BenchConfig",
    "BenchInputError",
    "BenchResult",
    "EpisodeSpec",
    "aggregate",
    "categorize_failure",
    "closed_loop_available",
    "closed_loop_episode",
    "count_by_category",
    "execute_episode",
    "format_table",
    "make_record",
    "median_or_none",
    "open_loop_episode",
    "plan_episodes",
    "prepare",
    "resolve_loop",
    "run_benchmark",
    "run_local",
    "seed_range",
    "summarize_task",
    "wilson_interval",
    "write_results",
]
