"""Summarize per-episode records into the benchmark report.

Report (JSON-friendly dict, the keys of ``rekep bench tasks --json``)::

    {"tasks": {<name>: {"episodes": int, "successes": int, "success_rate": float,
                        "ci95": [low, high] (Wilson), "episode_s_median": float,
                        "failures": {<category>: int, ...} (every category, zeros too),
                        "backtracked": int, "recovered": int}},
     "mean_success": float (unweighted mean of the per-task success rates),
     "backtracking": {"episodes": int, "recovered": int, "recovered_rate": float or None},
     "privileged": bool (some episode's tracker read simulator ground truth),
     "latency_ms": {"proposal"|"tracking"|"subgoal"|"path": median ms or None},
     "loop_hz_median": float or None,
     "config": {...}}

Latency medians pool every sample of every episode of every task (e.g. one sub-goal solve
per stage); None when no episode reported that module.

An episode *backtracked* when its loop fell back to an earlier stage at least once
(``details.backtracks`` > 0; the open loop never does) and *recovered* when such an episode
still succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rekep.bench_tasks.failures import count_by_category
from rekep.bench_tasks.records import LATENCY_MODULES
from rekep.bench_tasks.stats import median_or_none, wilson_interval


def _backtracked(record: Mapping[str, Any]) -> bool:
    return int((record.get("details") or {}).get("backtracks") or 0) > 0


def _privileged(record: Mapping[str, Any]) -> bool:
    return bool((record.get("details") or {}).get("privileged"))


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
        "backtracked": sum(1 for r in records if _backtracked(r)),
        "recovered": sum(1 for r in records if _backtracked(r) and r["success"]),
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
    backtracked = sum(t["backtracked"] for t in tasks.values())
    recovered = sum(t["recovered"] for t in tasks.values())
    return {
        "tasks": tasks,
        "mean_success": sum(t["success_rate"] for t in tasks.values()) / len(tasks),
        "backtracking": {
            "episodes": backtracked,
            "recovered": recovered,
            "recovered_rate": recovered / backtracked if backtracked else None,
        },
        "privileged": any(_privileged(r) for r in records),
        "latency_ms": latency,
        "loop_hz_median": median_or_none(r.get("loop_hz") for r in records),
        "config": dict(config),
    }
