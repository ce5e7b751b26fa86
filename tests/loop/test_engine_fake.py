"""The loop engine on the scripted FakeRobot with a hand-written program: success,
recovery from a knocked-out object, timeouts, and named failures that never execute an
unchecked solution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rekep.keypoint_set import Keypoints
from rekep.loop import ClosedLoop, FakeRobot, LoopRobot, ScriptedTracker
from rekep.program import ConstraintProgram, load_program

IMPOSSIBLE = '''
num_stages = 1
def stage1_subgoal_constraint1(end_effector, keypoints):
    return 5.0 + end_effector[2] * 0.0
grasp_keypoints = [-1]
release_keypoints = [-1]
'''


def test_fake_robot_implements_the_interface(fake: tuple[FakeRobot, ScriptedTracker]) -> None:
    assert isinstance(fake[0], LoopRobot)


def test_pick_and_place_reaches_success(
    fake: tuple[FakeRobot, ScriptedTracker], keypoints: Keypoints,
    pick_place: ConstraintProgram, make_config: Any,
) -> None:
    robot, tracker = fake
    run = ClosedLoop(robot, tracker, pick_place, keypoints, make_config()).run()
    assert run.outcome == "success", run.reason
    final = robot.keypoint_positions()
    # the measured end state satisfies the program's last sub-goal (within its tolerance)
    assert np.linalg.norm(final[0] - (final[2] + [0, 0, 0.1])) <= 0.02
    assert robot.held_object is None and robot.gripper_width() > 0.07
    assert run.backtracks == 0 and run.infeasible_ticks == 0
    assert {"tracking", "subgoal", "path", "total"} <= set(run.latency_ms)
    assert [e[1] for e in run.events] == ["act", "advance", "act", "advance", "done"]


class KnockingRobot(FakeRobot):
    """Knocks the held object back onto the table 0.8 s after it is first caught (while it
    is carried in stage 2)."""

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


def test_knocked_out_object_backtracks_and_recovers(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    robot = KnockingRobot(*scene, max_speed_m_s=0.5, max_speed_rad_s=2.0)
    run = ClosedLoop(robot, ScriptedTracker(robot.keypoint_positions), pick_place, keypoints,
                     make_config()).run()
    assert robot.knocked
    assert run.backtracks >= 1 and run.recoveries >= 1
    assert "backtrack" in [e[1] for e in run.events]
    assert run.outcome == "success", run.reason
    final = robot.keypoint_positions()
    assert np.linalg.norm(final[0] - (final[2] + [0, 0, 0.1])) <= 0.02


def test_slow_robot_times_out(
    make_fake: Any, keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any,
) -> None:
    robot, tracker = make_fake(max_speed_m_s=0.01)
    run = ClosedLoop(robot, tracker, pick_place, keypoints,
                     make_config(stage_timeout_s=2.0)).run()
    assert run.outcome == "timeout"
    assert 2.0 <= run.robot_time_s <= 2.5


def test_infeasible_solutions_are_never_executed(
    fake: tuple[FakeRobot, ScriptedTracker], keypoints: Keypoints, make_config: Any,
) -> None:
    robot, tracker = fake
    program = load_program(IMPOSSIBLE, num_keypoints=3)
    run = ClosedLoop(robot, tracker, program, keypoints, make_config()).run()
    assert run.outcome == "infeasible"
    assert run.infeasible_ticks >= 3
    assert robot.commands == []  # the arm held still


def test_missed_grasp_is_retried_then_named(
    make_fake: Any, keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any,
) -> None:
    robot, tracker = make_fake(grasp_radius_m=0.001)
    run = ClosedLoop(robot, tracker, pick_place, keypoints,
                     make_config(max_primitive_attempts=2)).run()
    assert run.outcome == "grasp_missed"
    assert [e[1] for e in run.events].count("retry") == 1


def test_lost_tracks_end_the_episode(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    robot = FakeRobot(*scene, max_speed_m_s=0.5)
    lost = ScriptedTracker(robot.keypoint_positions,
                           lost=lambda t: np.array([False, False, t > 0.3]))
    run = ClosedLoop(robot, lost, pick_place, keypoints, make_config(lost_timeout_s=0.5)).run()
    assert run.outcome == "tracking_lost"


def test_a_hidden_static_target_is_not_lost_and_the_task_succeeds(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    # the same script as above, but the tracker reports the target behind something
    robot = FakeRobot(*scene, max_speed_m_s=0.5)
    hidden = ScriptedTracker(robot.keypoint_positions, hidden=True,
                             lost=lambda t: np.array([False, False, t > 0.3]))
    run = ClosedLoop(robot, hidden, pick_place, keypoints, make_config(lost_timeout_s=0.5)).run()
    assert run.outcome == "success", run.reason
    assert run.robot_time_s > 0.5 + 0.3  # it did stay hidden past the lost timeout


def test_solver_exceptions_are_caught_and_counted(
    fake: tuple[FakeRobot, ScriptedTracker], keypoints: Keypoints,
    pick_place: ConstraintProgram, make_config: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("solver blew up")

    monkeypatch.setattr("rekep.loop.engine.plan_stage", broken)
    robot, tracker = fake
    run = ClosedLoop(robot, tracker, pick_place, keypoints, make_config()).run()
    assert run.outcome == "solver_error" and "blew up" in run.reason
    assert run.solver_exceptions >= 3 and robot.commands == []


class ReachLimitedRobot(FakeRobot):
    """Has no IK solution for any pose farther than 5 cm from the start (the edge of its
    reach), like an arm asked to go where it cannot."""

    def inverse_kinematics(self, T_world_tcp: Any, q_seed: Any) -> Any:
        start = np.array([0.4, 0.0, 0.4])
        if np.linalg.norm(np.asarray(T_world_tcp)[:3, 3] - start) > 0.05:
            return None
        return super().inverse_kinematics(T_world_tcp, q_seed)


def test_a_hand_no_ik_can_move_ends_infeasible_instead_of_waiting_for_the_timeout(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    points, object_ids, T_start = scene
    robot = ReachLimitedRobot(points, object_ids, T_start, max_speed_m_s=0.5)
    tracker = ScriptedTracker(robot.keypoint_positions)
    config = make_config(stage_timeout_s=30.0)
    run = ClosedLoop(robot, tracker, pick_place, keypoints, config).run()
    assert run.outcome == "infeasible" and "no IK solution" in run.reason, run.reason
    assert run.ik_failures > 0
    # it stopped after infeasible_timeout_s of a stuck hand, long before the stage timeout
    assert run.robot_time_s < config.infeasible_timeout_s + 3.0
    assert all(np.linalg.norm(c[:3] - [0.4, 0.0, 0.4]) <= 0.05 + 1e-9 for c in robot.commands)


class ClosingRecorder(FakeRobot):
    """Records the TCP pose each time the gripper starts closing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed_at: list[np.ndarray] = []

    def command_gripper(self, close: bool) -> None:
        if close:
            self.closed_at.append(self.hand_pose())
        super().command_gripper(close)


