"""Summarize per-episode records into the benchmark report.

Report (JSON-friendly dict, the keys of ``rekep bench tasks --json``)::

    {"tasks": {<name>: {"episodes": int, "successes": int, "success_rate": float,
                        "ci95": [low, high] (Wilson), "episode_s_median": float,
                        "failures": {<category>: int, ...} (every category, zeros too)}},
     "mean_success": float (unweighted mean of the per-task success rates),
     "latency_ms": {"proposal"|"tracking"|"subgoal"|"path": median ms or None},
     "loop_hz_median": float or None,
     "config": {...}}

Latency medians pool every sample of every episode of every task (e.g. one sub-goal solve
per stage); None when no episode reported that module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rekep.bench_tasks.failures import count_by_category
from rekep.bench_tasks.records import LATENCY_MODULES
from rekep.bench_tasks.stats import median_or_none, wilson_interval


def summarize_task(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The per-task block of the report from that task's records (at least one)."""
    if not records:
        raise ValueError("summarize_task needs at least one record")
    n = len(records)
    successes = sum(1 for r in records if r["success"])
    low, high = wilson_interval(successes, n)
    return {
        "episodes": n,
        "successes": successes,
        "success_rate": successes / n,
        "ci95": [low, high],
        "episode_s_median": median_or_none(r["episode_s"] for r in records),
        "failures": count_by_category([r["failure"] for r in records]),
    }


def aggregate(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> dict[str, Any]:
    """The full report (see the module docstring); tasks in first-seen order."""
    if not records:
        raise ValueError("aggregate needs at least one record")
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_task.setdefault(record["task"], []).append(record)
    tasks = {name: summarize_task(rs) for name, rs in by_task.items()}
    latency = {
        module: median_or_none(
            v for r in records for v in (r.get("latency_ms") or {}).get(module, [])
        )
        for module in LATENCY_MODULES
    }
    return {
        "tasks": tasks,
        "mean_success": sum(t["success_rate"] for t in tasks.values()) / len(tasks),
        "latency_ms": latency,
        "loop_hz_median": median_or_none(r.get("loop_hz") for r in records),
        "config": dict(config),
    }
