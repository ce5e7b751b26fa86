"""Shared fixtures for the simulation tests (skipped as a whole without pybullet)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pybullet")
sys.path.insert(0, str(Path(__file__).parent))  # for the oracle helper module

from rekep.sim import Panda, SimWorld
from rekep.sim.tasks import BlockInTray


@pytest.fixture(scope="module")
def world() -> Iterator[SimWorld]:
    with SimWorld() as w:
        yield w


@pytest.fixture(scope="module")
def panda(world: SimWorld) -> Panda:
    return Panda(world)


@pytest.fixture(scope="module")
def block_task(world: SimWorld, panda: Panda) -> BlockInTray:
    return BlockInTray(world)
