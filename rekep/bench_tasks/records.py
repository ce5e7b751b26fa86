"""The per-episode record: what an episode function returns, normalized, plus the guard
that runs an episode function in a worker and always returns a record.

An episode function is ``episode_fn(spec: EpisodeSpec) -> Mapping`` at module level (so
it pickles by reference into worker processes and Ray tasks). The mapping must hold
``success`` (bool) and ``failure`` (str or None); it may hold ``latency_ms`` (module ->
list of milliseconds, modules from :data:`LATENCY_MODULES`), ``loop_hz`` (float) and any
other JSON-friendly details (kept under ``details``).

A normalized record (:func:`make_record`) is a JSON-friendly dict::

    {"task", "seed", "success", "failure" (raw string or None), "category" (see
     rekep.bench_tasks.failures), "episode_s" (worker wall seconds), "latency_ms"
     {module: [ms, ...]}, "loop_hz" (float or None), "details" {...}}
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rekep.bench_tasks.failures import categorize_failure
from rekep.bench_tasks.spec import EpisodeSpec

logger = logging.getLogger(__name__)

LATENCY_MODULES = ("proposal", "tracking", "subgoal", "path")
"""Modules whose per-call latencies the benchmark reports (milliseconds)."""

EpisodeFn = Callable[[EpisodeSpec], Mapping[str, Any]]

_MAX_REASON_CHARS = 300


class EpisodeTimeout(BaseException):
    """Raised inside a worker when an episode exceeds its time limit (a BaseException so
    library code catching Exception does not swallow it)."""


def _floats(values: Any) -> list[float]:
    if values is None:
        return []
    seq = values if isinstance(values, list | tuple) else [values]
    out = [float(v) for v in seq if v is not None]
    return [v for v in out if math.isfinite(v)]


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars/arrays, tuples, sets and paths turned into plain JSON
    types (recursively); other unknown objects become their ``str``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return jsonable(value.tolist())
    return str(value)


def make_record(spec: EpisodeSpec, raw: Mapping[str, Any], episode_s: float) -> dict[str, Any]:
    """Normalize an episode function's result (see the module docstring)."""
    failure = raw.get("failure")
    failure = None if failure is None else str(failure)
    success = bool(raw.get("success")) and failure is None
    if not success and failure is None:
        failure = "unknown: the episode reported no success and no failure reason"
    latency_in = raw.get("latency_ms") or {}
    latency = {m: _floats(latency_in.get(m)) for m in LATENCY_MODULES}
    hz = raw.get("loop_hz")
    known = {"success", "failure", "latency_ms", "loop_hz", "task", "seed"}
    return {
        "task": spec.task,
        "seed": spec.seed,
        "success": success,
        "failure": failure,
        "category": categorize_failure(failure),
        "episode_s": float(episode_s),
        "latency_ms": latency,
        "loop_hz": None if hz is None or not math.isfinite(float(hz)) else float(hz),
        "details": jsonable({k: v for k, v in raw.items() if k not in known}),
    }


def failure_record(
    spec: EpisodeSpec, reason: str, episode_s: float = 0.0, **details: Any
) -> dict[str, Any]:
    """A failed record with ``reason`` (e.g. ``"crash: worker process died"``)."""
    raw = {"success": False, "failure": reason[:_MAX_REASON_CHARS], **details}
    return make_record(spec, raw, episode_s)


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`EpisodeTimeout` after ``seconds`` (SIGALRM; only in a POSIX main
    thread, elsewhere a no-op and the runner's hard deadline applies)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise EpisodeTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def execute_episode(
    episode_fn: EpisodeFn,
    spec: EpisodeSpec,
    timeout_s: float | None,
    marker: str | None = None,
) -> dict[str, Any]:
    """Run one episode in this process and return its record; never raises an Exception.

    Args:
        episode_fn: the episode function (module level, picklable).
        spec: the episode.
        timeout_s: seconds before the episode is stopped with failure ``"timeout"``.
        marker: a file written when the episode starts (``"<pid> <unix time>"``), so the
            local runner knows which episodes were in flight when a worker died.
    """
    if marker is not None:
        Path(marker).write_text(f"{os.getpid()} {time.time()}")
    started = time.perf_counter()
    try:
        with _time_limit(timeout_s):
            raw = episode_fn(spec)
        return make_record(spec, raw, time.perf_counter() - started)
    except EpisodeTimeout:
        return failure_record(
            spec, f"timeout: the episode ran longer than {timeout_s:g} s",
            time.perf_counter() - started,
        )  # fmt: skip
    except Exception as exc:
        logger.debug("episode %s crashed", spec.key, exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else ""
        return failure_record(
            spec,
            f"crash: {type(exc).__name__}: {first}",
            time.perf_counter() - started,
            traceback=traceback.format_exc(limit=20),
        )
