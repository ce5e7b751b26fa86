"""Collision terms of the CasADi sub-goal and path problems, read through an ESDF.

What collides (see :mod:`solvers.esdf` for the field):

* **arm, hand and fingers**: the robot model's collision spheres, except those on the base
  link and the first moving link (for the Panda ``panda_link0`` and ``panda_link1``: they
  only turn about the vertical axis at the base, and their spheres reach below the table
  top at z = 0, so they would always "collide" with a table cloud). Hard constraint:
  ``distance(centre) - radius >= hard_clearance`` (half a voxel, which absorbs most of the
  field's error), plus the soft hinge below.
* **the held object**: its keypoints, carried rigidly by the hand, as spheres of
  :data:`HELD_POINT_RADIUS_M`. Soft hinge only: a held object is *placed onto* things,
  so its contact with the cloud must stay possible.
* **SE(3) problems** (no robot): the Panda hand and finger spheres, fixed in the TCP frame
  (:func:`hand_spheres_tcp`), the arm is unknown.

Soft hinge: ``weight * sum max(0, margin - (distance - radius))^2`` over every sphere, with
``SubgoalWeights.collision`` and ``SubgoalWeights.collision_margin_m``.

The NLPs read the cloud either through the ESDF's CasADi interpolant
(:meth:`solvers.esdf.Esdf.casadi_distance`) or through a local model re-taken between
solves (:func:`local_clearance`, :class:`RelinearizingSolver`): see
:mod:`solvers.casadi_subgoal_nlp` and :mod:`solvers.casadi_path` for which and why.

Obstacle clouds: the caller passes the cloud of *everything else*. The object being grasped
and the held object are not obstacles (the fingers close around one, the other moves with
the hand), nor is the table plane (the TCP workspace box keeps the hand above it):
:func:`obstacle_cloud` removes points near given keypoints and below ``min_z``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import SolverError
from solvers.esdf import Esdf, finite_points
from solvers.robots.chain import RobotSpec
from solvers.robots.panda import PANDA

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)

HELD_POINT_RADIUS_M = 0.02
"""Radius of the sphere around each held keypoint, metres."""
OBJECT_RADIUS_M = 0.06
"""Default radius around grasped / held keypoints inside which cloud points are removed."""
TABLE_Z_M = 0.005
"""Default ``min_z`` of :func:`obstacle_cloud`: the table plane (z = 0) and below are dropped."""
HARD_CLEARANCE_VOXELS = 0.5
"""Hard clearance ``distance - radius >= HARD_CLEARANCE_VOXELS * voxel_m``."""


def obstacle_cloud(
    points: ArrayLike | None,
    *,
    exclude_keypoints: ArrayLike | None = None,
    radius_m: float = OBJECT_RADIUS_M,
    min_z: float | None = TABLE_Z_M,
) -> FloatArray:
    """(N, 3) world cloud -> the obstacle points (M, 3) the collision terms should see.

    Drops rows with NaN/inf (with a warning), points within ``radius_m`` of any of the
    (P, 3) ``exclude_keypoints`` (the grasped object's and the held object's keypoints) and
    points with ``z < min_z`` (None: keep them).
    """
    pts = finite_points(points)
    if exclude_keypoints is not None and pts.shape[0]:
        pts = remove_points_near(pts, exclude_keypoints, radius_m)
    if min_z is not None:
        pts = pts[pts[:, 2] >= min_z]
    return pts


def remove_points_near(points: ArrayLike, centres: ArrayLike, radius_m: float) -> FloatArray:
    """(N, 3) points without those within ``radius_m`` of any (P, 3) centre, metres."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    c = np.asarray(centres, dtype=np.float64).reshape(-1, 3)
    c = c[np.all(np.isfinite(c), axis=1)]
    if not (np.isfinite(radius_m) and radius_m >= 0):
        raise SolverError(f"radius_m must be >= 0 metres, got {radius_m}")
    if c.shape[0] == 0 or pts.shape[0] == 0:
        return pts.copy()
    from scipy.spatial import cKDTree

    near = cKDTree(c).query(pts, distance_upper_bound=radius_m)[0] <= radius_m
    return np.array(pts[~near])


