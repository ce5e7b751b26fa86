"""Where the observed points of each object are now (grasp closing axes, floor clearance).

The clouds are observed once at the start. A free object's cloud moves with its tracked
keypoints (:func:`shifted_cloud`); once a hand holds the object, the cloud is stored in that
hand's TCP frame and moves rigidly with the hand (the held keypoints of a top-down grasp are
partly hidden by the hand, the hand pose is not).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.keypoint_set import Keypoints
from rekep.loop.bimanual.hands import HandHolds
from rekep.poses import invert_pose, transform_points
from rekep.tracking.rigid import kabsch

FloatArray = NDArray[np.float64]


def _turn(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3) least rotation taking direction ``a`` to direction ``b``."""
    a, b = a / np.linalg.norm(a), b / max(float(np.linalg.norm(b)), 1e-9)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -0.999:
        return np.eye(3)  # ends swapped by the tracker: no meaningful rotation
    V = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.asarray(np.eye(3) + V + V @ V / (1.0 + c))


def shifted_cloud(cloud: FloatArray, before: FloatArray, now: FloatArray) -> FloatArray:
    """(N, 3) object points moved by its keypoints' motion ``before`` -> ``now`` ((M, 3)
    each): rigidly (Kabsch) when the keypoints fix a rotation, by the least rotation of
    their line when they are collinear, else by their mean translation."""
    pts = np.asarray(cloud, dtype=np.float64).reshape(-1, 3)
    if len(before) >= 3:
        spread = np.linalg.svd(before - before.mean(axis=0), compute_uv=False)
        if spread[1] > 0.01:
            T = kabsch(before, now)
            return np.asarray(pts @ T[:3, :3].T + T[:3, 3])
    if len(before) >= 2 and np.linalg.norm(before[-1] - before[0]) > 0.02:
        R = _turn(before[-1] - before[0], now[-1] - now[0])
        return np.asarray((pts - before.mean(axis=0)) @ R.T + now.mean(axis=0))
    return pts + np.mean(now - before, axis=0)


class ObjectClouds:
    """Object id -> (N, 3) observed points at the start, kept up to date (module docs)."""

    def __init__(self, keypoints: Keypoints, clouds: dict[int, FloatArray]) -> None:
        self.keypoints = keypoints
        self.clouds = {int(k): np.asarray(v, dtype=np.float64).reshape(-1, 3)
                       for k, v in clouds.items()}  # fmt: skip
        self._in_hand: dict[int, tuple[int, FloatArray]] = {}

    def _free(self, oid: int, positions: FloatArray) -> FloatArray:
        mask = self.keypoints.object_ids == oid
        return shifted_cloud(self.clouds[oid], self.keypoints.positions[mask], positions[mask])

    def update(self, holds: HandHolds, T: FloatArray, positions: FloatArray) -> None:
        """Attach newly held objects to their hand, detach released ones ((2, 4, 4) ``T``)."""
        held: dict[int, int] = {}
        for arm in (1, 0):  # an object held by both hands follows the left one
            for k in holds.models[arm].held:
                held[int(self.keypoints.object_ids[k])] = arm
        for oid in list(self._in_hand):
            if held.get(oid) != self._in_hand[oid][0]:
                del self._in_hand[oid]
        for oid, arm in held.items():
            if oid >= 0 and oid in self.clouds and oid not in self._in_hand:
                cloud = self._free(oid, positions)
                self._in_hand[oid] = (arm, transform_points(invert_pose(T[arm]), cloud))

    def points(self, index: int, T: FloatArray, positions: FloatArray) -> FloatArray:
        """(N, 3) current points of keypoint ``index``'s object (empty when unknown)."""
        if index < 0:
            return np.zeros((0, 3))
        oid = int(self.keypoints.object_ids[index])
        if oid not in self.clouds or len(self.clouds[oid]) == 0:
            return np.zeros((0, 3))
        if oid in self._in_hand:
            arm, local = self._in_hand[oid]
            return np.asarray(transform_points(T[arm], local))
        return self._free(oid, positions)
