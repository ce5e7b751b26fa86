"""Compiling a checked, guard-instrumented program and running its functions.

A :class:`ProgramRuntime` owns the compiled module and one namespace per NumPy binding: the
allow-listed proxy over real NumPy (built at load time) and, on demand, proxies over symbolic
NumPy-like shims for :meth:`ConstraintFunction.call_with`. Each call sets a per-thread
deadline and held-keypoint set (read by the guards and the grasping helper), converts
exceptions into :class:`ConstraintEvaluationError` / :class:`SandboxViolation` naming the
function and program line, and checks the result is a finite real scalar.
"""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Collection, Mapping
from types import MappingProxyType, TracebackType
from typing import Any

import numpy as np

from rekep.errors import ConstraintEvaluationError, ProgramError, SandboxViolation
from rekep.program.guards import (
    GUARD_GLOBALS,
    SAFE_BUILTINS,
    STATE,
    DeadlineExceeded,
    grasping_cost,
)
from rekep.program.numpy_proxy import make_numpy_proxy
from rekep.program.parser import PROGRAM_FILENAME
from rekep.program.policy import ALLOWED_BUILTINS, GRASP_HELPER, LOAD_TIME_LIMIT_S, NUMPY_NAME

_perf = time.perf_counter
_EMPTY: frozenset[int] = frozenset()
_SHIM_CACHE_SIZE = 8


def _program_location(tb: TracebackType | None) -> tuple[int | None, str | None]:
    """Line and code name of the innermost program frame in a traceback."""
    line, code_name = None, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == PROGRAM_FILENAME:
            line, code_name = tb.tb_lineno, tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return line, code_name


def translate_error(exc: BaseException, function: str, limit_s: float, fallback_line: int | None
                    ) -> ProgramError:
    """Turn an exception raised while running program code into a ProgramError."""
    line, code_name = _program_location(exc.__traceback__)
    line = line if line is not None else fallback_line
    where = f" (in helper {code_name})" if code_name not in (None, function, "<module>") else ""
    if isinstance(exc, SandboxViolation):
        return SandboxViolation(exc.reason + where, function=function, line=line)
    if isinstance(exc, DeadlineExceeded):
        msg = (f"did not finish within the time limit of {limit_s:g} s{where}; remove long "
               "loops and recursion (constraint functions should take microseconds)")
    elif isinstance(exc, RecursionError):
        msg = f"recursion too deep{where}; constraint functions should not recurse"
    elif isinstance(exc, MemoryError):
        msg = f"ran out of memory{where}; use small arrays"
    else:
        text = str(exc)
        text = text if len(text) <= 300 else text[:300] + "..."
        msg = (f"raised {type(exc).__name__}: {text}{where}; fix the code so that it returns "
               "a number for (3,) or (2, 3) end-effector and (K, 3) keypoint arrays")
    return ConstraintEvaluationError(msg, function=function, line=line)


def to_cost(value: Any, function: str, line: int) -> float:
    """Check that ``value`` is a finite real scalar (0-d or size-1 arrays allowed)."""
    t = type(value)
    if t is float or t is np.float64:
        cost = float(value)
    elif isinstance(value, (int, np.integer, np.floating, np.bool_)):
        try:
            cost = float(value)
        except OverflowError:
            cost = math.inf
    elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        cost = float(value.reshape(-1)[0])
    else:
        shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
        raise ConstraintEvaluationError(
            f"returned {type(value).__name__}{shape}, not a real scalar; return one number "
            "(e.g. a norm minus a distance), not a vector, a tuple or None",
            function=function,
            line=line,
        )
    if not math.isfinite(cost):
        raise ConstraintEvaluationError(
            f"returned a non-finite cost ({cost}); avoid 0/0, arccos outside [-1, 1] (clip "
            "its argument) and log of non-positive numbers",
            function=function,
            line=line,
        )
    return cost


