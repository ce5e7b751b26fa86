"""block_to_target's success check after a ``move_target`` disturbance: a block placed on
the moved pad succeeds; a pad pushed away from where it was put (by reset or by the
disturbance) still fails the "pad did not slide" criterion."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.poses import make_pose
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.disturbances import DisturbanceSchedule
from rekep.sim.tasks.block_to_target import BLOCK_HALF, PAD_HALF, PAD_SHIFT_TOL, BlockToTarget


@pytest.fixture
def task() -> Iterator[BlockToTarget]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        t = BlockToTarget(world)
        t.reset(1008)
        yield t


def _put_block_on_pad(task: BlockToTarget) -> None:
    T_pad = task.world.body_pose(task.pad)
    top = T_pad[:3, 3] + np.array([0.0, 0.0, PAD_HALF[2] + BLOCK_HALF])
    task.world.set_body_pose(task.block, make_pose(T_pad[:3, :3], top))
    task.world.step(60)


def _fire_move_target(task: BlockToTarget) -> float:
    trigger = task.arm_disturbance(DisturbanceSchedule("move_target", stage=1, seed=1008))
    event = trigger.maybe_fire(1, task.world.sim_time)
    assert event is not None and event.body == task.pad
    return event.displacement_m


def test_block_on_moved_pad_succeeds(task: BlockToTarget) -> None:
    moved = _fire_move_target(task)
    assert moved > PAD_SHIFT_TOL  # the disturbance moved the pad farther than the tolerance
    _put_block_on_pad(task)
    outcome = task.success()
    assert outcome.success, outcome.details
    assert outcome.details["pad_shift_m"] <= PAD_SHIFT_TOL


def test_pad_pushed_after_the_disturbance_fails(task: BlockToTarget) -> None:
    _fire_move_target(task)
    T_pad = task.world.body_pose(task.pad)
    T_pad[:2, 3] += [0.04, 0.0]  # the robot shoves the pad 4 cm on after the teleport
    task.world.set_body_pose(task.pad, T_pad)
    _put_block_on_pad(task)
    outcome = task.success()
    assert not outcome.success and not outcome.details["pad_still"]


def test_pad_pushed_without_disturbance_fails(task: BlockToTarget) -> None:
    T_pad = task.world.body_pose(task.pad)
    T_pad[:2, 3] += [0.0, 0.05]
    task.world.set_body_pose(task.pad, T_pad)
    _put_block_on_pad(task)
    assert not task.success().details["pad_still"]


def test_reset_forgets_the_disturbance(task: BlockToTarget) -> None:
    _fire_move_target(task)
    task.reset(1008)
    _put_block_on_pad(task)
    assert task.success().success
