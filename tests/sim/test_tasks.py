from __future__ import annotations

import ast

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.errors import ConfigurationError
from rekep.poses import make_pose
from rekep.sim import HOME_Q, Panda, SimWorld, top_down_tcp_pose
from rekep.sim.tasks import (
    TASKS,
    BlockInTray,
    TaskOutcome,
    get_task_class,
    list_tasks,
    resolve_reference_program,
)
from rekep.sim.tasks.block_in_tray import BLOCK_HALF, TRAY_FLOOR


def test_registry() -> None:
    assert get_task_class("block_in_tray") is BlockInTray
    assert ("block_in_tray", BlockInTray.description) in list_tasks()
    with pytest.raises(ConfigurationError, match="block_in_tray"):
        get_task_class("no_such_task")
    for name, cls in TASKS.items():
        assert cls.name == name and "\n" not in cls.description and cls.instruction


def test_resolve_reference_program() -> None:
    text = "keypoints[{a}] - keypoints[{b}] + len({x})"
    assert resolve_reference_program(text, {"a": 3, "b": 0}, known_anchors={"a", "b"}) == (
        "keypoints[3] - keypoints[0] + len({x})"
    )
    with pytest.raises(ConfigurationError, match=r"anchor \{b\}"):
        resolve_reference_program(text, {"a": 3}, known_anchors={"a", "b"})
    with pytest.raises(ConfigurationError, match="x"):
        resolve_reference_program(text, {"a": 3, "b": 0})  # strict: {x} is an anchor too
    with pytest.raises(ConfigurationError, match="int >= 0"):
        resolve_reference_program(text, {"a": -1, "b": 0})


def test_reference_program_resolves_to_valid_python(block_task: BlockInTray) -> None:
    anchors = sorted(block_task.anchor_objects())
    assert anchors == sorted(block_task.anchors())
    text = block_task.resolved_program({name: i for i, name in enumerate(anchors)})
    assert "{" not in text
    tree = ast.parse(text)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"stage1_subgoal_constraint1", "stage2_subgoal_constraint1",
            "stage2_path_constraint1"} <= names
    values = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body  # type: ignore[attr-defined]
              if isinstance(t, ast.Assign)}
    top = anchors.index("block_top")
    assert values == {"num_stages": 2, "grasp_keypoints": [top, -1],
                      "release_keypoints": [-1, top]}


def test_reset_is_deterministic_and_separates_objects(block_task: BlockInTray) -> None:
    w = block_task.world
    poses: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for seed in (0, 1, 0):
        block_task.reset(seed)
        current = (w.body_pose(block_task.block), w.body_pose(block_task.tray))
        if seed in poses:
            for before, now in zip(poses[seed], current, strict=True):
                np.testing.assert_allclose(before, now, atol=1e-6)
        poses[seed] = current
    assert not np.allclose(poses[0][0], poses[1][0])
    for seed in range(20):
        block_task.reset(seed)
        a = block_task.anchors()
        assert np.linalg.norm(a["block_top"][:2] - a["tray_center"][:2]) >= 0.2
        assert a["block_top"][2] == pytest.approx(2 * BLOCK_HALF[2], abs=2e-3)
        assert a["tray_center"][2] == pytest.approx(TRAY_FLOOR, abs=2e-3)
        assert 0.3 < np.linalg.norm(a["block_top"][:2]) < 0.7
        assert not block_task.success().success


def test_default_camera_sees_task_objects(panda: Panda, block_task: BlockInTray) -> None:
    panda.reset_joints(HOME_Q)
    for seed in range(3):
        block_task.reset(seed)
        obs, seg = block_task.camera().render(block_task.world.client)
        for name, body in block_task.object_bodies().items():
            assert (seg == body).sum() > 300, f"{name} hardly visible for seed {seed}"
        for point in block_task.anchors().values():
            u, v = obs.project([point])[0]
            assert 0 <= u < obs.width and 0 <= v < obs.height


def test_success_check_follows_physical_state(panda: Panda, block_task: BlockInTray) -> None:
    w = block_task.world
    panda.reset_joints(HOME_Q, width=0.08)
    block_task.reset(3)
    T_tray = w.body_pose(block_task.tray)
    above_floor = np.array([0.03, -0.02, TRAY_FLOOR + BLOCK_HALF[2] + 0.002, 1.0])
    w.set_body_pose(block_task.block, make_pose(T_tray[:3, :3], (T_tray @ above_floor)[:3]))
    w.settle(bodies=[block_task.block])
    outcome = block_task.success()
    assert isinstance(outcome, TaskOutcome)
    assert outcome.success, outcome.details
    assert outcome.details["z_tol_m"] > 0 and outcome.details["xy_limit_m"] > 0
    # held by the gripper: not released, so no success
    top = block_task.anchors()["block_top"]
    yaw = float(np.arctan2(T_tray[1, 0], T_tray[0, 0])) - np.pi / 2
    assert panda.move_to_pose(top_down_tcp_pose(top - [0, 0, 0.02], yaw))
    panda.close_gripper()
    held = block_task.success()
    assert not held.success and not held.details["released"]
    panda.open_gripper()
    panda.reset_joints(HOME_Q)
    # on the table outside the tray: no success
    w.set_body_pose(block_task.block, make_pose(np.eye(3), T_tray[:3, 3] + [0, 0.25, 0.025]))
    w.settle(bodies=[block_task.block])
    outside = block_task.success()
    assert not outside.success and not outside.details["inside_footprint"]


def test_a_falling_object_is_judged_where_it_comes_to_rest(
    panda: Panda, block_task: BlockInTray
) -> None:
    w = block_task.world
    panda.reset_joints(HOME_Q, width=0.08)
    block_task.reset(3)
    T_tray = w.body_pose(block_task.tray)
    dropped = np.array([0.0, 0.0, TRAY_FLOOR + BLOCK_HALF[2] + 0.03, 1.0])  # 3 cm up
    w.set_body_pose(block_task.block, make_pose(T_tray[:3, :3], (T_tray @ dropped)[:3]))
    in_the_air = block_task.success()
    assert not in_the_air.success and not in_the_air.details["resting_on_floor"]
    steps = w.steps_taken
    at_rest = block_task.judge_at_rest()
    assert w.steps_taken - steps == 120  # 0.5 s of physics at 240 Hz
    assert at_rest.success, at_rest.details


def test_task_outcome_is_frozen() -> None:
    outcome = TaskOutcome(success=True, details={"a": 1.0})
    with pytest.raises(AttributeError):
        outcome.success = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        TaskOutcome(success="yes")  # type: ignore[arg-type]


def test_two_task_worlds_coexist() -> None:
    with SimWorld() as a, SimWorld() as b:
        ta, tb = BlockInTray(a), BlockInTray(b)
        ta.reset(0)
        tb.reset(1)
        assert not np.allclose(ta.anchors()["block_top"], tb.anchors()["block_top"])
