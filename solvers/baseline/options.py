"""Weights, margins and optimizer settings of the ReKep recipe (see REKEP_REFERENCE.md).

The numbers are the original's; only the optimizer budget is exposed as options (tests use
a smaller ``maxfun``; benchmarks keep the default). Distances in metres, angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass

from rekep.errors import SolverError

# --- sub-goal objective -------------------------------------------------------------------
SUBGOAL_COLLISION_WEIGHT = 0.8
SUBGOAL_COLLISION_MARGIN_M = 0.10
CONSISTENCY_WEIGHT = 1.0
CONSISTENCY_ROTATION_WEIGHT = 1.5
"""Metres per radian in the consistency distance ``|dp| + 1.5 * angle``."""
REACHABILITY_WEIGHT = 20.0
"""Times the fraction of the IK iteration budget spent."""
RESET_POSTURE_WEIGHT = 0.2
RESET_POSTURE_CLIP = 3.0
"""Cap of the joint-space distance to the reset posture (also its value when IK fails), rad."""
GRASP_WEIGHT = 10.0
SUBGOAL_VIOLATION_WEIGHT = 200.0
PATH_VIOLATION_WEIGHT = 200.0

# --- path objective -----------------------------------------------------------------------
PATH_COLLISION_WEIGHT = 0.5
PATH_COLLISION_MARGIN_M = 0.20
PATH_LENGTH_WEIGHT = 4.0
"""Per metre of position path plus per radian of rotation path."""
CONTROL_STEP_M = 0.20
CONTROL_STEP_RAD = 0.78
MIN_CONTROL_POSES = 3
MAX_CONTROL_POSES = 6
"""Control poses counted with the start and the goal (the free ones are in between)."""
DENSE_STEP_M = 0.02
DENSE_STEP_RAD = 0.10
OUTPUT_STEP_M = 0.05
OUTPUT_STEP_RAD = 0.34

# --- IK (reachability term) ---------------------------------------------------------------
IK_MAX_ITERATIONS = 20
IK_POSITION_TOLERANCE_M = 0.01
IK_ROTATION_TOLERANCE_RAD = 0.05

FAILURE_COST = 1.0e6
"""Objective value where a constraint cannot be evaluated (keeps the optimizer going)."""


@dataclass(frozen=True)
class BaselineOptions:
    """Optimizer budget of the baseline.

    Attributes:
        maxfun: objective evaluations allowed to dual annealing on a cold solve (the original
            uses 5000; SciPy treats it as a soft limit that includes the local searches).
        local_maxiter: SLSQP iterations (local search inside annealing, and warm solves).
        ik_max_iterations: iteration budget of the IK behind the reachability term.
        max_collision_points: collision points kept by farthest-point sampling.
        path_local_search: run SLSQP local searches inside the path's dual annealing. The
            original turns them off for the path (``False``) and on for the sub-goal.
    """

    maxfun: int = 5000
    local_maxiter: int = 200
    ik_max_iterations: int = IK_MAX_ITERATIONS
    max_collision_points: int = 60
    path_local_search: bool = False

    def __post_init__(self) -> None:
        for name in ("maxfun", "local_maxiter", "ik_max_iterations", "max_collision_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SolverError(f"BaselineOptions.{name} must be an int >= 1, got {value!r}")
