"""Forward kinematics of a serial arm, numeric (NumPy) and symbolic (CasADi).

:class:`RobotModel` wraps a :class:`~solvers.robots.chain.RobotSpec` (default: the Panda)
placed at ``T_world_base``. ``q`` is the (dof,) vector of revolute joint angles in radians,
in chain order. Poses are (4, 4) ``T_world_x`` matrices (``rekep.poses`` convention);
``fk`` gives the tool centre point (TCP). The CasADi functions accept SX, MX or numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from rekep.poses import as_pose
from solvers.robots.chain import RobotSpec, origin_matrix
from solvers.robots.panda import PANDA

FloatArray = NDArray[np.float64]


def _axis_rotation(axis: NDArray[np.float64], angle: float) -> FloatArray:
    """(4, 4) rotation by ``angle`` about unit ``axis`` (Rodrigues)."""
    x, y, z = axis
    c, s = np.cos(angle), np.sin(angle)
    C = 1.0 - c
    T = np.eye(4)
    T[:3, :3] = [
        [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
        [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
        [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
    ]
    return T


def _axis_rotation_sx(axis: NDArray[np.float64], angle: Any) -> Any:
    x, y, z = (float(v) for v in axis)
    c, s = ca.cos(angle), ca.sin(angle)
    C = 1.0 - c
    return ca.vertcat(
        ca.horzcat(c + x * x * C, x * y * C - z * s, x * z * C + y * s, 0),
        ca.horzcat(y * x * C + z * s, c + y * y * C, y * z * C - x * s, 0),
        ca.horzcat(z * x * C - y * s, z * y * C + x * s, c + z * z * C, 0),
        ca.horzcat(0, 0, 0, 1),
    )


class RobotModel:
    """Kinematics, joint limits and collision spheres of one arm.

    Args:
        spec: the chain (default :data:`solvers.robots.PANDA`).
        T_world_base: (4, 4) pose of the base link in the world (default identity).
    """

    def __init__(self, spec: RobotSpec = PANDA, T_world_base: ArrayLike | None = None) -> None:
        self.spec = spec
        self.T_world_base: FloatArray = (
            np.eye(4) if T_world_base is None else as_pose(T_world_base, "T_world_base")
        )
        self.lower, self.upper = spec.limits()
        self.velocity_limits: FloatArray = spec.velocity_limits()
        self.T_link_tcp: FloatArray = np.asarray(spec.T_link_tcp, dtype=float)
        self._origins = [origin_matrix(j.xyz, j.rpy) for j in spec.joints]
        self._axes = [np.asarray(j.axis, dtype=float) for j in spec.joints]
        self.sphere_links: tuple[str, ...] = tuple(s.link for s in spec.spheres)
        """(N,) link name of each collision sphere."""
        self.sphere_radii: FloatArray = np.array([s.radius for s in spec.spheres])
        """(N,) collision sphere radii, metres."""
        self._sphere_local = np.array([s.center for s in spec.spheres]).reshape(-1, 3)

    @property
    def dof(self) -> int:
        return self.spec.dof

    @property
    def link_names(self) -> tuple[str, ...]:
        return self.spec.link_names

    def _check_q(self, q: ArrayLike) -> FloatArray:
        arr = np.asarray(q, dtype=float).reshape(-1)
        if arr.shape != (self.dof,):
            raise SolverError(
                f"{self.spec.name}: q must have {self.dof} joint angles, got shape {arr.shape}"
            )
        return arr

    # ------------------------------------------------------------------------ numeric
    def link_poses(self, q: ArrayLike) -> dict[str, FloatArray]:
        """(dof,) radians -> {link name: (4, 4) T_world_link} for every link of the chain."""
        qv = self._check_q(q)
        T = self.T_world_base.copy()
        poses = {self.spec.base_link: T.copy()}
        k = 0
        for joint, origin, axis in zip(self.spec.joints, self._origins, self._axes, strict=True):
            T = T @ origin
            if joint.kind == "revolute":
                T = T @ _axis_rotation(axis, qv[k])
                k += 1
            poses[joint.child] = T
        return poses

    def fk(self, q: ArrayLike) -> FloatArray:
        """(dof,) radians -> (4, 4) T_world_tcp."""
        return self.link_poses(q)[self.spec.tcp_link] @ self.T_link_tcp

    def sphere_centers(self, q: ArrayLike) -> FloatArray:
        """(dof,) radians -> (N, 3) world centres of the collision spheres, metres."""
        poses = self.link_poses(q)
        out = np.empty_like(self._sphere_local)
        for i, (link, c) in enumerate(zip(self.sphere_links, self._sphere_local, strict=True)):
            T = poses[link]
            out[i] = T[:3, :3] @ c + T[:3, 3]
        return out

    def within_limits(self, q: ArrayLike, tol: float = 1e-9) -> bool:
        qv = self._check_q(q)
        return bool(np.all(qv >= self.lower - tol) and np.all(qv <= self.upper + tol))

    def clip_to_limits(self, q: ArrayLike) -> FloatArray:
        return np.clip(self._check_q(q), self.lower, self.upper)

    def random_configurations(self, n: int, rng: np.random.Generator) -> FloatArray:
        """(n, dof) configurations drawn uniformly within the joint limits."""
        return rng.uniform(self.lower, self.upper, size=(n, self.dof))

    # ------------------------------------------------------------------------- CasADi
    def _link_poses_sx(self, q: Any) -> dict[str, Any]:
        T = ca.SX(self.T_world_base)
        poses = {self.spec.base_link: T}
        k = 0
        for joint, origin, axis in zip(self.spec.joints, self._origins, self._axes, strict=True):
            T = ca.mtimes(T, ca.SX(origin))
            if joint.kind == "revolute":
                T = ca.mtimes(T, _axis_rotation_sx(axis, q[k]))
                k += 1
            poses[joint.child] = T
        return poses

    @cached_property
    def fk_function(self) -> ca.Function:
        """CasADi ``q (dof,) -> T_world_tcp (4, 4)``."""
        q = ca.SX.sym("q", self.dof)
        T = ca.mtimes(self._link_poses_sx(q)[self.spec.tcp_link], ca.SX(self.T_link_tcp))
        return ca.Function(f"{self.spec.name}_fk", [q], [T], ["q"], ["T_world_tcp"])

    @cached_property
    def spheres_function(self) -> ca.Function:
        """CasADi ``q (dof,) -> sphere centres (N, 3)`` in the world, metres."""
        q = ca.SX.sym("q", self.dof)
        poses = self._link_poses_sx(q)
        rows = []
        for link, c in zip(self.sphere_links, self._sphere_local, strict=True):
            T = poses[link]
            rows.append((ca.mtimes(T[:3, :3], ca.DM(c)) + T[:3, 3]).T)
        centers = ca.vertcat(*rows) if rows else ca.SX(0, 3)
        return ca.Function(f"{self.spec.name}_spheres", [q], [centers], ["q"], ["centers"])

    @cached_property
    def link_poses_function(self) -> ca.Function:
        """CasADi ``q -> (T_world_link (4, 4) for each name in link_names)``."""
        q = ca.SX.sym("q", self.dof)
        poses = self._link_poses_sx(q)
        outs = [poses[name] for name in self.link_names]
        return ca.Function(f"{self.spec.name}_links", [q], outs, ["q"], list(self.link_names))

    def fk_casadi(self, q: Any) -> Any:
        """(dof,) CasADi SX/MX (or numbers) -> (4, 4) T_world_tcp of the same type."""
        return self.fk_function(q)

    def sphere_centers_casadi(self, q: Any) -> Any:
        """(dof,) CasADi SX/MX (or numbers) -> (N, 3) sphere centres, metres."""
        return self.spheres_function(q)

    def link_poses_casadi(self, q: Any, names: Sequence[str] | None = None) -> dict[str, Any]:
        """{link name: (4, 4) CasADi T_world_link} for ``names`` (default: all links)."""
        outs = self.link_poses_function(q)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        poses = dict(zip(self.link_names, outs, strict=True))
        return {n: poses[n] for n in (names if names is not None else self.link_names)}
