"""Where a top-down parallel-jaw grasp goes, from a solved grasp pose and the observed object.

One place for the grasp geometry every grasp path uses (the blocking :func:`rekep.robot.grasp`,
the single-arm loop and its :class:`~rekep.loop.primitives.GraspPrimitive`, the bimanual
loop and its act primitive, the open-loop bimanual episode):

* :func:`closing_axis_from_points`: the fingers close across the object's narrower side; of
  the equivalent directions (a parallel gripper is symmetric) the one nearest a preferred
  direction, among those the arm's last joint reaches (:class:`WristRange`);
* :func:`grasp_pose`: the solved pose turned to that closing axis and shifted along it onto
  the middle of the object's observed cross-section at the grasp point
  (:func:`centring_shift`): a keypoint on a silhouette edge of a plain object otherwise puts
  one finger on top of the object and the other beside it, and closing drags or tips the
  object in the hand (what the hand's held-object model does not know);
* :func:`descent_target`: ``depth_m`` past the grasp pose along the approach, never closer
  than ``clearance_m`` to the lowest observed point of the object.

Only observed points (the object's cloud, moved with its tracked keypoints) and the robot's
own kinematics are used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.poses import make_pose

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GraspConfig:
    """Grasp primitive settings (metres, radians).

    ``depth_m``: how far past the sub-goal point the TCP goes along the approach axis (a
    surface keypoint is the top of the object; the fingers must close below it);
    ``clearance_m``: the TCP stays this far above the lowest observed point of the object;
    ``approach_m``: pre-grasp and retreat distance; ``min_width_m``: a closed gripper
    narrower than this holds nothing. Centring (:func:`centring_shift`): ``centre`` turns it
    on; the cross-section is the object's points within ``centre_slab_m`` of the grasp point
    across the closing axis and at most ``depth_m + centre_below_m`` below it; it is centred
    only when narrower than ``max_object_width_m`` (the open fingers' span less a margin) and
    its middle lies between ``min_centring_m`` (below: the cloud's noise, the grasp is
    already centred) and ``max_centring_m`` from the grasp point. ``wrist_margin_rad``: a
    closing direction needs the last joint this far inside its limits.
    """

    depth_m: float = 0.02
    clearance_m: float = 0.015
    approach_m: float = 0.10
    min_width_m: float = 0.005
    descend_speed_m_s: float = 0.15
    centre: bool = True
    centre_slab_m: float = 0.01
    centre_below_m: float = 0.01
    max_object_width_m: float = 0.07
    min_centring_m: float = 0.005
    max_centring_m: float = 0.03
    wrist_margin_rad: float = 0.3


@dataclass(frozen=True)
class WristRange:
    """How far the arm's last joint alone turns the hand about its approach axis at a pose.

    ``low`` / ``high``: signed turns (radians, right-handed about ``z_axis``) of the TCP x
    axis from ``x_axis`` that keep the last joint within its limits.
    """

    x_axis: FloatArray
    z_axis: FloatArray
    low: float
    high: float

    def turn(self, direction: ArrayLike) -> float:
        """Signed turn (radians) from ``x_axis`` to ``direction`` about ``z_axis``."""
        d = np.asarray(direction, dtype=np.float64)
        return float(np.arctan2(self.z_axis @ np.cross(self.x_axis, d), self.x_axis @ d))

    def slack(self, direction: ArrayLike) -> float:
        """How far (radians) the turn to ``direction`` stays inside the limits (< 0: out)."""
        turn = self.turn(direction)
        return min(turn - self.low, self.high - turn)


def wrist_range(fk: Callable[[FloatArray], FloatArray], q: ArrayLike, lower: ArrayLike,
                upper: ArrayLike) -> WristRange | None:  # fmt: skip
    """The :class:`WristRange` of an arm at joints ``q`` (its last joint's limits
    ``lower[-1]``, ``upper[-1]``), or None when the last joint does not turn the TCP about
    its approach axis (measured with the forward kinematics ``fk(q) -> T_world_tcp``)."""
    q0 = np.asarray(q, dtype=np.float64).reshape(-1)
    step = 1e-3
    q1 = q0.copy()
    q1[-1] += step
    T0, T1 = np.asarray(fk(q0)), np.asarray(fk(q1))
    if np.linalg.norm(T1[:3, 3] - T0[:3, 3]) > 1e-6 or T0[:3, 2] @ T1[:3, 2] < 1 - 1e-6:
        return None
    sign = float(np.sign(T0[:3, 2] @ np.cross(T0[:3, 0], T1[:3, 0])))
    if sign == 0.0:
        return None
    lo = (float(np.ravel(lower)[-1]) - q0[-1]) * sign
    hi = (float(np.ravel(upper)[-1]) - q0[-1]) * sign
    return WristRange(T0[:3, 0].copy(), T0[:3, 2].copy(), min(lo, hi), max(lo, hi))


def wrist_of(robot: Any, q: ArrayLike | None) -> WristRange | None:
    """:func:`wrist_range` of a robot model (``fk``, ``lower``, ``upper``, as
    :class:`solvers.kinematics.RobotModel`) at joints ``q``; None without either."""
    if robot is None or q is None:
        return None
    return wrist_range(robot.fk, q, robot.lower, robot.upper)


def closing_axis_options(points: ArrayLike, preferred: ArrayLike) -> list[FloatArray]:
    """Closing directions (3,) in the world xy plane for a top-down grasp, best first.

    ``points`` (N, 3) are the object's observed surface points. The minimum-area bounding
    rectangle of their xy projection gives the object's faces; the fingers close across the
    narrower side (either side of a square). A parallel gripper is symmetric, so each side
    gives two opposite directions; they are ordered by closeness to ``preferred`` (staying
    near the current yaw turns the wrist least).
    """
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 3)[:, :2]
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    pref = np.asarray(preferred, dtype=np.float64)[:2]
    if len(xy) < 3:
        sides = [pref / max(float(np.linalg.norm(pref)), 1e-12)]
    else:
        centred = xy - xy.mean(axis=0)
        best = (np.inf, 0.0, 0.0, 0.0)
        for a in np.deg2rad(np.arange(0.0, 90.0, 1.0)):
            c, s = np.cos(a), np.sin(a)
            eu = np.ptp(centred @ np.array([c, s]))
            ev = np.ptp(centred @ np.array([-s, c]))
            if eu * ev < best[0]:
                best = (eu * ev, a, eu, ev)
        _, a, eu, ev = best
        axis_u = np.array([np.cos(a), np.sin(a)])
        axis_v = np.array([-np.sin(a), np.cos(a)])
        sides = [axis_u, axis_v] if abs(eu - ev) < 0.005 else [axis_u if eu < ev else axis_v]
    options = [d for side in sides for d in (side, -side)]
    options.sort(key=lambda d: -float(d @ pref))
    out = [np.array([d[0], d[1], 0.0]) for d in options]
    return [d / max(float(np.linalg.norm(d)), 1e-12) for d in out]


def closing_axis_from_points(points: ArrayLike, preferred: ArrayLike,
                             wrist: WristRange | None = None,
                             margin_rad: float = 0.3) -> FloatArray:  # fmt: skip
    """The closing direction (3,) of :func:`closing_axis_options` nearest ``preferred``
    whose wrist turn keeps ``margin_rad`` inside the last joint's limits (``wrist``; the
    nearest direction wins only as long as the joint can turn there: measured on
    handover_block, a right hand whose last joint sat near its limit could not turn to the
    nearer direction, and no IK step moved it for 25 s); with no direction inside, the one
    with the most slack."""
    options = closing_axis_options(points, preferred)
    if wrist is None:
        return options[0]
    for d in options:
        if wrist.slack(d) >= margin_rad:
            return d
    return max(options, key=wrist.slack)


def with_closing_axis(T_world_tcp: ArrayLike, closing_axis: ArrayLike) -> FloatArray:
    """Rotate a TCP pose about its approach axis so its x axis follows ``closing_axis``."""
    T = np.asarray(T_world_tcp, dtype=np.float64)
    z = T[:3, 2]
    d = np.asarray(closing_axis, dtype=np.float64)
    x = d - (d @ z) * z
    if np.linalg.norm(x) < 1e-6:  # closing axis along the approach: keep the pose
        return T.copy()
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(np.column_stack([x, y, z]), T[:3, 3])


def centring_shift(T_grasp: ArrayLike, points: ArrayLike,
                   config: GraspConfig | None = None) -> FloatArray:  # fmt: skip
    """(3,) world shift along the closing axis (TCP x) of ``T_grasp`` that puts the TCP
    midway across the object's observed cross-section at the grasp point (see
    :class:`GraspConfig` for which points count); zero when centring is off, too few points
    are there, the cross-section is too wide for the open fingers, or its middle is nearer
    than ``min_centring_m`` or farther than ``max_centring_m``."""
    cfg = config or GraspConfig()
    T = np.asarray(T_grasp, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    none = np.zeros(3)
    if not cfg.centre or len(pts) < 10:
        return none
    x, y, z = T[:3, 0], T[:3, 1], T[:3, 2]
    rel = pts - T[:3, 3]
    near = (np.abs(rel @ y) <= cfg.centre_slab_m) & (rel @ z <= cfg.depth_m + cfg.centre_below_m)
    if int(near.sum()) < 10:
        return none
    u = rel[near] @ x
    lo, hi = np.percentile(u, [1.0, 99.0])
    middle = 0.5 * float(lo + hi)
    fits = hi - lo <= cfg.max_object_width_m
    if not fits or not cfg.min_centring_m <= abs(middle) <= cfg.max_centring_m:
        return none
    return middle * x


def grasp_pose(T_solved: ArrayLike, points: ArrayLike, closing_axis: ArrayLike,
               config: GraspConfig | None = None) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """The grasp pose for a solved pose: turned to ``closing_axis`` and centred on the
    object (:func:`centring_shift`); returns the pose and the (3,) shift applied, which a
    caller that measures the solved sub-goal on the hand subtracts from the hand position."""
    T = with_closing_axis(T_solved, closing_axis)
    shift = centring_shift(T, points, config)
    T[:3, 3] += shift
    return T, shift


def descent_target(T_grasp: ArrayLike, points: ArrayLike,
                   config: GraspConfig | None = None) -> FloatArray:  # fmt: skip
    """Where the fingers close: ``depth_m`` past ``T_grasp`` along its approach (TCP z),
    never closer than ``clearance_m`` to the lowest observed point of the object."""
    cfg = config or GraspConfig()
    target = np.array(T_grasp, dtype=np.float64)
    target[:3, 3] += cfg.depth_m * target[:3, 2]
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(pts):  # never drive the fingertips into what lies under the object
        target[2, 3] = max(target[2, 3], float(np.nanmin(pts[:, 2])) + cfg.clearance_m)
    return target
