"""Keypoint trackers for the closed loop (see :mod:`rekep.tracking.base`)."""

from rekep.tracking.base import PointTracker, TrackingError, TrackResult

__all__ = ["PointTracker", "TrackResult", "TrackingError"]
