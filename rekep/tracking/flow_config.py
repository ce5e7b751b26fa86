"""Settings of the ``flow`` tracker (:class:`rekep.tracking.flow.FlowTracker`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rekep.tracking.base import TrackingError
from rekep.tracking.redetect import RedetectConfig
from rekep.tracking.resting import RestConfig


@dataclass(frozen=True)
class FlowConfig:
    """Settings of :class:`FlowTracker` (pixels, metres).

    Attributes:
        win_size: LK window side in pixels (odd). max_level: pyramid levels above full size.
        fb_threshold_px: forward-backward consistency threshold, pixels.
        border_px: points nearer the image edge than this are lost, pixels.
        depth_radius: depth window radius, pixels ((2r+1)^2 window).
        min_valid_depth_fraction: fewer valid depth pixels in the window -> lost.
        depth_tolerance_m: bilinear depth only when the 4 neighbours agree this well.
        max_jump_m: a tracked point moving more than this in one update is lost; None: off.
        slide_tolerance_m: a tracked point whose motion in one update differs by more than
            this from the median motion of its object's other points tracked with it is
            lost (it slid onto a passing object: :mod:`rekep.tracking.slide`); None: off.
        occlusion_tolerance_m: at start and on reappearance, the depth under a point must
            match its camera depth this well, else it is hidden.
        redetect: try to recover lost points (see module docs).
        neighbour_radius_m: neighbours within this distance predict a lost point's motion.
        patch_radius: re-detection template radius, pixels. search_radius: its search
            window radius, pixels. min_match_score: least NCC score accepted.
        wide_redetect / wide_every / wide: whole-object re-detection, updates between two
            automatic searches of a group, its settings (module docs).
        rest_check / rest: treat objects shown at rest as resting (:mod:`.resting`; needs
            ``point_groups``), its thresholds.
    """

    win_size: int = 21
    max_level: int = 4
    fb_threshold_px: float = 1.0
    border_px: float = 3.0
    depth_radius: int = 2
    min_valid_depth_fraction: float = 0.5
    depth_tolerance_m: float = 0.01
    max_jump_m: float | None = 0.10
    slide_tolerance_m: float | None = 0.03
    occlusion_tolerance_m: float = 0.02
    redetect: bool = True
    neighbour_radius_m: float = 0.05
    patch_radius: int = 7
    search_radius: int = 30
    min_match_score: float = 0.8
    wide_redetect: bool = True
    wide_every: int = 10
    wide: RedetectConfig = field(default_factory=RedetectConfig)
    rest_check: bool = True
    rest: RestConfig = field(default_factory=RestConfig)

    def __post_init__(self) -> None:
        if self.win_size < 5 or self.win_size % 2 == 0:
            raise TrackingError(f"win_size must be an odd number >= 5 px, got {self.win_size}")
        if not 0 <= self.max_level <= 6:
            raise TrackingError(f"max_level must be in 0..6, got {self.max_level}")
        positive = (
            "fb_threshold_px", "depth_tolerance_m", "occlusion_tolerance_m", "neighbour_radius_m"
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise TrackingError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.border_px < 0 or self.depth_radius < 0:
            raise TrackingError("border_px and depth_radius must be >= 0")
        if not 0 < self.min_valid_depth_fraction <= 1:
            raise TrackingError("min_valid_depth_fraction must be in (0, 1]")
        for name in ("max_jump_m", "slide_tolerance_m"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise TrackingError(f"{name} must be > 0 or None, got {value}")
        if self.patch_radius < 2 or self.search_radius < 1:
            raise TrackingError("patch_radius must be >= 2 px and search_radius >= 1 px")
        if not -1 <= self.min_match_score <= 1:
            raise TrackingError("min_match_score is an NCC score in [-1, 1]")
        if self.wide_every < 1:
            raise TrackingError(f"wide_every must be >= 1 update, got {self.wide_every}")
