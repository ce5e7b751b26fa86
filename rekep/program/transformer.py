"""AST rewriting that routes a checked program through the run-time guards.

After :func:`rekep.program.checker.check_sandbox` has accepted a tree, :func:`insert_guards`
rewrites it (keeping line numbers) so that:

- every function and lambda body, loop iteration and comprehension item calls ``_rk_tick()``
  (deadline check);
- binary operators, comparisons and augmented assignments call size-checking guards;
- attribute reads not rooted at ``np`` call ``_rk_getattr`` (allow-list at run time too).

``np.<name>`` chains stay plain attribute reads on the allow-listed NumPy proxy, which keeps the
common ``np.linalg.norm(...)`` call cheap. :func:`strip_annotations` drops annotations, which are
never evaluated.
"""

from __future__ import annotations

import ast
from typing import Any

from rekep.program.checker import numpy_path
from rekep.program.guards import binop_name, compare_name, inplace_name


def strip_annotations(tree: ast.Module) -> ast.Module:
    """Remove parameter/return/variable annotations (they are never evaluated)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
    return _AnnAssignRemover().visit(tree)


class _AnnAssignRemover(ast.NodeTransformer):
    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        if node.value is None or not node.simple:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


def _name(name: str, node: ast.AST) -> ast.Name:
    return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)


def _call(name: str, args: list[ast.expr], node: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=_name(name, node), args=args, keywords=[]), node)


def _tick(node: ast.AST) -> ast.Call:
    return _call("_rk_tick", [], node)


def _as_value(index: ast.expr) -> ast.expr:
    """Turn a subscript index containing ``a:b`` slices into an ordinary expression."""
    if isinstance(index, ast.Slice):
        parts = [p if p is not None else ast.Constant(value=None) for p in
                 (index.lower, index.upper, index.step)]
        return _call("_rk_slice", [ast.copy_location(p, index) for p in parts], index)
    if isinstance(index, ast.Tuple):
        elts = [_as_value(e) for e in index.elts]
        return ast.copy_location(ast.Tuple(elts=elts, ctx=ast.Load()), index)
    return index


class _GuardInserter(ast.NodeTransformer):
    def _prefix_tick(self, body: list[ast.stmt], node: ast.AST) -> list[ast.stmt]:
        tick = ast.copy_location(ast.Expr(value=_tick(node)), node)
        first = body[0] if body else None
        is_doc = (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        )
        return [body[0], tick, *body[1:]] if is_doc else [tick, *body]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self.generic_visit(node)
        node.body = self._prefix_tick(node.body, node)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        self.generic_visit(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.And(), values=[_tick(node), node.body]),
                                      node.body)
        return node

    def visit_For(self, node: ast.For) -> Any:
        self.generic_visit(node)
        node.body = self._prefix_tick(node.body, node)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        self.generic_visit(node)
        node.ifs.insert(0, _tick(node.iter))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        return _call(binop_name(type(node.op).__name__), [node.left, node.right], node)

    def visit_Compare(self, node: ast.Compare) -> Any:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return _call(compare_name(type(node.ops[0]).__name__), [node.left, node.comparators[0]],
                         node)
        pairs: list[ast.expr] = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            thunk = ast.Lambda(
                args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                   kw_defaults=[], kwarg=None, defaults=[]),
                body=comparator,
            )
            pair = ast.Tuple(elts=[_name(compare_name(type(op).__name__), node), thunk],
                             ctx=ast.Load())
            pairs.append(ast.copy_location(pair, comparator))
        return _call("_rk_chain", [node.left, *pairs], node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if numpy_path(node) is not None:
            return node
        self.generic_visit(node)
        const = ast.copy_location(ast.Constant(value=node.attr), node)
        return _call("_rk_getattr", [node.value, const], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        guard = inplace_name(type(node.op).__name__)
        target = node.target
        if isinstance(target, ast.Name):
            load = _name(target.id, target)
            value = _call(guard, [load, node.value], node)
            return ast.copy_location(ast.Assign(targets=[target], value=value), node)
        if isinstance(target, ast.Subscript):
            args = [target.value, _as_value(target.slice), _name(guard, node), node.value]
            return ast.copy_location(ast.Expr(value=_call("_rk_aug_item", args, node)), node)
        raise AssertionError("checker rejects augmented assignment to attributes")


def insert_guards(tree: ast.Module) -> ast.Module:
    """Rewrite a checked tree in place so that it calls the guards; returns the tree."""
    tree = _GuardInserter().visit(tree)
    return ast.fix_missing_locations(tree)
