"""rekep: constraint-based manipulation in the ReKep style.

The core types import eagerly and cheaply; the pipeline entry points (``solve``,
``load_program``, ``Plan``) load on first use so that ``keypoints`` and ``solvers`` can import
the core types without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rekep.errors import (
    ConfigurationError,
    ConstraintEvaluationError,
    KeypointError,
    MissingDependencyError,
    ObservationError,
    PoseError,
    ProgramError,
    RekepError,
    SandboxViolation,
    SimulationError,
    SolverError,
)
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD

__version__ = "0.1.0"

_LAZY = {
    "solve": "rekep.api",
    "Plan": "rekep.plan",
    "load_program": "rekep.program",
    "ConstraintProgram": "rekep.program",
    "Solution": "solvers.solution",
}

if TYPE_CHECKING:
    from rekep.api import solve
    from rekep.plan import Plan
    from rekep.program import ConstraintProgram, load_program
    from solvers.solution import Solution


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rekep' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RGBD",
    "ConfigurationError",
    "ConstraintEvaluationError",
    "ConstraintProgram",
    "KeypointError",
    "Keypoints",
    "MissingDependencyError",
    "ObservationError",
    "Plan",
    "PoseError",
    "ProgramError",
    "RekepError",
    "SandboxViolation",
    "SimulationError",
    "Solution",
    "SolverError",
    "__version__",
    "load_program",
    "solve",
]
