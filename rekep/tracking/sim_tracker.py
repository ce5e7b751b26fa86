"""The privileged ``sim`` tracker: keypoints ride rigidly on simulator body poses.

For debugging and upper bounds only: it reads ground truth (body poses) instead of images,
so every result that used it must say so (``privileged`` is True). It imports no simulator;
it takes a callable ``body_pose(body_id) -> (4, 4)`` (e.g. ``SimWorld.body_pose``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.observation import RGBD
from rekep.poses import as_pose, transform_points
from rekep.tracking.base import TrackingError, TrackResult

BodyPoseFn = Callable[[int], ArrayLike]
NO_BODY = -1
"""Body id for points attached to nothing (they stay where they started)."""


def bodies_under_pixels(segmentation: ArrayLike, pixels: ArrayLike) -> NDArray[np.int64]:
    """(K,) body id under each of (K, 2) pixels (u, v) of an (H, W) segmentation image.

    Pixels outside the image, and background (< 0), give :data:`NO_BODY`.
    """
    seg = np.asarray(segmentation)
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    out = np.full(pix.shape[0], NO_BODY, dtype=np.int64)
    H, W = seg.shape[:2]
    for i, (u, v) in enumerate(pix):
        if np.isfinite(u) and np.isfinite(v):
            c, r = round(float(u)), round(float(v))
            if 0 <= c < W and 0 <= r < H and seg[r, c] >= 0:
                out[i] = int(seg[r, c])
    return out


class SimTracker:
    """Carries each keypoint rigidly with the simulator body it belongs to.

    Args:
        body_pose: callable body id -> (4, 4) world pose of that body (metres).
        point_bodies: (K,) body id per keypoint, :data:`NO_BODY` (-1) for fixed points; may
            instead be given later with :meth:`bind` (before :meth:`start`).
    """

    name = "sim"
    privileged = True
    needs_images = False

    def __init__(self, body_pose: BodyPoseFn, point_bodies: ArrayLike | None = None) -> None:
        if not callable(body_pose):
            raise TrackingError("SimTracker needs a callable body_pose(body_id) -> (4, 4)")
        self._body_pose = body_pose
        self._bodies: NDArray[np.int64] | None = None
        if point_bodies is not None:
            self.bind(point_bodies)
        self._local: NDArray[np.float64] | None = None

    def bind(self, point_bodies: ArrayLike) -> None:
        """Set the (K,) body id of each keypoint (-1 = fixed); call before :meth:`start`."""
        ids = np.asarray(point_bodies)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise TrackingError(
                f"point_bodies must be a (K,) integer array of body ids, got {ids.dtype} "
                f"{ids.shape}"
            )
        self._bodies = ids.astype(np.int64)

    @property
    def point_bodies(self) -> NDArray[np.int64] | None:
        """(K,) body id per keypoint, or None before :meth:`bind`."""
        return None if self._bodies is None else self._bodies.copy()

    def _pose(self, body: int) -> NDArray[np.float64]:
        try:
            return as_pose(self._body_pose(int(body)), f"body_pose({body})")
        except Exception as exc:
            raise TrackingError(
                f"sim tracker could not read the pose of body {body}: {exc}"
            ) from exc

    def start(
        self, observation: RGBD | None, points_world: ArrayLike, time_s: float
    ) -> None:
        """Attach the (K, 3) world points to their bodies at their current poses.

        ``observation`` is ignored (may be None).
        """
        pts = np.asarray(points_world, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3 or not np.all(np.isfinite(pts)):
            raise TrackingError(f"points_world must be finite (K, 3) metres, got {pts.shape}")
        if self._bodies is None:
            raise TrackingError(
                "sim tracker does not know which body each keypoint is on; pass point_bodies= "
                "to SimTracker(...) or call bind(point_bodies) before start() (see "
                "bodies_under_pixels for a segmentation image)"
            )
        if self._bodies.shape[0] != pts.shape[0]:
            raise TrackingError(
                f"point_bodies has {self._bodies.shape[0]} entries but {pts.shape[0]} points "
                "were given; bind one body id per keypoint"
            )
        local = pts.copy()
        for body in np.unique(self._bodies):
            if body == NO_BODY:
                continue
            rows = self._bodies == body
            local[rows] = transform_points(np.linalg.inv(self._pose(int(body))), pts[rows])
        self._local = local

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        """(K, 3) positions from the bodies' current poses; every point is visible."""
        if self._local is None or self._bodies is None:
            raise TrackingError("sim tracker: call start() before update()")
        pos = self._local.copy()
        for body in np.unique(self._bodies):
            if body == NO_BODY:
                continue
            rows = self._bodies == body
            pos[rows] = transform_points(self._pose(int(body)), self._local[rows])
        return TrackResult(pos, np.ones(pos.shape[0], dtype=bool), time_s)
