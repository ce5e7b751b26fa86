"""The result of one bimanual closed-loop episode.

:class:`BimanualLoopResult` is a :class:`rekep.loop.result.ClosedLoopResult` (same fields,
same ``to_dict`` keys, so the benchmark aggregates single-arm and bimanual episodes alike)
that also says which arms ran (``to_dict()["arms"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rekep.loop.result import ClosedLoopResult


@dataclass(frozen=True)
class BimanualLoopResult(ClosedLoopResult):
    """One bimanual closed-loop episode (see :class:`~rekep.loop.result.ClosedLoopResult`:
    ``failure`` is ``"<terminal>: <reason>"`` or ``"task_check: ..."``, ``privileged`` is
    True when the tracker read simulator ground truth, ``loop_hz_median`` is 1 / median
    planner + tracker time per tick, rendering and physics excluded)."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "arms": ["left", "right"]}
