"""Load-time AST allow-list for the constraint language.

:func:`check_sandbox` walks a parsed program and raises :class:`SandboxViolation` for the
first construct outside the language: imports, names or attributes starting with ``_``,
attributes not on the allow-list (``np.`` paths are checked against the NumPy allow-list),
names that are neither defined by the program nor allowed builtins, and statements or
expressions such as ``while``, ``try``, ``with``, ``class``, ``global``, ``lambda`` defaults,
generators, ``yield``, f-strings, decorators and ``del``. When RestrictedPython is installed
its own policy is applied as a second opinion (:func:`restricted_python_check`).
"""

from __future__ import annotations

import ast
import copy
import logging
from typing import Any

from rekep.errors import SandboxViolation
from rekep.program.policy import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_BUILTINS,
    NUMPY_NAME,
    RESERVED_NAMES,
    allowed_numpy_path,
)

logger = logging.getLogger(__name__)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.FunctionDef, ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For,
    ast.If, ast.Expr, ast.Pass, ast.Break, ast.Continue, ast.Assert,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set, ast.ListComp,
    ast.SetComp, ast.DictComp, ast.Call, ast.Compare, ast.Constant, ast.Attribute,
    ast.Subscript, ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice, ast.keyword,
    ast.comprehension, ast.arguments, ast.arg, ast.expr_context, ast.operator, ast.unaryop,
    ast.cmpop, ast.boolop,
)

_REASONS: dict[type[ast.AST], str] = {
    ast.Import: "imports are not allowed; `np` (NumPy) is already available, remove the import",
    ast.ImportFrom: "imports are not allowed; `np` (NumPy) is already available, remove the "
    "import",
    ast.While: "`while` loops are not allowed; use `for i in range(n)` with a fixed bound",
    ast.Try: "`try` is not allowed; write code that does not raise",
    ast.With: "`with` is not allowed",
    ast.ClassDef: "class definitions are not allowed; use functions",
    ast.Global: "`global` is not allowed; return values instead",
    ast.Nonlocal: "`nonlocal` is not allowed; return values instead",
    ast.Delete: "`del` is not allowed",
    ast.Raise: "`raise` is not allowed; return a positive cost instead",
    ast.GeneratorExp: "generator expressions are not allowed; use a list comprehension",
    ast.Yield: "`yield` is not allowed; return a cost",
    ast.YieldFrom: "`yield from` is not allowed; return a cost",
    ast.Await: "`await` is not allowed",
    ast.AsyncFunctionDef: "`async def` is not allowed; use `def`",
    ast.AsyncFor: "`async for` is not allowed",
    ast.AsyncWith: "`async with` is not allowed",
    ast.JoinedStr: "f-strings are not allowed; constraint functions return numbers",
    ast.NamedExpr: "the walrus operator `:=` is not allowed; use a plain assignment",
    ast.Match: "`match` statements are not allowed; use `if`",
}
if hasattr(ast, "TryStar"):
    _REASONS[ast.TryStar] = _REASONS[ast.Try]


