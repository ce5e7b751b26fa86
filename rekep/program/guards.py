"""Run-time guards called by transformed constraint code.

The transformer (:mod:`rekep.program.transformer`) rewrites a program so that binary
operators, comparisons, augmented assignments, attribute reads on ordinary values, function
entries and loop iterations go through the functions here. They bound memory (array sizes,
sequence repetition, big integers) and time (a wall-clock deadline checked on every loop
iteration and function call). The per-thread :data:`STATE` holds the current deadline and
the set of held keypoints read by the grasping helper.
"""

from __future__ import annotations

import builtins
import math
import operator
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rekep.errors import SandboxViolation
from rekep.program.limits import check_array_operands, check_product
from rekep.program.policy import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_BUILTINS,
    MAX_ELEMENTS,
    MAX_INT_BITS,
    MAX_SEQUENCE,
)

_perf = time.perf_counter
_NDARRAY = np.ndarray
_SEQUENCES = (list, tuple, str, bytes)
# Operand types whose results cannot grow: checks are skipped for pairs of these.
_SMALL = frozenset({float, np.float64, np.float32, bool, np.bool_, np.int64, np.int32})


class DeadlineExceeded(Exception):
    """Raised by :func:`tick` when the per-call deadline has passed."""


class _State(threading.local):
    deadline: float = math.inf
    held: frozenset[int] = frozenset()


STATE = _State()


def tick() -> bool:
    """Check the deadline; inserted at every function entry and loop iteration."""
    if _perf() > STATE.deadline:
        raise DeadlineExceeded
    return True


def grasping_cost(keypoint_index: Any) -> float:
    """``get_grasping_cost_by_keypoint_idx(i)``: 0.0 while keypoint i is held, else 1.0."""
    try:
        index = operator.index(keypoint_index)
    except TypeError:
        raise TypeError(
            f"get_grasping_cost_by_keypoint_idx expects an integer keypoint index, "
            f"got {type(keypoint_index).__name__}"
        ) from None
    return 0.0 if index in STATE.held else 1.0


def _check_ints(symbol: str, a: int, b: int) -> None:
    if symbol == "*":
        bits = a.bit_length() + b.bit_length()
    elif symbol == "**":
        bits = a.bit_length() * b if b > 0 and abs(a) > 1 else 0
    elif symbol == "<<":
        bits = a.bit_length() + b if a else 0
    else:
        return
    if bits > MAX_INT_BITS:
        raise SandboxViolation(
            f"integer operation '{symbol}' would create a number of about {bits} bits "
            f"(limit {MAX_INT_BITS}); use floats for large magnitudes"
        )


def _check_sequences(symbol: str, a: Any, b: Any) -> None:
    if symbol == "%" and isinstance(a, (str, bytes)):
        raise SandboxViolation(
            "string formatting with '%' is not available in constraint programs; "
            "return numbers, not text"
        )
    if symbol == "+" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        size = len(a) + len(b)
    elif symbol == "*" and isinstance(a, _SEQUENCES) and isinstance(b, int):
        size = len(a) * b
    elif symbol == "*" and isinstance(b, _SEQUENCES) and isinstance(a, int):
        size = len(b) * a
    else:
        return
    if size > MAX_SEQUENCE:
        raise SandboxViolation(
            f"the sequence operation '{symbol}' would create {size:.3g} items (limit "
            f"{MAX_SEQUENCE}); constraint functions only need short lists"
        )


def check_binary(symbol: str, a: Any, b: Any) -> None:
    """Raise :class:`SandboxViolation` when ``a <symbol> b`` would be too large."""
    ta, tb = type(a), type(b)
    if ta is _NDARRAY or tb is _NDARRAY or isinstance(a, _NDARRAY) or isinstance(b, _NDARRAY):
        check_array_operands(symbol, a, b)
    elif ta is int and tb is int:
        _check_ints(symbol, a, b)
    elif ta in _SEQUENCES or tb in _SEQUENCES or isinstance(a, _SEQUENCES):
        _check_sequences(symbol, a, b)


def _binary(symbol: str, fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    small = _SMALL
    scalars = _SMALL | {int}
    ndarray = _NDARRAY
    limit = MAX_ELEMENTS * 64  # product of two operands' bytes: 8 x 8 per float64 pair

    def guarded(a: Any, b: Any) -> Any:
        ta = type(a)
        tb = type(b)
        if ta in small and tb in small:
            return fn(a, b)
        if ta is ndarray:
            if (tb is ndarray and a.nbytes * b.nbytes <= limit) or tb in scalars:
                return fn(a, b)
        elif tb is ndarray and ta in scalars:
            return fn(a, b)
        check_binary(symbol, a, b)
        return fn(a, b)

    guarded.__name__ = f"guarded_{fn.__name__}"
    return guarded


_BINARY_OPS: dict[str, tuple[str, Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "Add": ("+", operator.add, operator.iadd),
    "Sub": ("-", operator.sub, operator.isub),
    "Mult": ("*", operator.mul, operator.imul),
    "Div": ("/", operator.truediv, operator.itruediv),
    "FloorDiv": ("//", operator.floordiv, operator.ifloordiv),
    "Mod": ("%", operator.mod, operator.imod),
    "Pow": ("**", operator.pow, operator.ipow),
    "MatMult": ("@", operator.matmul, operator.imatmul),
    "LShift": ("<<", operator.lshift, operator.ilshift),
    "RShift": (">>", operator.rshift, operator.irshift),
    "BitAnd": ("&", operator.and_, operator.iand),
    "BitOr": ("|", operator.or_, operator.ior),
    "BitXor": ("^", operator.xor, operator.ixor),
}
_COMPARE_OPS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "Eq": ("==", operator.eq),
    "NotEq": ("!=", operator.ne),
    "Lt": ("<", operator.lt),
    "LtE": ("<=", operator.le),
    "Gt": (">", operator.gt),
    "GtE": (">=", operator.ge),
}
_PLAIN_COMPARE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "In": lambda a, b: a in b,
    "NotIn": lambda a, b: a not in b,
    "Is": operator.is_,
    "IsNot": operator.is_not,
}


