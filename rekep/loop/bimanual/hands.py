"""One held-object model per hand: which keypoints move with the left and the right hand.

Each hand has its own :class:`rekep.loop.held_model.HeldObjectModel` (the held set comes from
the grasp: every keypoint sharing the grasped keypoint's object id, else those near it; never
from simulator objects). An object held with both hands is in both sets; for the solver its
keypoints move with the left hand (see :mod:`solvers.bimanual_problem`).

Tracks under a hand are unreliable (the hand covers them and drags image trackers along), so
a keypoint tracked within ``hand_zone.HAND_RADIUS_M`` of either hand's axis counts as unseen
for verifying a hold (which needs at least ``MIN_RELIABLE`` reliable held keypoints, else the
gripper width alone decides). Held keypoints are where the holding hand carries them (their
offsets in the hand's TCP frame are fixed at the grasp, from the keypoints measured before
the hand covered them): image tracks of a moving, partly covered object slide along plain
surfaces, a firm grasp does not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from rekep.keypoint_set import Keypoints
from rekep.loop.bimanual.hand_zone import MIN_RELIABLE, under_hands
from rekep.loop.held_model import FOLLOWING_QUANTILE, HeldModelConfig, HeldObjectModel
from rekep.poses import invert_pose, transform_points

FloatArray = NDArray[np.float64]


class HandHolds:
    """The (left, right) held-object models of one episode."""

    def __init__(self, keypoints: Keypoints, config: HeldModelConfig | None = None,
                 track_check: bool = True) -> None:  # fmt: skip
        """``track_check``: also verify holds by the held keypoints' tracks (else by the
        gripper width alone; see :attr:`BimanualLoopConfig.track_hold_check`)."""
        self.keypoints = keypoints
        self.track_check = track_check
        per_hand = replace(config or HeldModelConfig(), min_tracked=1)  # gated here instead
        self.models = (HeldObjectModel(keypoints, per_hand), HeldObjectModel(keypoints, per_hand))
        self._offsets: list[dict[int, FloatArray]] = [{}, {}]
        self.closing = False
        """Set by :meth:`update`: a holding gripper is closing (its object is leaving)."""
        self.doubtful = False
        """Set by :meth:`fused_positions`: a hold's gripper is closing, or its reliable
        keypoints stopped following its hand (not yet long enough to clear it); the loop then
        neither advances nor acts."""

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
        seen &= self.track_check
        widths = np.asarray(widths, dtype=np.float64)
        lost = []
        for arm, model in enumerate(self.models):
            before = model.held
            check = seen if seen[list(before)].sum() >= MIN_RELIABLE else np.zeros_like(seen)
            if before and not model.update(T[arm], positions, check, float(widths[arm])):
                self._offsets[arm] = {}
                lost.append((arm, before))
        self.closing = any(m.closing for m in self.models)
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
        """(K, 3) positions: free keypoints as tracked, held keypoints where their hand
        carries them (the left hand first; a firm grasp is rigid). A hold is in doubt
        (:attr:`doubtful`) while its gripper closes (:attr:`closing`, set by :meth:`update`)
        or, with ``track_check``, while its reliable keypoints stop following the hand (the
        loop neither advances nor acts until :meth:`update` confirms or clears the hold)."""
        tracked = np.asarray(positions, dtype=np.float64)
        carried = self._carried(T, tracked)
        ok = self.reliable(T, tracked, visible)
        self.doubtful = False
        for arm in (1, 0):
            model = self.models[arm]
            if not model.holding:
                continue
            if self.closing:
                self.doubtful = True
            if not self.track_check:
                continue
            idx = np.asarray(model.held)
            good = ok[idx]
            if good.sum() >= MIN_RELIABLE:
                error = np.linalg.norm(tracked[idx] - carried[idx], axis=1)[good]
                if float(np.quantile(error, FOLLOWING_QUANTILE)) > model.config.follow_tolerance_m:
                    self.doubtful = True
        return carried
