"""The :class:`Keypoints` value: the vocabulary every constraint program speaks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rekep.errors import ObservationError


@dataclass(frozen=True)
class Keypoints:
    """Keypoints proposed on one scene.

    Attributes:
        positions: (K, 3) world coordinates in metres.
        pixels: (K, 2) image coordinates (u, v) = (column, row) in the observation.
        object_ids: (K,) int id of the mask/object each keypoint lies on (for rigid grouping:
            keypoints sharing an id move together when that object is held).
        annotated_image: (H, W, 3) uint8 image with numbered markers, or None.
        names: optional per-keypoint labels (e.g. semantic anchors in annotated mode).
    """

    positions: NDArray[np.float64]
    pixels: NDArray[np.float64]
    object_ids: NDArray[np.int64]
    annotated_image: NDArray[np.uint8] | None = field(default=None, repr=False)
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ObservationError(f"keypoint positions must be (K, 3), got {pos.shape}")
        if not np.all(np.isfinite(pos)):
            raise ObservationError("keypoint positions contain NaN or inf")
        K = pos.shape[0]
        pix = np.asarray(self.pixels, dtype=np.float64).reshape(-1, 2) if K else np.zeros((0, 2))
        if pix.shape != (K, 2):
            raise ObservationError(f"keypoint pixels must be ({K}, 2), got {pix.shape}")
        ids = np.asarray(self.object_ids).astype(np.int64).reshape(-1)
        if ids.shape != (K,):
            raise ObservationError(f"keypoint object_ids must be ({K},), got {ids.shape}")
        if self.names is not None and len(self.names) != K:
            raise ObservationError(f"keypoint names must have {K} entries, got {len(self.names)}")
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "pixels", pix)
        object.__setattr__(self, "object_ids", ids)
        if self.names is not None:
            object.__setattr__(self, "names", tuple(self.names))

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    def indices_of_object(self, object_id: int) -> NDArray[np.int64]:
        """Indices of the keypoints on object ``object_id``."""
        return np.flatnonzero(self.object_ids == object_id)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly dict (the annotated image is left out; it is saved as a PNG)."""
        return {
            "positions": self.positions.tolist(),
            "pixels": self.pixels.tolist(),
            "object_ids": self.object_ids.tolist(),
            "names": list(self.names) if self.names is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Keypoints:
        names = data.get("names")
        return cls(
            positions=np.asarray(data["positions"], dtype=np.float64).reshape(-1, 3),
            pixels=np.asarray(data["pixels"], dtype=np.float64).reshape(-1, 2),
            object_ids=np.asarray(data["object_ids"], dtype=np.int64),
            names=tuple(names) if isinstance(names, list) else None,  # type: ignore[arg-type]
        )
