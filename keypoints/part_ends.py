"""Ends of the bar-shaped colour parts inside one mask (a handle on a drawer).

A simulator's or a segmenter's mask may hold several parts of one body: a dark handle bar
on a wooden drawer front. The mask's own candidates (cluster representatives, centre,
extremities from its centroid) name the front panel's corners but not the handle's ends,
which lie inside the mask's outline; yet the ends of a handle are where a program says
"the handle runs from here to there". So the mask is split into its colour parts
(:func:`keypoints.colour_parts.colour_parts`: shading is not a boundary) and every part
shaped like a bar, its 3D extent along its principal axis at least ``min_elongation`` times
the extent across, offers its two ends.

An end is the part's point nearest the principal line at the 2nd / 98th percentile of the
points' positions along it: percentiles, because the one-pixel rims of a thin bar take the
depth of the surface behind it; nearest the line, because the posts a handle stands on
reach the end's slab too, several centimetres off the bar. The line runs through the mean
of the part's middle 60 % (along the axis), which posts at the ends do not pull aside.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keypoints.colour_parts import colour_parts

#: percentiles of the positions along a part's axis taken as its ends
_END_PERCENTILES = (2.0, 98.0)


def bar_part_ends(
    points: NDArray[np.float64],
    pixels: NDArray[np.int64],
    rgb: NDArray[np.uint8],
    width: int,
    *,
    hue_step: float,
    min_part_px: int,
    min_elongation: float,
) -> NDArray[np.int64]:
    """(E,) distinct row indices of the (N, 3) ``points`` that are ends of bar-shaped parts.

    Args:
        points: (N, 3) world points of one mask's pixels, metres.
        pixels: (N,) their distinct flat pixel indices (row * width + column).
        rgb: (N, 3) uint8 colours of those pixels.
        width: image width in pixels.
        hue_step: largest hue difference within a part, degrees.
        min_part_px: a part needs this many pixels.
        min_elongation: a bar's extent along its principal axis over its extent across
            (second axis), at least.

    Returns an empty array when the mask is one colour part or none is bar-shaped.
    """
    labels = colour_parts(pixels, rgb, width, hue_step, min_part_px)
    if labels.max(initial=0) == 0:
        return np.zeros(0, dtype=np.int64)
    ends: list[int] = []
    lo_pct, hi_pct = _END_PERCENTILES
    for part in np.unique(labels):
        rows = np.flatnonzero(labels == part)
        if len(rows) < max(min_part_px, 3):
            continue
        pts = points[rows]
        centre = pts.mean(axis=0)
        axes = np.linalg.svd(pts - centre, full_matrices=False)[2]
        along = (pts - centre) @ axes[0]
        across = (pts - centre) @ axes[1]
        lo, hi = np.percentile(along, [lo_pct, hi_pct])
        a_lo, a_hi = np.percentile(across, [lo_pct, hi_pct])
        if hi - lo < min_elongation * max(a_hi - a_lo, 1e-6):
            continue
        middle = (along > lo + 0.2 * (hi - lo)) & (along < hi - 0.2 * (hi - lo))
        line = pts[middle].mean(axis=0) if middle.any() else centre  # posts stay out
        for s in (lo, hi):
            target = line + (s - (line - centre) @ axes[0]) * axes[0]
            ends.append(int(rows[np.argmin(((pts - target) ** 2).sum(axis=1))]))
    return np.unique(np.asarray(ends, dtype=np.int64))
