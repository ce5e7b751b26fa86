"""The :class:`ProposalConfig` value: every knob of the weight-free keypoint proposer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rekep.errors import ConfigurationError

Vec3 = tuple[float, float, float]

#: Largest ``per_mask``: the centre plus both ends of the three principal axes.
MAX_PER_MASK = 7


def _as_vec3(value: object, name: str) -> Vec3:
    try:
        vals = tuple(float(x) for x in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{name} must be three numbers (x, y, z) in metres, got {value!r}"
        ) from exc
    if len(vals) != 3 or any(math.isnan(x) for x in vals):
        raise ConfigurationError(f"{name} must be three numbers (x, y, z) in metres, got {value!r}")
    return (vals[0], vals[1], vals[2])


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ProposalConfig:
    """Settings of the weight-free geometric proposer (all lengths in metres).

    Attributes:
        per_mask: candidates per mask before merging, 1..7: 1 = only the surface point
            nearest the 3D centroid; 3 = plus both ends of the major principal axis;
            5 = plus the second axis; 7 = plus the third axis.
        extremal_percentile: robust extreme along an axis, in percent (0 < p < 50): the
            ends are the p-th and (100 - p)-th percentiles of the projections.
        merge_radius: candidates of one object closer than this are merged (the
            higher-priority one, centre first, is kept). 0 disables merging.
        workspace_min, workspace_max: (3,) world box; candidates outside are dropped.
            Defaults are unbounded.
        min_mask_area_px: masks with fewer valid-depth pixels are dropped.
        max_mask_fraction: masks covering more than this fraction of the image are
            treated as background and dropped (the original ReKep uses 0.5).
        max_keypoints: cap on the total; every object keeps its centre first.
        annotate: draw the annotated image (needs OpenCV, extra ``vision``).
    """

    per_mask: int = 5
    extremal_percentile: float = 5.0
    merge_radius: float = 0.03
    workspace_min: Vec3 = (-math.inf, -math.inf, -math.inf)
    workspace_max: Vec3 = (math.inf, math.inf, math.inf)
    min_mask_area_px: int = 50
    max_mask_fraction: float = 0.5
    max_keypoints: int = 40
    annotate: bool = True

    def __post_init__(self) -> None:
        if not _is_int(self.per_mask) or not 1 <= self.per_mask <= MAX_PER_MASK:
            raise ConfigurationError(
                f"per_mask must be an int in 1..{MAX_PER_MASK} (centre + 2 per principal axis), "
                f"got {self.per_mask!r}"
            )
        if not 0.0 < float(self.extremal_percentile) < 50.0:
            raise ConfigurationError(
                f"extremal_percentile must be in (0, 50) percent, e.g. 5.0, "
                f"got {self.extremal_percentile!r}"
            )
        if not (math.isfinite(float(self.merge_radius)) and self.merge_radius >= 0.0):
            raise ConfigurationError(
                f"merge_radius must be a finite length >= 0 in metres (e.g. 0.03), "
                f"got {self.merge_radius!r}"
            )
        lo = _as_vec3(self.workspace_min, "workspace_min")
        hi = _as_vec3(self.workspace_max, "workspace_max")
        if any(a >= b for a, b in zip(lo, hi, strict=True)):
            raise ConfigurationError(
                f"workspace_min {lo} must be below workspace_max {hi} on every axis; "
                "swap them or widen the box"
            )
        if not _is_int(self.min_mask_area_px) or self.min_mask_area_px < 1:
            raise ConfigurationError(
                f"min_mask_area_px must be an int >= 1, got {self.min_mask_area_px!r}"
            )
        if not 0.0 < float(self.max_mask_fraction) <= 1.0:
            raise ConfigurationError(
                f"max_mask_fraction must be in (0, 1], e.g. 0.5, got {self.max_mask_fraction!r}"
            )
        if not _is_int(self.max_keypoints) or self.max_keypoints < 1:
            raise ConfigurationError(
                f"max_keypoints must be an int >= 1, got {self.max_keypoints!r}"
            )
        object.__setattr__(self, "workspace_min", lo)
        object.__setattr__(self, "workspace_max", hi)
        object.__setattr__(self, "extremal_percentile", float(self.extremal_percentile))
        object.__setattr__(self, "merge_radius", float(self.merge_radius))
        object.__setattr__(self, "max_mask_fraction", float(self.max_mask_fraction))
