"""The PyBullet task suite: scenes, seeded resets, success checks, reference programs."""

from rekep.sim.tasks.base import Task, TaskOutcome, resolve_reference_program
from rekep.sim.tasks.block_in_tray import BlockInTray
from rekep.sim.tasks.block_to_target import BlockToTarget
from rekep.sim.tasks.can_in_bin import CanInBin
from rekep.sim.tasks.placement import TEST_SEEDS, TRAIN_SEEDS
from rekep.sim.tasks.registry import TASKS, get_task_class, list_tasks
from rekep.sim.tasks.stack_blocks import StackBlocks

__all__ = [
    "TASKS",
    "TEST_SEEDS",
    "TRAIN_SEEDS",
    "BlockInTray",
    "BlockToTarget",
    "CanInBin",
    "StackBlocks",
    "Task",
    "TaskOutcome",
    "get_task_class",
    "list_tasks",
    "resolve_reference_program",
]
