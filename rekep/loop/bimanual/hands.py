"""One held-object model per hand: which keypoints move with the left and the right hand.

Each hand has its own :class:`rekep.loop.held_model.HeldObjectModel` (the held set comes from
the grasp: every keypoint sharing the grasped keypoint's object id, else those near it; never
from simulator objects). An object held with both hands is in both sets; for the solver its
keypoints move with the left hand (see :mod:`solvers.bimanual_problem`).

Tracks under a hand are unreliable (the hand covers them and drags image trackers along), so
a keypoint tracked within ``HAND_RADIUS_M`` of either hand's axis (TCP to ``HAND_LENGTH_M``
back along the approach) counts as unseen: for verifying a hold (which needs at least
``MIN_RELIABLE`` reliable held keypoints, else the gripper width alone decides), and for its
position, which is then where the holding hand carries it. The carried offset (in the
hand's TCP frame) is set at the grasp and refreshed from every reliable track (a held object
may pivot in the fingers).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.keypoint_set import Keypoints
from rekep.loop.held_model import FOLLOWING_QUANTILE, HeldModelConfig, HeldObjectModel
from rekep.poses import invert_pose, transform_points

FloatArray = NDArray[np.float64]
HAND_RADIUS_M = 0.06
"""Keypoints closer than this to a hand's axis are covered by it, metres."""
HAND_LENGTH_M = 0.12
"""Length of a hand's axis from the TCP back along the approach direction, metres."""
MIN_RELIABLE = 2
"""Reliable held keypoints needed before their tracks may clear or doubt a hold."""


def under_hands(T: FloatArray, points: FloatArray) -> NDArray[np.bool_]:
    """(K,) True for the (K, 3) ``points`` within :data:`HAND_RADIUS_M` of either hand's axis
    (``T`` (2, 4, 4) TCP poses)."""
    covered = np.zeros(len(points), dtype=bool)
    for pose in T:
        tip, back = pose[:3, 3], pose[:3, 3] - HAND_LENGTH_M * pose[:3, 2]
        seg = back - tip
        s = np.clip((points - tip) @ seg / float(seg @ seg), 0.0, 1.0)
        covered |= np.linalg.norm(points - (tip + s[:, None] * seg), axis=1) < HAND_RADIUS_M
    return covered


class HandHolds:
    """The (left, right) held-object models of one episode."""

    def __init__(self, keypoints: Keypoints, config: HeldModelConfig | None = None) -> None:
        self.keypoints = keypoints
        self.models = (HeldObjectModel(keypoints, config), HeldObjectModel(keypoints, config))
        self._offsets: list[dict[int, FloatArray]] = [{}, {}]
        self.doubtful = False
        """Set by :meth:`fused_positions`: a hold's reliable keypoints stopped following its
        hand (not yet for long enough to clear it); the loop then neither advances nor acts."""

    @property
    def held(self) -> tuple[int, ...]:
        """Sorted indices of the keypoints either hand holds."""
        return tuple(sorted(set(self.models[0].held) | set(self.models[1].held)))

    def holding(self, arm: int) -> bool:
        return self.models[arm].holding

    def masks(self) -> NDArray[np.bool_]:
        """(2, K) keypoints held by [left, right]."""
        return np.stack([m.held_mask() for m in self.models])

    def grasp(self, arm: int, index: int, T_world_tcp: FloatArray,
              positions: FloatArray) -> tuple[int, ...]:  # fmt: skip
        """``arm`` grasped keypoint ``index``; returns the indices it now holds."""
        held = self.models[arm].grasp(index, T_world_tcp, positions)
        local = transform_points(invert_pose(T_world_tcp), positions[list(held)])
        self._offsets[arm] = {k: local[i] for i, k in enumerate(held)}
        return held

    def release(self, arm: int, reason: str = "released") -> None:
        self.models[arm].release(reason)
        self._offsets[arm] = {}

    def reliable(self, T: FloatArray, positions: FloatArray,
                 visible: NDArray[np.bool_]) -> NDArray[np.bool_]:  # fmt: skip
        """(K,) visible keypoints that no hand covers (see the module docstring)."""
        return np.asarray(visible, dtype=bool) & ~under_hands(T, positions)

    def update(self, T: FloatArray, positions: FloatArray, visible: NDArray[np.bool_],
               widths: FloatArray) -> list[tuple[int, tuple[int, ...]]]:  # fmt: skip
        """Verify both holds against the (2, 4, 4) hand poses, tracked (K, 3) keypoints with
        (K,) visibility (only reliable tracks count) and (2,) gripper widths; returns
        ``(arm, keypoints it held)`` for every hand that lost its hold this tick."""
        seen = self.reliable(T, np.asarray(positions, dtype=np.float64), visible)
        lost = []
        for arm, model in enumerate(self.models):
            before = model.held
            check = seen if seen[list(before)].sum() >= MIN_RELIABLE else np.zeros_like(seen)
            if before and not model.update(T[arm], positions, check, float(widths[arm])):
                self._offsets[arm] = {}
                lost.append((arm, before))
        return lost

    def _carried(self, T: FloatArray, positions: FloatArray) -> FloatArray:
        """``positions`` with held keypoints where their hands carry them."""
        out = np.array(positions, dtype=np.float64)
        for arm in (1, 0):
            for k, local in self._offsets[arm].items():
                out[k] = transform_points(T[arm], local[None])[0]
        return out

    def fused_positions(self, T: FloatArray, positions: FloatArray,
                        visible: NDArray[np.bool_]) -> FloatArray:  # fmt: skip
        """(K, 3) positions: reliable tracks as tracked (refreshing the held offsets), held
        keypoints without one where their hand carries them (the left hand first); a hold
        whose reliable keypoints stopped following the hand (:attr:`doubtful`) keeps the
        tracks."""
        tracked = np.asarray(positions, dtype=np.float64)
        carried = self._carried(T, tracked)
        ok = self.reliable(T, tracked, visible)
        out = tracked.copy()
        self.doubtful = False
        for arm in (1, 0):
            model = self.models[arm]
            if not model.holding:
                continue
            idx = np.asarray(model.held)
            good = ok[idx]
            if good.sum() >= MIN_RELIABLE:
                error = np.linalg.norm(tracked[idx] - carried[idx], axis=1)[good]
                if float(np.quantile(error, FOLLOWING_QUANTILE)) > model.config.follow_tolerance_m:
                    self.doubtful = True
                    continue
            inv = invert_pose(T[arm])
            for k, g in zip(idx.tolist(), good.tolist(), strict=True):
                if g:
                    self._offsets[arm][k] = transform_points(inv, tracked[k][None])[0]
                else:
                    out[k] = carried[k]
        return out
