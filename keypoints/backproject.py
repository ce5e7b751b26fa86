"""Back-projection of selected pixels to world points (without the full (H, W, 3) cloud)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.observation import RGBD


def world_points(rgbd: RGBD, flat: NDArray[np.int64]) -> NDArray[np.float64]:
    """(N, 3) world points in metres of the (N,) flat pixel indices ``flat`` (row * W + col).

    Depth is read as is: pass pixels with valid depth (``rgbd.valid_depth()``) only, or
    expect NaN/zero-depth points.
    """
    K, T = rgbd.intrinsics, rgbd.T_world_camera
    rows, cols = np.divmod(np.asarray(flat, dtype=np.int64), rgbd.width)
    z = np.take(rgbd.depth, flat).astype(np.float64)
    cam = np.stack([(cols - K[0, 2]) * z / K[0, 0], (rows - K[1, 2]) * z / K[1, 1], z], axis=1)
    return np.asarray(cam @ T[:3, :3].T + T[:3, 3])
