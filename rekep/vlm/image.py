"""The annotated image as the VLM sees it: a PNG, its data URL and a content hash.

PNG encoding uses only the standard library (zlib), so the VLM path needs no OpenCV.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib

import numpy as np
from numpy.typing import NDArray

from rekep.vlm.errors import VLMError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def as_rgb8(image: NDArray[np.generic]) -> NDArray[np.uint8]:
    """Check and return ``image`` as a contiguous (H, W, 3) uint8 array.

    Raises:
        VLMError: the array is not (H, W, 3) uint8 with H, W >= 1.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise VLMError(
            f"the image for the VLM must be an (H, W, 3) uint8 RGB array, got "
            f"{arr.dtype} {arr.shape}; pass the annotated image of the keypoint proposal"
        )
    return np.ascontiguousarray(arr)


def image_sha256(image: NDArray[np.generic]) -> str:
    """Hex SHA-256 of the pixels and shape of an (H, W, 3) uint8 image (encoder-independent)."""
    rgb = as_rgb8(image)
    digest = hashlib.sha256(f"rgb8:{rgb.shape[0]}x{rgb.shape[1]}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(image: NDArray[np.generic]) -> bytes:
    """Encode an (H, W, 3) uint8 RGB image as PNG bytes (8-bit truecolor, no filtering)."""
    rgb = as_rgb8(image)
    height, width = rgb.shape[:2]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def png_data_url(png: bytes) -> str:
    """``data:image/png;base64,...`` URL of PNG bytes, as OpenAI-compatible servers accept."""
    if not png.startswith(_PNG_SIGNATURE):
        raise VLMError("png_data_url needs PNG bytes (they must start with the PNG signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
