"""Recovery from an object leaving the hand when the tracker's positions go stale: the loop
asks the tracker to re-detect the object and never grasps before it is found again."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rekep.keypoint_set import Keypoints
from rekep.loop import ClosedLoop, FakeRobot
from rekep.observation import RGBD
from rekep.program import ConstraintProgram
from rekep.tracking.base import TrackResult


class KnockingRobot(FakeRobot):
    """Puts the held object (id 1) back on the table 5 cm away 0.8 s after catching it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caught_at: float | None = None
        self.knocked = False

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        if self.held_object is not None and self.caught_at is None:
            self.caught_at = self.time_s
        if not self.knocked and self.caught_at is not None and self.time_s > self.caught_at + 0.8:
            self.knocked = True
            pts = self.keypoint_positions()
            self.displace_object(1, [0.05, 0.05, 0.05 - pts[0, 2]])


class StaleTracker:
    """Like an image tracker that lost a knocked-out object: after ``knocked()`` its held
    points keep the pre-knock motion (they follow the hand) until :meth:`redetect` is
    called; the re-detection then succeeds ``delay_s`` later."""

    name = "stale"
    privileged = False
    needs_images = True

    def __init__(self, robot: KnockingRobot, delay_s: float) -> None:
        self.robot, self.delay_s = robot, delay_s
        self.calls: list[tuple[list[int], bool, float]] = []
        self.found_at: float | None = None
        self.grasp_targets: list[np.ndarray] = []
        self._last = np.zeros((0, 3))
        self._offset: np.ndarray | None = None

    def start(self, observation: RGBD, points_world: np.ndarray, time_s: float) -> None:
        self._last = np.asarray(points_world, dtype=np.float64).copy()

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        truth = self.robot.keypoint_positions()
        visible = np.ones(len(truth), dtype=bool)
        if self.robot.knocked and (self.found_at is None or time_s < self.found_at):
            if self._offset is None:  # stale: glued to the hand at the knock
                self._offset = self._last[:2] - self.robot.hand_pose()[:3, 3]
            pos = truth.copy()
            pos[:2] = self.robot.hand_pose()[:3, 3] + self._offset
            visible[:2] = not self.calls  # after the loop's re-detect request: lost
            self._last = np.where(visible[:, None], pos, self._last)
        else:
            self._last = truth
        return TrackResult(self._last.copy(), visible, time_s)

    def redetect(self, observation: RGBD, indices: list[int], *, stale: bool = False,
                 time_s: float = 0.0) -> TrackResult:  # fmt: skip
        self.calls.append((list(indices), stale, time_s))
        if self.found_at is None:
            self.found_at = time_s + self.delay_s
        return self.update(observation, time_s)


@pytest.mark.parametrize("delay_s", [0.0, 1.0])
def test_lost_hold_triggers_redetection_and_waits_for_it(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
    delay_s: float,
) -> None:
    robot = KnockingRobot(*scene, max_speed_m_s=0.5, max_speed_rad_s=2.0)
    tracker = StaleTracker(robot, delay_s)
    run = ClosedLoop(robot, tracker, pick_place, keypoints, make_config()).run()
    assert robot.knocked
    assert tracker.calls, "the loop never asked the tracker to re-detect the lost object"
    indices, stale, asked_at = tracker.calls[0]
    assert stale and 0 in indices
    acts = [t for t, action, stage, _ in run.events if action == "act" and stage == 1]
    assert len(acts) == 2  # the first grasp, then one re-grasp: no grasp of a stale position
    assert acts[1] >= asked_at + delay_s
    assert run.backtracks >= 1 and run.recoveries >= 1
    assert run.outcome == "success", run.reason


def test_object_never_found_ends_tracking_lost(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    robot = KnockingRobot(*scene, max_speed_m_s=0.5, max_speed_rad_s=2.0)
    tracker = StaleTracker(robot, delay_s=1e9)
    run = ClosedLoop(robot, tracker, pick_place, keypoints,
                     make_config(lost_timeout_s=1.0)).run()  # fmt: skip
    assert run.outcome == "tracking_lost", run.reason
    assert [e[1] for e in run.events].count("act") == 1  # no blind re-grasp


class EmptyingAtTheGoalRobot(KnockingRobot):
    """Knocks the held object away as it arrives within 2.5 cm of its goal (10 cm above
    keypoint 2); the fingers then close on nothing at their normal speed (4 ticks)."""

    def advance(self, seconds: float) -> None:
        FakeRobot.advance(self, seconds)
        goal = self.keypoint_positions()[2] + [0, 0, 0.1]
        if not self.knocked and self.held_object == 1 and (
                np.linalg.norm(self.keypoint_positions()[0] - goal) < 0.025):  # fmt: skip
            self.knocked, self._held = True, None  # no displace_object: it zeroes the width
            self._points[self._ids == 1] += [0.05, 0.05, 0.05 - self._points[0, 2]]


def test_no_decision_while_the_fingers_close_on_a_leaving_object(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    robot = EmptyingAtTheGoalRobot(*scene, max_speed_m_s=0.5, max_speed_rad_s=2.0)
    tracker = StaleTracker(robot, delay_s=0.0)  # its tracks stay glued to the hand
    run = ClosedLoop(robot, tracker, pick_place, keypoints, make_config()).run()
    actions = [(action, stage) for _, action, stage, _ in run.events]
    assert robot.knocked and ("backtrack", 2) in actions
    assert ("act", 2) not in actions[: actions.index(("backtrack", 2))]  # no release of nothing
    assert run.outcome == "success", run.reason


def test_a_regrasp_waits_for_the_fingers_to_open(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    robot = EmptyingAtTheGoalRobot(*scene, max_speed_m_s=0.5, max_speed_rad_s=2.0,
                                   gripper_speed_m_s=0.1)  # fmt: skip
    closed_at: list[float] = []
    command = robot.command_gripper

    def recorded(close: bool) -> None:
        if close:
            closed_at.append(robot.gripper_width())
        command(close)

    robot.command_gripper = recorded  # type: ignore[method-assign]
    run = ClosedLoop(robot, StaleTracker(robot, 0.0), pick_place, keypoints, make_config()).run()
    assert robot.knocked and len(closed_at) >= 2
    assert min(closed_at) >= 0.07  # the fake catches only with open fingers (slow: 0.8 s)
    assert run.outcome == "success", run.reason
