"""Semantic validation of a parsed program: stages, grasp/release lists, keypoint indices.

Rules (each failure raises :class:`ProgramError` naming the function/line, the cause and fix):

- ``num_stages`` is a literal int in 1..MAX_STAGES; ``grasp_keypoints`` and
  ``release_keypoints`` are literal lists of length ``num_stages`` holding ints >= -1, or
  ``[left, right]`` pairs for bimanual programs (auto-detected when ``bimanual`` is None);
- constraint functions belong to stages 1..num_stages and take exactly
  ``(end_effector, keypoints)``; every stage has at least one sub-goal constraint; a grasp
  stage has exactly one sub-goal and no path constraint (the ReKep prompt rule);
- per arm, a keypoint is released only while it is the held one, and nothing is grasped while
  something is still held;
- with ``num_keypoints`` known, every index in the lists, in literal ``keypoints[...]``
  subscripts and in literal ``get_grasping_cost_by_keypoint_idx(i)`` calls is in range.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from rekep.errors import ProgramError
from rekep.program.parser import ParsedFunction, ParsedProgram
from rekep.program.policy import GRASP_HELPER, LIST_NAMES, MAX_STAGES

Entry = int | tuple[int, int]


@dataclass
class Layout:
    """The validated shape of a program."""

    num_stages: int
    bimanual: bool
    grasp: list[Entry]
    release: list[Entry]
    by_stage: dict[int, list[ParsedFunction]] = field(default_factory=dict)
    referenced: set[int] = field(default_factory=set)


def _literal(parsed: ParsedProgram, name: str) -> tuple[Any, int]:
    node = parsed.specials.get(name)
    if node is None:
        example = "num_stages = 3" if name == "num_stages" else f"{name} = [-1, -1, -1]"
        raise ProgramError(f"`{name}` is missing; add a module-level line like `{example}`")
    try:
        return ast.literal_eval(node.value), node.lineno
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ProgramError(
            f"`{name}` must be a literal (numbers and lists only), not a computed expression",
            line=node.lineno,
        ) from None


def _num_stages(parsed: ParsedProgram) -> int:
    value, line = _literal(parsed, "num_stages")
    if type(value) is not int or not 1 <= value <= MAX_STAGES:
        raise ProgramError(
            f"`num_stages` must be an integer from 1 to {MAX_STAGES}, got {value!r}", line=line
        )
    return value


def _is_index(v: Any) -> bool:
    return type(v) is int


def _entries(name: str, value: Any, line: int, n: int, k: int | None) -> tuple[list[Entry], bool]:
    if not isinstance(value, (list, tuple)):
        raise ProgramError(f"`{name}` must be a list, got {type(value).__name__}", line=line)
    if len(value) != n:
        raise ProgramError(
            f"`{name}` has {len(value)} entries but num_stages is {n}; give one entry per stage "
            "(-1 where the stage grasps/releases nothing)",
            line=line,
        )
    pairs = [isinstance(v, (list, tuple)) for v in value]
    if any(pairs) and not all(pairs):
        raise ProgramError(
            f"`{name}` mixes single indices and [left, right] pairs; use pairs for every stage "
            "of a bimanual program and plain indices for a single arm",
            line=line,
        )
    entries: list[Entry] = []
    for stage, v in enumerate(value, start=1):
        if all(pairs):
            if len(v) != 2 or not all(_is_index(x) for x in v):
                raise ProgramError(
                    f"`{name}` entry for stage {stage} is {v!r}; bimanual entries must be "
                    "[left, right] pairs of keypoint indices or -1",
                    line=line,
                )
            entry: Entry = (v[0], v[1])
        elif _is_index(v):
            entry = v
        else:
            raise ProgramError(
                f"`{name}` entry for stage {stage} is {v!r}; use a keypoint index or -1",
                line=line,
            )
        for idx in entry if isinstance(entry, tuple) else (entry,):
            if idx < -1 or (k is not None and idx >= k):
                top = f"0..{k - 1}" if k is not None else "a keypoint index >= 0"
                raise ProgramError(
                    f"`{name}` entry for stage {stage} refers to keypoint {idx}; use {top} or -1",
                    line=line,
                )
        entries.append(entry)
    return entries, all(pairs)


def _check_signature(fn: ParsedFunction) -> None:
    a = fn.node.args
    positional = [*a.posonlyargs, *a.args]
    if len(positional) != 2 or a.vararg or a.kwarg or a.kwonlyargs or a.defaults:
        raise ProgramError(
            f"wrong signature: a constraint function takes exactly two parameters; write "
            f"`def {fn.name}(end_effector, keypoints):`",
            function=fn.name,
            line=fn.line,
        )


def _arm_sequence(arm: str, grasp: list[int], release: list[int]) -> None:
    held: int | None = None
    since = 0
    for stage, (g, r) in enumerate(zip(grasp, release, strict=True), start=1):
        if g != -1:
            if held is not None:
                raise ProgramError(
                    f"stage {stage} grasps keypoint {g}{arm} while keypoint {held} (grasped in "
                    f"stage {since}) is still held; release it in an earlier stage first"
                )
            held, since = g, stage
        if r != -1:
            if held is None:
                raise ProgramError(
                    f"stage {stage} releases keypoint {r}{arm}, but nothing is held then; a "
                    "keypoint must be grasped in an earlier stage before it is released"
                )
            if r != held:
                raise ProgramError(
                    f"stage {stage} releases keypoint {r}{arm}, but the held keypoint is {held} "
                    f"(grasped in stage {since}); release keypoint {held}"
                )
            held = None


def _literal_int(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal_int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _subscript_refs(index: ast.expr) -> list[tuple[int, bool]]:
    """(index, is_slice_stop) pairs a literal keypoint subscript refers to."""
    if isinstance(index, ast.Tuple) and index.elts:
        return _subscript_refs(index.elts[0])
    if isinstance(index, ast.List):
        return [(v, False) for v in map(_literal_int, index.elts) if v is not None]
    if isinstance(index, ast.Slice):
        lo = 0 if index.lower is None else _literal_int(index.lower)
        hi = None if index.upper is None else _literal_int(index.upper)
        step = 1 if index.step is None else _literal_int(index.step)
        if lo is None or hi is None or step is None or lo < 0 or hi < 0 or step <= 0:
            return []
        return [(i, False) for i in range(lo, min(hi, lo + 10_000), step)] + [(hi, True)]
    value = _literal_int(index)
    return [] if value is None else [(value, False)]


def keypoint_refs(fn: ParsedFunction) -> list[tuple[int, bool, int]]:
    """Literal keypoint indices used in ``fn``: (index, is_slice_stop, line)."""
    names = {"keypoints"}
    if fn.kind is not None and len(fn.node.args.args) == 2:
        names.add(fn.node.args.args[1].arg)
    refs: list[tuple[int, bool, int]] = []
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id in names:
                refs += [(i, stop, node.lineno) for i, stop in _subscript_refs(node.slice)]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == GRASP_HELPER
            and len(node.args) == 1
        ):
            value = _literal_int(node.args[0])
            if value is not None:
                refs.append((value, False, node.lineno))
    return refs


def _check_refs(fn: ParsedFunction, k: int | None, referenced: set[int]) -> None:
    for idx, is_stop, line in keypoint_refs(fn):
        if is_stop:
            if k is not None and idx > k:
                raise ProgramError(
                    f"slice of keypoints ends at {idx} but only {k} keypoints exist "
                    f"(0..{k - 1}); use indices shown on the image",
                    function=fn.name,
                    line=line,
                )
            continue
        if k is not None and not -k <= idx < k:
            raise ProgramError(
                f"keypoint index {idx} is out of range: only {k} keypoints exist (0..{k - 1}); "
                "use indices shown on the image",
                function=fn.name,
                line=line,
            )
        if idx >= 0:
            referenced.add(idx)
        elif k is not None:
            referenced.add(idx + k)


def _stage_functions(parsed: ParsedProgram, n: int) -> dict[int, list[ParsedFunction]]:
    by_stage: dict[int, list[ParsedFunction]] = {s: [] for s in range(1, n + 1)}
    for fn in parsed.constraints:
        assert fn.stage is not None and fn.index is not None
        if fn.stage < 1 or fn.index < 1:
            raise ProgramError(
                "stage and constraint numbers start at 1; rename the function",
                function=fn.name,
                line=fn.line,
            )
        if fn.stage > n:
            raise ProgramError(
                f"function is for stage {fn.stage} but num_stages is {n}; raise num_stages (and "
                "extend the grasp/release lists) or remove the function",
                function=fn.name,
                line=fn.line,
            )
        _check_signature(fn)
        by_stage[fn.stage].append(fn)
    return by_stage


def validate(parsed: ParsedProgram, num_keypoints: int | None, bimanual: bool | None) -> Layout:
    """Check the program's structure; return its :class:`Layout` or raise ProgramError."""
    n = _num_stages(parsed)
    lists = {}
    for name in LIST_NAMES:
        value, line = _literal(parsed, name)
        lists[name] = (*_entries(name, value, line, n, num_keypoints), line)
    (grasp, g_pairs, g_line), (release, r_pairs, r_line) = lists.values()
    if g_pairs != r_pairs:
        raise ProgramError(
            "grasp_keypoints and release_keypoints must both hold [left, right] pairs "
            "(bimanual) or both hold plain indices (single arm)",
            line=r_line,
        )
    if bimanual is not None and bimanual != g_pairs:
        want = "[left, right] pairs" if bimanual else "plain keypoint indices"
        raise ProgramError(
            f"the program was loaded with bimanual={bimanual}, so grasp_keypoints and "
            f"release_keypoints must hold {want}",
            line=g_line,
        )
    layout = Layout(num_stages=n, bimanual=g_pairs, grasp=grasp, release=release)
    layout.by_stage = _stage_functions(parsed, n)
    for stage, fns in layout.by_stage.items():
        subgoals = [f for f in fns if f.kind == "subgoal"]
        paths = [f for f in fns if f.kind == "path"]
        if not subgoals:
            raise ProgramError(
                f"stage {stage} has no sub-goal constraint; add "
                f"`def stage{stage}_subgoal_constraint1(end_effector, keypoints):`"
            )
        entry = grasp[stage - 1]
        grasps = any(e != -1 for e in entry) if isinstance(entry, tuple) else entry != -1
        if grasps and (len(subgoals) != 1 or paths):
            extra = subgoals[1] if len(subgoals) > 1 else paths[0]
            raise ProgramError(
                f"stage {stage} is a grasp stage, which must have exactly one sub-goal "
                f"constraint and no path constraint (it has {len(subgoals)} sub-goal and "
                f"{len(paths)} path constraints); move the extra constraints to the next stage",
                function=extra.name,
                line=extra.line,
            )
    arms = [("", 0)] if not layout.bimanual else [(" (left arm)", 0), (" (right arm)", 1)]
    for label, arm in arms:
        g = [e[arm] if isinstance(e, tuple) else e for e in grasp]
        r = [e[arm] if isinstance(e, tuple) else e for e in release]
        _arm_sequence(label, g, r)
        layout.referenced.update(i for i in (*g, *r) if i >= 0)
    for fn in parsed.functions:
        _check_refs(fn, num_keypoints, layout.referenced)
    return layout
