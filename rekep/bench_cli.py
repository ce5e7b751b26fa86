"""``rekep bench solver [--json] [--backends ...] [--repeats N] [--warm-ticks N] [--quick]``.

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
    from rekep.bench_tasks.cli import add_tasks_parser  # `rekep bench tasks`

    add_tasks_parser(kinds)
    return solver


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
