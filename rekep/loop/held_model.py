"""Which keypoints move with the hand, decided from the grasp, never from simulator objects.

At a grasp, the held set is every keypoint sharing the grasped keypoint's object/mask id
(:attr:`rekep.keypoint_set.Keypoints.object_ids`); when that id is unknown (negative), the
keypoints within ``radius_m`` of the grasp point. Their positions are stored in the TCP
frame at the moment of the grasp. Every tick the hold is verified:

* by the gripper width (closed to nothing: the object is gone), and
* by the held keypoints following the hand: the tracked positions of the visible held
  keypoints must stay within ``follow_tolerance_m`` of where the hand carries them; after
  ``lost_ticks`` consecutive ticks in which fewer than a quarter of them are within it, the
  hold is cleared (knocked out, slipped). With fewer than ``min_tracked`` of them visible
  (or all, when fewer are held) the gripper width alone decides: two or three tracks left
  at the edge of a carried object slide off it and would clear a firm hold.

While held, the keypoints' positions are the hand's forward model (:meth:`fused_positions`),
as in ReKep. Release clears it. Works the same on a real robot: it needs only the hand pose,
the gripper width and tracked keypoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ConfigurationError
from rekep.keypoint_set import Keypoints
from rekep.poses import invert_pose, transform_points

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)


FOLLOWING_QUANTILE = 0.25
"""The hold is lost when this quantile of the visible held keypoints' errors is beyond
``follow_tolerance_m`` (i.e. fewer than a quarter still follow the hand)."""


CLOSING_M = 0.001
"""A holding gripper whose width shrank more than this since the last tick is losing its
object (a firm hold keeps its width; fingers squeezing on nothing close), metres."""


@dataclass(frozen=True)
class HeldModelConfig:
    """Held-object model settings (metres, ticks)."""

    radius_m: float = 0.05
    follow_tolerance_m: float = 0.03
    min_width_m: float = 0.005
    lost_ticks: int = 3
    min_tracked: int = 4

    def __post_init__(self) -> None:
        if not (self.radius_m > 0 and self.follow_tolerance_m > 0 and self.min_width_m >= 0):
            raise ConfigurationError("HeldModelConfig radii and tolerances must be positive")
        if self.lost_ticks < 1 or self.min_tracked < 1:
            raise ConfigurationError("lost_ticks and min_tracked must be >= 1")


class HeldObjectModel:
    """The keypoints held by one hand, with their offsets in the TCP frame."""

    def __init__(self, keypoints: Keypoints, config: HeldModelConfig | None = None) -> None:
        self.keypoints = keypoints
        self.config = config or HeldModelConfig()
        self._held: tuple[int, ...] = ()
        self._in_tcp = np.zeros((0, 3))
        self._bad_ticks = 0
        self._width: float | None = None
        self.closing = False
        """Set by :meth:`update`: the holding gripper is closing (its object is leaving; wait
        for the verdict: the width or the tracks clear the hold a few ticks later)."""
        self.last_event: str = ""
        """Why the hold last changed (for logs and results)."""

    @property
    def held(self) -> tuple[int, ...]:
        """Sorted indices of the held keypoints (empty when nothing is held)."""
        return self._held

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def held_mask(self) -> NDArray[np.bool_]:
        """(K,) True for held keypoints."""
        mask = np.zeros(len(self.keypoints), dtype=bool)
        mask[list(self._held)] = True
        return mask

    def members(self, index: int, positions: FloatArray) -> tuple[int, ...]:
        """Keypoints that move with keypoint ``index`` (same object id, else within radius)."""
        ids = self.keypoints.object_ids
        if ids[index] >= 0:
            return tuple(int(i) for i in np.flatnonzero(ids == ids[index]))
        near = np.linalg.norm(positions - positions[index], axis=1) <= self.config.radius_m
        return tuple(int(i) for i in np.flatnonzero(near))

    def grasp(self, index: int, T_world_tcp: FloatArray, positions: FloatArray) -> tuple[int, ...]:
        """Record a grasp of keypoint ``index`` with the hand at ``T_world_tcp`` and the
        keypoints at ``positions`` (K, 3); returns the held indices."""
        if not 0 <= index < len(self.keypoints):
            raise ConfigurationError(
                f"grasp keypoint {index} out of range 0..{len(self.keypoints) - 1}"
            )
        self._held = self.members(index, positions)
        self._in_tcp = transform_points(invert_pose(T_world_tcp), positions[list(self._held)])
        self._bad_ticks = 0
        self.last_event = f"grasped keypoint {index}: holding {list(self._held)}"
        return self._held

    def release(self, reason: str = "released") -> None:
        """Forget the hold."""
        if self._held:
            logger.info("held model: cleared %s (%s)", list(self._held), reason)
        self._held = ()
        self._in_tcp = np.zeros((0, 3))
        self._bad_ticks, self._width, self.closing = 0, None, False
        self.last_event = reason

    def predicted(self, T_world_tcp: FloatArray) -> FloatArray:
        """(H, 3) where the hand at ``T_world_tcp`` carries the held keypoints."""
        return transform_points(T_world_tcp, self._in_tcp) if self._held else np.zeros((0, 3))

    def update(
        self,
        T_world_tcp: FloatArray,
        positions: FloatArray,
        visible: NDArray[np.bool_],
        gripper_width: float,
    ) -> bool:
        """Verify the hold against this tick's hand pose, tracked keypoints (K, 3) with their
        (K,) visibility, and gripper width (metres). Returns whether something is held."""
        if not self._held:
            return False
        self.closing = self._width is not None and self._width - gripper_width > CLOSING_M
        self._width = gripper_width
        if gripper_width < self.config.min_width_m:
            self.release(f"gripper closed to {gripper_width * 1000:.1f} mm: nothing held")
            return False
        idx = list(self._held)
        seen = np.asarray(visible, dtype=bool)[idx]
        if seen.sum() >= min(self.config.min_tracked, len(idx)):
            error = np.linalg.norm(self.predicted(T_world_tcp) - positions[idx], axis=1)[seen]
            # the hand hides some held keypoints (a top-down grasp covers the top face) and
            # their tracks may drift; the object has left only when nearly none follow
            if float(np.quantile(error, FOLLOWING_QUANTILE)) > self.config.follow_tolerance_m:
                self._bad_ticks += 1
            else:
                self._bad_ticks = 0
        if self._bad_ticks >= self.config.lost_ticks:
            self.release("held keypoints stopped following the hand")
            return False
        return True

    def fused_positions(
        self, T_world_tcp: FloatArray, positions: FloatArray, visible: NDArray[np.bool_]
    ) -> FloatArray:
        """(K, 3) tracked positions, the held keypoints where the hand carries them.

        Held keypoints come from the hand even when their tracks are visible: tracks under a
        descending hand slide onto the fingers and ride along (measured: stack_blocks 1003
        with proposed keypoints, the red block's top track slid 2 cm onto a finger during
        the grasp and the block was stacked 5 cm off). Tracks verify the hold
        (:meth:`update`); they do not move what the hand holds. ``visible`` is kept for the
        interface (the bimanual holds share it)."""
        out = np.array(positions, dtype=np.float64)
        if self._held:
            idx = np.asarray(self._held)
            out[idx] = self.predicted(T_world_tcp)
        return out
