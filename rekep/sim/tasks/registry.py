"""Registry of simulation tasks: name -> :class:`~rekep.sim.tasks.base.Task` subclass."""

from __future__ import annotations

from rekep.errors import ConfigurationError
from rekep.sim.tasks.base import Task
from rekep.sim.tasks.block_in_tray import BlockInTray
from rekep.sim.tasks.block_to_target import BlockToTarget
from rekep.sim.tasks.can_in_bin import CanInBin
from rekep.sim.tasks.close_drawer import CloseDrawer
from rekep.sim.tasks.fold_cloth import FoldCloth
from rekep.sim.tasks.handover_block import HandoverBlock
from rekep.sim.tasks.lift_box_bimanual import LiftBoxBimanual
from rekep.sim.tasks.open_drawer import OpenDrawer
from rekep.sim.tasks.pen_upright import PenUpright
from rekep.sim.tasks.pour_particles import PourParticles
from rekep.sim.tasks.stack_blocks import StackBlocks
from rekep.sim.tasks.stow_book import StowBook

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (BlockInTray, StackBlocks, CanInBin, BlockToTarget)
}
"""Every task of the suite, by name."""
TASKS[PenUpright.name] = PenUpright
TASKS[StowBook.name] = StowBook
for _cls in (OpenDrawer, CloseDrawer, PourParticles):  # articulated and particle tasks
    TASKS[_cls.name] = _cls
TASKS[FoldCloth.name] = FoldCloth  # deformable (soft body)
TASKS[LiftBoxBimanual.name] = LiftBoxBimanual  # bimanual (two Pandas; cls.bimanual is True)
TASKS[HandoverBlock.name] = HandoverBlock  # bimanual


def get_task_class(name: str) -> type[Task]:
    """The task class registered as ``name``.

    Raises:
        ConfigurationError: unknown name; the message lists the valid ones.
    """
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}"
        ) from None


def list_tasks() -> list[tuple[str, str]]:
    """(name, one-line description) of every task, sorted by name."""
    return [(name, TASKS[name].description) for name in sorted(TASKS)]
