"""Did the released object stay where the hand put it? (single-arm loop, after a release)

When the release begins, the hand's forward model says where each carried keypoint is. Only
the carried keypoints whose image tracks agree with it then (visible, within
:data:`TRUSTED_M`) are evidence: tracks of a held object often slide onto the fingers or
are lost under the hand, and such a track says nothing about where the object is (measured:
fold_cloth 1007 with proposed keypoints, a tab track 10 cm off the hand at the release was
read as the tab having fallen off the peg, and the loop undid a good fold). After the hand
retreats, the trusted keypoints the tracker still sees must lie (in xy: a released object
may drop) within :data:`RELEASE_CHECK` of where the hand held them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.tracking.base import TrackResult

FloatArray = NDArray[np.float64]
RELEASE_CHECK = 0.05
"""Released keypoints seen farther than this (xy, metres) from the hand fail the release."""
TRUSTED_M = 0.02
"""A carried keypoint's track counts as evidence only within this distance of the hand's
forward model when the release begins, metres."""


class ReleaseCheck:
    """Where the hand held the carried keypoints when a release began, and which of their
    tracks to trust afterwards."""

    def __init__(self) -> None:
        self.carried: tuple[int, ...] = ()
        self._held_at = np.zeros((0, 3))
        self._trusted = np.zeros(0, dtype=bool)

    def begin(self, carried: tuple[int, ...], held_at: FloatArray,
              track: TrackResult | None) -> None:  # fmt: skip
        """The release starts: ``carried`` keypoints are at ``held_at`` (K_c, 3) by the
        hand's model; ``track`` is the tracker's latest result (None: no tracks yet)."""
        self.carried = tuple(carried)
        self._held_at = np.asarray(held_at, dtype=np.float64).reshape(-1, 3)
        if track is None or not self.carried:
            self._trusted = np.zeros(len(self.carried), dtype=bool)
            return
        idx = list(self.carried)
        off = np.linalg.norm(track.positions[idx] - self._held_at, axis=1)
        self._trusted = track.visible[idx] & (off <= TRUSTED_M)

    def verdict(self, track: TrackResult) -> tuple[bool, str]:
        """``(ok, why)`` after the retreat: not ok when the trusted keypoints seen now lie,
        in median, over :data:`RELEASE_CHECK` (xy) from where the hand held them."""
        if not self.carried:
            return True, ""
        seen = self._trusted & track.visible[list(self.carried)]
        if not seen.any():
            return True, ""
        now = track.positions[list(self.carried)][seen, :2]
        off = float(np.median(np.linalg.norm(now - self._held_at[seen, :2], axis=1)))
        if off > RELEASE_CHECK:
            return False, f"released object seen {off:.3f} m from where the hand held it"
        return True, ""
