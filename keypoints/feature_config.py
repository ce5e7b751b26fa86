"""The :class:`FeatureProposalConfig` value: every knob of the feature-clustering proposer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from keypoints.clustering import MERGE_METHODS
from keypoints.config import Vec3, _as_vec3
from keypoints.mask_sources import MASK_SOURCES
from rekep.errors import ConfigurationError


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value: object, name: str, low: int = 1) -> None:
    if not _is_int(value) or int(value) < low:  # type: ignore[call-overload]
        raise ConfigurationError(f"{name} must be an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class FeatureProposalConfig:
    """Settings of :class:`~keypoints.feature_proposer.FeatureProposer` (lengths in metres).

    Attributes:
        extractor: feature extractor name (``auto``, ``geometric``, ``dinov2``, ...); see
            ``keypoints.features.FEATURE_EXTRACTORS``. Ignored when an extractor instance
            is passed to the proposer.
        mask_source: ``given`` (the caller passes masks or a segmentation image) or
            ``segmenter`` (the weight-free RGB-D segmenter computes them).
        k: k-means clusters per mask (the original ReKep uses 5).
        centre: also propose the mask's surface point nearest its 3D centroid (the middle
            of a tray floor or a pad: k-means rarely puts a representative there).
        extremes: also propose this many extremities per mask, by farthest-point sampling
            from the centroid (tips, ends and corners; 0 = none).
        top_face: also propose top-face candidates (see :mod:`keypoints.top_face`): the
            centre of the mask's top face (points within ``top_band`` of its highest, world
            +z up), the ends of its horizontal principal axes (edge middles, handle bars)
            and, along axes longer than twice ``spine_spacing``, a spine of points every
            ``spine_spacing`` (0 = no spine). Only for objects at least
            ``top_face_min_extent`` across in the horizontal plane: on small objects a
            top-down grasp hides the top face, and tracks of points there drift.
        part_ends: also propose the two ends of every bar-shaped colour part of a mask (a
            handle on a drawer; see :mod:`keypoints.part_ends`): parts differ in hue by
            ``part_hue_step`` degrees or are grey against coloured, have at least
            ``part_min_px`` pixels and are ``part_min_elongation`` times longer than wide.
        pca_dims: features are PCA-reduced to this many dimensions per mask.
        position_weight: weight of the min-max-normalized 3D position next to the
            min-max-normalized reduced features (1.0 = equal footing, as in the original).
        max_samples_per_mask: k-means runs on at most this many pixels per mask (an even
            subsample); every pixel still competes to be a cluster's representative.
        seed: k-means++ seed.
        merge_method: ``greedy`` (non-maximum suppression by weight: keeps each object's
            centre and its largest clusters' representatives exactly), ``meanshift`` (the
            original's choice) or ``dbscan``.
        merge_radius: suppression radius / mean-shift bandwidth / DBSCAN radius; 0
            disables merging. Merging
            happens within one object only, so every keypoint keeps its object id.
        workspace_min, workspace_max: (3,) world box; candidates outside are dropped.
        min_mask_area_px: masks with fewer valid-depth pixels are dropped.
        max_mask_fraction: masks over this fraction of the image are background.
        max_keypoints: cap on the total (objects take turns, largest clusters first).
        annotate: draw the annotated image (needs OpenCV, extra ``vision``).
        snap_radius: after merging, each keypoint moves to the strongest texture corner of
            its object within this distance (see :mod:`keypoints.texture_snap`; 0 = off).
        snap_quality: a texture corner's score must reach this fraction of its object's
            strongest, in (0, 1].
        snap_plane_tolerance: RMS plane-fit residual allowed around a texture corner (keeps
            out geometric edges and vertices).
    """

    extractor: str = "auto"
    mask_source: str = "given"
    k: int = 5
    centre: bool = True
    extremes: int = 8
    top_face: bool = True
    top_band: float = 0.015
    spine_spacing: float = 0.05
    top_face_min_extent: float = 0.35
    part_ends: bool = True
    part_hue_step: float = 6.0
    part_min_px: int = 150
    part_min_elongation: float = 3.0
    pca_dims: int = 3
    position_weight: float = 1.0
    max_samples_per_mask: int = 2000
    seed: int = 0
    merge_method: str = "greedy"
    merge_radius: float = 0.025
    workspace_min: Vec3 = (-math.inf, -math.inf, -math.inf)
    workspace_max: Vec3 = (math.inf, math.inf, math.inf)
    min_mask_area_px: int = 50
    max_mask_fraction: float = 0.5
    max_keypoints: int = 40
    annotate: bool = True
    snap_radius: float = 0.035
    snap_quality: float = 0.1
    snap_plane_tolerance: float = 0.0005

    def __post_init__(self) -> None:
        if not isinstance(self.extractor, str) or not self.extractor:
            raise ConfigurationError(f"extractor must be a name, got {self.extractor!r}")
        if self.mask_source not in MASK_SOURCES:
            raise ConfigurationError(
                f"unknown mask_source {self.mask_source!r}; valid: {', '.join(MASK_SOURCES)}"
            )
        _positive_int(self.k, "k")
        _positive_int(self.pca_dims, "pca_dims")
        _positive_int(self.extremes, "extremes", low=0)
        for flag in ("centre", "top_face", "part_ends"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigurationError(
                    f"{flag} must be True or False, got {getattr(self, flag)!r}"
                )
        _positive_int(self.max_samples_per_mask, "max_samples_per_mask", low=2)
        _positive_int(self.min_mask_area_px, "min_mask_area_px")
        _positive_int(self.part_min_px, "part_min_px")
        _positive_int(self.max_keypoints, "max_keypoints")
        if not _is_int(self.seed):
            raise ConfigurationError(f"seed must be an int, got {self.seed!r}")
        if self.merge_method not in MERGE_METHODS:
            raise ConfigurationError(
                f"unknown merge_method {self.merge_method!r}; valid: {', '.join(MERGE_METHODS)}"
            )
        for name in ("position_weight", "merge_radius", "top_band", "spine_spacing",
                     "top_face_min_extent", "snap_radius", "snap_plane_tolerance",
                     "part_hue_step", "part_min_elongation"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        if not (isinstance(self.snap_quality, (int, float)) and 0.0 < self.snap_quality <= 1.0):
            raise ConfigurationError(
                f"snap_quality must be in (0, 1], e.g. 0.1, got {self.snap_quality!r}"
            )
        if not 0.0 < float(self.max_mask_fraction) <= 1.0:
            raise ConfigurationError(
                f"max_mask_fraction must be in (0, 1], e.g. 0.5, got {self.max_mask_fraction!r}"
            )
        lo = _as_vec3(self.workspace_min, "workspace_min")
        hi = _as_vec3(self.workspace_max, "workspace_max")
        if any(a >= b for a, b in zip(lo, hi, strict=True)):
            raise ConfigurationError(
                f"workspace_min {lo} must be below workspace_max {hi} on every axis"
            )
        object.__setattr__(self, "workspace_min", lo)
        object.__setattr__(self, "workspace_max", hi)
        object.__setattr__(self, "max_mask_fraction", float(self.max_mask_fraction))
