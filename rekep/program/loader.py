"""``load_program``: VLM text -> validated, sandbox-compiled :class:`ConstraintProgram`.

Pipeline: extract code from markdown (line numbers preserved) -> parse -> drop annotations ->
AST allow-list (:mod:`checker`) -> module-level structure (:mod:`parser`) -> RestrictedPython
policy as a second opinion when installed -> semantic validation (:mod:`validator`) -> guard
insertion (:mod:`transformer`) -> compile and run the module body under a deadline
(:mod:`sandbox`).
"""

from __future__ import annotations

import ast
import logging
import math

from rekep.errors import ProgramError
from rekep.program.checker import check_sandbox, restricted_python_check
from rekep.program.model import ConstraintFunction, ConstraintProgram, Stage
from rekep.program.parser import ParsedProgram, parse_program, sort_module
from rekep.program.sandbox import ProgramRuntime
from rekep.program.transformer import insert_guards, strip_annotations
from rekep.program.validator import validate

logger = logging.getLogger(__name__)


def _check_options(num_keypoints: object, bimanual: object, time_limit_s: object) -> None:
    if num_keypoints is not None and (type(num_keypoints) is not int or num_keypoints < 1):
        raise ProgramError(f"num_keypoints must be a positive int or None, got {num_keypoints!r}")
    if bimanual is not None and not isinstance(bimanual, bool):
        raise ProgramError(f"bimanual must be True, False or None, got {bimanual!r}")
    if not isinstance(time_limit_s, (int, float)) or not (
        time_limit_s > 0 and math.isfinite(time_limit_s)
    ):
        raise ProgramError(f"time_limit_s must be a positive number, got {time_limit_s!r}")


def _canonical_text(parsed: ParsedProgram) -> str:
    parts = []
    for node in parsed.statements:
        segment = ast.get_source_segment(parsed.code, node) or ast.unparse(node)
        parts.append(segment)
    return "\n\n".join(parts) + "\n"


def load_program(
    text: str,
    *,
    num_keypoints: int | None = None,
    bimanual: bool | None = None,
    time_limit_s: float = 0.1,
) -> ConstraintProgram:
    """Parse, validate and sandbox-compile a ReKep constraint program.

    Args:
        text: the program, or a VLM answer containing it in ```python fences.
        num_keypoints: K when known; enables index range checks and the keypoints shape check.
        bimanual: force single-arm (False) or bimanual (True); None detects it from whether
            grasp/release entries are ``[left, right]`` pairs.
        time_limit_s: wall-clock limit per function call, seconds.

    Raises:
        ProgramError: invalid program (message names function, line, cause and fix);
            SandboxViolation for forbidden constructs.
    """
    if not isinstance(text, str):
        raise ProgramError(f"program text must be a str, got {type(text).__name__}")
    _check_options(num_keypoints, bimanual, time_limit_s)
    parsed = parse_program(text)
    strip_annotations(parsed.tree)
    check_sandbox(parsed.tree)
    sort_module(parsed)
    restricted_python_check(parsed.tree)  # annotations already dropped
    layout = validate(parsed, num_keypoints, bimanual)
    canonical = _canonical_text(parsed)
    runtime = ProgramRuntime(
        insert_guards(parsed.tree),
        time_limit_s=float(time_limit_s),
        bimanual=layout.bimanual,
        num_keypoints=num_keypoints,
        load_args={"text": text, "num_keypoints": num_keypoints, "bimanual": bimanual,
                   "time_limit_s": time_limit_s},
        constants=parsed.constant_names,
    )
    stages = []
    for number in range(1, layout.num_stages + 1):
        fns = sorted(layout.by_stage[number], key=lambda f: (f.kind != "subgoal", f.index))
        built = {
            kind: tuple(
                ConstraintFunction(f.name, number, kind, f.index or 0, f.source, f.line, runtime)
                for f in fns
                if f.kind == kind
            )
            for kind in ("subgoal", "path")
        }
        stages.append(
            Stage(number, built["subgoal"], built["path"], layout.grasp[number - 1],
                  layout.release[number - 1])
        )
    program = ConstraintProgram(
        num_stages=layout.num_stages,
        stages=tuple(stages),
        source=text,
        num_keypoints=num_keypoints,
        bimanual=layout.bimanual,
        _text=canonical,
        _referenced=frozenset(layout.referenced),
        _runtime=runtime,
    )
    logger.debug("loaded constraint program: %d stages, %d functions", layout.num_stages,
                 len(program.functions()))
    return program
