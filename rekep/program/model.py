"""The constraint-program model: functions, stages, programs (frozen, validated values).

Instances are made by :func:`rekep.program.load_program`, which binds each
:class:`ConstraintFunction` to the sandboxed runtime of its program; a function built by hand
has no runtime and cannot be called. Programs and functions pickle by re-loading their text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rekep.errors import ProgramError
from rekep.program.policy import CONSTRAINT_NAME

if TYPE_CHECKING:
    from rekep.program.sandbox import ProgramRuntime

Entry = int | tuple[int, int]


def _reload_program(args: dict[str, Any]) -> ConstraintProgram:
    from rekep.program.loader import load_program

    return load_program(**args)


def _reload_function(args: dict[str, Any], name: str) -> ConstraintFunction:
    return _reload_program(args).function(name)


@dataclass(frozen=True)
class ConstraintFunction:
    """One ``stage{i}_{kind}_constraint{j}(end_effector, keypoints)`` of a program.

    ``end_effector`` is (3,) metres for one arm or (2, 3) for two (row 0 left, row 1 right);
    ``keypoints`` is (K, 3) metres in the world frame. The cost holds when it is <= 0.
    """

    name: str
    stage: int
    kind: str
    index: int
    source: str
    line: int
    _runtime: ProgramRuntime | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        match = CONSTRAINT_NAME.match(self.name)
        if match is None or (int(match[1]), match[2], int(match[3])) != (
            self.stage, self.kind, self.index
        ):
            raise ProgramError(
                f"constraint function {self.name!r} does not match stage={self.stage}, "
                f"kind={self.kind!r}, index={self.index}; name it "
                f"stage{self.stage}_{self.kind}_constraint{self.index}"
            )
        if self.stage < 1 or self.index < 1 or self.line < 1:
            raise ProgramError("stage, index and line are 1-based", function=self.name)

    def _bound(self) -> ProgramRuntime:
        if self._runtime is None:
            raise ProgramError(
                "this ConstraintFunction is not bound to a loaded program; get it from "
                "load_program(...)",
                function=self.name,
            )
        return self._runtime

    def __call__(self, end_effector: Any, keypoints: Any,
                 held_keypoints: Collection[int] = ()) -> float:
        """Cost at ``end_effector`` ((3,) or (2, 3)) and ``keypoints`` ((K, 3)), in the sandbox.

        ``held_keypoints`` are the indices of keypoints on currently held objects; the
        grasping helper returns 0 for them. Raises ConstraintEvaluationError (naming this
        function and the program line) when the code raises, times out, or does not return a
        finite real scalar, and SandboxViolation when it breaks a sandbox limit.
        """
        runtime = self._bound()
        return runtime.evaluate(self.name, self.line, end_effector, keypoints, held_keypoints)

    def call_with(self, np_like: object, end_effector: Any, keypoints: Any,
                  held_keypoints: Collection[int] = (), *,
                  builtins: Mapping[str, Any] | None = None) -> object:
        """Run the same code with ``np`` bound to ``np_like`` (e.g. a CasADi shim).

        Only the allow-listed ``np`` names are taken from ``np_like``. ``builtins`` may
        replace allowed builtins (e.g. ``max``/``min``/``float`` versions that trace); pass
        the same mapping object each time, namespaces are cached per (np_like, builtins).
        The result is returned unchecked; exceptions become ConstraintEvaluationError and
        sandbox guards still apply.
        """
        runtime = self._bound()
        return runtime.call_with(
            np_like, self.name, self.line, end_effector, keypoints, held_keypoints, builtins
        )

    def bind(self, held_keypoints: Collection[int] = ()) -> BoundConstraint:
        """This function with the grasp state fixed: ``f(end_effector, keypoints)``."""
        return BoundConstraint(self, tuple(int(i) for i in held_keypoints))

    def __reduce__(self) -> Any:
        if self._runtime is None:
            return (ConstraintFunction, (self.name, self.stage, self.kind, self.index,
                                         self.source, self.line))
        return (_reload_function, (self._runtime.load_args, self.name))


@dataclass(frozen=True)
class BoundConstraint:
    """A :class:`ConstraintFunction` with the grasp state fixed (constant within one solve).

    Calling it takes ``(end_effector, keypoints)`` like a plain cost; solvers that trace read
    ``function`` and ``held_keypoints`` to trace the same code symbolically.
    """

    function: ConstraintFunction
    held_keypoints: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.function.name

    def __call__(self, end_effector: Any, keypoints: Any) -> float:
        return self.function(end_effector, keypoints, self.held_keypoints)


@dataclass(frozen=True)
class Stage:
    """One stage: its constraints and the keypoint grasped / released at its end (-1 none)."""

    number: int
    subgoal_constraints: tuple[ConstraintFunction, ...]
    path_constraints: tuple[ConstraintFunction, ...]
    grasp_keypoint: Entry
    release_keypoint: Entry

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ProgramError(f"stage numbers start at 1, got {self.number}")
        for kind, fns in (("subgoal", self.subgoal_constraints), ("path", self.path_constraints)):
            for fn in fns:
                if fn.stage != self.number or fn.kind != kind:
                    raise ProgramError(
                        f"{fn.name} cannot be a {kind} constraint of stage {self.number}",
                        function=fn.name,
                    )
        if isinstance(self.grasp_keypoint, tuple) != isinstance(self.release_keypoint, tuple):
            raise ProgramError("grasp and release keypoints must both be pairs or both be ints")

    @property
    def is_grasp_stage(self) -> bool:
        """True when a keypoint (either arm, if bimanual) is grasped at the end of this stage."""
        g = self.grasp_keypoint
        return any(k != -1 for k in g) if isinstance(g, tuple) else g != -1

    @property
    def is_release_stage(self) -> bool:
        """True when a keypoint (either arm, if bimanual) is released at the end of this stage."""
        r = self.release_keypoint
        return any(k != -1 for k in r) if isinstance(r, tuple) else r != -1


@dataclass(frozen=True)
class ConstraintProgram:
    """A validated, sandbox-compiled constraint program.

    ``source`` is the text given to :func:`load_program` (program lines refer to it);
    :meth:`to_text` gives the program code alone.
    """

    num_stages: int
    stages: tuple[Stage, ...]
    source: str
    num_keypoints: int | None
    bimanual: bool
    _text: str = field(default="", repr=False, compare=False)
    _referenced: frozenset[int] | None = field(default=None, repr=False, compare=False)
    _runtime: ProgramRuntime | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.num_stages != len(self.stages):
            raise ProgramError(f"num_stages={self.num_stages} but {len(self.stages)} stages given")
        for i, stage in enumerate(self.stages, start=1):
            if stage.number != i:
                raise ProgramError(f"stage {i} is numbered {stage.number}; number stages 1..N")
            if isinstance(stage.grasp_keypoint, tuple) != self.bimanual:
                raise ProgramError(f"stage {i}: grasp/release entries do not match bimanual")

    def functions(self) -> tuple[ConstraintFunction, ...]:
        """All constraint functions, stage by stage, sub-goals before path constraints."""
        return tuple(f for s in self.stages for f in (*s.subgoal_constraints, *s.path_constraints))

    def function(self, name: str) -> ConstraintFunction:
        """The constraint function called ``name``."""
        for fn in self.functions():
            if fn.name == name:
                return fn
        names = ", ".join(f.name for f in self.functions())
        raise ProgramError(f"no constraint function {name!r}; the program has: {names}")

    def referenced_keypoints(self) -> set[int]:
        """Keypoint indices used literally: ``keypoints[k]`` (also slices and lists of ints),
        ``get_grasping_cost_by_keypoint_idx(k)``, and the grasp/release lists."""
        if self._referenced is not None:
            return set(self._referenced)
        found: set[int] = set()
        for stage in self.stages:
            for entry in (stage.grasp_keypoint, stage.release_keypoint):
                found.update(k for k in (entry if isinstance(entry, tuple) else (entry,)) if k >= 0)
        return found

    def to_text(self) -> str:
        """Program code (no prose or fences); ``load_program(p.to_text())`` is equivalent."""
        if self._text:
            return self._text
        lines = [f"num_stages = {self.num_stages}", ""]
        lines += [fn.source + "\n" for fn in self.functions()]
        def entry(e: Entry) -> object:
            return list(e) if isinstance(e, tuple) else e

        pairs = [(entry(s.grasp_keypoint), entry(s.release_keypoint)) for s in self.stages]
        lines.append(f"grasp_keypoints = {[g for g, _ in pairs]}")
        lines.append(f"release_keypoints = {[r for _, r in pairs]}")
        return "\n".join(lines) + "\n"

    def __reduce__(self) -> Any:
        if self._runtime is None:
            return (ConstraintProgram, (self.num_stages, self.stages, self.source,
                                        self.num_keypoints, self.bimanual))
        return (_reload_program, (self._runtime.load_args,))
