"""Tracker registry: ``make_tracker(name, **kwargs)`` for ``sim``, ``flow``, ``cotracker``.

Tracker modules load on first use, so listing trackers imports neither OpenCV nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from rekep.availability import is_available
from rekep.tracking.base import PointTracker, TrackingError

TRACKERS: dict[str, str] = {
    "sim": "privileged: keypoints ride on simulator body poses (debugging, upper bounds)",
    "flow": "OpenCV pyramidal Lucas-Kanade on the images + depth back-projection",
    "cotracker": "CoTracker online predictor (needs the cotracker package and a checkpoint)",
}
"""Tracker name -> one-line description."""

_CLASSES = {
    "sim": ("rekep.tracking.sim_tracker", "SimTracker"),
    "flow": ("rekep.tracking.flow", "FlowTracker"),
    "cotracker": ("rekep.tracking.cotracker", "CoTrackerTracker"),
}


def make_tracker(name: str, **kwargs: Any) -> PointTracker:
    """Build the tracker called ``name`` with its constructor's keyword arguments.

    ``sim`` needs ``body_pose=`` (and ``point_bodies=`` or a later ``bind``); ``flow``
    and ``cotracker`` take a config or its fields as keywords.

    Raises:
        TrackingError: unknown name (the message lists the valid ones), bad arguments, or
            a tracker that cannot run here (the message says what is missing).
    """
    if name not in _CLASSES:
        raise TrackingError(
            f"unknown tracker {name!r}; choose one of: {', '.join(sorted(TRACKERS))}"
        )
    module_name, class_name = _CLASSES[name]
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise TrackingError(f"tracker {name!r} cannot be imported: {exc}") from exc
    try:
        tracker: PointTracker = cls(**kwargs)
    except TypeError as exc:
        raise TrackingError(f"bad arguments for tracker {name!r}: {exc}") from exc
    return tracker


def available_trackers(checkpoint: str | None = None) -> list[str]:
    """Names of the image trackers that can be built here, best first, then ``sim``.

    ``cotracker`` is listed when torch, the package and a checkpoint (argument or
    ``REKEP_COTRACKER_CHECKPOINT``) exist; ``flow`` when OpenCV is installed. ``sim``
    (privileged) is always listed last.
    """
    from rekep.tracking.cotracker import cotracker_problems

    names = []
    if not cotracker_problems(checkpoint):
        names.append("cotracker")
    if is_available("cv2"):
        names.append("flow")
    names.append("sim")
    return names
