"""``rekep bench tasks``: the argparse glue. Register with ``add_tasks_parser(subparsers)``
(the ``bench`` command's sub-parsers); the parser's ``func`` is :func:`run_tasks`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from rekep.errors import ConfigurationError


def add_tasks_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tasks`` (the task-suite benchmark) to the ``bench`` sub-parsers."""
    p = subparsers.add_parser("tasks", help="task-suite success benchmark (local or Ray)")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per task (default: 10)")
    p.add_argument(
        "--split",
        choices=["train", "test"],
        default="test",
        help="test: seeds 1000.. (default); train: seeds 0..",
    )
    p.add_argument(
        "--keypoints",
        choices=["annotated", "proposed"],
        default="annotated",
        help="annotated: the tasks' anchors (default); proposed: from RGB-D",
    )
    p.add_argument(
        "--tracker",
        default=None,
        help="tracker for the closed loop (recorded; the open loop ignores it)",
    )
    p.add_argument("--disturb", action="store_true", help="arm the tasks' disturbances")
    p.add_argument("--backend", default="casadi", help="sub-goal solver backend")
    p.add_argument(
        "--loop",
        choices=["auto", "open", "closed"],
        default="auto",
        help="auto (default): closed when rekep.loop provides run_closed_loop_episode, else open",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes / local Ray CPUs (default: all cores)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run as Ray tasks: a local instance, or the cluster at ADDRESS",
    )
    p.add_argument(
        "--episode-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="per-episode wall-clock limit in seconds, against hung or stalled workers "
        "(default: 300; the loop's own limits are in robot time)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write results.json and per-episode records to DIR",
    )
    p.add_argument(
        "--record", default=None, metavar="DIR",
        help="write a Rerun recording of every episode to DIR/<task>_<seed>.rrd",
    )  # fmt: skip
    p.add_argument("--quiet", dest="bench_quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_tasks)
    return p  # fmt: skip


def run_tasks(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed arguments; print table or JSON. Exit code 0 when it
    ran, 2 for bad input (message on stderr), 130 when interrupted (Ctrl-C or SIGTERM)."""
    from rekep.bench_tasks.bench import BenchConfig, run_benchmark
    from rekep.bench_tasks.report import format_table

    try:
        config = BenchConfig(
            tasks=args.tasks, seeds=args.seeds, split=args.split, keypoints=args.keypoints,
            tracker=args.tracker, disturb=args.disturb, backend=args.backend,
            workers=args.workers, ray_address=args.ray, loop=args.loop,
            episode_timeout_s=args.episode_timeout, out_dir=args.out, record_dir=args.record,
        )  # fmt: skip
        quiet = args.bench_quiet or getattr(args, "quiet", False) or not sys.stderr.isatty()
        with _Progress(enabled=not quiet) as bar, _exit_on_sigterm():
            result = run_benchmark(config, on_done=bar.done, on_planned=bar.planned)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit):
        kept = f"; finished episodes are in {args.out}/episodes.partial.jsonl" if args.out else ""
        print(f"interrupted: workers stopped{kept}", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result.report, indent=2, allow_nan=False))
    else:
        print(format_table(result.report))
    if args.out:
        print(f"results and report: {args.out}/results.json, {args.out}/report.md",
              file=sys.stderr)  # fmt: skip
    return 0


@contextlib.contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C does (the runners then stop their workers) instead
    of killing this process alone and orphaning them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Progress:
    """A tqdm bar on stderr; a no-op when disabled or when tqdm is missing."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        self.enabled = enabled

    def __enter__(self) -> _Progress:
        return self

    def planned(self, total: int) -> None:
        if not self.enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, desc="episodes", unit="ep", file=sys.stderr)

    def done(self, record: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{record['task']}/{record['seed']}", refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
