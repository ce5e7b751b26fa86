"""Bimanual stage machine: act on measured grasp sub-goals, advance only when the sub-goal
holds and the motion is done, backtrack on broken path constraints, time out (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.errors import ConfigurationError
from rekep.loop.bimanual import BimanualStageMachine
from rekep.loop.bimanual.stage_machine import entry_holds
from rekep.loop.stage_machine import StageMachineConfig
from rekep.program import ConstraintProgram, load_program

LIFT = '''
num_stages = 3

def stage1_subgoal_constraint1(end_effector, keypoints):
    """Left hand at keypoint 0, right hand at keypoint 1."""
    return np.linalg.norm(end_effector[0] - keypoints[0]) + np.linalg.norm(
        end_effector[1] - keypoints[1])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """Keypoint 0 lifted to 0.2 m."""
    return np.abs(keypoints[0][2] - 0.2)

def stage2_path_constraint1(end_effector, keypoints):
    """Both hands hold the object."""
    return get_grasping_cost_by_keypoint_idx(0) + get_grasping_cost_by_keypoint_idx(1)

def stage3_subgoal_constraint1(end_effector, keypoints):
    """Keypoint 0 at 0.3 m."""
    return np.abs(keypoints[0][2] - 0.3)

def stage3_path_constraint1(end_effector, keypoints):
    """Both hands hold the object."""
    return get_grasping_cost_by_keypoint_idx(0) + get_grasping_cost_by_keypoint_idx(1)

grasp_keypoints = [[0, 1], [-1, -1], [-1, -1]]
release_keypoints = [[-1, -1], [-1, -1], [0, 1]]
'''
KP = np.array([[0.5, 0.15, 0.08], [0.5, -0.15, 0.08]])
AT_GRASP = KP.copy()
HELD = (0, 1)


def lifted(z: float) -> np.ndarray:
    out = KP.copy()
    out[:, 2] = z
    return out


@pytest.fixture(scope="module")
def program() -> ConstraintProgram:
    return load_program(LIFT, num_keypoints=2, bimanual=True)


def grasped(program: ConstraintProgram) -> BimanualStageMachine:
    m = BimanualStageMachine(program, hold_ticks=1)
    assert m.update(0.1, AT_GRASP, KP, ()).action == "act"
    assert m.primitive_done(True, "both hands hold", 0.5).action == "advance"
    return m


def test_grasp_stage_acts_only_when_both_hands_measure_the_subgoal(
    program: ConstraintProgram,
) -> None:
    m = BimanualStageMachine(program, hold_ticks=1)
    one_hand_far = AT_GRASP + np.array([[0, 0, 0], [0, 0, 0.1]])
    far = m.update(0.1, one_hand_far, KP, ())
    assert far.action == "continue" and far.subgoal_cost > 0.09 and m.stage == 1
    assert m.update(0.2, AT_GRASP, KP, (), ready=False).action == "continue"
    assert m.update(0.3, AT_GRASP, KP, ()).action == "act" and m.phase == "acting"
    assert m.update(0.4, AT_GRASP, KP, ()).action == "wait"
    assert m.primitive_done(True, "held", 0.5).action == "advance" and m.stage == 2


def test_plain_stage_advances_only_when_the_motion_is_done(program: ConstraintProgram) -> None:
    m = grasped(program)
    assert m.update(1.0, AT_GRASP, lifted(0.12), HELD).action == "continue"
    assert m.update(1.5, AT_GRASP, lifted(0.2), HELD, ready=False).action == "continue"
    verdict = m.update(1.6, AT_GRASP, lifted(0.2), HELD)
    assert verdict.action == "advance" and m.stage == 3
    assert m.update(2.0, AT_GRASP, lifted(0.3), HELD).action == "act"  # it releases
    done = m.primitive_done(True, "released", 2.5)
    assert done.action == "done" and m.outcome == "success"


def test_a_sub_goal_must_hold_for_hold_ticks_before_the_stage_advances(
    program: ConstraintProgram,
) -> None:
    m = BimanualStageMachine(program, hold_ticks=3)
    assert m.update(0.1, AT_GRASP, KP, ()).action == "continue"
    assert m.update(0.2, AT_GRASP, KP, ()).action == "continue"
    assert m.update(0.3, AT_GRASP + 0.1, KP, ()).action == "continue"  # broken: count again
    assert [m.update(0.4 + 0.1 * i, AT_GRASP, KP, ()).action for i in range(3)] == [
        "continue", "continue", "act"]


def test_dropped_object_backtracks_to_the_grasp_stage_and_counts_the_recovery(
    program: ConstraintProgram,
) -> None:
    m = grasped(program)
    m.update(1.0, AT_GRASP, lifted(0.2), HELD)
    assert m.stage == 3
    back = m.update(1.2, AT_GRASP, lifted(0.2), ())  # nothing held any more
    assert back.action == "backtrack" and m.stage == 1 and m.backtracks == 1
    assert m.recoveries == 0
    m.update(2.0, AT_GRASP, KP, ())
    m.primitive_done(True, "held again", 2.5)
    m.update(3.0, AT_GRASP, lifted(0.2), HELD)
    assert m.stage == 3 and m.recoveries == 1
    assert [e[1] for e in m.events].count("backtrack") == 1


HANDOVER = '''
num_stages = 3

def stage1_subgoal_constraint1(end_effector, keypoints):
    """Left hand at keypoint 0."""
    return np.linalg.norm(end_effector[0] - keypoints[0])

def stage2_subgoal_constraint1(end_effector, keypoints):
    """Right hand at keypoint 1 while the block stays up."""
    return np.linalg.norm(end_effector[1] - keypoints[1]) + np.abs(keypoints[0][2] - 0.2)

def stage3_subgoal_constraint1(end_effector, keypoints):
    """Keypoint 1 at 0.3 m."""
    return np.abs(keypoints[1][2] - 0.3)

def stage3_path_constraint1(end_effector, keypoints):
    """The right hand holds the block."""
    return get_grasping_cost_by_keypoint_idx(1)

grasp_keypoints = [[0, -1], [-1, 1], [-1, -1]]
release_keypoints = [[-1, -1], [0, -1], [-1, 1]]
'''


def test_a_drop_after_a_handover_backtracks_past_the_handover_to_the_first_grasp() -> None:
    handover = load_program(HANDOVER, num_keypoints=2, bimanual=True)
    assert entry_holds(handover, 2) == {0} and entry_holds(handover, 3) == {1}
    m = BimanualStageMachine(handover, hold_ticks=1)
    assert m.update(0.1, AT_GRASP, KP, ()).action == "act"
    m.primitive_done(True, "left holds", 0.5)
    assert m.update(1.0, lifted(0.2), lifted(0.2), HELD).action == "act"
    m.primitive_done(True, "handed over", 1.5)
    assert m.stage == 3
    back = m.update(2.0, AT_GRASP, KP, ())  # dropped: stage 2 needs the block in a hand
    assert back.action == "backtrack" and m.stage == 1


def test_stage_timeout_and_repeated_misses_are_named_failures(
    program: ConstraintProgram,
) -> None:
    m = BimanualStageMachine(program, StageMachineConfig(stage_timeout_s=2.0,
                                                         max_primitive_attempts=2), hold_ticks=1)
    assert m.update(1.0, AT_GRASP + 0.1, KP, ()).action == "continue"
    timed_out = m.update(2.5, AT_GRASP + 0.1, KP, ())
    assert timed_out.action == "done" and m.outcome == "timeout" and "stage 1" in m.reason
    m = BimanualStageMachine(program, StageMachineConfig(max_primitive_attempts=2), hold_ticks=1)
    m.update(0.1, AT_GRASP, KP, ())
    assert m.primitive_done(False, "gripper closed on nothing", 0.5).action == "retry"
    m.update(0.6, AT_GRASP, KP, ())
    assert m.primitive_done(False, "gripper closed on nothing", 1.0).action == "done"
    assert m.outcome == "grasp_missed"


def test_lost_keypoints_end_the_episode_tracking_lost(program: ConstraintProgram) -> None:
    m = BimanualStageMachine(program, StageMachineConfig(lost_timeout_s=1.0))
    hidden = np.array([True, False])
    assert m.update(0.0, AT_GRASP + 0.1, KP, (), hidden).action == "continue"
    assert m.update(1.5, AT_GRASP + 0.1, KP, (), hidden).action == "done"
    assert m.outcome == "tracking_lost" and "keypoint 1" in m.reason


def test_single_arm_programs_are_refused() -> None:
    single = load_program(
        "num_stages = 1\n\ndef stage1_subgoal_constraint1(end_effector, keypoints):\n"
        "    return np.linalg.norm(end_effector - keypoints[0])\n\n"
        "grasp_keypoints = [0]\nrelease_keypoints = [-1]\n",
        num_keypoints=1,
    )
    with pytest.raises(ConfigurationError, match="bimanual"):
        BimanualStageMachine(single)
