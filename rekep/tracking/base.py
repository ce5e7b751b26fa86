"""The point-tracker interface the closed loop talks to.

A tracker follows K world points (the keypoints) through a stream of observations. The loop
calls :meth:`PointTracker.start` once with the first observation and the keypoints, then
:meth:`PointTracker.update` every tick. A tracker that reads images needs an observation on
each update (``needs_images``); the privileged ``sim`` tracker reads simulator state instead
and is for debugging and upper bounds only (``privileged`` is True and every result that
used it must say so). Two optional methods the loops use when present (``flow`` has both):
``redetect(observation, indices, stale=..., time_s=...)`` searches objects again now, and
``hold(indices)`` says which keypoints a hand carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rekep.errors import RekepError
from rekep.observation import RGBD


class TrackingError(RekepError):
    """A tracker could not start or update (bad input, missing package or checkpoint)."""


@dataclass(frozen=True)
class TrackResult:
    """Where the tracked points are now.

    Attributes:
        positions: (K, 3) world positions in metres; rows of lost points keep their last
            known position.
        visible: (K,) bool; False when a point is lost (failed forward-backward check,
            left the image, invalid depth under it) and its row is stale.
        time_s: robot time of the observation the result is from, seconds.
        occluded: (K,) bool or None (no point known hidden); True for a lost point whose
            last position lies behind a nearer surface in the depth image (see
            :mod:`rekep.tracking.occlusion`): stale but probably where it was. Never True
            for a visible point.
    """

    positions: NDArray[np.float64]
    visible: NDArray[np.bool_]
    time_s: float
    occluded: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        vis = np.asarray(self.visible, dtype=bool)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise TrackingError(f"TrackResult.positions must be (K, 3), got {pos.shape}")
        if vis.shape != (pos.shape[0],):
            raise TrackingError(
                f"TrackResult.visible must be ({pos.shape[0]},) bools, got {vis.shape}"
            )
        if not np.all(np.isfinite(pos)):
            raise TrackingError("TrackResult.positions must be finite (keep the last known row)")
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "visible", vis)
        object.__setattr__(self, "time_s", float(self.time_s))
        hidden = np.zeros_like(vis) if self.occluded is None else np.asarray(self.occluded, bool)
        if hidden.shape != vis.shape:
            raise TrackingError(
                f"TrackResult.occluded must be ({pos.shape[0]},) bools, got {hidden.shape}"
            )
        object.__setattr__(self, "occluded", hidden & ~vis)

    @property
    def occluded_mask(self) -> NDArray[np.bool_]:
        """(K,) bool: :attr:`occluded`, never None."""
        assert self.occluded is not None  # set in __post_init__
        return self.occluded

    @property
    def num_lost(self) -> int:
        return int((~self.visible).sum())


@runtime_checkable
class PointTracker(Protocol):
    """What the loop needs from a tracker (``sim``, ``flow``, ``cotracker``)."""

    name: str
    privileged: bool
    needs_images: bool

    def start(self, observation: RGBD, points_world: NDArray[np.float64], time_s: float) -> None:
        """Begin tracking the (K, 3) world points seen in ``observation``."""
        ...

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        """Track to ``observation`` (None allowed only when ``needs_images`` is False)."""
        ...
