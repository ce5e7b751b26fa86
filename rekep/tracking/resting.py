"""Objects at rest: what the ``flow`` tracker may assume about an object nothing has moved.

An object that no hand has held and that nothing has knocked stays where it is. The tracker
cannot know which objects are fixed (that is simulator knowledge), but the images show when
one is *at rest*: most of its tracked points still sit where the object was last placed
(where it was first seen, or where a whole-object re-detection found it). While that holds:

* a tracked point whose pixel no longer shows its own colour (the colour under it when it
  was first seen), or whose rest position lies behind a nearer surface in the depth image,
  is not what the tracker follows: it slid onto something passing in front of it (the arm,
  a carried object) or onto a face of its object that stays in view; it is lost, and it
  is where it rested;
* a lost point still at its rest position (covered, or proposed on the object's outline
  where the depth image shows the background behind it) is known there, not lost.

A point that moved away on its own colour is left alone: part of the object may really move
(a drawer pushed into its cabinet, a cloth folded by its tab), and then only the tracker's
other rules apply. An object most of whose tracked points moved is not at rest, and an
object a hand has held is never assumed at rest again (the tracker's caller says which,
:meth:`rekep.tracking.flow.FlowTracker.hold`). Only images, depth and tracked positions are
used, never simulator state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.observation import RGBD
from rekep.tracking.base import TrackingError
from rekep.tracking.occlusion import hidden_behind_surface
from rekep.tracking.redetect import colour_angle


@dataclass(frozen=True)
class RestConfig:
    """When an object counts as at rest (metres, counts, radians).

    Attributes:
        inlier_m: a tracked point this close to its rest position shows the object at rest.
        known_m: a lost point this close to its rest position is known to be there.
        min_points: fewest tracked points at rest that show the object at rest.
        min_fraction: share of its tracked points (on their own colour) that must be at rest.
        max_colour_angle_rad: a pixel whose mean RGB vector (3 x 3 pixels) turned more than
            this from the point's first colour shows something else (hue and saturation,
            not brightness).
    """

    inlier_m: float = 0.01
    known_m: float = 0.015
    min_points: int = 3
    min_fraction: float = 0.5
    max_colour_angle_rad: float = 0.15

    def __post_init__(self) -> None:
        if not 0 < self.inlier_m <= self.known_m:
            raise TrackingError("need 0 < inlier_m <= known_m")
        if self.min_points < 2 or not 0 < self.min_fraction <= 1:
            raise TrackingError("need min_points >= 2 and 0 < min_fraction <= 1")
        if not 0 < self.max_colour_angle_rad < np.pi:
            raise TrackingError("max_colour_angle_rad must be in (0, pi)")


def pixel_colours(rgb: NDArray[np.uint8], pixels: NDArray[np.float32]) -> NDArray[np.float64]:
    """(N, 3) mean RGB of the 3 x 3 pixels around each of (N, 2) pixels (u, v); NaN rows
    for pixels that are not finite or outside the image."""
    h, w = rgb.shape[:2]
    out = np.full((len(pixels), 3), np.nan)
    for i, (u, v) in enumerate(np.asarray(pixels, dtype=np.float64)):
        if not (np.isfinite(u) and np.isfinite(v)):
            continue
        c, r = round(float(u)), round(float(v))
        if 0 <= c < w and 0 <= r < h:
            out[i] = rgb[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2].reshape(-1, 3).mean(axis=0)
    return out


def colour_kept(now: NDArray[np.float64], first: NDArray[np.float64], max_angle: float
                ) -> NDArray[np.bool_]:  # fmt: skip
    """(N,) True where (N, 3) colours ``now`` are within ``max_angle`` of ``first`` (rows
    with NaN on either side count as kept: nothing to compare)."""
    out = np.ones(len(now), dtype=bool)
    for i, (a, b) in enumerate(zip(now, first, strict=True)):
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
            out[i] = colour_angle(a, b) <= max_angle
    return out


def rest_state(
    rest: NDArray[np.float64], positions: NDArray[np.float64], visible: NDArray[np.bool_],
    on_colour: NDArray[np.bool_], config: RestConfig,
) -> tuple[bool, NDArray[np.bool_], NDArray[np.bool_]]:
    """Whether one object is at rest; its tracked points that slid off; its known points.

    Args:
        rest: (M, 3) rest positions of the object's points, metres.
        positions: (M, 3) their tracked (or last) positions now, metres.
        visible: (M,) which of them are tracked now.
        on_colour: (M,) which tracked ones still show their first colour, with their rest
            positions not covered.
        config: the thresholds.

    Returns:
        (at rest; (M,) tracked points off their colour, to be lost and put back at rest;
        (M,) points not tracked now, or slid, that are known at their rest positions);
        both masks all False when the object is not at rest.
    """
    vis = np.asarray(visible, dtype=bool)
    tracked = vis & np.asarray(on_colour, dtype=bool)
    off = np.linalg.norm(np.asarray(positions) - np.asarray(rest), axis=1)
    at_rest = tracked & (off <= config.inlier_m)
    n = int(at_rest.sum())
    none = np.zeros(len(vis), dtype=bool)
    if n < config.min_points or n < config.min_fraction * int(tracked.sum()):
        return False, none, none
    slid = vis & ~tracked
    known = slid | (~vis & (off <= config.known_m))
    return True, slid, known


def object_rest_state(
    obs: RGBD, rest: NDArray[np.float64], positions: NDArray[np.float64],
    visible: NDArray[np.bool_], pixels: NDArray[np.float32], first_colours: NDArray[np.float64],
    config: RestConfig, occlusion_margin_m: float,
) -> tuple[bool, NDArray[np.bool_], NDArray[np.bool_]]:
    """:func:`rest_state` of one object's points in ``obs``: a tracked point is on its own
    surface while its pixel (``pixels``, (M, 2)) keeps its first colour and its rest position
    is not behind a nearer surface (``occlusion_margin_m``)."""
    vis = np.asarray(visible, dtype=bool)
    on_own = np.ones(len(vis), dtype=bool)
    on_own[vis] = colour_kept(
        pixel_colours(obs.rgb, pixels[vis]), first_colours[vis], config.max_colour_angle_rad
    ) & ~hidden_behind_surface(obs, rest[vis], margin_m=occlusion_margin_m)
    return rest_state(rest, positions, vis, on_own, config)
