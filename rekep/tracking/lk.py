"""OpenCV primitives of the ``flow`` tracker: grey images, pyramidal Lucas-Kanade with a
forward-backward check, and normalized-cross-correlation patch search.

All pixels are (u, v) = (column, row), float, pixel centres at integer coordinates.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.tracking.base import TrackingError
from rekep.tracking.carry import is_flat

cv2 = require("cv2", "the flow keypoint tracker")

Pixels = NDArray[np.float32]


def to_gray(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 grey."""
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def track_fb(
    prev: NDArray[np.uint8],
    nxt: NDArray[np.uint8],
    points: Pixels,
    guess: Pixels,
    *,
    win_size: int,
    max_level: int,
    fb_threshold_px: float,
    iterations: int = 30,
    epsilon: float = 0.01,
) -> tuple[Pixels, NDArray[np.bool_], NDArray[np.float64]]:
    """Track (N, 2) ``points`` from ``prev`` to ``nxt`` and back again.

    Args:
        prev, nxt: (H, W) uint8 grey images.
        points: (N, 2) pixels in ``prev``.
        guess: (N, 2) initial guesses of their pixels in ``nxt``.
        win_size: LK window side, pixels; max_level: pyramid levels above the image.
        fb_threshold_px: a point passes when tracking it back lands within this many
            pixels of where it started.

    Returns:
        ((N, 2) pixels in ``nxt``; (N,) True where both directions converged and the
        forward-backward error is below the threshold; (N,) forward-backward error in
        pixels, inf where LK failed).
    """
    n = int(points.shape[0])
    if n == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool), np.zeros(0)
    p0 = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 1, 2)
    g0 = np.ascontiguousarray(guess, dtype=np.float32).reshape(-1, 1, 2).copy()
    kwargs = {
        "winSize": (win_size, win_size),
        "maxLevel": max_level,
        "criteria": (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, epsilon),
        "flags": cv2.OPTFLOW_USE_INITIAL_FLOW,
    }
    try:
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, nxt, p0, g0, **kwargs)
        p0b, st0, _ = cv2.calcOpticalFlowPyrLK(nxt, prev, p1, p0.copy(), **kwargs)
    except cv2.error as exc:
        raise TrackingError(f"OpenCV Lucas-Kanade failed: {exc}") from exc
    p1 = p1.reshape(n, 2)
    fb = np.linalg.norm(p0b.reshape(n, 2) - p0.reshape(n, 2), axis=1).astype(np.float64)
    ok = (st1.reshape(n) == 1) & (st0.reshape(n) == 1) & np.isfinite(p1).all(axis=1)
    fb[~ok] = np.inf
    ok &= fb <= fb_threshold_px
    return p1.astype(np.float32), ok, fb


def patch_around(
    image: NDArray[np.uint8], pixel: NDArray[np.float32] | tuple[float, float], radius: int
) -> NDArray[np.uint8] | None:
    """The (2r+1, 2r+1) patch centred on the nearest pixel, or None if it leaves the image."""
    H, W = image.shape[:2]
    c, r = round(float(pixel[0])), round(float(pixel[1]))
    if c - radius < 0 or r - radius < 0 or c + radius >= W or r + radius >= H:
        return None
    return image[r - radius : r + radius + 1, c - radius : c + radius + 1]


def search_patch(
    image: NDArray[np.uint8],
    template: NDArray[np.uint8],
    centre: NDArray[np.float32] | tuple[float, float],
    search_radius: int,
) -> tuple[NDArray[np.float32], float] | None:
    """Best normalized-cross-correlation match of ``template`` near ``centre``.

    The template's centre may land anywhere within ``search_radius`` pixels (a square)
    of ``centre``. Returns ((2,) matched centre pixel, score in [-1, 1]), or None when the
    search window does not fit in the image or the template is flat.
    """
    H, W = image.shape[:2]
    r = template.shape[0] // 2
    if not np.isfinite(centre[0]) or not np.isfinite(centre[1]):
        return None
    c, v = round(float(centre[0])), round(float(centre[1]))
    x0, y0 = max(c - search_radius - r, 0), max(v - search_radius - r, 0)
    x1, y1 = min(c + search_radius + r + 1, W), min(v + search_radius + r + 1, H)
    if x1 - x0 < template.shape[1] or y1 - y0 < template.shape[0]:
        return None
    if is_flat(template):  # no texture: NCC is meaningless
        return None
    scores = cv2.matchTemplate(image[y0:y1, x0:x1], template, cv2.TM_CCOEFF_NORMED)
    _, best, _, loc = cv2.minMaxLoc(scores)
    if not np.isfinite(best):
        return None
    return np.array([x0 + loc[0] + r, y0 + loc[1] + r], dtype=np.float32), float(best)
