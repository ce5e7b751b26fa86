"""Per-tick latencies and counters of the closed loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LATENCY_KEYS = ("tracking", "subgoal", "path", "total", "observe")
"""``total`` is planner + tracker per tick (observation rendering and physics excluded)."""


@dataclass
class TickStats:
    """Latency samples in seconds per key, and counts of ticks that held position."""

    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LATENCY_KEYS})
    infeasible_ticks: int = 0
    solver_exceptions: int = 0
    ik_failures: int = 0

    def add(self, key: str, seconds: float) -> None:
        self.samples.setdefault(key, []).append(float(seconds))

    def medians(self) -> dict[str, float]:
        """Median latency per key in milliseconds (keys without samples are left out)."""
        return {k: float(np.median(v)) * 1000.0 for k, v in self.samples.items() if v}

    def loop_hz_median(self) -> float:
        """1 / median planner + tracker time per tick, Hz (inf when there are no ticks)."""
        total = self.samples.get("total", [])
        if not total:
            return float("inf")
        return 1.0 / max(float(np.median(total)), 1e-9)
