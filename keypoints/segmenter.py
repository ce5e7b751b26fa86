"""A weight-free RGB-D segmenter: support-plane RANSAC plus DBSCAN on the point cloud.

1. Back-project the valid-depth pixels (world frame, metres), at most ``max_points`` of
   them (a regular pixel stride).
2. RANSAC the dominant plane (open3d ``segment_plane``); when it holds at least
   ``min_plane_fraction`` of the points it is the support (table, floor): every pixel
   within ``plane_distance`` of it, or beyond it as seen from the camera, is dropped.
3. Flat objects (a pad, a sheet, a cloth) barely rise above the plane, so depth alone
   cannot find them: pixels within ``plane_distance`` of the plane whose colour differs
   from the plane's median colour by more than ``flat_color_delta`` (CIE Lab, lightness
   at half weight, so mild shading is not an object) are kept as flat-object pixels.
4. DBSCAN (open3d ``cluster_dbscan``) the points above the plane, and separately the
   flat-object points, with ``cluster_eps``, on at most ``max_points`` of them; every
   remaining pixel takes the cluster of its nearest sampled point (within ``cluster_eps``).
   A flat cluster with at least ``base_strip_fraction`` of its pixels within
   ``cluster_eps`` of one raised cluster is the base strip of that object (its bottom
   millimetres, within ``plane_distance`` of the plane) and joins it (0 disables this).
5. Depth joins touching objects (a handle on a drawer, a drawer in a cabinet): every
   cluster is split into its colour parts of at least ``min_part_px`` pixels, hue apart by
   ``part_hue_step`` degrees or grey against coloured (see :mod:`keypoints.colour_parts`;
   shading is not a boundary; 0 disables this).
6. Masks covering more than ``max_area_fraction`` of the image (background) or fewer than
   ``min_area_px`` pixels are dropped. Object ids are 1, 2, ... in raster order of each
   mask's first pixel, so they do not depend on open3d's label numbering.

open3d is imported lazily (extra ``segment``); its failures become KeypointError.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from keypoints.backproject import world_points
from keypoints.colour_parts import colour_parts
from keypoints.features.geometric import rgb_to_lab
from rekep.availability import require
from rekep.errors import ConfigurationError, KeypointError
from rekep.observation import RGBD

logger = logging.getLogger(__name__)

BoolMask = NDArray[np.bool_]


@dataclass(frozen=True)
class SegmenterConfig:
    """Settings of :func:`segment_rgbd` (lengths in metres, areas in pixels); see the
    module docstring for what each step does. ``flat_color_delta`` is a CIE Lab distance
    (0 disables flat-object detection); ``max_points`` bounds the RANSAC and DBSCAN inputs;
    ``base_strip_fraction`` in [0, 1] and ``part_hue_step`` in degrees (0 disables each)."""

    plane_distance: float = 0.006
    plane_iterations: int = 500
    min_plane_fraction: float = 0.2
    cluster_eps: float = 0.02
    cluster_min_points: int = 10
    max_points: int = 10_000
    min_area_px: int = 200
    max_area_fraction: float = 0.5
    max_range: float = math.inf
    flat_color_delta: float = 25.0
    base_strip_fraction: float = 0.8
    part_hue_step: float = 6.0
    min_part_px: int = 400
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("plane_distance", "cluster_eps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be a length > 0 in metres, got {v!r}")
        for name in ("plane_iterations", "cluster_min_points", "max_points", "min_area_px",
                     "min_part_px"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigurationError(f"{name} must be an int >= 1, got {v!r}")
        if not 0.0 <= float(self.min_plane_fraction) <= 1.0:
            raise ConfigurationError(f"min_plane_fraction must be in [0, 1], got "
                                     f"{self.min_plane_fraction!r}")  # fmt: skip
        if not 0.0 < float(self.max_area_fraction) <= 1.0:
            raise ConfigurationError(f"max_area_fraction must be in (0, 1], got "
                                     f"{self.max_area_fraction!r}")  # fmt: skip
        d = self.flat_color_delta
        if not (isinstance(d, (int, float)) and math.isfinite(d) and d >= 0):
            raise ConfigurationError(f"flat_color_delta must be a colour distance >= 0 (Lab "
                                     f"units; 0 disables flat objects), got {d!r}")  # fmt: skip
        v = self.base_strip_fraction
        if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
            raise ConfigurationError(f"base_strip_fraction must be in [0, 1] (0 disables "
                                     f"merging), got {v!r}")  # fmt: skip
        v = self.part_hue_step
        if not (isinstance(v, (int, float)) and 0.0 <= v <= 180.0):
            raise ConfigurationError(f"part_hue_step must be an angle in [0, 180] degrees (0 "
                                     f"disables colour parts), got {v!r}")  # fmt: skip
        if not float(self.max_range) > 0:
            raise ConfigurationError(f"max_range must be > 0 metres, got {self.max_range!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigurationError(f"seed must be an int, got {self.seed!r}")


@dataclass(frozen=True)
class Segmentation:
    """What :func:`segment_rgbd_with_reasons` found.

    Attributes:
        masks: {object id: (H, W) bool}, ids 1, 2, ... in raster order.
        dropped: {cluster number: reason} for clusters that did not become masks.
        plane: (4,) support plane (a, b, c, d), a x + b y + c z + d = 0 in world metres,
            unit normal towards the camera; None when no support plane was found.
        reason: why ``masks`` is empty ('' otherwise).
    """

    masks: dict[int, BoolMask] = field(default_factory=dict)
    dropped: dict[int, str] = field(default_factory=dict)
    plane: NDArray[np.float64] | None = None
    reason: str = ""


def _stride_sample(pixels: NDArray[np.int64], width: int, limit: int) -> NDArray[np.int64]:
    """A regular pixel-grid subset of flat ``pixels`` with at most about ``limit`` entries."""
    if len(pixels) <= limit:
        return pixels
    s = math.ceil(math.sqrt(len(pixels) / limit))
    rows, cols = np.divmod(pixels, width)
    sub = pixels[(rows % s == 0) & (cols % s == 0)]
    return sub if len(sub) <= limit else sub[:: math.ceil(len(sub) / limit)]


def _cloud(o3d: Any, points: NDArray[np.float64]) -> Any:
    pcd = o3d.geometry.PointCloud()
    pcd.points = o3d.utility.Vector3dVector(np.ascontiguousarray(points, dtype=np.float64))
    return pcd


def _support_plane(
    o3d: Any, points: NDArray[np.float64], eye: NDArray[np.float64], cfg: SegmenterConfig
) -> NDArray[np.float64] | None:
    if len(points) < 3:
        return None
    try:
        model, inliers = _cloud(o3d, points).segment_plane(
            distance_threshold=cfg.plane_distance, ransac_n=3,
            num_iterations=cfg.plane_iterations,
        )  # fmt: skip
    except RuntimeError as exc:
        raise KeypointError(f"open3d plane RANSAC failed on {len(points)} points: {exc}") from exc
    fraction = len(inliers) / len(points)
    if fraction < cfg.min_plane_fraction:
        logger.info("no support plane: the best plane holds %.0f%% of the points < %.0f%%",
                    100 * fraction, 100 * cfg.min_plane_fraction)  # fmt: skip
        return None
    plane = np.asarray(model, dtype=np.float64)
    plane /= np.linalg.norm(plane[:3])
    if plane[:3] @ eye + plane[3] < 0:  # normal towards the camera
        plane = -plane
    return plane


def _flat_object_pixels(
    rgbd: RGBD, on_plane: NDArray[np.int64], cfg: SegmenterConfig
) -> NDArray[np.int64]:
    """The (M,) flat pixels among ``on_plane`` whose colour is not the plane's."""
    if len(on_plane) < cfg.cluster_min_points:
        return np.zeros(0, dtype=np.int64)
    rgb = rgbd.rgb.reshape(-1, 3)
    scale = np.array([0.5, 1.0, 1.0])
    lab = rgb_to_lab(rgb[on_plane]) * scale
    reference = np.median(lab[:: max(1, len(lab) // 20_000)], axis=0)
    far = np.sqrt(((lab - reference) ** 2).sum(axis=1)) > cfg.flat_color_delta
    return on_plane[far]


def _dbscan(
    o3d: Any, world: NDArray[np.float64], pixels: NDArray[np.int64], width: int,
    cfg: SegmenterConfig,
) -> NDArray[np.int64]:  # fmt: skip
    """(len(pixels),) DBSCAN cluster labels (-1 = noise) of the pixels' world points."""
    if len(pixels) < cfg.cluster_min_points:
        return np.full(len(pixels), -1, dtype=np.int64)
    sample = _stride_sample(pixels, width, cfg.max_points)
    try:
        raw = np.asarray(_cloud(o3d, world[sample]).cluster_dbscan(
            eps=cfg.cluster_eps, min_points=cfg.cluster_min_points, print_progress=False
        ), dtype=np.int64)  # fmt: skip
    except RuntimeError as exc:
        raise KeypointError(f"open3d DBSCAN failed on {len(sample)} points: {exc}") from exc
    if len(sample) == len(pixels):
        return raw
    dist, nearest = cKDTree(world[sample]).query(world[pixels],
                                                 distance_upper_bound=cfg.cluster_eps)
    return np.where(np.isfinite(dist), raw[np.minimum(nearest, len(sample) - 1)], -1)


def _merge_base_strips(
    world: NDArray[np.float64], raised: NDArray[np.int64], raised_labels: NDArray[np.int64],
    flat: NDArray[np.int64], flat_labels: NDArray[np.int64], width: int, cfg: SegmenterConfig,
) -> NDArray[np.int64]:  # fmt: skip
    """``flat_labels`` with every flat cluster that hugs the base of a raised one (at least
    ``base_strip_fraction`` of its pixels within ``cluster_eps`` of that cluster) relabelled
    as that raised cluster: the bottom few millimetres of an object standing on the plane
    are an object's, not a flat object of their own."""
    out = flat_labels.copy()
    ok = raised_labels >= 0
    if cfg.base_strip_fraction <= 0 or not ok.any() or not (flat_labels >= 0).any():
        return out
    sample = _stride_sample(raised[ok], width, cfg.max_points)
    sample_labels = raised_labels[ok][np.searchsorted(raised[ok], sample)]
    dist, nearest = cKDTree(world[sample]).query(world[flat],
                                                 distance_upper_bound=cfg.cluster_eps)
    near = np.isfinite(dist)
    for c in np.unique(flat_labels[flat_labels >= 0]):
        members = flat_labels == c
        if near[members].mean() >= cfg.base_strip_fraction:
            hosts = sample_labels[nearest[members & near]]
            out[members] = int(np.bincount(hosts).argmax())
    return out


def _split_colour_parts(
    rgbd: RGBD, pixels: NDArray[np.int64], labels: NDArray[np.int64], cfg: SegmenterConfig
) -> NDArray[np.int64]:
    """``labels`` with every cluster split into its parts of different colour (see
    :mod:`keypoints.colour_parts`); new parts take fresh label numbers."""
    out = labels.copy()
    rgb = rgbd.rgb.reshape(-1, 3)
    next_label = int(labels.max(initial=-1)) + 1
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        parts = colour_parts(pixels[idx], rgb[pixels[idx]], rgbd.width,
                             cfg.part_hue_step, cfg.min_part_px)  # fmt: skip
        extra = parts > 0
        out[idx[extra]] = next_label + parts[extra] - 1
        next_label += int(parts.max())
    return out


def segment_rgbd_with_reasons(rgbd: RGBD, config: SegmenterConfig | None = None) -> Segmentation:
    """Object masks of ``rgbd`` without learned weights; see the module docstring.

    Raises:
        KeypointError: ``rgbd`` is not an RGBD, or open3d fails.
        ConfigurationError: ``config`` is not a SegmenterConfig.
        MissingDependencyError: open3d is not installed (extra ``segment``).
    """
    cfg = SegmenterConfig() if config is None else config
    if not isinstance(cfg, SegmenterConfig):
        raise ConfigurationError(f"config must be a SegmenterConfig, got {type(cfg).__name__}")
    if not isinstance(rgbd, RGBD):
        raise KeypointError(f"the segmenter needs a rekep.observation.RGBD, got "
                            f"{type(rgbd).__name__}")  # fmt: skip
    o3d = require("open3d", "the RGB-D segmenter")
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    o3d.utility.random.seed(cfg.seed)
    H, W = rgbd.height, rgbd.width
    valid = rgbd.valid_depth().reshape(-1) & (rgbd.depth.reshape(-1) <= cfg.max_range)
    pixels = np.flatnonzero(valid)
    if len(pixels) < cfg.cluster_min_points:
        return Segmentation(reason=f"only {len(pixels)} valid-depth pixels")
    world = np.full((H * W, 3), np.nan)
    world[pixels] = world_points(rgbd, pixels)

    eye = rgbd.T_world_camera[:3, 3]
    plane = _support_plane(o3d, world[_stride_sample(pixels, W, cfg.max_points)], eye, cfg)
    flat = np.zeros(0, dtype=np.int64)
    if plane is not None:
        height = world[pixels] @ plane[:3] + plane[3]
        if cfg.flat_color_delta > 0:
            flat = _flat_object_pixels(rgbd, pixels[np.abs(height) < cfg.plane_distance], cfg)
        pixels = pixels[height >= cfg.plane_distance]  # off the plane, on the camera side
    if len(pixels) + len(flat) < cfg.cluster_min_points:
        return Segmentation(plane=plane, reason="nothing above the support plane")

    labels = _dbscan(o3d, world, pixels, W, cfg)
    if len(flat):
        flat_labels = _dbscan(o3d, world, flat, W, cfg)
        flat_labels[flat_labels >= 0] += int(labels.max(initial=-1)) + 1
        flat_labels = _merge_base_strips(world, pixels, labels, flat, flat_labels, W, cfg)
        pixels, labels = np.concatenate([pixels, flat]), np.concatenate([labels, flat_labels])
    if cfg.part_hue_step > 0:
        labels = _split_colour_parts(rgbd, pixels, labels, cfg)

    masks: dict[int, BoolMask] = {}
    dropped: dict[int, str] = {}
    clusters = [c for c in np.unique(labels) if c >= 0]
    order = sorted(clusters, key=lambda c: int(pixels[labels == c].min()))
    for number, c in enumerate(order, start=1):
        members = pixels[labels == c]
        if len(members) > cfg.max_area_fraction * H * W:
            dropped[number] = f"background-sized ({len(members) / (H * W):.0%} of the image)"
        elif len(members) < cfg.min_area_px:
            dropped[number] = f"too small ({len(members)} px < {cfg.min_area_px})"
        else:
            mask = np.zeros(H * W, dtype=bool)
            mask[members] = True
            masks[len(masks) + 1] = mask.reshape(H, W)
    reason = "" if masks else f"no cluster became a mask ({len(order)} clusters, all dropped)"
    logger.debug("segmenter: %d masks, dropped %s", len(masks), dropped)
    return Segmentation(masks=masks, dropped=dropped, plane=plane, reason=reason)


def segment_rgbd(rgbd: RGBD, config: SegmenterConfig | None = None) -> dict[int, BoolMask]:
    """{object id: (H, W) bool mask} of the objects on the support plane (may be empty; the
    reason is then logged at WARNING). See :func:`segment_rgbd_with_reasons`."""
    result = segment_rgbd_with_reasons(rgbd, config)
    if not result.masks:
        logger.warning("the RGB-D segmenter found no object: %s", result.reason)
    return result.masks
