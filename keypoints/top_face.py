"""Candidates on an object's top face: its centre, the ends of its principal axes, and a
spine of evenly spaced points along each long axis.

The top face of one mask's (N, 3) world points (metres, world +z up) is the set of points
within ``band`` of the mask's highest point. On it, in the horizontal plane:

- the *centre*: the top point nearest the middle of the top face's extent along its
  principal axes (a lid, a box or a cabinet
  top, where a bimanual grasp or a placement is centred);
- the *axis ends*: along each horizontal principal axis, both ways, the top point farthest
  from the centroid among those near the axis line (the middles of a top face's edges: a
  cabinet's front edge, a drawer's front panel, a handle bar in front of a drawer);
- the *spine*: along each axis longer than ``2 * spacing``, points every ``spacing`` from
  one end to the other (grasp points along a long box or a shelf, which neither the centre
  nor the ends name). The first and last spine points, one ``spacing`` in from each end,
  are *insets*: where two hands grasp a long box or bar near its ends (a grasp at the very
  edge hangs half off), so a proposer ranks them above the rest of the spine.

All functions are deterministic (ties: the lowest index) and never raise on degenerate
input (a single point, a line, a face smaller than ``band``): they return fewer points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: a point is "near" an axis line when its lateral offset is at most this many metres,
#: or the smallest offset seen along that direction plus this, whichever is larger
_AXIS_TOLERANCE = 0.012


def top_face_rows(points: NDArray[np.float64], band: float) -> NDArray[np.int64]:
    """(T,) indices of the (N, 3) ``points`` within ``band`` metres below the highest."""
    z = points[:, 2]
    return np.flatnonzero(z >= z.max() - band).astype(np.int64)


def _horizontal_axes(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Principal axes (2, 2) rows, major first, of (T, 2) centred points, and their
    extents (2,) in metres (max - min of the projections)."""
    cov = xy.T @ xy / max(len(xy), 1)
    _, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1].T.copy()
    for a in axes:  # a fixed sign per axis: deterministic and independent of the solver
        if a[np.argmax(np.abs(a))] < 0:
            a *= -1.0
    proj = xy @ axes.T
    return axes, proj.max(axis=0) - proj.min(axis=0)


def _nearest_on_line(
    along: NDArray[np.float64], lateral: NDArray[np.float64], target: float, reach: float
) -> int | None:
    """Index of the point nearest ``target`` along the axis among those within ``reach``
    laterally of the line; None when no point is near the line."""
    near = np.flatnonzero(lateral <= reach)
    if near.size == 0:
        return None
    cost = np.abs(along[near] - target) + lateral[near]
    return int(near[int(np.argmin(cost))])


def top_face_candidates(
    points: NDArray[np.float64], band: float, spacing: float, max_spine: int = 8
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Top-face candidates of one mask's (N, 3) world points.

    Args:
        points: (N, 3) world metres, N >= 1, +z up.
        band: metres below the highest point that still count as the top face.
        spacing: spine spacing in metres (0 = no spine).
        max_spine: at most this many spine points per axis.

    Returns:
        (C,) row indices into ``points`` and (C,) kinds: 0 the centre, 1 an axis end,
        2 a spine point, 3 an inset (the spine point next to an end; see the module
        docstring) (a row may repeat with different kinds).
    """
    top = top_face_rows(points, band)
    xy = points[top, :2]
    rel = xy - xy.mean(axis=0)
    if len(top) >= 3:
        # the middle of the face's extent along its axes, not the pixel centroid: nearer
        # parts of a face cover more pixels, which would pull a centroid towards the camera
        axes, extents = _horizontal_axes(rel)
        proj = rel @ axes.T
        rel = rel - ((proj.max(axis=0) + proj.min(axis=0)) / 2) @ axes
    rows = [int(top[int(np.argmin((rel * rel).sum(1)))])]
    kinds = [0]
    if len(top) < 3:
        return np.asarray(rows, dtype=np.int64), np.asarray(kinds, dtype=np.int64)
    for axis, other, extent in ((axes[0], axes[1], extents[0]), (axes[1], axes[0], extents[1])):
        along, lateral = rel @ axis, np.abs(rel @ other)
        for sign in (1.0, -1.0):
            side = np.flatnonzero(sign * along > 0)
            if side.size == 0:
                continue
            reach = max(_AXIS_TOLERANCE, float(lateral[side].min()) + _AXIS_TOLERANCE)
            ok = side[lateral[side] <= reach]
            rows.append(int(top[ok[int(np.argmax(sign * along[ok]))]]))
            kinds.append(1)
        if spacing <= 0 or extent < 2 * spacing:
            continue
        lo, hi = float(along.min()), float(along.max())
        n = min(max_spine, int(np.ceil((hi - lo) / spacing)) + 1)
        targets = np.linspace(lo, hi, n)[1:-1]
        for j, target in enumerate(targets):
            i = _nearest_on_line(along, lateral, float(target), 2 * _AXIS_TOLERANCE)
            if i is not None:
                rows.append(int(top[i]))
                kinds.append(3 if j in (0, len(targets) - 1) else 2)
    return np.asarray(rows, dtype=np.int64), np.asarray(kinds, dtype=np.int64)
