"""The result of one closed-loop episode (fields compatible with
:class:`rekep.episode.EpisodeResult`, plus what the loop measured)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rekep.episode import StageReport, episode_record


@dataclass(frozen=True)
class ClosedLoopResult:
    """One closed-loop episode.

    ``failure`` is None on success, else ``"<terminal>: <reason>"`` (terminal in
    :data:`rekep.loop.stage_machine.OUTCOMES`, or ``task_check`` when the loop finished but
    the task's physical check failed). ``privileged`` is True when the tracker read
    simulator ground truth. ``loop_hz_median`` is 1 / median planner + tracker time per
    tick (rendering and physics excluded); ``latency_ms`` holds per-tick medians
    (``tracking``, ``subgoal``, ``path``, ``total``, ``observe``).
    """

    task: str
    seed: int
    success: bool
    failure: str | None
    stages: tuple[StageReport, ...]
    outcome: dict[str, Any]
    keypoint_mode: str
    grasp_mode: str
    num_keypoints: int
    wall_time_s: float
    tracker: str
    privileged: bool
    terminal: str
    loop_hz_median: float
    backtracks: int
    recovered: int
    latency_ms: dict[str, float] = field(default_factory=dict)
    ticks: int = 0
    robot_time_s: float = 0.0
    infeasible_ticks: int = 0
    solver_exceptions: int = 0
    disturbances: tuple[dict[str, Any], ...] = ()
    annotated_image_path: Path | None = None
    plan_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **episode_record(self),
            "tracker": self.tracker,
            "privileged": self.privileged,
            "terminal": self.terminal,
            "loop_hz_median": self.loop_hz_median,
            "backtracks": self.backtracks,
            "recovered": self.recovered,
            "latency_ms": dict(self.latency_ms),
            "ticks": self.ticks,
            "robot_time_s": self.robot_time_s,
            "infeasible_ticks": self.infeasible_ticks,
            "solver_exceptions": self.solver_exceptions,
            "disturbances": [dict(d) for d in self.disturbances],
        }

    def summary(self, with_outcome: bool = True) -> list[str]:
        """Human-readable lines: stages, disturbances, tracker and rate, then (with
        ``with_outcome``) the failure and last ``success: true|false``."""
        lines = [f"stage {r.number}: {r.event} [{r.seconds:.1f} s robot time]"
                 for r in self.stages]  # fmt: skip
        lines += [f"disturbance: {d['kind']} at stage {d['stage']}, t={d['time_s']:.1f} s, "
                  f"moved {d['displacement_m'] * 100:.1f} cm" for d in self.disturbances]
        note = " (privileged: debugging only)" if self.privileged else ""
        total = self.latency_ms.get("total", float("nan"))
        lines.append(f"tracker {self.tracker}{note}; {self.ticks} ticks, loop "
                     f"{self.loop_hz_median:.0f} Hz (planner + tracker median {total:.1f} ms); "
                     f"backtracks {self.backtracks}, recovered {self.recovered}")
        if with_outcome:
            lines += [f"failure: {self.failure}"] if self.failure else []
            lines.append(f"success: {'true' if self.success else 'false'}")
        return lines


def stage_reports(events: tuple[tuple[float, str, int, str], ...]) -> tuple[StageReport, ...]:
    """One :class:`StageReport` per stage completion, from the stage machine's events
    ((time_s, action, stage, reason)); ``seconds`` is robot time since the previous one."""
    reports: list[StageReport] = []
    last = 0.0
    for time_s, action, stage, reason in events:
        if action == "advance":
            reports.append(StageReport(stage, reason, time_s - last, True, None))
            last = time_s
    return tuple(reports)