def freeze(value: Any) -> Any:
    """Read-only version of a module-level constant (lists -> tuples, dicts -> mapping
    proxies, arrays -> read-only copies), so calls cannot leave state behind."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, np.ndarray):
        frozen = value.copy()
        frozen.flags.writeable = False
        return frozen
    return value


_F64 = np.dtype(np.float64)


def _float_copy(value: Any) -> np.ndarray:
    """A float64 copy (programs may modify their inputs without touching the caller's)."""
    if type(value) is np.ndarray and value.dtype is _F64:
        return value.copy()
    return np.array(value, dtype=float)


class ProgramRuntime:
    """Compiled program plus its namespaces; shared by all functions of one program."""

    def __init__(self, tree: ast.Module, *, time_limit_s: float, bimanual: bool,
                 num_keypoints: int | None, load_args: dict[str, Any],
                 constants: Collection[str] = ()):
        self.time_limit_s = time_limit_s
        self.bimanual = bimanual
        self.num_keypoints = num_keypoints
        self.load_args = load_args
        self._constants = tuple(constants)
        self._ee_shape = (2, 3) if bimanual else (3,)
        try:
            self._code = compile(tree, PROGRAM_FILENAME, "exec")
        except (SyntaxError, ValueError) as exc:  # e.g. 'return' outside function
            raise ProgramError(f"the program does not compile: {exc}; fix it",
                               line=getattr(exc, "lineno", None)) from exc
        self.namespace = self._namespace(make_numpy_proxy(np), "<module>")
        self._shims: dict[tuple[int, int], tuple[object, object, dict[str, Any]]] = {}

    def _namespace(self, proxy: object, label: str,
                   builtins: dict[str, Any] = SAFE_BUILTINS) -> dict[str, Any]:
        namespace: dict[str, Any] = {
            "__builtins__": builtins,
            "__name__": "rekep_constraint_program",
            NUMPY_NAME: proxy,
            GRASP_HELPER: grasping_cost,
            **GUARD_GLOBALS,
        }
        previous = STATE.deadline, STATE.held
        STATE.deadline, STATE.held = _perf() + LOAD_TIME_LIMIT_S, _EMPTY
        try:
            exec(self._code, namespace)
        except Exception as exc:
            raise translate_error(exc, label, LOAD_TIME_LIMIT_S, None) from exc
        finally:
            STATE.deadline, STATE.held = previous
        for name in self._constants:
            namespace[name] = freeze(namespace[name])
        return namespace

    def _shim_namespace(self, np_like: object, overrides: Mapping[str, Any] | None
                        ) -> dict[str, Any]:
        key = (id(np_like), id(overrides))
        cached = self._shims.get(key)
        if cached is not None and cached[0] is np_like and cached[1] is overrides:
            return cached[2]
        table = SAFE_BUILTINS
        if overrides:
            unknown = set(overrides) - ALLOWED_BUILTINS
            if unknown:
                raise ProgramError(
                    f"call_with(builtins=...) may only replace the allowed builtins "
                    f"({', '.join(sorted(ALLOWED_BUILTINS))}); got {', '.join(sorted(unknown))}"
                )
            table = {**SAFE_BUILTINS, **overrides}
        namespace = self._namespace(make_numpy_proxy(np_like), "<module>", table)
        if len(self._shims) >= _SHIM_CACHE_SIZE:
            self._shims.pop(next(iter(self._shims)))
        self._shims[key] = (np_like, overrides, namespace)
        return namespace

    def _inputs(self, name: str, line: int, end_effector: Any, keypoints: Any
                ) -> tuple[np.ndarray, np.ndarray]:
        try:
            ee = _float_copy(end_effector)
            kp = _float_copy(keypoints)
        except (TypeError, ValueError) as exc:
            raise ConstraintEvaluationError(
                f"inputs must be numeric arrays ({exc})", function=name, line=line
            ) from exc
        want = self._ee_shape
        if ee.shape != want:
            raise ConstraintEvaluationError(
                f"end_effector has shape {ee.shape}; this "
                f"{'bimanual' if self.bimanual else 'single-arm'} program expects {want}",
                function=name, line=line,
            )
        k = self.num_keypoints
        shape = kp.shape
        if len(shape) != 2 or shape[1] != 3 or (k is not None and shape[0] != k):
            raise ConstraintEvaluationError(
                f"keypoints has shape {kp.shape}; expected ({k if k else 'K'}, 3)",
                function=name, line=line,
            )
        return ee, kp

    def _run(self, namespace: dict[str, Any], name: str, line: int, args: tuple[Any, Any],
             held: Collection[int]) -> Any:
        fn = namespace[name]
        state = STATE
        previous = state.deadline, state.held
        state.held = frozenset(held) if held else _EMPTY
        state.deadline = _perf() + self.time_limit_s
        try:
            return fn(*args)
        except Exception as exc:
            raise translate_error(exc, name, self.time_limit_s, line) from exc
        finally:
            state.deadline, state.held = previous

    def evaluate(self, name: str, line: int, end_effector: Any, keypoints: Any,
                 held: Collection[int]) -> float:
        """Run function ``name`` with real NumPy; return its finite cost."""
        args = self._inputs(name, line, end_effector, keypoints)
        return to_cost(self._run(self.namespace, name, line, args, held), name, line)

    def call_with(self, np_like: object, name: str, line: int, end_effector: Any,
                  keypoints: Any, held: Collection[int],
                  builtins: Mapping[str, Any] | None = None) -> object:
        """Run function ``name`` with ``np`` bound to ``np_like``; no result check."""
        namespace = self._shim_namespace(np_like, builtins)
        return self._run(namespace, name, line, (end_effector, keypoints), held)
