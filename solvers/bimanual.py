"""Bimanual sub-goal and path solving: two arms in one CasADi problem, with arm-arm collision.

Public entry points (row 0 = left arm, row 1 = right arm everywhere):

* :class:`BimanualProblem` (:mod:`solvers.bimanual_problem`): one stage's constraints
  ``f(end_effector (2, 3), keypoints (K, 3))``, keypoints, who holds what, both arms.
* :func:`solve_bimanual_subgoal` -> :class:`BimanualSolution` (:mod:`solvers.bimanual_subgoal`,
  NLP in :mod:`solvers.bimanual_nlp`).
* :func:`plan_bimanual_path` -> :class:`BimanualPath` (:mod:`solvers.bimanual_path`).
* :data:`LEFT_BASE`, :data:`RIGHT_BASE`: the two-Panda layout shared with the simulation
  (bases 0.7 m apart on the world y axis, identity orientation, world x forward);
  :func:`dual_panda` builds the robot pair.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from solvers.bimanual_path import plan_bimanual_path
from solvers.bimanual_problem import BimanualPath, BimanualProblem, BimanualSolution
from solvers.bimanual_subgoal import solve_bimanual_subgoal
from solvers.kinematics import RobotModel
from solvers.robots.chain import RobotSpec
from solvers.robots.panda import PANDA


def _base(y: float) -> NDArray[np.float64]:
    T = np.eye(4)
    T[1, 3] = y
    T.setflags(write=False)
    return T


LEFT_BASE: NDArray[np.float64] = _base(0.35)
"""(4, 4) ``T_world_base`` of the left Panda: at (0, +0.35, 0), identity orientation."""
RIGHT_BASE: NDArray[np.float64] = _base(-0.35)
"""(4, 4) ``T_world_base`` of the right Panda: at (0, -0.35, 0), identity orientation."""


def dual_panda(spec: RobotSpec = PANDA) -> tuple[RobotModel, RobotModel]:
    """(left, right) robot models at :data:`LEFT_BASE` and :data:`RIGHT_BASE`.

    Build them once and reuse them: the solvers cache their NLPs per robot object.
    """
    return RobotModel(spec, LEFT_BASE), RobotModel(spec, RIGHT_BASE)


__all__ = [
    "LEFT_BASE",
    "RIGHT_BASE",
    "BimanualPath",
    "BimanualProblem",
    "BimanualSolution",
    "dual_panda",
    "plan_bimanual_path",
    "solve_bimanual_subgoal",
]
