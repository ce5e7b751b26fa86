"""NumPy-like arrays of CasADi scalars, the value type of the tracing shim.

A :class:`SymArray` wraps a NumPy ``object`` array whose elements are ``casadi.SX`` scalars
(or plain numbers). NumPy then supplies shapes, broadcasting, indexing, slicing, fancy
indexing, reshaping and stacking for free, and each element carries an exact CasADi
expression. Evaluating a constraint function on SymArrays therefore yields an exact
symbolic expression of its cost.

Kinks (norms, abs, sqrt, arccos) are smoothed as described in :mod:`solvers.smoothing`.

Anything that needs a concrete value (``if`` on a symbol, ``float()``, using a symbol as an
index) raises a :class:`TracingError` subclass, which makes the tracer fall back to numeric
evaluation for that function.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import casadi as ca
import numpy as np

from rekep.errors import SolverError
from solvers.smoothing import power, smooth_abs


class TracingError(SolverError):
    """A constraint function cannot be traced into a CasADi expression.

    Raised inside the shim; the tracer catches it and falls back to numeric evaluation with
    finite differences for that function only. ``reason`` says why.
    """

    def __init__(self, reason: str):
        super().__init__(
            f"cannot trace: {reason}; the function is evaluated numerically with finite "
            "differences instead (rewrite it without this construct to get exact derivatives)"
        )
        self.reason = reason


class TracingBranchError(TracingError):
    """The function branches on a traced value (``if``, ``bool()``, comparisons in ``max``)."""


class TracingUnsupportedError(TracingError):
    """The function calls something the shim does not implement for traced values."""


# --------------------------------------------------------------------------- conversion


def is_symbolic(x: Any) -> bool:
    """True when ``x`` (possibly a nested list/tuple) contains a traced value."""
    if isinstance(x, (SymArray, ca.SX)):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_symbolic(e) for e in x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return any(isinstance(e, (ca.SX, SymArray)) for e in x.flat)
    return False


def _scalar0d(value: Any) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def to_object_array(x: Any) -> np.ndarray:
    """Convert a SymArray, SX, number, ndarray or nested list of them to an object array."""
    if isinstance(x, SymArray):
        return x.a
    if isinstance(x, ca.SX):
        if x.numel() == 1:
            return _scalar0d(x)
        out = np.empty(x.shape, dtype=object)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = x[i, j]
        return out
    if isinstance(x, (list, tuple)):
        if not is_symbolic(x):
            return np.asarray(x, dtype=float).astype(object)
        parts = [to_object_array(e) for e in x]
        if not parts:
            return np.empty((0,), dtype=object)
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise TracingUnsupportedError(f"ragged nested sequence with shapes {sorted(shapes)}")
        return np.stack(parts)
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return x
        return np.asarray(x, dtype=float).astype(object)
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return _scalar0d(float(x))
    raise TracingUnsupportedError(f"cannot use a value of type {type(x).__name__} in a trace")


def wrap(result: Any) -> Any:
    """Wrap an object-array (or scalar) result as a SymArray; pass plain numbers through."""
    if isinstance(result, SymArray):
        return result
    if isinstance(result, np.ndarray):
        if result.dtype == object:
            return SymArray(result)
        return result
    if isinstance(result, ca.SX):
        return SymArray(to_object_array(result))
    return result


def _sx(v: Any) -> ca.SX:
    return v if isinstance(v, ca.SX) else ca.SX(float(v))


def elementwise(fn: Callable[..., Any], *args: Any) -> SymArray:
    """Apply a scalar CasADi function elementwise with NumPy broadcasting."""
    arrays = [to_object_array(a) for a in args]
    ufunc = np.frompyfunc(lambda *xs: fn(*[_sx(x) for x in xs]), len(arrays), 1)
    res = ufunc(*arrays)
    if not isinstance(res, np.ndarray):
        res = _scalar0d(res)
    return SymArray(res)


# ---------------------------------------------------------------------------- SymArray


def _binary(op: Callable[[Any, Any], Any]) -> Callable[[SymArray, Any], SymArray]:
    def method(self: SymArray, other: Any) -> SymArray:
        return elementwise(op, self, other)

    return method


def _rbinary(op: Callable[[Any, Any], Any]) -> Callable[[SymArray, Any], SymArray]:
    def method(self: SymArray, other: Any) -> SymArray:
        return elementwise(op, other, self)

    return method


class SymArray:
    """An n-d array of CasADi SX scalars that behaves like a NumPy float array.

    ``a`` is the underlying NumPy object array. Arithmetic broadcasts like NumPy; indexing
    accepts ints, slices, negative indices, ``None``, Ellipsis and integer lists/arrays.
    """

    __array_ufunc__ = None  # make NumPy defer to our reflected operators
    __array_priority__ = 1000
    __slots__ = ("a",)

    def __init__(self, a: np.ndarray):
        self.a = a

    # shape ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.a.shape)

    @property
    def ndim(self) -> int:
        return int(self.a.ndim)

    @property
    def size(self) -> int:
        return int(self.a.size)

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(np.float64)

    @property
    def T(self) -> SymArray:
        return SymArray(self.a.T)

    def __len__(self) -> int:
        if self.a.ndim == 0:
            raise TypeError("len() of unsized object")
        return int(self.a.shape[0])

    def __iter__(self) -> Iterator[SymArray]:
        if self.a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.a.shape[0]):
            yield self[i]

    def __getitem__(self, index: Any) -> SymArray:
        if is_symbolic(index):
            raise TracingUnsupportedError("indexing with a traced value (data-dependent index)")
        res = self.a[index]
        return SymArray(res if isinstance(res, np.ndarray) else _scalar0d(res))

    def __setitem__(self, index: Any, value: Any) -> None:
        if is_symbolic(index):
            raise TracingUnsupportedError("indexing with a traced value (data-dependent index)")
        value_arr = to_object_array(value)
        target = self.a[index]
        if isinstance(target, np.ndarray):
            self.a[index] = np.broadcast_to(value_arr, target.shape)
        elif value_arr.size == 1:
            self.a[index] = value_arr.reshape(-1)[0]
        else:
            raise ValueError(f"cannot assign shape {value_arr.shape} to a single element")

    # conversions that need a concrete value ---------------------------------------------
    def __bool__(self) -> bool:
        raise TracingBranchError("branching on a traced value (if/while/and/or/bool())")

    def __float__(self) -> float:
        raise TracingUnsupportedError("float() of a traced value")

    def __int__(self) -> int:
        raise TracingUnsupportedError("int() of a traced value")

    def __index__(self) -> int:
        raise TracingUnsupportedError("using a traced value as an index")

    def item(self) -> Any:
        raise TracingUnsupportedError(".item() of a traced value")

    def __repr__(self) -> str:
        return f"SymArray(shape={self.shape})"

    # arithmetic ----------------------------------------------------------------------
    __add__ = _binary(operator.add)
    __radd__ = _rbinary(operator.add)
    __sub__ = _binary(operator.sub)
    __rsub__ = _rbinary(operator.sub)
    __mul__ = _binary(operator.mul)
    __rmul__ = _rbinary(operator.mul)
    __truediv__ = _binary(operator.truediv)
    __rtruediv__ = _rbinary(operator.truediv)
    __pow__ = _binary(power)
    __rpow__ = _rbinary(power)
    __lt__ = _binary(ca.lt)
    __le__ = _binary(ca.le)
    __gt__ = _binary(ca.gt)
    __ge__ = _binary(ca.ge)
    __eq__ = _binary(ca.eq)  # type: ignore[assignment]
    __ne__ = _binary(ca.ne)  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __neg__(self) -> SymArray:
        return elementwise(operator.neg, self)

    def __pos__(self) -> SymArray:
        return self

    def __abs__(self) -> SymArray:
        return elementwise(smooth_abs, self)

    def __matmul__(self, other: Any) -> Any:
        return wrap(np.matmul(self.a, to_object_array(other)))

    def __rmatmul__(self, other: Any) -> Any:
        return wrap(np.matmul(to_object_array(other), self.a))

    def __floordiv__(self, other: Any) -> SymArray:
        return elementwise(lambda x, y: ca.floor(x / y), self, other)

    def __mod__(self, other: Any) -> SymArray:
        return elementwise(lambda x, y: x - y * ca.floor(x / y), self, other)

    # array methods -------------------------------------------------------------------
    def reshape(self, *shape: Any, order: str = "C") -> SymArray:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return SymArray(self.a.reshape(shape, order=order))  # type: ignore[call-overload]

    def flatten(self) -> SymArray:
        return SymArray(self.a.flatten())

    def ravel(self) -> SymArray:
        return SymArray(self.a.ravel())

    def squeeze(self, axis: Any = None) -> SymArray:
        return SymArray(self.a.squeeze(axis=axis))

    def transpose(self, *axes: Any) -> SymArray:
        return SymArray(self.a.transpose(*axes))

    def copy(self) -> SymArray:
        return SymArray(self.a.copy())

    def astype(self, dtype: Any = float, *args: Any, **kwargs: Any) -> SymArray:
        return self.copy()

    def tolist(self) -> Any:
        if self.a.ndim == 0:
            return self
        return [self[i].tolist() for i in range(self.a.shape[0])]

    def dot(self, other: Any) -> Any:
        return wrap(np.dot(self.a, to_object_array(other)))

    def sum(self, axis: Any = None, keepdims: bool = False) -> SymArray:
        return wrap(_as_array(np.sum(self.a, axis=axis, keepdims=keepdims)))

    def mean(self, axis: Any = None, keepdims: bool = False) -> SymArray:
        n = self.a.size if axis is None else int(np.prod([self.a.shape[i] for i in _axes(axis)]))
        return self.sum(axis=axis, keepdims=keepdims) / float(n)

    def max(self, axis: Any = None, keepdims: bool = False) -> SymArray:
        return reduce_with(ca.fmax, self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> SymArray:
        return reduce_with(ca.fmin, self, axis, keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> SymArray:
        return wrap(_as_array(np.prod(self.a, axis=axis, keepdims=keepdims)))


def _axes(axis: Any) -> tuple[int, ...]:
    return tuple(axis) if isinstance(axis, (tuple, list)) else (int(axis),)


def _as_array(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else _scalar0d(x)


def reduce_with(fn: Callable[[Any, Any], Any], x: Any, axis: Any, keepdims: bool) -> SymArray:
    """Reduce ``x`` along ``axis`` (None = all) with a binary CasADi function (fmax, fmin)."""
    a = to_object_array(x)
    if a.size == 0:
        raise TracingUnsupportedError("max/min of an empty array")
    ufunc = np.frompyfunc(lambda u, v: fn(_sx(u), _sx(v)), 2, 1)
    if axis is None:
        res = ufunc.reduce(a.reshape(-1))
        out = _scalar0d(res)
        if keepdims:
            out = out.reshape((1,) * a.ndim)
        return SymArray(out)
    res = a
    for ax in sorted((ax % a.ndim for ax in _axes(axis)), reverse=True):
        res = ufunc.reduce(res, axis=ax, keepdims=keepdims)
    return SymArray(_as_array(res))
