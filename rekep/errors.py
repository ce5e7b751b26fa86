"""One exception hierarchy for the whole package.

Every error a user can trigger derives from :class:`RekepError`, so callers can catch one
type. Messages name the cause and the fix; third-party failures are wrapped with
``raise ... from``.
"""

from __future__ import annotations


class RekepError(Exception):
    """Root of every error raised on purpose by rekep, keypoints and solvers."""


class ObservationError(RekepError, ValueError):
    """An RGB-D observation (or a mask, intrinsics, pose) has the wrong shape, type or units."""


class PoseError(RekepError, ValueError):
    """A pose or rotation is malformed (not 4x4, not a rotation, not finite)."""


class ProgramError(RekepError):
    """A constraint program could not be parsed, validated, compiled or evaluated.

    ``function`` names the offending function (when known) and ``line`` is the 1-based line
    in the program text.
    """

    def __init__(self, message: str, *, function: str | None = None, line: int | None = None):
        where = []
        if function:
            where.append(f"in {function}")
        if line is not None:
            where.append(f"line {line}")
        prefix = f"[{', '.join(where)}] " if where else ""
        super().__init__(prefix + message)
        self.function = function
        self.line = line
        self.reason = message


class SandboxViolation(ProgramError):
    """Generated code tried something the sandbox forbids (import, dunder access, ...)."""


class ConstraintEvaluationError(ProgramError):
    """A constraint function raised, timed out, or returned a non-finite or non-scalar value."""


class SolverError(RekepError):
    """A solver could not be built or run (bad problem, unknown backend)."""


class KeypointError(RekepError):
    """Keypoint proposal could not run on the given input."""


class ConfigurationError(RekepError):
    """Something must be configured first (a VLM endpoint, an optional extra, a task name)."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class SimulationError(RekepError):
    """The simulator failed or was asked something impossible."""
