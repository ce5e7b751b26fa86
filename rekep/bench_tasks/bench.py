"""The task benchmark as a function: :class:`BenchConfig` in, report and records out.

Everything the user can get wrong (unknown task, empty seed range, bad option, closed loop
requested but missing, unreachable Ray address) raises
:class:`~rekep.bench_tasks.spec.BenchInputError` before any episode runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rekep.bench_tasks.aggregate import aggregate
from rekep.bench_tasks.episodes import LOOPS, resolve_loop, validate_for_loop
from rekep.bench_tasks.local_runner import OnDone, run_local
from rekep.bench_tasks.records import EpisodeFn
from rekep.bench_tasks.report import PARTIAL, keep_as_done, write_results
from rekep.bench_tasks.spec import (
    KEYPOINT_MODES,
    SPLITS,
    BenchInputError,
    EpisodeSpec,
    parse_task_names,
    plan_episodes,
    seed_range,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run.

    Attributes:
        tasks: comma-separated task names, or None / ``"all"`` for every registered task.
        seeds: seeds per task (the first ``seeds`` of the split), >= 1.
        split: ``test`` (seeds 1000..) or ``train`` (seeds 0..).
        keypoints: ``annotated`` or ``proposed``.
        tracker: tracker name for the closed loop (recorded; the open loop ignores it).
        disturb: arm disturbances (closed loop; recorded and passed on by the open loop).
        backend: sub-goal solver backend.
        workers: local worker processes, or the CPUs of a local Ray instance (None: all).
        ray_address: None (local processes), ``"local"`` (a private Ray instance), or the
            address of an existing cluster (``auto``, ``host:port``, ``ray://host:port``).
        loop: ``auto`` (closed when rekep.loop provides it, else open), ``open``, ``closed``.
        episode_timeout_s: per-episode wall-clock limit, seconds; exceeding it is failure
            ``timeout``. Generous by default: on a loaded machine a tighter limit turns slow
            episodes into failures, and outcomes would depend on the load.
        out_dir: where to write results.json, per-episode records and the report with
            plots (None: nowhere).
        record_dir: write one Rerun recording per episode there (``<task>_<seed>.rrd``).
    """

    tasks: str | None = None
    seeds: int = 10
    split: str = "test"
    keypoints: str = "annotated"
    tracker: str | None = None
    disturb: bool = False
    backend: str = "casadi"
    workers: int | None = None
    ray_address: str | None = None
    loop: str = "auto"
    episode_timeout_s: float = 300.0
    out_dir: str | None = None
    record_dir: str | None = None

    def __post_init__(self) -> None:
        seed_range(self.seeds, self.split)  # raises on an empty or oversized range
        if self.keypoints not in KEYPOINT_MODES:
            raise BenchInputError(f"--keypoints must be one of {KEYPOINT_MODES}")
        if self.split not in SPLITS:
            raise BenchInputError(f"--split must be one of {SPLITS}")
        if self.workers is not None and self.workers < 1:
            raise BenchInputError(f"--workers must be >= 1, got {self.workers}")
        if not self.episode_timeout_s > 0:
            raise BenchInputError(
                f"--episode-timeout must be > 0 seconds, got {self.episode_timeout_s}"
            )
        if self.loop not in LOOPS:
            raise BenchInputError(f"--loop must be one of {LOOPS}, got {self.loop!r}")


@dataclass(frozen=True)
class BenchResult:
    """The aggregated report (see :mod:`rekep.bench_tasks.aggregate`) and every record."""

    report: dict[str, Any]
    records: list[dict[str, Any]]


def _registered_tasks() -> list[str]:
    from rekep.sim.tasks.registry import TASKS

    return list(TASKS)


def _check_backend(backend: str) -> None:
    from solvers.subgoal import SUBGOAL_BACKENDS

    if backend not in SUBGOAL_BACKENDS:
        raise BenchInputError(
            f"unknown solver backend {backend!r}; choose from {sorted(SUBGOAL_BACKENDS)}"
        )


def prepare(
    config: BenchConfig, known_tasks: Sequence[str] | None = None
) -> tuple[list[EpisodeSpec], dict[str, Any]]:
    """Validate against the registry and return (specs, the report's ``config`` block)."""
    names = parse_task_names(
        config.tasks, _registered_tasks() if known_tasks is None else known_tasks
    )
    seeds = seed_range(config.seeds, config.split)
    _check_backend(config.backend)
    specs = plan_episodes(
        names, seeds, keypoint_mode=config.keypoints, backend=config.backend,
        tracker=config.tracker, disturb=config.disturb, out_dir=config.out_dir,
        record_dir=config.record_dir,
    )  # fmt: skip
    workers = config.workers or os.cpu_count() or 1
    block = {
        "tasks": names,
        "seeds": config.seeds,
        "split": config.split,
        "seed_first": seeds[0],
        "seed_last": seeds[-1],
        "keypoints": config.keypoints,
        "tracker": config.tracker,
        "disturb": config.disturb,
        "backend": config.backend,
        "loop": config.loop,
        "runner": "local" if config.ray_address is None else "ray",
        "workers": workers,
        "ray_address": config.ray_address,
        "episode_timeout_s": config.episode_timeout_s,
    }
    return specs, block


def run_benchmark(
    config: BenchConfig,
    *,
    episode_fn: EpisodeFn | None = None,
    known_tasks: Sequence[str] | None = None,
    on_done: OnDone | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> BenchResult:
    """Run the benchmark; every planned episode has a record, crashed ones included.

    Args:
        config: what to run.
        episode_fn: override the episode function (module level, picklable); default: the
            one :func:`~rekep.bench_tasks.episodes.resolve_loop` picks for ``config.loop``.
        known_tasks: the valid task names (default: the simulation registry).
        on_done: called with each record as it completes.
        on_planned: called once with the number of episodes, before any runs.

    Raises:
        BenchInputError: bad input, before anything runs (incl. an unreachable Ray address).
    """
    specs, block = prepare(config, known_tasks)
    if episode_fn is None:
        block["loop"], episode_fn = resolve_loop(config.loop)
        validate_for_loop(block["loop"], specs[0])
    else:
        block["loop"] = getattr(episode_fn, "__name__", "custom")
    if on_planned is not None:
        on_planned(len(specs))
    if config.disturb and block["loop"] == "open":
        logger.warning("--disturb is recorded, but the open loop does not arm disturbances")
    if config.out_dir is not None:
        on_done = _saving(config.out_dir, on_done)
    if config.ray_address is None:
        records = run_local(
            specs, episode_fn, workers=block["workers"],
            timeout_s=config.episode_timeout_s, on_done=on_done,
        )  # fmt: skip
    else:
        from rekep.bench_tasks.ray_runner import run_ray

        records = run_ray(
            specs, episode_fn, address=config.ray_address, num_cpus=block["workers"],
            timeout_s=config.episode_timeout_s, on_done=on_done,
        )  # fmt: skip
    report = aggregate(records, block)
    if config.out_dir is not None:
        write_results(config.out_dir, report, records)
    return BenchResult(report, records)


def _saving(out_dir: str, on_done: OnDone | None) -> OnDone:
    """``on_done`` that first saves the record (:func:`~rekep.bench_tasks.report.keep_as_done`)."""
    (Path(out_dir) / PARTIAL).unlink(missing_ok=True)  # a previous run's leftovers

    def done(record: dict[str, Any]) -> None:
        keep_as_done(out_dir, record)
        if on_done is not None:
            on_done(record)

    return done
