"""A NumPy-compatible namespace that computes on CasADi symbols (the tracing shim).

``NUMPY_SHIM`` is passed as ``np`` to a constraint function. Every function here computes
with plain NumPy when none of its arguments is traced, so constants (``np.array([0, 0, 1])``,
``np.pi``) stay ordinary arrays; with traced arguments it returns :class:`SymArray` values
built from exact CasADi expressions. Names NumPy has but this shim does not implement
symbolically still work on constants and raise :class:`TracingUnsupportedError` on traced
values, which makes the tracer fall back to numeric evaluation.

``TRACING_BUILTINS`` replaces the builtins ``max``, ``min``, ``abs``, ``sum`` and ``float``
while tracing so that ``max(0.0, d - 0.05)`` or ``float(cost)`` trace instead of branching.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any

import casadi as ca
import numpy as np

from solvers.smoothing import power, safe_arccos, safe_arcsin, smooth_abs, smooth_sqrt
from solvers.symarray import (
    SymArray,
    TracingUnsupportedError,
    elementwise,
    is_symbolic,
    reduce_with,
    to_object_array,
    wrap,
)


def _unary(numpy_fn: Callable[..., Any], casadi_fn: Callable[[Any], Any]) -> Callable[..., Any]:
    def fn(x: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_symbolic(x):
            return numpy_fn(x, *args, **kwargs)
        if args or kwargs:
            raise TracingUnsupportedError(f"np.{numpy_fn.__name__} with extra arguments")
        return elementwise(casadi_fn, x)

    fn.__name__ = numpy_fn.__name__
    return fn


def _binary(numpy_fn: Callable[..., Any], casadi_fn: Callable[[Any, Any], Any]) -> Callable:
    def fn(x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        if not (is_symbolic(x) or is_symbolic(y)):
            return numpy_fn(x, y, *args, **kwargs)
        if args or kwargs:
            raise TracingUnsupportedError(f"np.{numpy_fn.__name__} with extra arguments")
        return elementwise(casadi_fn, x, y)

    fn.__name__ = numpy_fn.__name__
    return fn


def _lift(numpy_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a NumPy function on object arrays (it only moves or multiplies-and-adds elements)."""

    def fn(*args: Any, **kwargs: Any) -> Any:
        if not (is_symbolic(args) or is_symbolic(list(kwargs.values()))):
            return numpy_fn(*args, **kwargs)
        conv = [_convert_arg(a) for a in args]
        kw = {k: _convert_arg(v) for k, v in kwargs.items()}
        return wrap(numpy_fn(*conv, **kw))

    fn.__name__ = numpy_fn.__name__
    return fn


def _convert_arg(a: Any) -> Any:
    if isinstance(a, SymArray):
        return a.a
    if isinstance(a, (list, tuple)) and is_symbolic(a):
        return [to_object_array(e) for e in a]
    return a


# ---------------------------------------------------------------------------- creation


def array(obj: Any, dtype: Any = None, copy: bool = True, **kwargs: Any) -> Any:
    """np.array: a SymArray when ``obj`` contains traced values, else a NumPy array."""
    if not is_symbolic(obj):
        return np.array(obj, dtype=dtype, copy=copy, **kwargs)
    return SymArray(to_object_array(obj).copy())


