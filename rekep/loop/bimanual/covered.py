"""Free keypoints under a hand: where they were last seen, moved with their object.

A hand approaching a grasp covers the keypoint it reaches for, and an image tracker's point
under it is dragged along by the hand's own image motion. Fed back to the solver, that drift
moves the hand's goal, the hand follows it and pushes the object away (measured with the
``flow`` tracker on handover_block). :class:`CoveredKeypoints` breaks that loop: a free
(not held) keypoint in a hand's zone (:func:`rekep.loop.bimanual.hand_zone.under_hands`)
keeps its last reliable position, moved by the median motion of its object's reliable
keypoints since then (none reliable: it stays). Only tracks and hand poses are used.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.loop.bimanual.hand_zone import under_hands

FloatArray = NDArray[np.float64]


class CoveredKeypoints:
    """Last reliable positions of the keypoints, for filling in covered free ones.

    Args:
        positions: (K, 3) keypoints at the start, metres.
        object_ids: (K,) object id per keypoint (negative: none; such a keypoint moves with
            no other).
    """

    def __init__(self, positions: FloatArray, object_ids: NDArray[np.int64]) -> None:
        self.last = np.array(positions, dtype=np.float64).reshape(-1, 3)
        self.ids = np.asarray(object_ids).reshape(-1)

    def apply(self, T: FloatArray, positions: FloatArray, visible: NDArray[np.bool_],
              held: NDArray[np.bool_]) -> FloatArray:  # fmt: skip
        """(K, 3) ``positions`` with covered free keypoints filled in (module docs).

        Args:
            T: (2, 4, 4) TCP poses [left, right].
            positions: (K, 3) this tick's positions (held keypoints already carried).
            visible: (K,) the tracker's visibility.
            held: (K,) keypoints either hand holds (taken as given, never filled in).
        """
        pos = np.asarray(positions, dtype=np.float64)
        free = ~np.asarray(held, dtype=bool)
        covered = under_hands(T, pos) & free
        reliable = np.asarray(visible, dtype=bool) & ~covered & free
        out = pos.copy()
        for k in np.flatnonzero(covered):
            same = reliable & (self.ids == self.ids[k]) & bool(self.ids[k] >= 0)
            shift = np.median(pos[same] - self.last[same], axis=0) if same.any() else 0.0
            out[k] = self.last[k] + shift
        update = reliable | covered | ~free
        self.last[update] = out[update]
        return out
