"""The closed loop: robot interface, stage machine, held-object model, engine.

PyBullet pieces (:mod:`rekep.loop.sim_robot`, :mod:`rekep.loop.episode`) are imported
lazily so ``import rekep.loop`` needs no simulator.
"""

from rekep.loop.config import LoopConfig
from rekep.loop.engine import ClosedLoop, LoopRun
from rekep.loop.fake_robot import FakeRobot
from rekep.loop.fake_tracker import ScriptedTracker
from rekep.loop.held_model import HeldModelConfig, HeldObjectModel
from rekep.loop.robot_interface import LoopRobot
from rekep.loop.stage_machine import (
    OUTCOMES,
    StageMachine,
    StageMachineConfig,
    StageObservation,
    Verdict,
)

__all__ = [
    "OUTCOMES",
    "ClosedLoop",
    "FakeRobot",
    "HeldModelConfig",
    "HeldObjectModel",
    "LoopConfig",
    "LoopRobot",
    "LoopRun",
    "ScriptedTracker",
    "StageMachine",
    "StageMachineConfig",
    "StageObservation",
    "Verdict",
]
