"""Tracks that slid onto something else (``flow`` tracker).

Lucas-Kanade follows texture, not surfaces: when a carried object or a hand passes over a
keypoint, the window around it can lock onto the passing texture and ride away with it,
passing the forward-backward check and landing on a real surface at a plausible depth
(measured: pour_particles 1009 with proposed keypoints, the bowl's centre track jumped 9 cm in
one update onto the cup carried over it, and the pour was aimed from there). The points of
one object move together in one update (rigid, or nearly so for cloth and drawers at the
loop's rate), so a point whose motion differs by more than ``tolerance_m`` from the median
motion of its object's other points tracked in the same update has slid.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MIN_POINTS = 3
"""An object needs this many points tracked in the update for a median to outvote one."""


def moved_unlike_object(
    before: FloatArray, after: FloatArray, groups: NDArray[np.int64], tolerance_m: float
) -> NDArray[np.bool_]:
    """(N,) True for points whose motion from ``before`` to ``after`` ((N, 3) metres, the
    points tracked in one update) differs from their object's median motion by more than
    ``tolerance_m``; points without an object (``groups`` < 0) or in an object with fewer
    than :data:`MIN_POINTS` tracked points are never flagged."""
    motion = np.asarray(after, np.float64) - np.asarray(before, np.float64)
    out = np.zeros(len(motion), dtype=bool)
    for g in np.unique(groups[groups >= 0]):
        members = np.flatnonzero(groups == g)
        if len(members) < MIN_POINTS:
            continue
        median = np.median(motion[members], axis=0)
        out[members] = np.linalg.norm(motion[members] - median, axis=1) > tolerance_m
    return out
