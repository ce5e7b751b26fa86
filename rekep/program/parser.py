"""From VLM text to a parsed program: code extraction, syntax, module-level structure.

:func:`extract_code` keeps line numbers of the original text (lines outside ```python fences
become blank), so every line reported by the loader refers to the text the VLM wrote.
:func:`parse_program` parses the code and sorts the module-level statements into the three
special assignments, other constants, and function definitions.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

from rekep.errors import ProgramError, SandboxViolation
from rekep.program.checker import numpy_path
from rekep.program.policy import CONSTRAINT_NAME, LIST_NAMES, STAGE_PREFIX

#: Filename given to compiled programs; tracebacks use it to find the failing program line.
PROGRAM_FILENAME = "<rekep constraint program>"
_PYTHON_TAGS = frozenset({"", "python", "py", "python3"})
_CONSTANT_NODES = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.UnaryOp, ast.BinOp, ast.Name,
    ast.Attribute, ast.Call, ast.keyword, ast.Subscript, ast.Slice, ast.expr_context,
    ast.operator, ast.unaryop,
)


@dataclass
class ParsedFunction:
    """One top-level ``def``: a constraint (stage/kind/index set) or a helper (all None)."""

    name: str
    node: ast.FunctionDef
    source: str
    line: int
    stage: int | None = None
    kind: str | None = None
    index: int | None = None


@dataclass
class ParsedProgram:
    """Module-level pieces of a program, before semantic validation."""

    text: str
    code: str
    tree: ast.Module
    specials: dict[str, ast.Assign] = field(default_factory=dict)
    constants: list[ast.Assign] = field(default_factory=list)
    functions: list[ParsedFunction] = field(default_factory=list)
    statements: list[ast.stmt] = field(default_factory=list)

    @property
    def constant_names(self) -> list[str]:
        """Names assigned at module level (the special lists and other constants)."""
        nodes = [*self.specials.values(), *self.constants]
        return [n.targets[0].id for n in nodes if isinstance(n.targets[0], ast.Name)]

    @property
    def constraints(self) -> list[ParsedFunction]:
        return [f for f in self.functions if f.kind is not None]


def extract_code(text: str) -> str:
    """Python code of a VLM answer, line-aligned with ``text``.

    The fenced blocks tagged ``python`` (or untagged) are kept, each dedented, and every other
    line becomes empty; without such fences the whole text is the code.
    """
    lines = text.splitlines()
    out = [""] * len(lines)
    found = False
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```"):
            tag = stripped[3:].strip().lower()
            start = i + 1
            end = start
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            if tag in _PYTHON_TAGS:
                found = True
                block = textwrap.dedent("\n".join(lines[start:end])).split("\n")
                out[start : start + len(block)] = block
            i = end + 1
            continue
        i += 1
    return "\n".join(out) if found else text


def _syntax_error(exc: SyntaxError) -> ProgramError:
    return ProgramError(
        f"syntax error: {exc.msg}; rewrite the program as valid Python 3 (one ```python block, "
        "prose outside the fence)",
        line=exc.lineno,
    )


def _module_level_error(node: ast.AST, what: str) -> SandboxViolation:
    return SandboxViolation(
        f"{what} is not allowed at module level; the module may only contain num_stages, "
        "grasp_keypoints, release_keypoints, constant assignments, docstrings and function "
        "definitions",
        line=getattr(node, "lineno", None),
    )


def _check_constant_expression(name: str, value: ast.expr) -> None:
    for node in ast.walk(value):
        if not isinstance(node, _CONSTANT_NODES):
            raise SandboxViolation(
                f"module-level constant {name!r} uses `{type(node).__name__}`; module-level "
                "values must be constants (numbers, lists, arithmetic, np.* calls); move the "
                "computation into a function",
                line=getattr(node, "lineno", value.lineno),
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Attribute) and numpy_path(node.func) is not None
        ):
            raise SandboxViolation(
                f"module-level constant {name!r} calls a function other than np.*; move the "
                "call into a constraint or helper function",
                line=node.lineno,
            )


def _add_function(parsed: ParsedProgram, node: ast.FunctionDef, seen: dict[str, int]) -> None:
    if node.name in seen:
        raise ProgramError(
            f"function {node.name!r} is defined twice (first at line {seen[node.name]}); "
            "keep one definition per name",
            function=node.name,
            line=node.lineno,
        )
    seen[node.name] = node.lineno
    source = ast.get_source_segment(parsed.code, node) or ast.unparse(node)
    fn = ParsedFunction(node.name, node, source, node.lineno)
    match = CONSTRAINT_NAME.match(node.name)
    if match:
        fn.stage, fn.kind, fn.index = int(match[1]), match[2], int(match[3])
    elif STAGE_PREFIX.match(node.name):
        raise ProgramError(
            f"function name {node.name!r} looks like a constraint but does not follow "
            "stage{i}_subgoal_constraint{j} or stage{i}_path_constraint{j} (i, j from 1); "
            "rename it",
            function=node.name,
            line=node.lineno,
        )
    parsed.functions.append(fn)


def parse_program(text: str) -> ParsedProgram:
    """Extract and parse the code and sort its module-level statements.

    Raises :class:`ProgramError` for syntax errors and duplicate definitions and
    :class:`SandboxViolation` for statements not allowed at module level.
    """
    code = extract_code(text)
    try:
        tree = ast.parse(code, filename=PROGRAM_FILENAME)
    except SyntaxError as exc:
        raise _syntax_error(exc) from exc
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ProgramError(f"the program cannot be parsed ({exc}); rewrite it") from exc
    return ParsedProgram(text=text, code=code, tree=tree)


def sort_module(parsed: ParsedProgram) -> ParsedProgram:
    """Fill ``specials``, ``constants``, ``functions`` of ``parsed`` from its module body."""
    seen_functions: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for node in parsed.tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            if not isinstance(node.value.value, str):
                raise _module_level_error(node, "a bare expression")
            continue
        if isinstance(node, ast.Pass):
            continue
        parsed.statements.append(node)
        if isinstance(node, ast.FunctionDef):
            _add_function(parsed, node, seen_functions)
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise _module_level_error(node, "an assignment to anything but one plain name")
            name = node.targets[0].id
            if name in seen_names:
                raise ProgramError(
                    f"{name!r} is assigned twice (first at line {seen_names[name]}); "
                    "assign it once",
                    line=node.lineno,
                )
            seen_names[name] = node.lineno
            if name in ("num_stages", *LIST_NAMES):
                parsed.specials[name] = node
            else:
                _check_constant_expression(name, node.value)
                parsed.constants.append(node)
        else:
            raise _module_level_error(node, f"`{type(node).__name__}`")
    clash = set(seen_functions) & set(seen_names)
    if clash:
        name = sorted(clash)[0]
        raise ProgramError(
            f"{name!r} is both a function and a variable; rename one of them",
            line=seen_names[name],
        )
    return parsed