@dataclass(frozen=True)
class ArmSpheres:
    """The collision spheres of a robot that take part in collision checks.

    Attributes:
        indices: (n,) rows of ``RobotModel.sphere_centers`` used.
        radii: (n,) radii, metres.
    """

    indices: tuple[int, ...]
    radii: tuple[float, ...]


def arm_spheres(robot: Any) -> ArmSpheres:
    """The spheres of ``robot`` except those on its base link and first moving link."""
    spec: RobotSpec = robot.spec
    skip = {spec.base_link, spec.joints[0].child}
    idx = tuple(i for i, link in enumerate(robot.sphere_links) if link not in skip)
    return ArmSpheres(idx, tuple(float(robot.sphere_radii[i]) for i in idx))


def hand_spheres_tcp(spec: RobotSpec = PANDA) -> tuple[FloatArray, FloatArray]:
    """Centres (n, 3) in the TCP frame and radii (n,) of the spheres on ``spec``'s TCP link
    (the hand and fingers), metres."""
    T_link_tcp = np.asarray(spec.T_link_tcp, dtype=np.float64)
    T_tcp_link = np.linalg.inv(T_link_tcp)
    own = [s for s in spec.spheres if s.link == spec.tcp_link]
    centres = np.array([T_tcp_link[:3, :3] @ np.asarray(s.center) + T_tcp_link[:3, 3]
                        for s in own]).reshape(-1, 3)  # fmt: skip
    return centres, np.array([s.radius for s in own])


def robot_sphere_centres(robot: Any, q: Any) -> tuple[Any, FloatArray]:
    """(3, n) CasADi centres of :func:`arm_spheres` at joints ``q`` and their (n,) radii."""
    spheres = arm_spheres(robot)
    centres = robot.sphere_centers_casadi(q)
    rows = [centres[i, :] for i in spheres.indices]
    return ca.vertcat(*rows).T, np.array(spheres.radii)


def tcp_sphere_centres(R: Any, p: Any) -> tuple[Any, FloatArray]:
    """(3, n) CasADi centres of the hand spheres at TCP pose (R, p) and their (n,) radii."""
    local, radii = hand_spheres_tcp()
    centres = ca.mtimes(R, ca.DM(local.T)) + ca.repmat(p, 1, local.shape[0])
    return centres, radii


def hard_clearance(esdf: Esdf) -> float:
    """Lower bound of the hard clearance constraints of ``esdf``, metres."""
    return HARD_CLEARANCE_VOXELS * esdf.voxel_m


def numeric_clearance(esdf: Esdf, robot: Any, q: ArrayLike) -> FloatArray:
    """(n,) ``distance - radius`` of :func:`arm_spheres` at joints ``q`` (field values)."""
    spheres = arm_spheres(robot)
    centres = robot.sphere_centers(q)[list(spheres.indices)]
    return esdf.distance(centres) - np.array(spheres.radii)


def numeric_tcp_clearance(esdf: Esdf, T_world_tcp: ArrayLike) -> FloatArray:
    """(n,) ``distance - radius`` of the hand spheres at ``T_world_tcp`` (4, 4)."""
    T = np.asarray(T_world_tcp, dtype=np.float64)
    local, radii = hand_spheres_tcp()
    return esdf.distance(local @ T[:3, :3].T + T[:3, 3]) - radii



LOCAL_SIZE = 4
"""Parameters per collision point of :func:`local_clearance`: an offset and a cloud point."""


