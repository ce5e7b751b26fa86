"""Disturbances: each kind changes the physical state as documented, deterministically, and a
schedule fires once at its stage after its delay."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.errors import ConfigurationError
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.disturbances import (
    DISTURBANCE_KINDS,
    KNOCK_RANGE_M,
    MOVE_RANGE_M,
    YAW_RANGE_RAD,
    Disturbance,
    DisturbanceSchedule,
)
from rekep.sim.tasks import TASKS, Task, get_task_class


def _supporting(kind: str) -> list[str]:
    """Tasks whose class declares ``kind`` (tasks without it are not parametrized, not skipped)."""
    return sorted(n for n in TASKS if kind in get_task_class(n).disturbance_kinds)


@pytest.fixture
def task(request: pytest.FixtureRequest) -> Iterator[Task]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        t = get_task_class(request.param)(world)
        t.reset(1003)
        yield t


def _poses(task: Task) -> dict[int, np.ndarray]:
    return {b: task.world.body_pose(b) for b in task.object_bodies().values()}


def _yaw_between(R0: np.ndarray, R1: np.ndarray) -> float:
    """Signed rotation angle of R1 @ R0.T about world z (it must be a pure yaw)."""
    D = R1 @ R0.T
    np.testing.assert_allclose(D[2], [0.0, 0.0, 1.0], atol=1e-6)
    return float(np.arctan2(D[1, 0], D[0, 0]))


@pytest.mark.parametrize("task", sorted(TASKS), indirect=True)
def test_hooks_name_distinct_task_objects(task: Task) -> None:
    bodies = set(task.object_bodies().values())
    assert task.manipulated_body() in bodies and task.target_body() in bodies
    if "move_target" in task.disturbance_kinds:  # a task without a target cannot move it
        assert task.manipulated_body() != task.target_body()
    assert set(task.disturbances()) == set(task.disturbance_kinds) <= set(DISTURBANCE_KINDS)


@pytest.mark.parametrize("task", _supporting("move_target"), indirect=True)
def test_move_target_translates_only_the_target(task: Task) -> None:
    before = _poses(task)
    event = task.disturbances()["move_target"].fire(task.world, seed=5)
    after = _poses(task)
    target = task.target_body()
    assert event.body == target
    assert MOVE_RANGE_M[0] - 1e-9 <= event.displacement_m <= MOVE_RANGE_M[1] + 1e-9
    np.testing.assert_allclose(after[target][:3, :3], before[target][:3, :3], atol=1e-6)
    assert after[target][2, 3] == pytest.approx(before[target][2, 3], abs=1e-6)
    for body, T in before.items():
        if body != target:
            np.testing.assert_allclose(after[body], T, atol=1e-9)


@pytest.mark.parametrize("task", _supporting("rotate_object"), indirect=True)
def test_rotate_object_turns_in_place(task: Task) -> None:
    held = task.manipulated_body()
    T0 = task.world.body_pose(held)
    task.disturbances()["rotate_object"].fire(task.world, seed=11)
    T1 = task.world.body_pose(held)
    np.testing.assert_allclose(T1[:3, 3], T0[:3, 3], atol=1e-6)
    yaw = abs(_yaw_between(T0[:3, :3], T1[:3, :3]))
    assert YAW_RANGE_RAD[0] - 1e-6 <= yaw <= YAW_RANGE_RAD[1] + 1e-6


@pytest.mark.parametrize("task", _supporting("knock_out"), indirect=True)
def test_knock_out_drops_the_object_beside_its_hand_position(task: Task) -> None:
    held = task.manipulated_body()
    rest = task.rest_pose(held)
    lifted = rest.copy()
    lifted[:3, 3] = [0.45, 0.0, 0.30]  # as if carried in the hand
    task.world.set_body_pose(held, lifted)
    event = task.disturbances()["knock_out"].fire(task.world, seed=2)
    T = task.world.body_pose(held)
    assert T[2, 3] == pytest.approx(rest[2, 3], abs=1e-6)  # resting height of reset
    assert KNOCK_RANGE_M[0] - 1e-9 <= event.displacement_m <= KNOCK_RANGE_M[1] + 1e-9
    _yaw_between(rest[:3, :3], T[:3, :3])  # same resting face, only yawed


def test_disturbances_are_deterministic_given_the_seed() -> None:
    results: dict[tuple[str, int], list[np.ndarray]] = {}
    for _ in range(2):
        with SimWorld() as world:
            Panda(world).reset_joints(HOME_Q, width=0.08)
            task = get_task_class("block_in_tray")(world)
            for kind in DISTURBANCE_KINDS:
                for seed in (0, 1):
                    task.reset(1000)
                    event = task.disturbances()[kind].fire(world, seed)
                    results.setdefault((kind, seed), []).append(event.T_after)
    for (kind, _), (first, second) in results.items():
        np.testing.assert_allclose(first, second, atol=1e-9, err_msg=kind)
    for kind in DISTURBANCE_KINDS:
        assert not np.allclose(results[(kind, 0)][0], results[(kind, 1)][0]), kind


def test_schedule_fires_once_at_its_stage_after_the_delay() -> None:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        task = get_task_class("block_in_tray")(world)
        task.reset(1000)
        tray = task.target_body()
        T0 = world.body_pose(tray)
        trigger = task.arm_disturbance(DisturbanceSchedule("move_target", stage=2, delay_s=0.5))
        assert trigger.maybe_fire(1, 0.0) is None and trigger.maybe_fire(1, 5.0) is None
        assert trigger.maybe_fire(2, 10.0) is None  # the delay clock starts here
        assert trigger.maybe_fire(2, 10.4) is None
        np.testing.assert_allclose(world.body_pose(tray), T0)
        event = trigger.maybe_fire(2, 10.5)
        assert event is not None and trigger.fired and event.sim_time_s == 10.5
        assert not np.allclose(world.body_pose(tray), T0)
        assert trigger.maybe_fire(2, 20.0) is None  # once only


def test_bad_schedules_and_kinds_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="knock_out"):
        DisturbanceSchedule("explode", stage=1)
    with pytest.raises(ConfigurationError, match="1-based"):
        DisturbanceSchedule("knock_out", stage=0)
    with pytest.raises(ConfigurationError, match="delay_s"):
        DisturbanceSchedule("knock_out", stage=1, delay_s=-1.0)
    with pytest.raises(ConfigurationError, match="rest_pose"):
        Disturbance("knock_out", body=3)
