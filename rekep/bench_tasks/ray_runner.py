"""Run the same episodes as Ray remote tasks, on a local Ray instance or an existing
cluster, one record per episode.

Each task runs :func:`~rekep.bench_tasks.records.execute_episode` (so exceptions and the
soft timeout are handled exactly as in the local runner). At most as many tasks as the
cluster has CPUs are in flight, so a task starts about when it is submitted and its hard
deadline (``timeout_s + grace_s`` after submission) is meaningful: past it the task is
force-cancelled and recorded as a timeout. A dead worker (``WorkerCrashedError``) is
recorded as ``"crash: ..."``; tasks are never retried (``max_retries=0``).

An unreachable ``address`` is detected before ``ray.init`` (a TCP probe, since ``ray.init``
retries for minutes) and raised as :class:`ClusterUnreachableError`.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rekep.availability import require
from rekep.bench_tasks.local_runner import OnDone, default_grace_s
from rekep.bench_tasks.records import EpisodeFn, execute_episode, failure_record
from rekep.bench_tasks.spec import BenchInputError, EpisodeSpec

logger = logging.getLogger(__name__)

LOCAL = "local"
"""The ``address`` meaning: start a private local Ray instance."""

PROBE_TIMEOUT_S = 5.0


class ClusterUnreachableError(BenchInputError):
    """The Ray cluster at the given address could not be reached."""


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; None for ``auto``."""
    text = address.strip()
    if text == "auto":
        return None
    if "://" in text:
        text = text.split("://", 1)[1]
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterUnreachableError(
            f"Ray address {address!r} is not 'host:port', 'ray://host:port' or 'auto'"
        )
    return host.strip("[]"), int(port)


def probe_address(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise :class:`ClusterUnreachableError` unless a TCP connection to ``address`` opens."""
    target = _host_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClusterUnreachableError(
            f"cannot reach a Ray cluster at {address!r} ({exc}); start one with "
            f"`ray start --head` and pass its address, or use --ray without an address "
            f"for a local instance"
        ) from exc


@contextmanager
def ray_session(address: str = LOCAL, num_cpus: int | None = None) -> Iterator[Any]:
    """Yield the ``ray`` module connected to ``address`` (or a local instance with
    ``num_cpus``). An already initialized Ray is reused and left running; one started
    here is shut down on exit."""
    ray = require("ray", "--ray")
    if ray.is_initialized():
        yield ray
        return
    try:
        if address == LOCAL:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            probe_address(address)
            ray.init(address=address, log_to_driver=False)
    except ClusterUnreachableError:
        raise
    except Exception as exc:
        raise ClusterUnreachableError(
            f"ray.init failed for address {address!r}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def run_ray(
    specs: Sequence[EpisodeSpec],
    episode_fn: EpisodeFn,
    *,
    address: str = LOCAL,
    num_cpus: int | None = None,
    timeout_s: float = 120.0,
    grace_s: float | None = None,
    on_done: OnDone | None = None,
) -> list[dict[str, Any]]:
    """Run every spec as a Ray task; one record per spec, in spec order.

    Args:
        specs: the episodes.
        episode_fn: module-level episode function.
        address: ``"local"`` (a private instance with ``num_cpus``), ``"auto"``,
            ``"host:port"`` or ``"ray://host:port"``; ignored when Ray is already initialized.
        num_cpus: CPUs of a local instance (default: all).
        timeout_s: per-episode time limit, seconds.
        grace_s: extra seconds before a task is force-cancelled.
        on_done: called with each record as it completes.

    Raises:
        ClusterUnreachableError: the address cannot be reached or ``ray.init`` fails.
    """
    grace = default_grace_s(timeout_s) if grace_s is None else grace_s
    notify = on_done or (lambda record: None)
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1, max_retries=0)(execute_episode)
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        results: dict[int, dict[str, Any]] = {}
        queue = list(range(len(specs)))
        running: dict[Any, tuple[int, float]] = {}
        while queue or running:
            while queue and len(running) < slots:
                i = queue.pop(0)
                ref = task.remote(episode_fn, specs[i], timeout_s, None)
                running[ref] = (i, time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                i, t0 = running.pop(ref)
                results[i] = _collect(ray, ref, specs[i], time.monotonic() - t0)
                notify(results[i])
            _cancel_overdue(ray, running, specs, timeout_s + grace, results, notify)
    return [results[i] for i in range(len(specs))]


def _collect(ray: Any, ref: Any, spec: EpisodeSpec, elapsed_s: float) -> dict[str, Any]:
    try:
        return dict(ray.get(ref))
    except ray.exceptions.WorkerCrashedError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return failure_record(spec, f"crash: worker process died ({first})", elapsed_s)
    except Exception as exc:
        return failure_record(spec, f"crash: {type(exc).__name__}: {exc}", elapsed_s)


def _cancel_overdue(
    ray: Any,
    running: dict[Any, tuple[int, float]],
    specs: Sequence[EpisodeSpec],
    limit_s: float,
    results: dict[int, dict[str, Any]],
    notify: Callable[[dict[str, Any]], None],
) -> None:
    now = time.monotonic()
    for ref, (i, t0) in list(running.items()):
        if now - t0 > limit_s:
            ray.cancel(ref, force=True)
            del running[ref]
            results[i] = failure_record(
                specs[i], f"timeout: no result after {limit_s:g} s (task cancelled)", limit_s
            )
            notify(results[i])
