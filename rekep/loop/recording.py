"""What the closed loop sends to a recorder every tick (kept out of the engine)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from rekep.errors import RekepError
from rekep.planner import bind_constraints
from rekep.program import Stage
from rekep.record.recorder import Recorder

FloatArray = NDArray[np.float64]


def is_recording(recorder: Recorder) -> bool:
    """False for the no-op base recorder (skip work nobody will see)."""
    return type(recorder) is not Recorder


def stage_costs(stage: Stage, held: Sequence[int], ee: FloatArray, positions: FloatArray
                ) -> dict[str, float]:  # fmt: skip
    """Every sub-goal and path constraint of ``stage`` evaluated now (name -> cost); a
    constraint that fails to evaluate is left out (the stage machine reports it)."""
    costs: dict[str, float] = {}
    named = bind_constraints((*stage.subgoal_constraints, *stage.path_constraints), held)
    for name, f in named:
        try:
            costs[name] = float(f(ee, positions))
        except RekepError:
            continue
    return costs


def record_tick(recorder: Recorder, t: float, T: FloatArray, positions: FloatArray,
                object_ids: Sequence[int], new_events: Sequence[tuple[float, str, int, str]]
                ) -> None:  # fmt: skip
    """Hand pose, tracked keypoints and the stage machine's new events at time ``t``."""
    recorder.set_time(t)
    recorder.log_hand(T)
    recorder.log_keypoints(positions, object_ids=list(object_ids))
    for _, action, stage, reason in new_events:
        recorder.log_stage(stage, f"{action}: {reason}" if reason else action)
