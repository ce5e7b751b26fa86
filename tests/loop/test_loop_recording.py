"""The loop tells a recorder every tick: hand, keypoints, events and each constraint's cost."""

from __future__ import annotations

from typing import Any

import numpy as np

from rekep.keypoint_set import Keypoints
from rekep.loop import ClosedLoop, FakeRobot, ScriptedTracker
from rekep.program import ConstraintProgram
from rekep.record.recorder import Recorder


class Spy(Recorder):
    def __init__(self) -> None:
        self.costs: list[dict[str, float]] = []
        self.stages: list[str] = []
        self.hands = 0
        self.times: list[float] = []

    def set_time(self, seconds: float) -> None:
        self.times.append(seconds)

    def log_hand(self, T_world_tcp: np.ndarray) -> None:
        self.hands += 1

    def log_stage(self, stage: int, event: str) -> None:
        self.stages.append(f"{stage} {event}")

    def log_constraint_costs(self, costs: Any) -> None:
        self.costs.append(dict(costs))


def test_every_tick_is_recorded_with_each_constraints_cost(
    fake: tuple[FakeRobot, ScriptedTracker], keypoints: Keypoints,
    pick_place: ConstraintProgram, make_config: Any,
) -> None:
    robot, tracker = fake
    spy = Spy()
    run = ClosedLoop(robot, tracker, pick_place, keypoints, make_config(), recorder=spy).run()
    assert run.outcome == "success", run.reason
    assert spy.hands == run.ticks and spy.times == sorted(spy.times)
    names = set().union(*spy.costs)
    assert {"stage1_subgoal_constraint1", "stage2_subgoal_constraint1",
            "stage2_path_constraint1"} <= names  # fmt: skip
    assert any(c.get("stage1_subgoal_constraint1", 1.0) < 0.02 for c in spy.costs)
    assert any(" advance" in line for line in spy.stages)
    assert spy.stages[-1].startswith("2 done")
