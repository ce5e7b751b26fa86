"""Weight-free per-pixel features: colour in CIE Lab, surface normals, curvature, position.

Channels (D = 10), each group multiplied by its weight in :class:`GeometricConfig`:

- 0..2  Lab colour: L / 100 in [0, 1], a / 100 and b / 100 in about [-1, 1] (D65, sRGB);
- 3..5  unit surface normal in the world frame, pointing towards the camera, from
  central differences of the back-projected depth (``normal_step`` pixels either side);
- 6     curvature: 1 - |mean normal| over a ``curvature_window`` square, 0 on a plane,
  up to 1 at creases and depth edges;
- 7..9  world position in metres.

Pixels without valid depth (and every pixel of a bare RGB image) get zeros in 3..9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keypoints.features.base import FeatureExtractor, Image, as_rgb, check_pixels
from rekep.errors import ConfigurationError
from rekep.observation import RGBD

_SRGB = np.arange(256, dtype=np.float64) / 255.0
#: sRGB byte -> linear intensity
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)
#: linear sRGB -> XYZ, rows divided by the D65 white point
_RGB2XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]]
) / np.array([[0.95047], [1.0], [1.08883]])  # fmt: skip
_EPS = (6.0 / 29.0) ** 3


def rgb_to_lab(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """(..., 3) uint8 sRGB -> (..., 3) CIE Lab (L in 0..100, a and b in about -128..127)."""
    xyz = _LINEAR[rgb] @ _RGB2XYZ.T
    f = np.where(xyz > _EPS, np.cbrt(xyz), xyz / (3.0 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    L = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


@dataclass(frozen=True)
class GeometricConfig:
    """Weights of the channel groups and the stencil sizes (pixels) of the geometric features."""

    color_weight: float = 1.0
    normal_weight: float = 1.0
    curvature_weight: float = 1.0
    position_weight: float = 1.0
    normal_step: int = 2
    curvature_window: int = 5

    def __post_init__(self) -> None:
        for name in ("color_weight", "normal_weight", "curvature_weight", "position_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("normal_step", "curvature_window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be an int >= 1 pixel, got {value!r}")

    @property
    def margin(self) -> int:
        """Pixels of context one output pixel depends on (for exact cropping)."""
        return self.normal_step + self.curvature_window // 2 + 1


def _shift_index(n: int, step: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices ``step`` ahead and behind along an axis of length n, clamped (edge padding)."""
    i = np.arange(n)
    return np.minimum(i + step, n - 1), np.maximum(i - step, 0)


def camera_normals(points: NDArray[np.float32], step: int) -> NDArray[np.float32]:
    """(3, h, w) unit normals (camera frame, towards the camera) of (3, h, w) camera points.

    Central differences ``step`` pixels either side (clamped at the borders); NaN points
    (invalid depth) and degenerate neighbourhoods give zero normals.
    """
    _, h, w = points.shape
    fwd, back = _shift_index(w, step)
    du = np.take(points, fwd, axis=2) - np.take(points, back, axis=2)
    fwd, back = _shift_index(h, step)
    dv = np.take(points, fwd, axis=1) - np.take(points, back, axis=1)
    n = np.empty_like(points)
    n[0] = du[1] * dv[2] - du[2] * dv[1]
    n[1] = du[2] * dv[0] - du[0] * dv[2]
    n[2] = du[0] * dv[1] - du[1] * dv[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        n /= np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
    n[~np.isfinite(n)] = 0.0
    away = (n * np.nan_to_num(points)).sum(axis=0) > 0
    n[:, away] *= -1.0
    return n


def box_mean(a: NDArray[np.float32], size: int) -> NDArray[np.float64]:
    """Mean of (C, h, w) over size x size windows (edge-replicated borders), as float64."""
    r = size // 2
    p = np.pad(a.astype(np.float64), ((0, 0), (r + 1, r), (r + 1, r)), mode="edge")
    p[:, 0, :] = 0.0
    p[:, :, 0] = 0.0
    c = p.cumsum(axis=1).cumsum(axis=2)
    total = c[:, size:, size:] - c[:, :-size, size:] - c[:, size:, :-size] + c[:, :-size, :-size]
    return np.asarray(total / (size * size))


class GeometricExtractor(FeatureExtractor):
    """Weight-free features from colour and depth; see the module docstring for channels."""

    name = "geometric"

    def __init__(self, config: GeometricConfig | None = None) -> None:
        cfg = GeometricConfig() if config is None else config
        if not isinstance(cfg, GeometricConfig):
            raise ConfigurationError(f"config must be a GeometricConfig, got {type(cfg).__name__}")
        self.config = cfg

    @property
    def dim(self) -> int:
        return 10

    def _at(
        self, image: Image, r: NDArray[np.int64], c: NDArray[np.int64], box: tuple[int, ...]
    ) -> NDArray[np.float32]:
        """(N, 10) features at pixels (r, c), with normals computed on the crop ``box``
        (r0, r1, c0, c1); exact when the crop extends ``margin`` pixels past them."""
        cfg = self.config
        out = np.zeros((len(r), self.dim), dtype=np.float32)
        rgb = as_rgb(image)
        colour = np.take(rgb.reshape(-1, 3), r * rgb.shape[1] + c, axis=0)
        out[:, 0:3] = rgb_to_lab(colour) * (cfg.color_weight / 100.0)
        if not isinstance(image, RGBD):
            return out
        r0, r1, c0, c1 = box
        K, R, t = image.intrinsics, image.T_world_camera[:3, :3], image.T_world_camera[:3, 3]
        depth = image.depth[r0:r1, c0:c1]
        z = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float32)
        u = ((np.arange(c0, c1) - K[0, 2]) / K[0, 0]).astype(np.float32)
        v = ((np.arange(r0, r1) - K[1, 2]) / K[1, 1]).astype(np.float32)
        cam = np.stack([u[None, :] * z, v[:, None] * z, z])
        normals = camera_normals(cam, cfg.normal_step)
        mean_n = box_mean(normals, cfg.curvature_window)
        curvature = 1.0 - np.clip(np.sqrt((mean_n * mean_n).sum(axis=0)), 0.0, 1.0)
        flat = (r - r0) * (c1 - c0) + (c - c0)
        valid = np.isfinite(np.take(z, flat))
        world = np.take(cam.reshape(3, -1), flat, axis=1).T.astype(np.float64) @ R.T + t
        out[:, 3:6] = (np.take(normals.reshape(3, -1), flat, axis=1).T @ R.T) * cfg.normal_weight
        out[:, 6] = np.take(curvature, flat) * cfg.curvature_weight
        out[:, 7:10] = world * cfg.position_weight
        out[~valid, 3:] = 0.0
        return out

    def extract(self, image: Image) -> NDArray[np.float32]:
        """(H, W, 10) float32 features (see the module docstring)."""
        H, W = as_rgb(image).shape[:2]
        r, c = np.divmod(np.arange(H * W, dtype=np.int64), W)
        return self._at(image, r, c, (0, H, 0, W)).reshape(H, W, self.dim)

    def extract_at(self, image: Image, rows: ArrayLike, cols: ArrayLike) -> NDArray[np.float32]:
        """(N, 10) features at the given pixels, computed on their bounding box only."""
        H, W = as_rgb(image).shape[:2]
        r, c = check_pixels(rows, cols, (H, W))
        if r.size == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        m = self.config.margin
        box = (max(int(r.min()) - m, 0), min(int(r.max()) + m + 1, H),
               max(int(c.min()) - m, 0), min(int(c.max()) + m + 1, W))  # fmt: skip
        return self._at(image, r, c, box)