def test_a_grasp_on_an_edge_keypoint_closes_centred_and_the_stage_still_advances(
    keypoints: Keypoints, pick_place: ConstraintProgram, make_config: Any, scene: Any,
) -> None:
    """Keypoint 0 sits on the edge of a 4.5 cm wide bar (its middle 2.2 cm away in x): the
    fingers close on the bar's middle, and the grasp stage's sub-goal (hand at keypoint 0,
    tolerance 2 cm) is measured where the solved pose put the hand, so the stage acts."""
    points, ids, T0 = scene
    robot = ClosingRecorder(points, ids, T0, max_speed_m_s=0.5, max_speed_rad_s=2.0,
                            grasp_radius_m=0.05)  # fmt: skip
    rng = np.random.default_rng(0)
    n = 2000
    middle = points[0] + np.array([-0.022, 0.0, 0.0])
    bar = np.c_[rng.uniform(-0.0225, 0.0225, n), rng.uniform(-0.1, 0.1, n),
                rng.uniform(-0.05, 0.0, n)] + middle  # fmt: skip
    run = ClosedLoop(robot, ScriptedTracker(robot.keypoint_positions), pick_place, keypoints,
                     make_config(), object_clouds={1: bar}).run()  # fmt: skip
    assert run.outcome == "success", run.reason
    assert robot.closed_at, "the gripper never closed"
    np.testing.assert_allclose(robot.closed_at[0][:2, 3], middle[:2], atol=0.005)
