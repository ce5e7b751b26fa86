"""The feature-extractor interface: per-pixel descriptors for keypoint clustering.

An extractor maps an observation (an :class:`~rekep.observation.RGBD`, or a bare
(H, W, 3) uint8 RGB image) to (H, W, D) float32 features, one D-vector per pixel.
:meth:`FeatureExtractor.extract_at` returns the same features at selected pixels only;
extractors whose native output is coarse (a ViT's patch grid) override it to avoid
materializing the full (H, W, D) array.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.errors import KeypointError
from rekep.observation import RGBD

Image = RGBD | ArrayLike


def as_rgb(image: Image) -> NDArray[np.uint8]:
    """The (H, W, 3) uint8 colour image of ``image`` (an RGBD or an RGB array).

    Raises:
        KeypointError: not (H, W, 3) uint8, or smaller than 1x1.
    """
    rgb = image.rgb if isinstance(image, RGBD) else np.asarray(image)
    if rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 1):
        raise KeypointError(
            f"features need an (H, W, 3) RGB image, got a grayscale one of shape {rgb.shape}; "
            "replicate it with np.repeat(gray.reshape(H, W, 1), 3, axis=2)"
        )
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise KeypointError(
            f"features need an (H, W, 3) uint8 RGB image, got shape {rgb.shape} dtype "
            f"{rgb.dtype}; convert float 0..1 images with (img * 255).astype(np.uint8)"
        )
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise KeypointError(f"the image is empty (shape {rgb.shape})")
    return rgb


def check_pixels(
    rows: ArrayLike, cols: ArrayLike, shape: tuple[int, int]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Validate (N,) integer pixel rows and columns against an (H, W) image."""
    r = np.asarray(rows).reshape(-1)
    c = np.asarray(cols).reshape(-1)
    if r.shape != c.shape:
        raise KeypointError(f"rows {r.shape} and cols {c.shape} must have the same length")
    if r.size and not (np.issubdtype(r.dtype, np.integer) and np.issubdtype(c.dtype, np.integer)):
        raise KeypointError("pixel rows and cols must be integers")
    r, c = r.astype(np.int64), c.astype(np.int64)
    H, W = shape
    if r.size and (r.min() < 0 or r.max() >= H or c.min() < 0 or c.max() >= W):
        raise KeypointError(f"pixels outside the {H}x{W} image")
    return r, c


class FeatureExtractor(ABC):
    """Per-pixel feature extractor.

    Attributes:
        name: registry name (``"dinov2"``, ``"geometric"``).
        dim: D, the feature length.
    """

    name: str = ""

    @property
    @abstractmethod
    def dim(self) -> int:
        """D, the number of feature channels."""

    @abstractmethod
    def extract(self, image: Image) -> NDArray[np.float32]:
        """(H, W, D) float32 features of ``image`` (an RGBD or an (H, W, 3) uint8 array)."""

    def extract_at(self, image: Image, rows: ArrayLike, cols: ArrayLike) -> NDArray[np.float32]:
        """(N, D) float32 features at pixels (rows[i], cols[i]); equals ``extract(image)[rows,
        cols]`` (subclasses may compute it without the full array)."""
        feats = self.extract(image)
        r, c = check_pixels(rows, cols, (feats.shape[0], feats.shape[1]))
        return np.ascontiguousarray(feats[r, c], dtype=np.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"