def defined_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (assignments, defs, parameters, loop targets)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def numpy_path(node: ast.Attribute) -> tuple[str, ...] | None:
    """``("linalg", "norm")`` for ``np.linalg.norm``; None when the chain is not rooted at np."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if isinstance(current, ast.Name) and current.id == NUMPY_NAME:
        return tuple(reversed(parts))
    return None


def _is_constant_default(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and not isinstance(node.value, bytes)


class _Checker(ast.NodeVisitor):
    def __init__(self, known: set[str]):
        self.known = known
        self.function: str | None = None

    def fail(self, node: ast.AST, reason: str) -> SandboxViolation:
        return SandboxViolation(reason, function=self.function, line=getattr(node, "lineno", None))

    def generic_visit(self, node: ast.AST) -> Any:
        reason = _REASONS.get(type(node))
        if reason is not None:
            raise self.fail(node, reason)
        if not isinstance(node, _ALLOWED_NODES):
            raise self.fail(node, f"`{type(node).__name__}` is not allowed in constraint programs")
        return super().generic_visit(node)

    def _check_name(self, node: ast.AST, name: str, binding: bool) -> None:
        if name.startswith("_") and name != "_":
            raise self.fail(
                node, f"name {name!r} starts with '_'; private and dunder names are not "
                "allowed, rename it"
            )
        if binding and name in RESERVED_NAMES:
            raise self.fail(node, f"{name!r} is provided by the sandbox and cannot be rebound")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        if node.decorator_list:
            raise self.fail(node, "decorators are not allowed; call helper functions directly")
        self._check_name(node, node.name, binding=True)
        outer = self.function
        if outer is None:
            self.function = node.name
        self.visit(node.args)
        for stmt in node.body:
            self.visit(stmt)
        self.function = outer

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        self.visit(node.args)
        self.visit(node.body)

    def visit_arguments(self, node: ast.arguments) -> Any:
        for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
            if not _is_constant_default(default):
                raise self.fail(
                    default, "parameter defaults must be plain constants (numbers, strings, None)"
                )
        for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
            if arg is not None:
                self._check_name(arg, arg.arg, binding=True)

    def visit_Name(self, node: ast.Name) -> Any:
        binding = not isinstance(node.ctx, ast.Load)
        self._check_name(node, node.id, binding)
        if not binding and node.id not in self.known:
            raise self.fail(
                node, f"name {node.id!r} is not available; constraint code may use `np`, "
                f"{', '.join(sorted(RESERVED_NAMES - {NUMPY_NAME}))}, the builtins "
                f"{', '.join(sorted(ALLOWED_BUILTINS))}, and names the program defines"
            )

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_"):
            raise self.fail(node, f"attribute {node.attr!r} starts with '_'; private and dunder "
                            "attributes are not allowed")
        if not isinstance(node.ctx, ast.Load):
            raise self.fail(node, "assigning to attributes is not allowed; use local variables")
        path = numpy_path(node)
        if path is not None:
            if not allowed_numpy_path(path):
                raise self.fail(
                    node, f"np.{'.'.join(path)} is not available in constraint programs; use "
                    "NumPy maths such as np.linalg.norm, np.dot, np.cross, np.mean, np.clip"
                )
            return
        if node.attr not in ALLOWED_ATTRIBUTES:
            raise self.fail(
                node, f"attribute {node.attr!r} is not available; allowed attributes are "
                f"{', '.join(sorted(ALLOWED_ATTRIBUTES))} (NumPy functions via `np.` directly)"
            )
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bytes):
            raise self.fail(node, "bytes literals are not allowed")

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        if node.is_async:
            raise self.fail(node, "async comprehensions are not allowed")
        self.generic_visit(node)


def check_sandbox(tree: ast.Module) -> None:
    """Raise :class:`SandboxViolation` for the first construct outside the constraint language."""
    known = defined_names(tree) | set(ALLOWED_BUILTINS) | set(RESERVED_NAMES)
    _Checker(known).visit(tree)


_RESTRICTED_IGNORED = ("Augmented assignment of object items and slices is not allowed",)


def restricted_python_check(code: str | ast.Module) -> None:
    """Second opinion from RestrictedPython's policy, when the package is installed.

    ``code`` is source text or a parsed module (a copy is checked; RestrictedPython rewrites
    the tree it is given). Our transformer guards augmented item assignment itself, so that
    one refusal is ignored.
    """
    try:
        from RestrictedPython import compile_restricted_exec
    except ImportError:
        logger.debug("RestrictedPython not installed; relying on the rekep allow-list only")
        return
    source = copy.deepcopy(code) if isinstance(code, ast.AST) else code
    result = compile_restricted_exec(source, filename="<constraint program>")
    errors = [e for e in result.errors if not any(s in e for s in _RESTRICTED_IGNORED)]
    if errors:
        line = None
        first = errors[0]
        if first.startswith("Line "):
            head = first[5:].split(":", 1)[0]
            line = int(head) if head.isdigit() else None
        raise SandboxViolation(f"rejected by RestrictedPython: {first}", line=line)
