"""Loading an RGB-D frame (and masks, poses) from files, for the CLI and scripts.

Formats: colour as PNG/JPEG (read as RGB) or ``.npy`` (H, W, 3) uint8; depth as ``.npy``
float metres or a 16-bit PNG in millimetres (scaled by ``depth_scale``, default 0.001);
intrinsics and poses as ``.npy``, ``.txt`` (whitespace matrix) or ``.json`` (a nested list,
or ``{"fx", "fy", "cx", "cy"}`` for intrinsics); masks as an ``.npy`` or PNG integer label
image (negative or 0 = background with PNG).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import ObservationError
from rekep.observation import RGBD


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ObservationError(f"{what} file {str(p)!r} does not exist")
    return p


def _read_image(path: Path, flags: int | None = None) -> NDArray[np.generic]:
    cv2 = require("cv2", "reading images")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED if flags is None else flags)
    if image is None:
        raise ObservationError(f"could not read image {str(path)!r} (unsupported or corrupt)")
    return np.asarray(image)


def load_matrix(path: str | Path, what: str) -> NDArray[np.float64]:
    """A matrix from ``.npy``, ``.txt`` or ``.json``."""
    p = _existing(path, what)
    try:
        if p.suffix == ".npy":
            return np.asarray(np.load(p, allow_pickle=False), dtype=np.float64)
        if p.suffix == ".json":
            data = json.loads(p.read_text())
            if isinstance(data, dict) and {"fx", "fy", "cx", "cy"} <= set(data):
                return np.array(
                    [[data["fx"], 0.0, data["cx"]], [0.0, data["fy"], data["cy"]], [0, 0, 1]],
                    dtype=np.float64,
                )
            return np.asarray(data, dtype=np.float64)
        return np.loadtxt(p, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, TypeError) as exc:
        raise ObservationError(f"could not read {what} from {str(p)!r}: {exc}") from exc


def load_rgb(path: str | Path) -> NDArray[np.uint8]:
    p = _existing(path, "rgb")
    if p.suffix == ".npy":
        return np.asarray(np.load(p, allow_pickle=False))
    cv2 = require("cv2", "reading images")
    bgr = _read_image(p, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[..., ::-1])


def load_depth(path: str | Path, depth_scale: float = 0.001) -> NDArray[np.float32]:
    """Depth in metres; integer images are multiplied by ``depth_scale``."""
    p = _existing(path, "depth")
    raw = np.load(p, allow_pickle=False) if p.suffix == ".npy" else _read_image(p)
    depth = np.asarray(raw)
    if np.issubdtype(depth.dtype, np.integer):
        depth = depth.astype(np.float32) * np.float32(depth_scale)
    return depth.astype(np.float32)


def load_labels(path: str | Path) -> NDArray[np.int64]:
    p = _existing(path, "masks")
    raw = np.load(p, allow_pickle=False) if p.suffix == ".npy" else _read_image(p)
    labels = np.asarray(raw)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ObservationError(f"masks must be an (H, W) integer label image, got {labels.shape}")
    labels = labels.astype(np.int64)
    if p.suffix != ".npy":
        labels[labels == 0] = -1  # PNG label images use 0 for background
    return labels


def load_frame(
    rgb: str | Path,
    depth: str | Path,
    intrinsics: str | Path,
    T_world_camera: str | Path | None = None,
    depth_scale: float = 0.001,
) -> RGBD:
    """Build a validated :class:`RGBD` from files (see the module docstring for formats)."""
    pose = np.eye(4) if T_world_camera is None else load_matrix(T_world_camera, "camera pose")
    return RGBD(
        rgb=load_rgb(rgb),
        depth=load_depth(depth, depth_scale),
        intrinsics=load_matrix(intrinsics, "intrinsics"),
        T_world_camera=pose,
    )