def binop_name(op: str) -> str:
    """Global name of the guard for binary operator node class ``op`` (e.g. ``"Add"``)."""
    return f"_rk_op_{op}"


def inplace_name(op: str) -> str:
    """Global name of the guard for augmented assignment with operator ``op``."""
    return f"_rk_iop_{op}"


def compare_name(op: str) -> str:
    """Global name of the guard for comparison node class ``op`` (e.g. ``"Lt"``)."""
    return f"_rk_cmp_{op}"


def compare_chain(left: Any, *pairs: tuple[Callable[[Any, Any], Any], Callable[[], Any]]) -> Any:
    """Evaluate ``left op1 c1 op2 c2 ...`` lazily, like Python's chained comparisons."""
    result: Any = True
    for op, thunk in pairs:
        right = thunk()
        result = op(left, right)
        if not result:
            return result
        left = right
    return result


def augmented_item(container: Any, key: Any, op: Callable[[Any, Any], Any], value: Any) -> None:
    """``container[key] op= value`` with the operator guarded."""
    container[key] = op(container[key], value)


_BOUND_METHOD_CHECKS = frozenset({"dot", "astype"})


def guarded_getattr(obj: Any, name: str) -> Any:
    """Attribute read on an ordinary value: allow-listed names only."""
    if name not in ALLOWED_ATTRIBUTES or name.startswith("_"):
        raise SandboxViolation(f"attribute {name!r} is not available in constraint programs")
    value = getattr(obj, name)
    if name in _BOUND_METHOD_CHECKS and isinstance(obj, (_NDARRAY, np.generic)):
        method = value

        def checked(*args: Any, **kwargs: Any) -> Any:
            check_product(f".{name}()", (obj, *args, *kwargs.values()))
            return method(*args, **kwargs)

        return checked
    return value


def bounded_range(*args: Any) -> range:
    """``range`` limited to :data:`MAX_SEQUENCE` items."""
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_SEQUENCE + 1
    if n > MAX_SEQUENCE:
        raise SandboxViolation(
            f"range() of {n:.3g} items is above the limit of {MAX_SEQUENCE}; loop over the "
            "keypoints you need"
        )
    return r


def bounded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``pow`` with the same integer-size bound as ``**``."""
    if mod is not None:
        return builtins.pow(base, exp, mod)
    check_binary("**", base, exp)
    return builtins.pow(base, exp)


def bounded_round(number: Any, ndigits: Any = None) -> Any:
    """``round`` with ``ndigits`` limited (huge values make CPython build huge powers of 10)."""
    if ndigits is None:
        return builtins.round(number)
    if abs(operator.index(ndigits)) > 100:
        raise SandboxViolation("round(): ndigits must be between -100 and 100")
    return builtins.round(number, ndigits)


def guarded_sum(iterable: Any, start: Any = 0) -> Any:
    """``sum`` that adds with the guarded ``+`` (bounds list concatenation and broadcasting)."""
    add = GUARD_GLOBALS[binop_name("Add")]
    total = start
    for item in iterable:
        total = add(total, item)
    return total


def ignore_print(*args: Any, **kwargs: Any) -> None:
    """``print`` inside a program does nothing (constraint code runs inside the solver)."""


def _build_guard_globals() -> dict[str, Any]:
    names: dict[str, Any] = {
        "_rk_tick": tick,
        "_rk_getattr": guarded_getattr,
        "_rk_chain": compare_chain,
        "_rk_aug_item": augmented_item,
        "_rk_slice": slice,
    }
    for op, (symbol, fn, ifn) in _BINARY_OPS.items():
        names[binop_name(op)] = _binary(symbol, fn)
        names[inplace_name(op)] = _binary(symbol, ifn)
    for op, (symbol, fn) in _COMPARE_OPS.items():
        names[compare_name(op)] = _binary(symbol, fn)
    for op, fn in _PLAIN_COMPARE_OPS.items():
        names[compare_name(op)] = fn
    return names


#: Names the transformed code refers to; all start with ``_rk_`` so programs cannot name them.
GUARD_GLOBALS: dict[str, Any] = _build_guard_globals()


def numpy_internal_import(name: str, globals: Any = None, locals: Any = None,
                          fromlist: Any = (), level: int = 0) -> Any:
    """``__import__`` for NumPy's own lazy imports made from C while sandbox code is running.

    NumPy's C code imports helper modules through the builtins of the calling frame, which
    are the sandbox's. Programs cannot name ``__import__`` (names starting with ``_`` are
    rejected at load time), so only such internal imports reach this; anything but ``numpy``
    modules is refused.
    """
    if level != 0 or not (name == "numpy" or name.startswith("numpy.")):
        raise ImportError(f"import of {name!r} is not allowed in constraint programs")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _build_builtins() -> dict[str, Any]:
    table: dict[str, Any] = {name: getattr(builtins, name) for name in ALLOWED_BUILTINS}
    table.update(
        range=bounded_range, pow=bounded_pow, round=bounded_round, sum=guarded_sum,
        print=ignore_print, __import__=numpy_internal_import,
    )
    return table


#: The ``__builtins__`` mapping of every program namespace.
SAFE_BUILTINS: dict[str, Any] = _build_builtins()