def asarray(obj: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """np.asarray: like :func:`array` without copying a SymArray."""
    if isinstance(obj, SymArray):
        return obj
    if not is_symbolic(obj):
        return np.asarray(obj, dtype=dtype, **kwargs)
    return SymArray(to_object_array(obj))


def _like(numpy_fn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(a: Any, *args: Any, **kwargs: Any) -> Any:
        shape = a.shape if isinstance(a, SymArray) else np.shape(a)
        return numpy_fn(np.empty(shape), *args, **kwargs)

    fn.__name__ = numpy_fn.__name__
    return fn


# --------------------------------------------------------------------------- reductions


def _sum(a: Any, axis: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
    if not is_symbolic(a):
        return np.sum(a, axis=axis, keepdims=keepdims, **kwargs)
    return asarray(a).sum(axis=axis, keepdims=keepdims)


def _mean(a: Any, axis: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
    if not is_symbolic(a):
        return np.mean(a, axis=axis, keepdims=keepdims, **kwargs)
    return asarray(a).mean(axis=axis, keepdims=keepdims)


def _average(a: Any, axis: Any = None, weights: Any = None) -> Any:
    if not (is_symbolic(a) or is_symbolic(weights)):
        return np.average(a, axis=axis, weights=weights)
    if weights is None:
        return _mean(a, axis=axis)
    w = asarray(weights)
    x = asarray(a)
    if axis is not None and np.ndim(w) == 1:
        shape = [1] * len(np.shape(x))
        shape[axis] = -1
        w = w.reshape(shape)
    return _sum(x * w, axis=axis) / _sum(w * np.ones(np.shape(x)), axis=axis)


def _var(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not is_symbolic(a):
        return np.var(a, axis=axis, keepdims=keepdims)
    x = asarray(a)
    d = x - x.mean(axis=axis, keepdims=True)
    return (d * d).mean(axis=axis, keepdims=keepdims)


def _std(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if not is_symbolic(a):
        return np.std(a, axis=axis, keepdims=keepdims)
    return elementwise(smooth_sqrt, _var(a, axis=axis, keepdims=keepdims))


def _reduction(numpy_fn: Callable[..., Any], casadi_fn: Callable[[Any, Any], Any]) -> Callable:
    def fn(a: Any, axis: Any = None, keepdims: bool = False, **kwargs: Any) -> Any:
        if not is_symbolic(a):
            return numpy_fn(a, axis=axis, keepdims=keepdims, **kwargs)
        if kwargs:
            raise TracingUnsupportedError(f"np.{numpy_fn.__name__} with {sorted(kwargs)}")
        return reduce_with(casadi_fn, a, axis, keepdims)

    fn.__name__ = numpy_fn.__name__
    return fn


# ------------------------------------------------------------------------------ algebra


def _cross(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
    if not (is_symbolic(a) or is_symbolic(b)):
        return np.cross(a, b, *args, **kwargs)
    if args or kwargs:
        raise TracingUnsupportedError("np.cross with axis arguments")
    x, y = to_object_array(a), to_object_array(b)
    if x.shape[-1] != 3 or y.shape[-1] != 3:
        raise TracingUnsupportedError("np.cross of vectors that are not 3-d")
    x0, x1, x2 = x[..., 0:1], x[..., 1:2], x[..., 2:3]
    y0, y1, y2 = y[..., 0:1], y[..., 1:2], y[..., 2:3]
    parts = [x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0]
    return wrap(np.concatenate(parts, axis=-1))


def _clip(a: Any, a_min: Any, a_max: Any, **kwargs: Any) -> Any:
    if not (is_symbolic(a) or is_symbolic(a_min) or is_symbolic(a_max)):
        return np.clip(a, a_min, a_max, **kwargs)
    x = a
    if a_min is not None:
        x = elementwise(ca.fmax, x, a_min)
    if a_max is not None:
        x = elementwise(ca.fmin, x, a_max)
    return x


def _where(cond: Any, x: Any, y: Any) -> Any:
    if not (is_symbolic(cond) or is_symbolic(x) or is_symbolic(y)):
        return np.where(cond, x, y)
    return elementwise(lambda c, u, v: ca.if_else(c, u, v), cond, x, y)


def _to_sx_matrix(a: Any) -> ca.SX:
    arr = to_object_array(a)
    if arr.ndim != 2:
        raise TracingUnsupportedError("linear algebra on an array that is not 2-d")
    rows = [ca.horzcat(*[ca.SX(v) if not isinstance(v, ca.SX) else v for v in r]) for r in arr]
    return ca.vertcat(*rows)


def _from_sx(m: ca.SX, vector: bool = False) -> SymArray:
    arr = to_object_array(m)
    return SymArray(arr.reshape(-1) if vector else arr)


class _Linalg:
    """The ``np.linalg`` part of the shim: norm, det, inv, solve."""

    @staticmethod
    def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
        """Smoothed 2-norm (``sqrt(x.x + eps^2)``); ord 1 and inf for vectors."""
        if not is_symbolic(x):
            return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
        a = asarray(x)
        if ord in (None, 2, "fro") and (ord != 2 or a.ndim == 1 or axis is not None):
            return elementwise(smooth_sqrt, (a * a).sum(axis=axis, keepdims=keepdims))
        if ord in (1, np.inf, -np.inf) and (a.ndim == 1 or axis is not None):
            mags = elementwise(smooth_abs, a)
            if ord == 1:
                return mags.sum(axis=axis, keepdims=keepdims)
            fn = ca.fmax if ord == np.inf else ca.fmin
            return reduce_with(fn, mags, axis, keepdims)
        raise TracingUnsupportedError(f"np.linalg.norm with ord={ord!r} on shape {a.shape}")

    @staticmethod
    def det(a: Any) -> Any:
        if not is_symbolic(a):
            return np.linalg.det(a)
        return SymArray(to_object_array(ca.det(_to_sx_matrix(a))).reshape(()))

    @staticmethod
    def inv(a: Any) -> Any:
        if not is_symbolic(a):
            return np.linalg.inv(a)
        return _from_sx(ca.inv(_to_sx_matrix(a)))

    @staticmethod
    def solve(a: Any, b: Any) -> Any:
        if not (is_symbolic(a) or is_symbolic(b)):
            return np.linalg.solve(a, b)
        vector = np.ndim(b) == 1 if not isinstance(b, SymArray) else b.ndim == 1
        rhs = asarray(b).reshape(-1, 1) if vector else b
        return _from_sx(ca.solve(_to_sx_matrix(a), _to_sx_matrix(rhs)), vector=vector)

    def __getattr__(self, name: str) -> Any:
        return _numeric_only(getattr(np.linalg, name), f"linalg.{name}")


def _numeric_only(attr: Any, name: str) -> Any:
    if not callable(attr) or isinstance(attr, type):
        return attr

    def fn(*args: Any, **kwargs: Any) -> Any:
        if is_symbolic(args) or is_symbolic(list(kwargs.values())):
            raise TracingUnsupportedError(f"np.{name} is not supported on traced values")
        return attr(*args, **kwargs)

    fn.__name__ = name
    return fn


_UNARY: dict[str, Callable[[Any], Any]] = {
    "sqrt": smooth_sqrt, "abs": smooth_abs, "absolute": smooth_abs, "fabs": smooth_abs,
    "square": lambda x: x * x, "exp": ca.exp, "log": ca.log, "log10": ca.log10,
    "log2": lambda x: ca.log(x) / math.log(2.0), "log1p": lambda x: ca.log(1 + x),
    "expm1": lambda x: ca.exp(x) - 1, "sin": ca.sin, "cos": ca.cos, "tan": ca.tan,
    "arcsin": safe_arcsin, "arccos": safe_arccos, "arctan": ca.atan, "sinh": ca.sinh,
    "cosh": ca.cosh, "tanh": ca.tanh, "arcsinh": ca.asinh, "arctanh": ca.atanh,
    "sign": ca.sign, "floor": ca.floor, "ceil": ca.ceil, "negative": lambda x: -x,
    "positive": lambda x: x, "reciprocal": lambda x: 1.0 / x,
    "cbrt": lambda x: ca.sign(x) * ca.fabs(x) ** (1.0 / 3.0),
    "deg2rad": lambda x: x * (math.pi / 180.0), "radians": lambda x: x * (math.pi / 180.0),
    "rad2deg": lambda x: x * (180.0 / math.pi), "degrees": lambda x: x * (180.0 / math.pi),
}

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y, "divide": lambda x, y: x / y,
    "true_divide": lambda x, y: x / y, "power": power, "maximum": ca.fmax,
    "minimum": ca.fmin, "fmax": ca.fmax, "fmin": ca.fmin, "arctan2": ca.atan2,
    "hypot": lambda x, y: smooth_sqrt(x * x + y * y), "greater": ca.gt, "less": ca.lt,
    "greater_equal": ca.ge, "less_equal": ca.le, "equal": ca.eq, "not_equal": ca.ne,
}

_LIFTED = (
    "stack", "vstack", "hstack", "concatenate", "column_stack", "reshape", "ravel",
    "squeeze", "expand_dims", "transpose", "swapaxes", "moveaxis", "flip", "tile", "repeat",
    "atleast_1d", "atleast_2d", "roll", "diag", "diagonal", "trace", "outer", "dot", "vdot",
    "inner", "matmul", "prod", "copy", "append", "take", "broadcast_to",
)


class NumpyShim:
    """The namespace bound to ``np`` while tracing (see the module docstring)."""

    pi = math.pi
    e = math.e
    inf = math.inf
    nan = math.nan
    newaxis = None
    ndarray = np.ndarray
    float64 = np.float64
    linalg = _Linalg()
    array = staticmethod(array)
    asarray = staticmethod(asarray)
    asanyarray = staticmethod(asarray)
    zeros_like = staticmethod(_like(np.zeros_like))
    ones_like = staticmethod(_like(np.ones_like))
    full_like = staticmethod(_like(np.full_like))
    sum = staticmethod(_sum)
    mean = staticmethod(_mean)
    average = staticmethod(_average)
    var = staticmethod(_var)
    std = staticmethod(_std)
    max = amax = staticmethod(_reduction(np.max, ca.fmax))
    min = amin = staticmethod(_reduction(np.min, ca.fmin))
    cross = staticmethod(_cross)
    clip = staticmethod(_clip)
    where = staticmethod(_where)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _UNARY:
            return _unary(getattr(np, name), _UNARY[name])
        if name in _BINARY:
            return _binary(getattr(np, name), _BINARY[name])
        if name in _LIFTED:
            return _lift(getattr(np, name))
        try:
            attr = getattr(np, name)
        except AttributeError as exc:
            raise AttributeError(f"module 'numpy' has no attribute {name!r}") from exc
        return _numeric_only(attr, name)


#: The shim instance to bind as ``np``.
NUMPY_SHIM = NumpyShim()


def _traced_max(*args: Any, **kwargs: Any) -> Any:
    items = args[0] if len(args) == 1 else args
    if not is_symbolic(list(items) if not isinstance(items, SymArray) else items):
        return builtins.max(*args, **kwargs)
    if kwargs:
        raise TracingUnsupportedError("max() with key/default on traced values")
    return reduce_with(ca.fmax, list(items), None, False)


def _traced_min(*args: Any, **kwargs: Any) -> Any:
    items = args[0] if len(args) == 1 else args
    if not is_symbolic(list(items) if not isinstance(items, SymArray) else items):
        return builtins.min(*args, **kwargs)
    if kwargs:
        raise TracingUnsupportedError("min() with key/default on traced values")
    return reduce_with(ca.fmin, list(items), None, False)


def _traced_float(x: Any = 0.0) -> Any:
    if isinstance(x, SymArray):
        if x.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        return x.reshape(())
    return builtins.float(x)


#: Builtins to shadow while tracing (max/min without comparisons, float() as identity).
TRACING_BUILTINS: dict[str, Callable[..., Any]] = {
    "max": _traced_max,
    "min": _traced_min,
    "float": _traced_float,
}
