"""The annotated image: numbered keypoint markers the VLM can read, and PNG input/output.

Each keypoint gets a small dot (red, white rim) and, next to it, a filled white box with
its label in black. Boxes are placed greedily, in keypoint order, at the first of several
offsets around the dot that overlaps no earlier box, no dot and stays inside the image;
farther offsets get a thin leader line. Drawing uses OpenCV (extra ``vision``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import KeypointError

logger = logging.getLogger(__name__)

_DOT_COLOR = (255, 0, 0)  # RGB red
_RIM_COLOR = (255, 255, 255)
_BOX_COLOR = (255, 255, 255)
_TEXT_COLOR = (0, 0, 0)
_OUTSIDE_PENALTY = 1e6


def _cv2() -> ModuleType:
    return require("cv2", "drawing annotated images")


def _check_image(image: ArrayLike, what: str = "image") -> NDArray[np.uint8]:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise KeypointError(
            f"{what} must be an (H, W, 3) uint8 RGB image, got shape {arr.shape} dtype "
            f"{arr.dtype}; convert float 0..1 images with (img * 255).astype(np.uint8)"
        )
    return arr


def _overlap(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Overlap areas between box ``a`` (4,) and boxes ``b`` (N, 4), boxes as x0, y0, x1, y1."""
    w = np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0])
    h = np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def place_labels(
    pixels: ArrayLike,
    sizes: ArrayLike,
    image_shape: tuple[int, int],
    dot_radius: int = 3,
) -> NDArray[np.float64]:
    """Choose a box for every label so that boxes avoid each other and the dots.

    Args:
        pixels: (K, 2) dot centres (u, v) in pixels.
        sizes: (K, 2) box (width, height) in pixels.
        image_shape: (H, W) of the image.
        dot_radius: dot radius in pixels (dots are obstacles too).

    Returns:
        (K, 4) boxes (x0, y0, x1, y1) in pixels, x1/y1 exclusive. Where no offset is free
        the one with the least overlap is used, so crowded scenes still get every label.
    """
    pix = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    H, W = image_shape
    r = float(dot_radius)
    dots = np.concatenate([pix - r - 1, pix + r + 2], axis=1)
    boxes = np.zeros((len(pix), 4))
    for k, ((u, v), (w, h)) in enumerate(zip(pix, wh, strict=True)):
        best, best_cost = None, np.inf
        for ring in (1.0, 2.5, 4.5):
            g = (r + 2.0) * ring + (ring - 1.0) * 0.5 * h
            offsets = (
                (g, -g - h), (-g - w, -g - h), (g, g), (-g - w, g),
                (g, -h / 2), (-g - w, -h / 2), (-w / 2, -g - h), (-w / 2, g),
            )  # fmt: skip
            for dx, dy in offsets:
                x0, y0 = np.round(u + dx), np.round(v + dy)
                box = np.array([x0, y0, x0 + w, y0 + h])
                cost = float(_overlap(box, boxes[:k]).sum() + _overlap(box, dots).sum())
                if box[0] < 0 or box[1] < 0 or box[2] > W or box[3] > H:
                    cost += _OUTSIDE_PENALTY
                if cost < best_cost:
                    best, best_cost = box, cost
                if cost == 0.0:
                    break
            if best_cost == 0.0:
                break
        assert best is not None
        boxes[k] = best
    return boxes


def annotate_image(
    rgb: ArrayLike, pixels: ArrayLike, labels: Sequence[str] | None = None
) -> NDArray[np.uint8]:
    """Draw numbered keypoint markers on a copy of ``rgb``.

    Args:
        rgb: (H, W, 3) uint8 RGB image (not modified).
        pixels: (K, 2) keypoint pixels (u, v) = (column, row).
        labels: K strings; default the keypoint index ("0", "1", ...).

    Returns:
        (H, W, 3) uint8 RGB image with a dot at each keypoint and a label box beside it.
    """
    cv2 = _cv2()
    image = _check_image(rgb, "rgb").copy()
    pix = np.asarray(pixels, dtype=np.float64)
    if pix.size == 0:
        return image
    if pix.ndim != 2 or pix.shape[1] != 2:
        raise KeypointError(f"pixels must be (K, 2) (u, v), got shape {pix.shape}")
    if not np.all(np.isfinite(pix)):
        raise KeypointError("pixels contain NaN or inf; drop keypoints that did not project")
    K = pix.shape[0]
    texts = [str(i) for i in range(K)] if labels is None else [str(s) for s in labels]
    if len(texts) != K:
        raise KeypointError(f"labels must have one entry per keypoint ({K}), got {len(texts)}")

    H, W = image.shape[:2]
    scale = float(np.clip(min(H, W) / 480.0, 0.5, 3.0))
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale
    thickness = max(1, round(1.5 * scale))
    pad = max(2, round(3 * scale))
    dot_radius = max(2, round(3 * scale))
    metrics = [cv2.getTextSize(t, font, font_scale, thickness) for t in texts]
    sizes = np.array([(tw + 2 * pad, th + base + 2 * pad) for (tw, th), base in metrics])
    boxes = place_labels(pix, sizes, (H, W), dot_radius).astype(int)
    centres = np.round(pix).astype(int)

    for (u, v), (x0, y0, x1, y1) in zip(centres, boxes, strict=True):
        nx, ny = int(np.clip(u, x0, x1 - 1)), int(np.clip(v, y0, y1 - 1))
        if (nx - u) ** 2 + (ny - v) ** 2 > (3 * dot_radius) ** 2:
            cv2.line(image, (int(u), int(v)), (nx, ny), _TEXT_COLOR, 1, cv2.LINE_AA)
    for text, ((_, th), _), (x0, y0, x1, y1) in zip(texts, metrics, boxes, strict=True):
        cv2.rectangle(image, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), _BOX_COLOR, -1)
        cv2.rectangle(image, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), _TEXT_COLOR, 1)
        origin = (int(x0) + pad, int(y0) + pad + th)
        cv2.putText(image, text, origin, font, font_scale, _TEXT_COLOR, thickness, cv2.LINE_AA)
    for u, v in centres:
        cv2.circle(image, (int(u), int(v)), dot_radius + 1, _RIM_COLOR, -1, cv2.LINE_AA)
        cv2.circle(image, (int(u), int(v)), dot_radius, _DOT_COLOR, -1, cv2.LINE_AA)
    return image


def save_png(path: str | Path, image: ArrayLike) -> Path:
    """Write an (H, W, 3) uint8 RGB image as PNG, creating parent folders; returns the path."""
    cv2 = _cv2()
    arr = _check_image(image)
    out = Path(path)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR))
    if not ok:
        raise KeypointError(f"OpenCV could not encode a {arr.shape} image as PNG")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(buf.tobytes())
    except OSError as exc:
        raise KeypointError(f"could not write {out}: {exc}; check the folder is writable") from exc
    logger.debug("wrote %s", out)
    return out


def read_png(path: str | Path) -> NDArray[np.uint8]:
    """Read a PNG (or any image OpenCV decodes) as an (H, W, 3) uint8 RGB array."""
    cv2 = _cv2()
    try:
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    except OSError as exc:
        raise KeypointError(f"could not read {path}: {exc}") from exc
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise KeypointError(f"{path} is not an image OpenCV can decode")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
