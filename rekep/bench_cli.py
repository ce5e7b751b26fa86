"""``rekep bench solver [--json] [--backends ...] [--repeats N] [--warm-ticks N] [--quick]``
and ``rekep bench keypoints [--json] [--tasks ...] [--seeds N] [--extractors ...]
[--mask-sources ...] [--quick]``.

Hook into ``rekep/cli.py`` with ``add_bench_parser(sub)``; the parser's ``func`` runs it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

DEFAULT_BACKENDS = ("casadi", "scipy", "rekep_baseline")


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` command (with its ``solver`` sub-command) to ``subparsers``."""
    bench = subparsers.add_parser("bench", help="benchmarks")
    kinds = bench.add_subparsers(dest="bench_kind", required=True)
    solver = kinds.add_parser("solver", help="sub-goal and path solver benchmark")
    solver.add_argument("--json", action="store_true", help="print the report as JSON")
    solver.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS),
                        help="sub-goal backends to compare (default: %(default)s)")
    solver.add_argument("--repeats", type=int, default=1, help="cold solves per problem")
    solver.add_argument("--warm-ticks", type=int, default=3, help="warm solves per problem")
    solver.add_argument("--quick", action="store_true", help="2 problems, small sweep")
    solver.add_argument("--no-scaling", action="store_true", help="skip the scaling sweep")
    solver.set_defaults(func=run_bench_solver)
    add_keypoints_parser(kinds)
    from rekep.bench_tasks.cli import add_tasks_parser  # `rekep bench tasks`

    add_tasks_parser(kinds)
    return solver


def add_keypoints_parser(kinds: Any) -> argparse.ArgumentParser:
    """Add ``keypoints`` to the ``bench`` sub-commands ``kinds``."""
    from rekep.bench_keypoints import EXTRACTORS, SOURCES

    kp = kinds.add_parser("keypoints", help="keypoint proposal benchmark on task-suite scenes")
    kp.add_argument("--json", action="store_true", help="print the report as JSON")
    kp.add_argument("--tasks", nargs="+", default=None, help="tasks (default: all)")
    kp.add_argument("--seeds", type=int, default=3, help="test seeds per task (from 1000)")
    kp.add_argument("--extractors", nargs="+", default=list(EXTRACTORS), choices=EXTRACTORS,
                    help="feature extractors (default: %(default)s)")
    kp.add_argument("--mask-sources", nargs="+", default=list(SOURCES), choices=SOURCES,
                    help="mask sources (default: %(default)s)")
    kp.add_argument("--quick", action="store_true", help="first task, one seed")
    kp.set_defaults(func=run_bench_keypoints)
    return kp


def run_bench_keypoints(args: argparse.Namespace) -> int:
    """Run the keypoint benchmark and print a table (or JSON with ``--json``); exit code."""
    from rekep.bench_keypoints import format_table, run_keypoint_bench
    from rekep.errors import RekepError

    if args.seeds < 1:
        print("--seeds must be >= 1", file=sys.stderr)
        return 2
    try:
        report = run_keypoint_bench(
            tasks=args.tasks, seeds=args.seeds, extractors=tuple(args.extractors),
            sources=tuple(args.mask_sources), quick=args.quick,
        )  # fmt: skip
    except RekepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False, default=_jsonable))
    else:
        print(format_table(report))
    return 0


def run_bench_solver(args: argparse.Namespace) -> int:
    """Run the solver benchmark and print a table (or JSON with ``--json``); exit code."""
    from solvers.benchmark.runner import format_table, run_solver_bench

    if args.repeats < 1 or args.warm_ticks < 0:
        print("--repeats must be >= 1 and --warm-ticks >= 0", file=sys.stderr)
        return 2
    logging.getLogger("solvers.benchmark.runner").setLevel(logging.INFO)
    report = run_solver_bench(
        backends=tuple(args.backends), repeats=args.repeats, warm_ticks=args.warm_ticks,
        quick=args.quick, scaling=not args.no_scaling,
    )  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False, default=_jsonable))
    else:
        print(format_table(report))
    return 0


def _jsonable(value: Any) -> Any:
    return float(value) if hasattr(value, "__float__") else str(value)