def local_clearance(centres: Any, radii: FloatArray, local: Any) -> Any:
    """(N, 1) clearances of (3, N) CasADi ``centres`` against a local model of the cloud.

    ``local`` (4 N,) holds per point an offset ``s`` (N) and an obstacle point ``n`` (3, N,
    column-major), the cloud point nearest to where the centre was (:func:`local_model`):
    ``|c - n| - r - s``. Pure arithmetic (no table lookup), so derivatives are cheap. It is
    never below the true clearance (optimistic): the solver re-solves with a fresh model
    where the answer is not clear of the true field (:class:`RelinearizingSolver`).
    """
    n = int(centres.shape[1])
    offset = local[:n]
    near = ca.reshape(local[n:], 3, n)
    dist = ca.sqrt(ca.sum1((centres - near) ** 2) + 1e-8) - 1e-4
    return (dist - ca.DM(radii).T - offset.T).T


def local_model(esdf: Esdf, centres: ArrayLike, offsets: ArrayLike | None = None) -> FloatArray:
    """(4 N,) parameters of :func:`local_clearance` at the (N, 3) numeric centres."""
    c = np.asarray(centres, dtype=np.float64).reshape(-1, 3)
    s = np.zeros(c.shape[0]) if offsets is None else np.asarray(offsets, dtype=np.float64)
    return np.concatenate([s, esdf.nearest(c).T.reshape(-1, order="F")])


MAX_LINEARIZATIONS = 4
"""Solves per start at most: solve, re-linearize the field at the answer, solve again..."""


class RelinearizingSolver:
    """An ``nlpsol``-like callable for NLPs that read the cloud through
    :func:`local_clearance`: it appends the local model at ``x0`` to the parameters,
    solves, and re-solves (warm, from the answer and its multipliers) with the model
    taken at the answer until the true field clears every hard sphere, at most
    :data:`MAX_LINEARIZATIONS` times. ``stats()`` is the last solve's, with ``iter_count``
    summed over the solves. The hard rows' offsets are :func:`hard_clearance`, so the NLP
    bounds them by 0 whatever the voxel size.

    Args:
        first: the solver of the first solve (cold or warm options).
        again: the solver of the re-solves (warm options).
        points_fn: CasADi ``(x, p) -> (3, n)`` collision points (hard spheres first).
        radii: (n,) their radii, metres; ``num_hard`` of them are hard constraints.
        field: zero-argument callable returning the :class:`Esdf` of the current problem.
    """

    def __init__(self, first: ca.Function, again: ca.Function, points_fn: ca.Function,
                 radii: FloatArray, num_hard: int, field: Any) -> None:  # fmt: skip
        self.first, self.again, self.points_fn = first, again, points_fn
        self.radii, self.num_hard, self.field = np.asarray(radii, float), num_hard, field
        self._stats: dict[str, Any] = {}

    def clear(self, x: Any, p: Any) -> bool:
        """True when the hard spheres at ``x`` clear the true field (within 1 mm)."""
        esdf: Esdf = self.field()
        pts = np.asarray(self.points_fn(x, p), dtype=np.float64)[:, : self.num_hard]
        clear = esdf.distance(pts.T) - self.radii[: self.num_hard]
        return bool(clear.size == 0 or clear.min() >= hard_clearance(esdf) - 1e-3)

    def stats(self) -> dict[str, Any]:
        return self._stats

    def __call__(self, **args: Any) -> dict[str, Any]:
        esdf: Esdf = self.field()
        p = np.asarray(args["p"], dtype=np.float64).reshape(-1)
        x = args["x0"]
        iterations = 0
        res: dict[str, Any] = {}
        for k in range(MAX_LINEARIZATIONS):
            pts = np.asarray(self.points_fn(x, p), dtype=np.float64)
            off = np.zeros(pts.shape[1])
            off[: self.num_hard] = hard_clearance(esdf)  # the NLP bounds hard rows by 0
            local = local_model(esdf, pts.T, off)
            call = dict(args, x0=x, p=ca.DM(np.concatenate([p, local])))
            solver = self.first if k == 0 else self.again
            if k > 0:
                call.update(lam_x0=res["lam_x"], lam_g0=res["lam_g"])
            res = solver(**call)
            stats = dict(solver.stats())
            iterations += int(stats.get("iter_count", 0))
            x = res["x"]
            if self.clear(x, p):
                break
        self._stats = dict(stats, iter_count=iterations)
        return res
