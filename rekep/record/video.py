"""Write an MP4 from frames (H.264 through imageio-ffmpeg's bundled ffmpeg binary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import ConfigurationError


class VideoWriter:
    """Frames in, ``path`` (.mp4) out. All frames must share one size; even sizes are
    needed by H.264 (odd ones are cropped by a pixel)."""

    def __init__(self, path: str | Path, *, fps: float = 20.0) -> None:
        if not fps > 0:
            raise ConfigurationError(f"video fps must be > 0, got {fps}")
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ConfigurationError(f"video path must end in .mp4, got {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.frames_written = 0
        self._writer: Any = None
        self._size: tuple[int, int] | None = None

    def add(self, frame: NDArray[np.uint8]) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        rgb = np.asarray(frame)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ConfigurationError(f"video frames must be (H, W, 3) uint8, got {rgb.shape}")
        rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
        size = (rgb.shape[1], rgb.shape[0])
        if self._writer is None:
            ffmpeg = require("imageio_ffmpeg", purpose="writing MP4 videos")
            self._size = size
            self._writer = ffmpeg.write_frames(
                str(self.path), size, fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
                macro_block_size=1, quality=7,
            )  # fmt: skip
            self._writer.send(None)  # start the generator
        elif size != self._size:
            raise ConfigurationError(f"video frame size {size} differs from the first {self._size}")
        self._writer.send(np.ascontiguousarray(rgb))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (a video with no frames writes nothing)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
