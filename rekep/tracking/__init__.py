"""Keypoint trackers for the closed loop (see :mod:`rekep.tracking.base`).

``make_tracker(name, **kwargs)`` builds ``sim`` (privileged body poses), ``flow``
(Lucas-Kanade + depth) or ``cotracker``; the tracker classes load lazily so that importing
this package costs neither OpenCV nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rekep.tracking.base import PointTracker, TrackingError, TrackResult
from rekep.tracking.registry import TRACKERS, available_trackers, make_tracker
from rekep.tracking.sim_tracker import NO_BODY, SimTracker, bodies_under_pixels

_LAZY = {
    "FlowTracker": "rekep.tracking.flow",
    "FlowConfig": "rekep.tracking.flow",
    "CoTrackerTracker": "rekep.tracking.cotracker",
    "CoTrackerConfig": "rekep.tracking.cotracker",
}

if TYPE_CHECKING:
    from rekep.tracking.cotracker import CoTrackerConfig, CoTrackerTracker
    from rekep.tracking.flow import FlowConfig, FlowTracker


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rekep.tracking' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "NO_BODY",
    "TRACKERS",
    "CoTrackerConfig",
    "CoTrackerTracker",
    "FlowConfig",
    "FlowTracker",
    "PointTracker",
    "SimTracker",
    "TrackResult",
    "TrackingError",
    "available_trackers",
    "bodies_under_pixels",
    "make_tracker",
]
