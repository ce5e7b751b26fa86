"""RGB-D observations: one validated type, plus back-projection.

Camera frame convention: OpenCV (x right, y down, z forward, metres). Pixels are (u, v) =
(column, row).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import ObservationError, PoseError
from rekep.poses import as_pose, transform_points


def _as_intrinsics(K: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(K, dtype=np.float64)
    if arr.shape != (3, 3):
        raise ObservationError(
            f"intrinsics must be a (3, 3) matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ObservationError("intrinsics contain NaN or inf")
    if arr[0, 0] <= 0 or arr[1, 1] <= 0:
        raise ObservationError(f"intrinsics fx, fy must be positive, got {arr[0, 0]}, {arr[1, 1]}")
    if not np.allclose(arr[2], [0.0, 0.0, 1.0]):
        raise ObservationError(f"intrinsics last row must be [0, 0, 1], got {arr[2].tolist()}")
    return arr


@dataclass(frozen=True)
class RGBD:
    """One RGB-D frame.

    Attributes:
        rgb: (H, W, 3) uint8 colour image.
        depth: (H, W) float32 depth along the optical axis in metres; 0 or NaN = invalid.
        intrinsics: (3, 3) pinhole matrix in pixels.
        T_world_camera: (4, 4) camera pose in the world (OpenCV camera axes).
    """

    rgb: NDArray[np.uint8]
    depth: NDArray[np.float32]
    intrinsics: NDArray[np.float64]
    T_world_camera: NDArray[np.float64] = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        rgb = np.asarray(self.rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ObservationError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
        if rgb.dtype != np.uint8:
            raise ObservationError(
                f"rgb must be uint8 in 0..255, got {rgb.dtype}; convert with "
                "(rgb * 255).clip(0, 255).astype(np.uint8) if it is float in 0..1"
            )
        depth = np.asarray(self.depth)
        if depth.ndim == 3 and depth.shape[2] == 1:
            depth = depth[..., 0]
        if depth.shape != rgb.shape[:2]:
            raise ObservationError(
                f"depth shape {depth.shape} does not match rgb {rgb.shape[:2]}; "
                "register depth to the colour camera first"
            )
        if not np.issubdtype(depth.dtype, np.floating):
            raise ObservationError(
                f"depth must be float metres, got {depth.dtype}; for uint16 millimetres use "
                "depth.astype(np.float32) / 1000"
            )
        depth = depth.astype(np.float32)
        valid = np.isfinite(depth) & (depth > 0)
        if not valid.any():
            raise ObservationError("depth has no valid pixel (all 0, negative or NaN)")
        if np.nanmax(depth[valid]) > 100.0:
            raise ObservationError(
                f"depth max {np.nanmax(depth[valid]):.1f} is not plausible in metres; "
                "is it in millimetres? divide by 1000"
            )
        try:
            T = as_pose(self.T_world_camera, "T_world_camera")
        except PoseError as exc:
            raise ObservationError(str(exc)) from exc
        object.__setattr__(self, "rgb", np.ascontiguousarray(rgb))
        object.__setattr__(self, "depth", np.ascontiguousarray(depth))
        object.__setattr__(self, "intrinsics", _as_intrinsics(self.intrinsics))
        object.__setattr__(self, "T_world_camera", T)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    def valid_depth(self) -> NDArray[np.bool_]:
        """(H, W) True where depth is finite and positive."""
        return np.isfinite(self.depth) & (self.depth > 0)

    def points_camera(self) -> NDArray[np.float64]:
        """(H, W, 3) points in the camera frame, metres; NaN where depth is invalid."""
        H, W = self.depth.shape
        u, v = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
        z = np.where(self.valid_depth(), self.depth, np.nan).astype(np.float64)
        fx, fy = self.intrinsics[0, 0], self.intrinsics[1, 1]
        cx, cy = self.intrinsics[0, 2], self.intrinsics[1, 2]
        return np.stack([(u - cx) * z / fx, (v - cy) * z / fy, z], axis=-1)

    def points_world(self) -> NDArray[np.float64]:
        """(H, W, 3) points in the world frame, metres; NaN where depth is invalid."""
        return transform_points(self.T_world_camera, self.points_camera())

    def project(self, points_world: ArrayLike) -> NDArray[np.float64]:
        """(N, 3) world points -> (N, 2) pixels (u, v); NaN for points behind the camera."""
        pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
        cam = transform_points(np.linalg.inv(self.T_world_camera), pts)
        z = np.where(cam[:, 2] > 1e-9, cam[:, 2], np.nan)
        u = self.intrinsics[0, 0] * cam[:, 0] / z + self.intrinsics[0, 2]
        v = self.intrinsics[1, 1] * cam[:, 1] / z + self.intrinsics[1, 2]
        return np.stack([u, v], axis=-1)
