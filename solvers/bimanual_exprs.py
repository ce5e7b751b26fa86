"""CasADi and NumPy building blocks shared by the bimanual sub-goal and path solvers.

* :func:`build_bimanual_exprs`: each constraint traced with ``end_effector`` (2, 3) (exact
  derivatives) or wrapped as a finite-difference callback, as in
  :func:`solvers.casadi_exprs.build_constraint_exprs` for one arm.
* :func:`moved_keypoints_expr`: the two-hand forward model on symbols (see
  :mod:`solvers.bimanual_problem` for who carries a keypoint).
* Arm-arm collision. The NLPs only constrain the sphere pairs that can meet (see
  :func:`arm_pairs`): every pair of spheres on the forearm, wrist and hand of each arm
  (Panda ``panda_link5`` to ``panda_hand``, fingers included: 26 spheres per arm, 676
  pairs, grouped into 16 link pairs). Culled: the base, shoulder, upper arm and elbow
  (``panda_link0..4``): the bases are 0.7 m apart and those links stay within about 0.45 m
  of their own base, above and behind the workspace where the hands work, so only a hand
  reaching across to the other arm's shoulder could touch them. Measured: adding the elbows
  (1196 pairs) doubled the Hessian cost. The answers are still judged on *every* pair
  numerically (:func:`arm_clearance`), so a culled pair that does meet makes an answer
  infeasible instead of passing silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import casadi as ca
import numpy as np
from numpy.typing import ArrayLike, NDArray

from solvers.casadi_exprs import ConstraintExprs, build_constraint_exprs, held_keypoints_expr
from solvers.constraint_set import NamedConstraint

FloatArray = NDArray[np.float64]
EE_SHAPE = (2, 3)
FIRST_PAIR_LINK = 5
"""Chain index of the first link whose spheres take part in arm-arm constraints (Panda:
``panda_link5``, the forearm)."""


def build_bimanual_exprs(
    constraints: Sequence[NamedConstraint], num_keypoints: int, held: Sequence[int]
) -> ConstraintExprs:
    """Trace every constraint with a (2, 3) end effector (numeric callback when it cannot)."""
    return build_constraint_exprs(constraints, num_keypoints, held, EE_SHAPE)


def moved_keypoints_expr(
    kps: Any, left: Sequence[int], right: Sequence[int], now: Sequence[tuple[Any, Any]],
    new: Sequence[tuple[Any, Any]],
) -> Any:  # fmt: skip
    """(K, 3) keypoints: rows ``left`` carried by the left TCP from ``now[0]`` to ``new[0]``
    (each a (R (3, 3), p (3, 1)) pair), rows ``right`` by the right TCP likewise."""
    out = kps
    if left:
        out = held_keypoints_expr(out, left, now[0][0], now[0][1], new[0][0], new[0][1])
    if right:
        out = held_keypoints_expr(out, right, now[1][0], now[1][1], new[1][0], new[1][1])
    return out


def end_effector_expr(p_left: Any, p_right: Any) -> Any:
    """(2, 3) end effector of the constraint functions from two (3, 1) TCP positions."""
    return ca.horzcat(p_left, p_right).T


def _chain_index(robot: Any) -> dict[str, int]:
    return {name: i for i, name in enumerate(robot.link_names)}


def pair_spheres(robot: Any) -> NDArray[np.int64]:
    """Sphere rows of ``robot`` taking part in arm-arm constraints (module docstring)."""
    index = _chain_index(robot)
    depth = np.array([index[link] for link in robot.sphere_links])
    return np.flatnonzero(depth >= FIRST_PAIR_LINK)


def arm_pairs(left: Any, right: Any) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(P,) left and (P,) right sphere rows of the pairs the NLPs constrain (module doc)."""
    rows_l, rows_r = pair_spheres(left), pair_spheres(right)
    il, ir = np.meshgrid(rows_l, rows_r, indexing="ij")
    return il.reshape(-1), ir.reshape(-1)


def pair_groups(left: Any, right: Any, pairs: tuple[Any, Any]) -> list[NDArray[np.int64]]:
    """Indices into ``pairs`` grouped by (left link, right link), in first-seen order."""
    il, ir = pairs
    keys = [(left.sphere_links[i], right.sphere_links[j]) for i, j in zip(il, ir, strict=True)]
    groups: dict[tuple[str, str], list[int]] = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    return [np.array(v, dtype=np.int64) for v in groups.values()]


def pair_clearance_expr(centres_l: Any, centres_r: Any, radii_sum: FloatArray,
                        pairs: tuple[Any, Any]) -> Any:  # fmt: skip
    """(P, 1) surface distances ``|c_l - c_r| - r_l - r_r`` of the pairs, metres."""
    il, ir = pairs
    diff = centres_l[list(il), :] - centres_r[list(ir), :]
    return ca.sqrt(ca.sum2(diff * diff) + 1e-12) - ca.DM(radii_sum)


def pair_radii(left: Any, right: Any, pairs: tuple[Any, Any]) -> FloatArray:
    """(P,) ``r_l + r_r`` of the pairs, metres."""
    il, ir = pairs
    return np.asarray(left.sphere_radii)[il] + np.asarray(right.sphere_radii)[ir]


def clearance_matrix(left: Any, right: Any, q: ArrayLike) -> FloatArray:
    """(N_left, N_right) surface distances between every pair of spheres at (2, dof) ``q``."""
    qq = np.asarray(q, dtype=float).reshape(2, -1)
    cl, cr = left.sphere_centers(qq[0]), right.sphere_centers(qq[1])
    dist = np.linalg.norm(cl[:, None, :] - cr[None, :, :], axis=-1)
    return dist - np.asarray(left.sphere_radii)[:, None] - np.asarray(right.sphere_radii)[None, :]


def arm_clearance(left: Any, right: Any, q: ArrayLike) -> float:
    """Least surface distance between the two arms' spheres (all pairs), metres."""
    return float(clearance_matrix(left, right, q).min())


def softmin(values: Any, sharpness: float, cap: float) -> Any:
    """Smooth lower bound of ``min(values)`` (column): ``-log(sum exp(-k min(v, cap))) / k``.

    Values are capped at ``cap`` first so far-away pairs cannot underflow the sum to zero.
    The result is at most ``log(n) / k`` below the true minimum (conservative).
    """
    v = ca.fmin(values, cap)
    return -ca.log(ca.sum1(ca.exp(-sharpness * v))) / sharpness


def grouped_clearance_expr(clearances: Any, groups: Sequence[NDArray[np.int64]],
                           sharpness: float, cap: float) -> Any:  # fmt: skip
    """(G, 1) soft minimum of the pair ``clearances`` (P, 1) within each group."""
    return ca.vertcat(*[softmin(clearances[list(g)], sharpness, cap) for g in groups])
