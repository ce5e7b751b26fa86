"""A Markdown report with PNG plots for a ``rekep bench tasks`` result.

``write_bench_report(results, out_dir, episodes)`` writes ``report.md``,
``success_per_task.png`` (success rate with 95 % intervals), ``latency_per_module.png``
(median milliseconds per module) and ``episode_seconds.png`` (distribution of episode wall
times, when per-episode records are given). ``results`` is the bench's JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rekep.availability import require
from rekep.errors import ConfigurationError


def _plt() -> Any:
    matplotlib = require("matplotlib", purpose="bench report plots")
    matplotlib.use("Agg")  # headless; never opens a window
    import matplotlib.pyplot as plt

    return plt


def _success_plot(tasks: Mapping[str, Any], path: Path) -> None:
    plt = _plt()
    names = list(tasks)
    rates = [float(tasks[n]["success_rate"]) for n in names]
    lows = [r - float(tasks[n]["ci95"][0]) for n, r in zip(names, rates, strict=True)]
    highs = [float(tasks[n]["ci95"][1]) - r for n, r in zip(names, rates, strict=True)]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(names) + 2), 3.6))
    ax.bar(names, rates, yerr=[lows, highs], capsize=3, color="#4477aa")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (95 % CI)")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latency_plot(latency: Mapping[str, float | None], path: Path) -> bool:
    known = {k: float(v) for k, v in latency.items() if v is not None}
    if not known:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(list(known), list(known.values()), color="#228833")
    ax.set_ylabel("median ms per call")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _episode_plot(seconds: Sequence[float], path: Path) -> bool:
    if not seconds:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(seconds, bins=min(20, max(5, len(seconds) // 2)), color="#aa3377")
    ax.set_xlabel("episode wall time, s")
    ax.set_ylabel("episodes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _table(tasks: Mapping[str, Any]) -> list[str]:
    lines = ["| task | episodes | successes | rate | 95 % CI | median s | failures |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, t in tasks.items():
        lo, hi = t["ci95"]
        fails = ", ".join(f"{k} {v}" for k, v in sorted(t.get("failures", {}).items())) or "-"
        median = t.get("episode_s_median")
        median_text = "-" if median is None else f"{median:.1f}"
        lines.append(f"| {name} | {t['episodes']} | {t['successes']} | {t['success_rate']:.2f} "
                     f"| {lo:.2f}-{hi:.2f} | {median_text} | {fails} |")  # fmt: skip
    return lines


def write_bench_report(results: Mapping[str, Any], out_dir: str | Path,
                       episodes: Sequence[Mapping[str, Any]] = ()) -> Path:  # fmt: skip
    """Write the report and plots into ``out_dir``; returns the path of ``report.md``."""
    tasks = results.get("tasks")
    if not isinstance(tasks, Mapping) or not tasks:
        raise ConfigurationError("bench results have no tasks to report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _success_plot(tasks, out / "success_per_task.png")
    lines = ["# rekep bench tasks", "",
             f"mean success: **{float(results.get('mean_success', 0.0)):.3f}**", ""]  # fmt: skip
    hz = results.get("loop_hz_median")
    if hz is not None:
        lines += [f"loop rate (planner + tracker per tick, median): {hz:.1f} Hz", ""]
    back = results.get("backtracking")
    if isinstance(back, Mapping) and back.get("episodes"):
        lines += [f"backtracked episodes: {back['episodes']}, recovered (still succeeded): "
                  f"{back['recovered']}", ""]  # fmt: skip
    if results.get("privileged"):
        lines += ["**privileged tracker** (simulator ground truth): an upper bound", ""]
    lines += _table(tasks) + ["", "![success per task](success_per_task.png)", ""]
    latency = results.get("latency_ms", {}) or {}
    if _latency_plot(latency, out / "latency_per_module.png"):
        lines += ["## Latency per module (median ms)", "",
                  "![latency per module](latency_per_module.png)", ""]  # fmt: skip
    seconds = [float(e["wall_time_s"]) for e in episodes if e.get("wall_time_s") is not None]
    if _episode_plot(seconds, out / "episode_seconds.png"):
        lines += ["## Episode wall time", "", "![episode seconds](episode_seconds.png)", ""]
    lines += ["## Configuration", "", "```json",
              json.dumps(results.get("config", {}), indent=2, default=str), "```", ""]  # fmt: skip
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
