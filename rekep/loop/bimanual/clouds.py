"""Where the observed points of each object are now (grasp closing axes, floor clearance).

The clouds are observed once at the start. A free object's cloud moves with its tracked
keypoints (:func:`rekep.loop.object_cloud.moved_cloud`, every turn counted); once a hand
holds the object, the cloud is stored in that hand's TCP frame and moves rigidly with the
hand (the held keypoints of a top-down grasp are partly hidden by the hand, the hand pose
is not).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.keypoint_set import Keypoints
from rekep.loop.bimanual.hands import HandHolds
from rekep.loop.object_cloud import moved_cloud
from rekep.poses import invert_pose, transform_points

FloatArray = NDArray[np.float64]


class ObjectClouds:
    """Object id -> (N, 3) observed points at the start, kept up to date (module docs)."""

    def __init__(self, keypoints: Keypoints, clouds: dict[int, FloatArray]) -> None:
        self.keypoints = keypoints
        self.clouds = {int(k): np.asarray(v, dtype=np.float64).reshape(-1, 3)
                       for k, v in clouds.items()}  # fmt: skip
        self._in_hand: dict[int, tuple[int, FloatArray]] = {}

    def _free(self, oid: int, positions: FloatArray) -> FloatArray:
        mask = self.keypoints.object_ids == oid
        return moved_cloud(self.clouds[oid], self.keypoints.positions[mask], positions[mask],
                           turned_rad=0.0)

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
