"""A scripted :class:`~rekep.tracking.base.PointTracker` for tests and docs.

It reads positions from a callable (e.g. :meth:`rekep.loop.fake_robot.FakeRobot.
keypoint_positions`), optionally with Gaussian noise and a script of lost points. It reads
ground truth, so it is ``privileged``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from rekep.observation import RGBD
from rekep.tracking.base import TrackingError, TrackResult

FloatArray = NDArray[np.float64]


class ScriptedTracker:
    """Tracks by reading ``source()`` (K, 3) metres.

    Args:
        source: returns the true (K, 3) positions now.
        noise_m: standard deviation of added Gaussian noise, metres.
        lost: optional ``lost(time_s) -> (K,) bool``; True rows are reported lost (stale).
        hidden: lost rows are also reported ``occluded`` (behind something, see
            :class:`~rekep.tracking.base.TrackResult`) rather than gone.
        seed: noise seed.
    """

    name = "scripted"
    privileged = True
    needs_images = False

    def __init__(
        self,
        source: Callable[[], FloatArray],
        *,
        noise_m: float = 0.0,
        lost: Callable[[float], NDArray[np.bool_]] | None = None,
        hidden: bool = False,
        seed: int = 0,
    ) -> None:
        if noise_m < 0:
            raise TrackingError(f"noise_m must be >= 0, got {noise_m}")
        self._source = source
        self._noise = noise_m
        self._lost = lost
        self._hidden = hidden
        self._rng = np.random.default_rng(seed)
        self._last: FloatArray | None = None

    def start(self, observation: RGBD, points_world: FloatArray, time_s: float) -> None:
        self._last = np.array(points_world, dtype=np.float64).reshape(-1, 3)

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        if self._last is None:
            raise TrackingError("ScriptedTracker.update called before start()")
        now = np.asarray(self._source(), dtype=np.float64).reshape(-1, 3)
        if self._noise > 0:
            now = now + self._rng.normal(0.0, self._noise, now.shape)
        visible = np.ones(len(now), dtype=bool)
        if self._lost is not None:
            visible = ~np.asarray(self._lost(time_s), dtype=bool).reshape(len(now))
        positions = np.where(visible[:, None], now, self._last)
        self._last = positions
        return TrackResult(positions, visible, time_s, ~visible if self._hidden else None)
