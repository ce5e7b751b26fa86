"""Size estimates shared by the run-time guards and the NumPy proxy.

Sizes are counted in *units* of 8 bytes, so a float64 element is one unit, while string
and void elements count by their width (a million-character string is a million units).
Every check is cheap for the small arrays constraint functions use ((K, 3) keypoints, (3,)
vectors) and only does real work when an operation could build something large.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from rekep.errors import SandboxViolation
from rekep.program.policy import MAX_DTYPE_ITEMSIZE, MAX_ELEMENTS, MAX_MATMUL_WORK

_NDARRAY = np.ndarray


def too_large(what: str, size: float) -> SandboxViolation:
    """The error for an operation that would exceed :data:`MAX_ELEMENTS`."""
    return SandboxViolation(
        f"{what} would create about {size:.3g} elements, more than the sandbox limit of "
        f"{MAX_ELEMENTS}; constraint functions only need small arrays, so compute on the "
        "keypoints you need instead of building large grids or repetitions"
    )


def array_units(a: np.ndarray) -> int:
    """Size of an array in 8-byte units (at least its element count)."""
    return max(int(a.size), int(a.nbytes) >> 3)


def nelems(value: Any, budget: int = MAX_ELEMENTS + 1) -> int:
    """Units an array built from ``value`` could need (arrays, nested lists, strings).

    For lists the count is multiplied by the longest string inside, since NumPy stores
    strings at a fixed width. Stops counting once ``budget`` is exceeded.
    """
    count, width = _count(value, budget)
    return max(count, 1) * max(width, 1)


def _count(value: Any, budget: int) -> tuple[int, int]:
    t = type(value)
    if t is _NDARRAY or isinstance(value, _NDARRAY):
        return array_units(value), 1
    if t is str or t is bytes:
        return 1, len(value) // 2 + 1
    if t is list or t is tuple:
        total, width = 0, 1
        for item in value:
            n, w = _count(item, budget - total)
            total += n
            width = max(width, w)
            if total * width > budget:
                break
        return total, width
    return 1, 1


def shape_size(shape: Any, what: str) -> int:
    """Element count of a shape argument (an int or a sequence of ints)."""
    try:
        if isinstance(shape, (list, tuple)):
            dims = [operator.index(d) for d in shape]
        elif isinstance(shape, _NDARRAY):
            dims = [operator.index(d) for d in shape.ravel()]
        else:
            dims = [operator.index(shape)]
    except TypeError:
        return 1  # not a shape; NumPy will reject it itself
    size = math.prod(max(d, 0) for d in dims)
    if size > MAX_ELEMENTS:
        raise too_large(what, size)
    return size


def maybe_dtype(value: Any) -> bool:
    """True for values NumPy might read as a dtype with a large item size."""
    t = type(value)
    if t is str or t is dict:
        return True
    if (t is tuple or t is list) and value:
        return isinstance(value[0], (type, str, tuple))
    return False


def check_dtype_like(value: Any, what: str) -> None:
    """Reject dtypes with a huge item size (``"U100000000"``, ``(float, 10**9)``, records)."""
    if type(value) is str and len(value) > 64:
        raise SandboxViolation(
            f"{what}: string argument of {len(value)} characters is too long; "
            "pass short strings (dtype names, einsum subscripts) only"
        )
    try:
        itemsize = np.dtype(value).itemsize
    except Exception:  # not a dtype (e.g. einsum subscripts, norm order 'fro', data)
        return
    if itemsize > MAX_DTYPE_ITEMSIZE:
        raise SandboxViolation(
            f"{what}: dtype {value!r:.80} has item size {itemsize} bytes; "
            "use numeric dtypes such as float or int"
        )


def check_product(what: str, values: Any) -> None:
    """Bound the output of a call by the product of its array-like inputs' sizes."""
    total = 1
    for v in values:
        t = type(v)
        if t is _NDARRAY:
            total *= max(array_units(v), 1)
        elif t is list or t is tuple:
            if maybe_dtype(v):
                check_dtype_like(v, what)
            total *= nelems(v)
        elif t is str or t is dict:
            check_dtype_like(v, what)
    if total > MAX_ELEMENTS:
        raise too_large(what, total)


def _result_size(a: Any, b: Any, matmul: bool) -> tuple[int, int]:
    """(element count, multiply-adds) of ``a op b`` or ``a @ b``; (0, 0) if NumPy will refuse."""
    sa, sb = np.shape(a), np.shape(b)
    try:
        if not matmul:
            return math.prod(np.broadcast_shapes(sa, sb)), 0
        if len(sa) < 1 or len(sb) < 1:
            return 0, 0
        rows = sa[-2] if len(sa) >= 2 else 1
        cols = sb[-1] if len(sb) >= 2 else 1
        batch = math.prod(np.broadcast_shapes(sa[:-2], sb[:-2]))
    except ValueError:
        return 0, 0
    size = batch * rows * cols
    return size, size * sa[-1]


def check_array_operands(symbol: str, a: Any, b: Any) -> None:
    """Bound ``a <symbol> b`` when either operand is an array."""
    if nelems(a) * nelems(b) <= MAX_ELEMENTS:
        return
    size, work = _result_size(a, b, matmul=symbol == "@")
    width = max(np.asarray(a).dtype.itemsize if isinstance(a, _NDARRAY) else 8,
                np.asarray(b).dtype.itemsize if isinstance(b, _NDARRAY) else 8) // 8
    if size * max(width, 1) > MAX_ELEMENTS:
        raise too_large(f"the operation '{symbol}'", size * max(width, 1))
    if work > MAX_MATMUL_WORK:
        raise SandboxViolation(
            f"the matrix product '@' needs about {work:.3g} multiply-adds (limit "
            f"{MAX_MATMUL_WORK:.3g}); use small matrices"
        )
