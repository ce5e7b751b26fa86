"""The ``np`` a constraint program sees: an allow-listed, size-guarded view of a NumPy-like module.

:func:`make_numpy_proxy` builds it over real NumPy for evaluation, or over a NumPy-compatible
symbolic shim for :meth:`ConstraintFunction.call_with`. Only names in
:data:`rekep.program.policy.NUMPY_FUNCTIONS` exist on the proxy; every callable is wrapped so
that its output size is bounded before NumPy allocates anything (creation functions by their
shape arguments, everything else by the product of its inputs' sizes), dtype strings with a
huge item size are refused, and the output is checked once more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from rekep.errors import SandboxViolation
from rekep.program.limits import (
    check_dtype_like,
    check_product,
    maybe_dtype,
    nelems,
    shape_size,
    too_large,
)
from rekep.program.policy import (
    CREATION_FUNCTIONS,
    MAX_ELEMENTS,
    MAX_LINALG_ELEMENTS,
    NUMPY_FUNCTIONS,
    NUMPY_SUBMODULES,
)

_NDARRAY = np.ndarray


class NumpyProxy(SimpleNamespace):
    """Namespace holding only the allow-listed members of a NumPy-like module."""


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], pos: int, key: str, default: Any) -> Any:
    if len(args) > pos:
        return args[pos]
    return kwargs.get(key, default)


def _arange_count(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
    values = [kwargs.get(k) for k in ("start", "stop", "step")]
    for i, v in enumerate(args[:3]):
        values[i] = v
    start, stop, step = values
    if len(args) == 1 and "stop" not in kwargs:
        start, stop = 0, args[0]
    try:
        start_f = 0.0 if start is None else float(start)
        stop_f = float(stop)  # type: ignore[arg-type]
        step_f = 1.0 if step is None else float(step)
    except (TypeError, ValueError):
        raise SandboxViolation("np.arange(): start, stop and step must be numbers") from None
    if step_f == 0 or not all(map(math.isfinite, (start_f, stop_f, step_f))):
        return 0.0
    return max(math.ceil((stop_f - start_f) / step_f), 0)


def _creation_size(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
    """Upper bound on the element count a creation function would allocate."""
    if "shape" in kwargs:
        return shape_size(kwargs["shape"], f"np.{name}()")
    if name in ("zeros", "ones", "empty"):
        return shape_size(_arg(args, kwargs, 0, "shape", 1), f"np.{name}()")
    if name == "full":
        fill = nelems(_arg(args, kwargs, 1, "fill_value", 0))
        return shape_size(_arg(args, kwargs, 0, "shape", 1), "np.full()") * fill
    if name in ("zeros_like", "ones_like"):
        return nelems(_arg(args, kwargs, 0, "a", 1))
    if name == "full_like":
        fill = nelems(_arg(args, kwargs, 1, "fill_value", 0))
        return nelems(_arg(args, kwargs, 0, "a", 1)) * fill
    if name in ("eye", "identity"):
        n = shape_size(_arg(args, kwargs, 0, "N" if name == "eye" else "n", 1), f"np.{name}()")
        m = n if name == "identity" else _arg(args, kwargs, 1, "M", None)
        return n * (n if m is None else shape_size(m, f"np.{name}()"))
    if name == "arange":
        return _arange_count(args, kwargs)
    if name == "linspace":
        num = shape_size(_arg(args, kwargs, 2, "num", 50), "np.linspace()")
        return num * nelems(_arg(args, kwargs, 0, "start", 0)) * nelems(
            _arg(args, kwargs, 1, "stop", 0)
        )
    if name == "tile":
        return nelems(_arg(args, kwargs, 0, "A", 1)) * shape_size(
            _arg(args, kwargs, 1, "reps", 1), "np.tile()"
        )
    if name == "repeat":
        reps = _arg(args, kwargs, 1, "repeats", 1)
        most = max(np.ravel(reps), default=1) if isinstance(reps, (list, tuple, _NDARRAY)) else reps
        return nelems(_arg(args, kwargs, 0, "a", 1)) * shape_size(most, "np.repeat()")
    if name == "diag":
        v = _arg(args, kwargs, 0, "v", 1)
        k = abs(int(_arg(args, kwargs, 1, "k", 0)))
        n = nelems(v)
        return (n + k) ** 2 if np.ndim(v) <= 1 else n
    return 1.0


def _check_linalg(label: str, args: tuple[Any, ...]) -> None:
    for value in args:
        if nelems(value) > MAX_LINALG_ELEMENTS:
            raise SandboxViolation(
                f"{label}(): matrices above {MAX_LINALG_ELEMENTS} elements are not allowed in "
                "constraint programs"
            )


def _check_call(label: str, name: str, creation: bool, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> None:
    """Pre-checks of a NumPy call: dtype strings, then the output-size bound."""
    for key, value in kwargs.items():
        if key == "dtype" or maybe_dtype(value):
            check_dtype_like(value, f"{label}({key}=...)")
    if creation:
        size = _creation_size(name, args, kwargs)
        if size > MAX_ELEMENTS:
            raise too_large(f"{label}()", size)
        for value in args:
            if maybe_dtype(value):
                check_dtype_like(value, f"{label}()")
    else:
        # the output of a call is bounded by the product of its inputs' sizes
        check_product(f"{label}()", (*args, *kwargs.values()))


def _guard_call(
    label: str, name: str, fn: Callable[..., Any], creation: bool, linalg: bool
) -> Callable[..., Any]:
    """Wrap one NumPy callable with the size and dtype checks."""
    ndarray = _NDARRAY
    limit = MAX_ELEMENTS
    pair = 64 * MAX_ELEMENTS  # product of two operands' bytes: 8 x 8 per float64 pair

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if creation or kwargs or len(args) != 1 or type(args[0]) is not ndarray:
            if (not creation and not kwargs and len(args) == 2 and type(args[0]) is ndarray
                    and type(args[1]) is ndarray and args[0].nbytes * args[1].nbytes <= pair):
                pass  # two small arrays: the common np.dot / np.cross case
            else:
                _check_call(label, name, creation, args, kwargs)
        if linalg:
            _check_linalg(label, args)
        out = fn(*args, **kwargs)
        if type(out) is ndarray and (out.size > limit or out.nbytes > 8 * limit):
            raise too_large(f"{label}()", max(out.size, out.nbytes // 8))
        return out

    guarded.__name__ = name
    guarded.__qualname__ = label
    return guarded


def _member(module: Any, label: str, name: str, linalg: bool) -> Any:
    value = getattr(module, name)
    if isinstance(value, type) or not callable(value):
        return value  # constants and scalar types (np.float64, np.pi, np.newaxis)
    return _guard_call(label, name, value, name in CREATION_FUNCTIONS and not linalg, linalg)


def make_numpy_proxy(module: Any = np) -> NumpyProxy:
    """Build the ``np`` seen by programs over ``module`` (NumPy or a NumPy-compatible shim).

    Names missing from ``module`` are simply absent (a program using them fails at call time
    with an ``AttributeError`` turned into :class:`ConstraintEvaluationError`).
    """
    members: dict[str, Any] = {}
    for name in sorted(NUMPY_FUNCTIONS):
        if name in NUMPY_SUBMODULES:
            sub = getattr(module, name, None)
            if sub is None:
                continue
            sub_members = {
                attr: _member(sub, f"np.{name}.{attr}", attr, linalg=attr != "norm")
                for attr in sorted(NUMPY_SUBMODULES[name])
                if hasattr(sub, attr)
            }
            members[name] = NumpyProxy(**sub_members)
        elif hasattr(module, name):
            members[name] = _member(module, f"np.{name}", name, linalg=False)
    return NumpyProxy(**members)
