"""The PyBullet task suite: scenes, seeded resets, success checks, reference programs."""

from rekep.sim.tasks.base import Task, TaskOutcome, resolve_reference_program
from rekep.sim.tasks.block_in_tray import BlockInTray
from rekep.sim.tasks.registry import TASKS, get_task_class, list_tasks

__all__ = [
    "TASKS",
    "BlockInTray",
    "Task",
    "TaskOutcome",
    "get_task_class",
    "list_tasks",
    "resolve_reference_program",
]
