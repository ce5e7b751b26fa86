"""Scripted pick-and-place with privileged poses: proves friction grasping and the task check.

This tests the simulator (not a planner), so reading true object poses is allowed here.
"""

from __future__ import annotations

import logging
import time

import pytest

pytest.importorskip("pybullet")

from oracle import pick_and_place

from rekep.sim import GRASP_MODE, Panda
from rekep.sim.tasks import BlockInTray

logger = logging.getLogger(__name__)


@pytest.mark.sim
@pytest.mark.parametrize("seed", range(5))
def test_oracle_puts_block_in_tray(panda: Panda, block_task: BlockInTray, seed: int) -> None:
    start = time.perf_counter()
    result = pick_and_place(block_task.world, panda, block_task, seed)
    outcome = block_task.success()
    logger.info("seed %d: %d steps, %.2f s wall, grasp width %.4f m, mode %s", seed,
                result.steps, time.perf_counter() - start, result.grasp_width, GRASP_MODE)
    assert GRASP_MODE == "friction"
    assert all(result.moves_ok), result.moves_ok
    assert result.grasp_width == pytest.approx(0.045, abs=3e-3)  # closed on the block
    assert result.held_after_lift
    assert outcome.success, outcome.details


@pytest.mark.sim
def test_grasp_at_block_top_anchor_also_holds(panda: Panda, block_task: BlockInTray) -> None:
    """The reference program's grasp puts the TCP at the block_top anchor itself."""
    result = pick_and_place(block_task.world, panda, block_task, 7, grasp_depth=0.0)
    assert result.held_after_lift
    assert block_task.success().success
