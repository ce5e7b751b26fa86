"""Synthetic RGB-D frames for tracker tests: a random texture on a fronto-parallel plane."""

from __future__ import annotations

import numpy as np

from rekep.observation import RGBD

F = 500.0
W, H = 640, 480
K = np.array([[F, 0.0, (W - 1) / 2], [0.0, F, (H - 1) / 2], [0.0, 0.0, 1.0]])
DEPTH = 1.0


PAD = 600  # texture margin: frames may shift content by up to this many pixels


def texture(seed: int = 0, size: tuple[int, int] = (H + 2 * PAD, W + 2 * PAD)) -> np.ndarray:
    """(h, w) uint8 smooth random texture (blurred noise) with strong gradients."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, size).astype(np.float32)
    tex = cv2.GaussianBlur(noise, (0, 0), 2.0)
    tex = (tex - tex.min()) / (tex.max() - tex.min()) * 255
    return tex.astype(np.uint8)


def frame(tex: np.ndarray, shift_px: tuple[int, int], depth: float = DEPTH) -> RGBD:
    """The texture seen with its content moved by integer (du, dv) pixels, at ``depth``."""
    du, dv = shift_px
    if max(abs(du), abs(dv)) > PAD:
        raise ValueError(f"shift {shift_px} exceeds the texture margin {PAD}")
    crop = tex[PAD - dv : PAD - dv + H, PAD - du : PAD - du + W]
    rgb = np.repeat(crop[..., None], 3, axis=2)
    return RGBD(rgb=rgb, depth=np.full((H, W), depth, np.float32), intrinsics=K)


def world_at(pixels: np.ndarray, depth: float = DEPTH) -> np.ndarray:
    """(N, 2) pixels -> (N, 3) world points on the plane (camera = world frame)."""
    pix = np.asarray(pixels, dtype=np.float64)
    x = (pix[:, 0] - K[0, 2]) * depth / F
    y = (pix[:, 1] - K[1, 2]) * depth / F
    return np.stack([x, y, np.full(len(pix), depth)], axis=1)
