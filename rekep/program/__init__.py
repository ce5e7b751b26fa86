"""Constraint programs: the ReKep text format, its validator and its sandboxed loader.

Public API::

    load_program(text, *, num_keypoints=None, bimanual=None, time_limit_s=0.1) -> ConstraintProgram
    ConstraintProgram, Stage, ConstraintFunction, BoundConstraint (ConstraintFunction.bind)

Generated code is untrusted: it runs only through the sandbox (AST allow-list, RestrictedPython
policy when installed, allow-listed builtins and ``np`` proxy, size and deadline guards).
"""

from __future__ import annotations

from rekep.program.loader import load_program
from rekep.program.model import BoundConstraint, ConstraintFunction, ConstraintProgram, Stage

__all__ = ["BoundConstraint", "ConstraintFunction", "ConstraintProgram", "Stage", "load_program"]
