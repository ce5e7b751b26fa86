"""``rekep.solve`` on a rendered frame: keypoints, program, feasible per-stage plan, JSON."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pybullet")

import rekep
from keypoints.proposer import get_proposer
from rekep.errors import ConfigurationError, KeypointError, ObservationError, ProgramError
from rekep.plan import Plan
from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
from rekep.sim.keypoint_modes import resolve_anchors, task_masks


@pytest.fixture(scope="module")
def scene():  # type: ignore[no-untyped-def]
    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(1)
        rgbd, seg = task.camera().render(world.client)
        masks = task_masks(task, seg, rgbd)
        yield task, rgbd, masks, panda.hand_pose(), task.anchors()


def test_solve_returns_feasible_plan_meeting_constraints(scene) -> None:  # type: ignore[no-untyped-def]
    task, rgbd, masks, T_hand, _ = scene
    proposed = get_proposer("features").propose(rgbd, masks)
    mapping = resolve_anchors(task, proposed)
    program = task.resolved_program(mapping)
    plan = rekep.solve(task.instruction, rgbd, program=program, masks=masks, T_world_tcp=T_hand)
    assert isinstance(plan, Plan)
    assert plan.feasible
    assert plan.subgoal_poses.shape == (2, 4, 4)
    block = plan.keypoints.positions[mapping["block_top"]]
    tray = plan.keypoints.positions[mapping["tray_center"]]
    # Stage 1: the TCP reaches the block's top keypoint (within the 1 cm tolerance).
    assert np.linalg.norm(plan.subgoal_poses[0][:3, 3] - block) <= 0.01
    # Stage 2: the held block keypoint, carried by the hand, ends 10 cm above the tray centre.
    carried = plan.subgoal_poses[1] @ np.linalg.inv(plan.subgoal_poses[0]) @ np.r_[block, 1.0]
    np.testing.assert_allclose(carried[:3], tray + [0.0, 0.0, 0.10], atol=0.01)
    # The dense trajectory is continuous (2 cm spacing) and ends at the last sub-goal.
    steps = np.linalg.norm(np.diff(plan.trajectory[:, :3, 3], axis=0), axis=1)
    assert steps.max() <= 0.02 + 1e-9
    np.testing.assert_allclose(plan.trajectory[-1], plan.subgoal_poses[-1], atol=1e-9)
    again = Plan.from_dict(plan.to_dict())
    np.testing.assert_allclose(again.subgoal_poses, plan.subgoal_poses)
    assert again.program.to_text() == plan.program.to_text()


def test_solve_without_program_or_vlm_says_how_to_configure(scene, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    task, rgbd, masks, _, _ = scene
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "REKEP_VLM_MODEL",
        "REKEP_VLM_BACKEND",
        "REKEP_VLM_API_KEY",
        "REKEP_VLM_BASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        rekep.solve(task.instruction, rgbd, masks=masks)


def test_solve_bad_inputs_are_clear(scene) -> None:  # type: ignore[no-untyped-def]
    _, rgbd, masks, _, _ = scene
    with pytest.raises(ObservationError, match=r"rekep\.RGBD"):
        rekep.solve("do it", {"rgb": rgbd.rgb}, program="num_stages = 1")  # type: ignore[arg-type]
    with pytest.raises(KeypointError, match="masks"):
        rekep.solve("do it", rgbd, program="num_stages = 1")
    with pytest.raises(ProgramError):
        rekep.solve("do it", rgbd, masks=masks, program="num_stages = 1\ngrasp_keypoints = [99]")
    with pytest.raises(ConfigurationError, match="instruction"):
        rekep.solve("", rgbd, masks=masks, program="")
