"""Human-readable table of a benchmark report, and writing results to a directory."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(report: Mapping[str, Any]) -> str:
    """The report as a fixed-width table, one row per task, then the overall lines."""
    header = (
        f"{'task':24s} {'eps':>4s} {'ok':>4s} {'rate':>6s} {'95% CI':>13s} "
        f"{'median s':>9s}  failures"
    )
    lines = [header, "-" * len(header)]
    for name, t in report["tasks"].items():
        low, high = t["ci95"]
        fails = ", ".join(f"{k} {v}" for k, v in t["failures"].items() if v) or "-"
        lines.append(
            f"{name:24s} {t['episodes']:>4d} {t['successes']:>4d} {t['success_rate']:>6.2f} "
            f"{f'[{low:.2f}, {high:.2f}]':>13s} {_num(t['episode_s_median'], '.1f'):>9s}  {fails}"
        )
    lines.append("-" * len(header))
    lat = report["latency_ms"]
    lines.append(f"mean_success {report['mean_success']:.3f}")
    back = report.get("backtracking")
    if back is not None:
        lines.append(
            f"backtracked episodes {back['episodes']}, recovered {back['recovered']} "
            f"({_num(back['recovered_rate'], '.2f')})"
        )
    if report.get("privileged"):
        lines.append("PRIVILEGED: the tracker read simulator ground truth (an upper bound)")
    lines.append(
        "latency ms (median): "
        + ", ".join(f"{m} {_num(v, '.1f')}" for m, v in lat.items())
        + f"; loop Hz (median): {_num(report['loop_hz_median'], '.1f')}"
    )
    cfg = report.get("config", {})
    lines.append(
        "config: " + ", ".join(f"{k}={cfg[k]}" for k in
                               ("loop", "keypoints", "tracker", "disturb", "backend", "split",
                                "seed_first", "seed_last", "runner") if k in cfg)
    )  # fmt: skip
    return "\n".join(lines)


def write_results(
    out_dir: str | Path, report: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> Path:
    """Write ``results.json`` (the report), ``episodes.jsonl`` (one record per line) and
    ``episodes/<task>/<seed>/record.json`` under ``out_dir``; returns results.json's path.
    The run's ``episodes.partial.jsonl`` (see :func:`keep_as_done`) is removed."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / "results.json"
    target.write_text(json.dumps(report, indent=2, allow_nan=False, default=str))
    with (root / "episodes.jsonl").open("w") as fh:
        for record in records:
            fh.write(json.dumps(record, default=str) + "\n")
            write_record(root, record)
    (root / PARTIAL).unlink(missing_ok=True)
    _write_report(root, report, records)
    return target


PARTIAL = "episodes.partial.jsonl"
"""Records appended as episodes finish; what survives an interrupted run (removed once
``episodes.jsonl`` is complete)."""


def write_record(root: Path, record: Mapping[str, Any]) -> None:
    """``<root>/episodes/<task>/<seed>/record.json`` for one record."""
    per = root / "episodes" / str(record["task"]) / str(record["seed"])
    per.mkdir(parents=True, exist_ok=True)
    (per / "record.json").write_text(json.dumps(record, indent=2, default=str))


def keep_as_done(out_dir: str | Path, record: Mapping[str, Any]) -> None:
    """Save a finished episode's record at once (an interrupted run keeps it): its
    ``record.json`` and a line of ``episodes.partial.jsonl``."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    write_record(root, record)
    with (root / PARTIAL).open("a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def _write_report(root: Path, report: Mapping[str, Any],
                  records: Sequence[Mapping[str, Any]]) -> None:  # fmt: skip
    """``report.md`` with PNG plots (needs matplotlib, extra ``viz``; skipped with a warning
    without it, the JSON results are written either way)."""
    from rekep.errors import MissingDependencyError
    from rekep.record.bench_report import write_bench_report

    episodes = [{"wall_time_s": r.get("episode_s")} for r in records]
    try:
        write_bench_report(report, root, episodes)
    except MissingDependencyError as exc:
        logger.warning("no report.md: %s", exc)
