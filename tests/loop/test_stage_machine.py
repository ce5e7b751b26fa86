"""Stage machine: advance only on measured sub-goals, backtrack on broken path constraints,
time out, and name every terminal outcome (pure logic, no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.errors import ConfigurationError
from rekep.loop import OUTCOMES, StageMachine, StageMachineConfig, StageObservation
from rekep.program import ConstraintProgram

KP = np.array([[0.5, 0.1, 0.05], [0.5, 0.12, 0.02], [0.5, -0.2, 0.01]])


def obs(t: float, ee: object, kps: np.ndarray = KP, held: tuple[int, ...] = (),
        visible: np.ndarray | None = None) -> StageObservation:
    return StageObservation(t, np.asarray(ee, dtype=float), kps, held, visible)


def test_grasp_stage_acts_only_when_the_subgoal_is_measured(pick_place: ConstraintProgram) -> None:
    m = StageMachine(pick_place)
    far = m.update(obs(0.1, [0.4, 0.0, 0.4]))
    assert far.action == "continue" and far.subgoal_cost > 0.2 and m.stage == 1
    near = m.update(obs(0.2, KP[0] + [0, 0, 0.005]))
    assert near.action == "act" and m.phase == "acting"
    assert m.update(obs(0.3, KP[0])).action == "wait"
    advanced = m.primitive_done(True, "held", 0.4)
    assert advanced.action == "advance" and m.stage == 2


def test_plain_stage_advances_on_measured_subgoal_and_last_stage_succeeds(
    three_stage: ConstraintProgram,
) -> None:
    m = StageMachine(three_stage)
    m.update(obs(0.0, KP[0]))
    m.primitive_done(True, "held", 0.1)
    assert m.stage == 2
    # still far from keypoint 2: no advance, even after a long time within the timeout
    assert m.update(obs(5.0, [0.5, 0.0, 0.3], held=(0, 1))).action == "continue"
    verdict = m.update(obs(5.1, KP[2] + [0.0, 0.0, 0.01], held=(0, 1)))
    assert verdict.action == "advance" and m.stage == 3
    assert m.update(obs(5.2, KP[1], held=(0, 1))).action == "act"
    done = m.primitive_done(True, "released", 5.3)
    assert done.action == "done" and m.outcome == "success" and m.done


def test_dropped_object_backtracks_to_its_grasp_stage(three_stage: ConstraintProgram) -> None:
    m = StageMachine(three_stage)
    m.update(obs(0.0, KP[0]))
    m.primitive_done(True, "held", 0.1)
    m.update(obs(0.5, KP[2], held=(0, 1)))
    assert m.stage == 3
    # nothing held any more: stage 3's path constraint (grasping keypoint 0) breaks; stage 2
    # has the same path constraint, so the latest stage whose path constraints hold is 1
    verdict = m.update(obs(0.6, KP[1] + [0, 0, 0.1], held=()))
    assert verdict.action == "backtrack" and verdict.stage == 1 and m.stage == 1
    assert m.backtracks == 1 and m.recoveries == 0
    # re-grasp and get back to stage 3: one recovery
    m.update(obs(0.7, KP[0]))
    m.primitive_done(True, "held", 0.8)
    m.update(obs(0.9, KP[2], held=(0, 1)))
    assert m.stage == 3 and m.recoveries == 1


CARRY_THEN_HIGH = """
num_stages = 3
def stage1_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[0])
def stage2_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[2])
def stage2_path_constraint1(end_effector, keypoints):
    return 0.0 - end_effector[2]
def stage3_subgoal_constraint1(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[1])
def stage3_path_constraint1(end_effector, keypoints):
    return 0.2 - end_effector[2]
grasp_keypoints = [0, -1, -1]
release_keypoints = [-1, -1, 0]
"""
"""Stage 2 only needs the hand above the table; stage 3 needs it above 20 cm."""


def test_backtrack_goes_to_the_latest_stage_whose_path_constraints_hold() -> None:
    from rekep.program import load_program

    m = StageMachine(load_program(CARRY_THEN_HIGH, num_keypoints=3))
    m.update(obs(0.0, KP[0]))
    m.primitive_done(True, "held", 0.1)
    m.update(obs(0.2, KP[2], held=(0, 1)))
    assert m.stage == 3
    assert m.update(obs(0.3, [0.5, 0.0, 0.25], held=(0, 1))).action == "continue"
    # hand drops to 5 cm: stage 3's path constraint (0.15 > 0.10) breaks, stage 2's holds
    verdict = m.update(obs(0.4, [0.5, 0.0, 0.05], held=(0, 1)))
    assert verdict.action == "backtrack" and m.stage == 2
    assert verdict.path_cost == pytest.approx(0.15)
    # below the table even stage 2's constraint breaks -> stage 1 (the grasp stage)
    m.update(obs(0.5, KP[2], held=(0, 1)))
    assert m.stage == 3
    m2 = m.update(obs(0.6, [0.5, 0.0, -0.2], held=(0, 1)))
    assert m2.action == "backtrack" and m.stage == 1 and m.backtracks == 2


def test_too_many_backtracks_is_a_named_failure(three_stage: ConstraintProgram) -> None:
    m = StageMachine(three_stage, StageMachineConfig(max_backtracks=1))
    for k in range(2):
        m.update(obs(k, KP[0]))
        m.primitive_done(True, "held", k + 0.1)
        m.update(obs(k + 0.2, KP[2] + [0, 0, 0.5], held=()))
    assert m.outcome == "backtrack_limit"


def test_stage_timeout_is_a_named_failure(pick_place: ConstraintProgram) -> None:
    m = StageMachine(pick_place, StageMachineConfig(stage_timeout_s=2.0))
    assert m.update(obs(1.9, [0.4, 0.0, 0.4])).action == "continue"
    verdict = m.update(obs(2.1, [0.4, 0.0, 0.4]))
    assert verdict.action == "done" and verdict.outcome == "timeout" and m.outcome in OUTCOMES
    # terminal is sticky
    assert m.update(obs(2.2, KP[0])).outcome == "timeout"


def test_failed_primitive_retries_then_ends_grasp_missed(pick_place: ConstraintProgram) -> None:
    m = StageMachine(pick_place, StageMachineConfig(max_primitive_attempts=2))
    m.update(obs(0.0, KP[0]))
    assert m.primitive_done(False, "closed on nothing", 0.1).action == "retry"
    assert m.phase == "moving" and m.stage == 1
    m.update(obs(0.2, KP[0]))
    verdict = m.primitive_done(False, "closed on nothing", 0.3)
    assert verdict.outcome == "grasp_missed"


def test_lost_keypoint_ends_tracking_lost(pick_place: ConstraintProgram) -> None:
    m = StageMachine(pick_place, StageMachineConfig(lost_timeout_s=0.5))
    vis = np.array([True, True, False])
    assert m.update(obs(0.0, [0.4, 0, 0.4], visible=vis)).action == "continue"
    assert m.update(obs(0.4, [0.4, 0, 0.4], visible=vis)).action == "continue"
    assert m.update(obs(0.6, [0.4, 0, 0.4], visible=vis)).outcome == "tracking_lost"


def test_engine_failure_and_bad_config(pick_place: ConstraintProgram) -> None:
    m = StageMachine(pick_place)
    assert m.fail("infeasible", "no feasible solve", 1.0).outcome == "infeasible"
    with pytest.raises(ConfigurationError):
        m.fail("success", "not a failure", 1.0)
    with pytest.raises(ConfigurationError):
        StageMachineConfig(subgoal_tolerance=0.0)

