"""PyBullet simulation backend: world, Panda robot, camera and task suite.

Needs the ``sim`` extra (``pip install 'rekep[sim]'``); importing this package without
PyBullet raises :class:`rekep.errors.MissingDependencyError` naming that extra.
"""

from rekep.availability import require

require("pybullet", "simulation")
require("pybullet_data", "simulation")

from rekep.sim.camera import Camera, look_at  # noqa: E402
from rekep.sim.panda import GRASP_MODE, Panda  # noqa: E402
from rekep.sim.panda_model import HOME_Q, T_HAND_TCP, top_down_tcp_pose  # noqa: E402
from rekep.sim.tasks import (  # noqa: E402
    TASKS,
    Task,
    TaskOutcome,
    get_task_class,
    list_tasks,
    resolve_reference_program,
)
from rekep.sim.world import BoxPart, SimWorld  # noqa: E402

__all__ = [
    "GRASP_MODE",
    "HOME_Q",
    "TASKS",
    "T_HAND_TCP",
    "BoxPart",
    "Camera",
    "Panda",
    "SimWorld",
    "Task",
    "TaskOutcome",
    "get_task_class",
    "list_tasks",
    "look_at",
    "resolve_reference_program",
    "top_down_tcp_pose",
]
