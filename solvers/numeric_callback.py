"""Numeric (untraceable) constraints as CasADi functions with finite-difference Jacobians.

:func:`numeric_casadi_function` wraps a :class:`~solvers.constraint_evaluator.NumericConstraint`
as a CasADi ``Callback`` with the same signature as a traced constraint's ``function``
(``f(ee, kps) -> cost``; ``ee`` (3, 1) or (2, 3), ``kps`` (K, 3)), so one NLP can mix exact
and numeric constraints. Its Jacobian comes from central differences; it has no Hessian,
so an NLP that contains one needs a quasi-Newton Hessian (IPOPT
``hessian_approximation='limited-memory'``). Keep the returned object referenced for as
long as any expression built from it is used (CasADi does not own Python callbacks).
"""

from __future__ import annotations

from typing import Any

import casadi as ca
import numpy as np

from solvers.constraint_evaluator import NumericConstraint
from solvers.tracing import casadi_name


def _ee_sparsity(ee_shape: tuple[int, ...]) -> ca.Sparsity:
    return ca.Sparsity.dense(3, 1) if ee_shape == (3,) else ca.Sparsity.dense(*ee_shape)


class _Jacobian(ca.Callback):  # type: ignore[misc]
    """(ee, kps, cost) -> (d cost/d vec(ee) (1, n_ee), d cost/d vec(kps) (1, 3K))."""

    def __init__(self, name: str, parent: FiniteDifferenceFunction, opts: dict[str, Any]):
        ca.Callback.__init__(self)
        self.parent = parent
        self.construct(name, opts)

    def get_n_in(self) -> int:
        return 3

    def get_n_out(self) -> int:
        return 2

    def get_sparsity_in(self, i: int) -> ca.Sparsity:
        return [self.parent.ee_sparsity, self.parent.kp_sparsity, ca.Sparsity.dense(1, 1)][i]

    def get_sparsity_out(self, i: int) -> ca.Sparsity:
        n = self.parent.ee_sparsity.numel() if i == 0 else self.parent.kp_sparsity.numel()
        return ca.Sparsity.dense(1, n)

    def eval(self, arg: list[Any]) -> list[Any]:  # type: ignore[override]
        ee, kps = self.parent.unpack(arg)
        _, g_ee, g_kp = self.parent.evaluator.value_and_gradient(ee, kps)
        # CasADi vectorizes matrices column-major
        return [g_ee.reshape(1, -1, order="F") if g_ee.ndim == 2 else g_ee.reshape(1, -1),
                g_kp.reshape(1, -1, order="F")]


class FiniteDifferenceFunction(ca.Callback):  # type: ignore[misc]
    """CasADi ``f(ee, kps) -> cost`` evaluating a numeric constraint (see module doc)."""

    def __init__(
        self, evaluator: NumericConstraint, ee_shape: tuple[int, ...], num_keypoints: int
    ) -> None:
        ca.Callback.__init__(self)
        self.evaluator = evaluator
        self.ee_shape = tuple(ee_shape)
        self.ee_sparsity = _ee_sparsity(self.ee_shape)
        self.kp_sparsity = ca.Sparsity.dense(num_keypoints, 3)
        self._jacobian: _Jacobian | None = None
        self.construct(casadi_name(evaluator.name), {"enable_fd": False})

    def get_n_in(self) -> int:
        return 2

    def get_n_out(self) -> int:
        return 1

    def get_sparsity_in(self, i: int) -> ca.Sparsity:
        return self.ee_sparsity if i == 0 else self.kp_sparsity

    def get_sparsity_out(self, i: int) -> ca.Sparsity:
        return ca.Sparsity.dense(1, 1)

    def unpack(self, arg: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        ee = np.asarray(ca.DM(arg[0])).reshape(self.ee_shape)
        return ee, np.asarray(ca.DM(arg[1]))

    def eval(self, arg: list[Any]) -> list[Any]:  # type: ignore[override]
        ee, kps = self.unpack(arg)
        return [self.evaluator.value(ee, kps)]

    def has_jacobian(self) -> bool:
        return True

    def get_jacobian(  # type: ignore[override]
        self, name: str, inames: Any, onames: Any, opts: dict[str, Any]
    ) -> Any:
        self._jacobian = _Jacobian(name, self, opts)
        return self._jacobian


def numeric_casadi_function(
    evaluator: NumericConstraint, ee_shape: tuple[int, ...], num_keypoints: int
) -> FiniteDifferenceFunction:
    """Wrap ``evaluator`` as a CasADi function ``f(ee, kps) -> cost`` (see module doc)."""
    return FiniteDifferenceFunction(evaluator, ee_shape, num_keypoints)
