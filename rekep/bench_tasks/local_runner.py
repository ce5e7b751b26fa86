"""Run episodes in local worker processes (``concurrent.futures.ProcessPoolExecutor``,
spawn context), one record per episode whatever happens.

Failure handling:

- an exception inside an episode is caught in the worker (``"crash: <Type>: ..."``);
- an episode longer than ``timeout_s`` is stopped in the worker (``"timeout: ..."``); one
  that does not return ``grace_s`` later (stuck in native code) has its pool's processes
  killed and is recorded as a timeout;
- a worker process that dies (``os._exit``, a segfault, the OOM killer) breaks the pool.
  Each episode writes a start marker, so the runner knows which episodes were in flight:
  those are re-run one per fresh single-worker pool (the one that dies again is recorded
  as ``"crash: worker process died"``, with ``(exit code N)`` when the pool saw it), and
  the episodes that had not started go to a new pool. No episode is dropped.

Interrupted (Ctrl-C, or SIGTERM through ``rekep bench tasks``), the runner kills its worker
processes before it re-raises: no episode keeps running orphaned.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures.thread import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rekep.bench_tasks.records import EpisodeFn, execute_episode, failure_record
from rekep.bench_tasks.spec import EpisodeSpec

logger = logging.getLogger(__name__)

OnDone = Callable[[dict[str, Any]], None]


def default_grace_s(timeout_s: float) -> float:
    """Extra seconds past ``timeout_s`` before a worker is killed (covers process start)."""
    return max(15.0, 0.25 * timeout_s)


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    # No public API to stop a running task before Python 3.14: kill the pool's processes.
    for proc in list(getattr(executor, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()


def _exit_note(exitcodes: list[int | None]) -> str:
    codes = [c for c in exitcodes if c not in (None, 0)]
    if not codes:
        return "worker process died"
    code = codes[0]
    return (
        f"worker process died (exit code {code})"
        if code > 0
        else (f"worker process died (signal {-code})")
    )


def run_isolated(
    episode_fn: EpisodeFn, spec: EpisodeSpec, timeout_s: float, grace_s: float
) -> dict[str, Any]:
    """Run one episode alone in a fresh single-worker pool; crash and timeout become records."""
    ctx = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    started = time.perf_counter()
    try:
        future = executor.submit(execute_episode, episode_fn, spec, timeout_s, None)
        procs = list(getattr(executor, "_processes", {}).values())
        try:
            return future.result(timeout=timeout_s + grace_s)
        except FuturesTimeout:
            _kill_workers(executor)
            return failure_record(
                spec, f"timeout: no result after {timeout_s + grace_s:g} s (worker killed)",
                time.perf_counter() - started,
            )  # fmt: skip
        except BrokenProcessPool:
            for proc in procs:
                proc.join(timeout=5.0)
            note = _exit_note([p.exitcode for p in procs])
            return failure_record(spec, f"crash: {note}", time.perf_counter() - started)
        except Exception as exc:  # e.g. the episode function or spec does not pickle
            return failure_record(
                spec, f"crash: {type(exc).__name__}: {exc}", time.perf_counter() - started
            )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _pool_round(
    episode_fn: EpisodeFn,
    specs: dict[int, EpisodeSpec],
    workers: int,
    timeout_s: float,
    grace_s: float,
    results: dict[int, dict[str, Any]],
    on_done: OnDone,
) -> tuple[list[int], list[int]]:
    """One pool over ``specs``; fills ``results``. Returns (in flight when the pool broke,
    not started when it broke)."""
    ctx = multiprocessing.get_context("spawn")
    broken: list[int] = []
    with tempfile.TemporaryDirectory(prefix="rekep-bench-markers-") as marks:
        marker = {i: os.path.join(marks, str(i)) for i in specs}
        executor = ProcessPoolExecutor(max_workers=min(workers, len(specs)), mp_context=ctx)
        try:
            futures: dict[Future[dict[str, Any]], int] = {
                executor.submit(execute_episode, episode_fn, spec, timeout_s, marker[i]): i
                for i, spec in specs.items()
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except BrokenProcessPool:
                        broken.append(i)
                        continue
                    except Exception as exc:  # pickling and the like: this episode only
                        results[i] = failure_record(specs[i], f"crash: {type(exc).__name__}: {exc}")
                    on_done(results[i])
                _kill_overdue(executor, specs, pending, futures, marker, timeout_s + grace_s,
                              results, on_done)  # fmt: skip
        except BaseException:  # interrupted: the running episodes must not outlive us
            _kill_workers(executor)
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        in_flight = [i for i in broken if i not in results and Path(marker[i]).exists()]
        not_started = [i for i in broken if i not in results and not Path(marker[i]).exists()]
    return in_flight, not_started


def _kill_overdue(
    executor: ProcessPoolExecutor,
    specs: dict[int, EpisodeSpec],
    pending: set[Future[dict[str, Any]]],
    futures: dict[Future[dict[str, Any]], int],
    marker: dict[int, str],
    limit_s: float,
    results: dict[int, dict[str, Any]],
    on_done: OnDone,
) -> None:
    """Record as timeouts the episodes running longer than ``limit_s`` and kill the pool."""
    now = time.time()
    overdue = []
    for fut in pending:
        i = futures[fut]
        if i in results:
            continue
        try:
            started = float(Path(marker[i]).read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if now - started > limit_s:
            overdue.append(i)
    if not overdue:
        return
    for i in overdue:
        results[i] = failure_record(
            specs[i], f"timeout: no result after {limit_s:g} s (worker killed)", limit_s
        )
        on_done(results[i])
    logger.warning("killing the worker pool: %d episode(s) overdue", len(overdue))
    _kill_workers(executor)


def run_local(
    specs: Sequence[EpisodeSpec],
    episode_fn: EpisodeFn,
    *,
    workers: int | None = None,
    timeout_s: float = 120.0,
    grace_s: float | None = None,
    on_done: OnDone | None = None,
) -> list[dict[str, Any]]:
    """Run every spec in local worker processes; one record per spec, in spec order.

    Args:
        specs: the episodes.
        episode_fn: module-level episode function (see :mod:`rekep.bench_tasks.records`).
        workers: worker processes (default: ``os.cpu_count()``).
        timeout_s: per-episode time limit, seconds.
        grace_s: extra seconds before a stuck worker is killed (default
            :func:`default_grace_s`).
        on_done: called with each record as it completes (progress bars).
    """
    workers = max(1, workers or os.cpu_count() or 1)
    grace = default_grace_s(timeout_s) if grace_s is None else grace_s
    notify = on_done or (lambda record: None)
    results: dict[int, dict[str, Any]] = {}
    todo = dict(enumerate(specs))
    isolate: list[int] = []
    while todo:
        in_flight, not_started = _pool_round(
            episode_fn, todo, workers, timeout_s, grace, results, notify
        )
        if in_flight or not_started:
            logger.warning(
                "a worker process died: re-running %d in-flight episode(s) one per process, "
                "%d unstarted in a new pool", len(in_flight), len(not_started),
            )  # fmt: skip
        isolate += in_flight
        if not_started and not in_flight:  # broke before any episode started: isolate all
            isolate += not_started
            not_started = []
        todo = {i: specs[i] for i in not_started}
    if isolate:
        with ThreadPoolExecutor(max_workers=workers) as threads:
            runs = {i: threads.submit(run_isolated, episode_fn, specs[i], timeout_s, grace)
                    for i in isolate}  # fmt: skip
            for i, fut in runs.items():
                results[i] = fut.result()
                notify(results[i])
    return [results[i] for i in range(len(specs))]
