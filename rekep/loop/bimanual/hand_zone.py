"""The zone a hand covers in the camera's view: keypoints there have unreliable image tracks.

A hand approaching or holding an object covers the keypoints near its fingers, and an image
tracker's points there are dragged along by the hand's own image motion. The bimanual loop
treats a keypoint within :data:`HAND_RADIUS_M` of a hand's axis (the segment from the TCP
back :data:`HAND_LENGTH_M` along the approach direction) as unseen. Only hand poses are used.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

HAND_RADIUS_M = 0.06
"""Keypoints closer than this to a hand's axis are covered by it, metres."""
HAND_LENGTH_M = 0.12
"""Length of a hand's axis from the TCP back along the approach direction, metres."""
MIN_RELIABLE = 2
"""Reliable (uncovered, visible) held keypoints needed before their tracks may clear or
doubt a hold; with fewer, the gripper width alone decides."""


def under_hands(T: FloatArray, points: FloatArray) -> NDArray[np.bool_]:
    """(K,) True for the (K, 3) ``points`` within :data:`HAND_RADIUS_M` of any hand's axis
    (``T`` (N, 4, 4) TCP poses)."""
    covered = np.zeros(len(points), dtype=bool)
    for pose in T:
        tip, back = pose[:3, 3], pose[:3, 3] - HAND_LENGTH_M * pose[:3, 2]
        seg = back - tip
        s = np.clip((points - tip) @ seg / float(seg @ seg), 0.0, 1.0)
        covered |= np.linalg.norm(points - (tip + s[:, None] * seg), axis=1) < HAND_RADIUS_M
    return covered
