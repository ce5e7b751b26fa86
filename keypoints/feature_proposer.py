"""The feature-clustering keypoint proposer (the ReKep recipe, made robust).

Per usable mask (background-sized, tiny and invalid-depth pixels dropped): per-pixel
features PCA-reduced to ``pca_dims`` and min-max normalized, concatenated with the
min-max-normalized 3D points; k-means; per cluster the mask pixel nearest the centre is
a candidate, weighted by its cluster's pixel count. Geometric candidates join them: the
surface point nearest the mask's 3D centroid (weighted 3/4 of the lightest cluster) and
``extremes`` extremities by farthest-point sampling from the centroid (weighted half the
lightest cluster), so merging favours the cluster representatives (the middles of faces
and parts), then the centre, then the extremities. The two ends of each bar-shaped colour
part inside a mask (a handle on a drawer, :mod:`keypoints.part_ends`) rank between
the centre and the extremities (weighted 3/5 of the lightest cluster).
Candidates outside the workspace box
are dropped; the rest are merged in 3D within each object (greedy non-maximum
suppression by weight, keeping the heaviest candidate of each group; or mean-shift or
DBSCAN, each group represented by the member nearest its weighted mean); the total is
capped (objects
take turns, heaviest groups first); each keypoint then moves to the strongest texture corner
of its object within ``snap_radius`` (:mod:`keypoints.texture_snap`: where a tracker can
follow it); keypoints are sorted by pixel row, then column.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keypoints.annotate import annotate_image
from keypoints.backproject import world_points
from keypoints.clustering import (
    farthest_points,
    greedy_leaders,
    kmeans,
    merge_labels,
    minmax_normalize,
    pca_reduce,
)
from keypoints.clustering import representatives as group_representatives
from keypoints.feature_config import FeatureProposalConfig
from keypoints.features import FeatureExtractor, get_feature_extractor
from keypoints.mask_sources import resolve_masks
from keypoints.masks import filter_masks_with_reasons
from keypoints.part_ends import bar_part_ends
from keypoints.segmenter import SegmenterConfig
from keypoints.texture_snap import snap_to_texture
from keypoints.top_face import top_face_candidates
from rekep.availability import is_available
from rekep.errors import ConfigurationError, KeypointError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProposalReport:
    """What one proposal did. ``reason`` says why the result is empty ('' otherwise);
    ``timings_ms`` holds wall times of the stages (masks, features, clusters, merge,
    snap, annotate) in milliseconds."""

    extractor: str
    masks_used: tuple[int, ...] = ()
    masks_dropped: dict[int, str] = field(default_factory=dict)
    candidates: int = 0
    outside_workspace: int = 0
    merged_away: int = 0
    capped: int = 0
    reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


#: weights of top-face candidates (centre, axis end, spine point, inset) as fractions of
#: the lightest cluster's: the centre, ends and spine below the extremities', so they fill
#: gaps and displace nothing; the insets (a long object's two-handed grasp points one
#: spine spacing in from its ends) above them, so a total cap cuts them last of the face
_TOP_WEIGHTS = (0.45, 0.4, 0.3, 0.55)


def _horizontal_length(points: NDArray[np.float64]) -> float:
    """Length of the points' horizontal footprint along its principal axis, metres."""
    xy = points[:, :2] - points[:, :2].mean(axis=0)
    if len(xy) < 2:
        return 0.0
    axis = np.linalg.svd(xy, full_matrices=False)[2][0]
    return float(np.ptp(xy @ axis))


def mask_candidates(
    features: NDArray[np.float32],
    points: NDArray[np.float64],
    cfg: FeatureProposalConfig,
    colours: tuple[NDArray[np.int64], NDArray[np.uint8], int] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Candidate rows of one mask's (N, D) features / (N, 3) points, and their weights.

    ``colours`` ((N,) flat pixel indices, (N, 3) uint8 RGB, image width) enables the ends of
    bar-shaped colour parts (``cfg.part_ends``); without it they are skipped.

    Returns (C,) indices into the mask's pixels (ascending, distinct) and (C,) weights: the
    pixel counts of their k-means clusters, plus the centre's and extremities' weights
    (see the module docstring); a pixel chosen twice sums its weights.
    """
    n = len(points)
    sub = np.unique(np.linspace(0, n - 1, min(n, cfg.max_samples_per_mask)).astype(np.int64))
    reduced = minmax_normalize(pca_reduce(features, cfg.pca_dims, fit_rows=sub))
    x = np.concatenate([reduced, cfg.position_weight * minmax_normalize(points)], axis=1)
    centres = kmeans(x[sub], cfg.k, seed=cfg.seed).centres
    d = (x * x).sum(1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(1)[None]
    counts = np.bincount(np.argmin(d, axis=1), minlength=len(centres)).astype(np.float64)
    best = np.argmin(d, axis=0)  # per centre, its nearest pixel
    keep = counts > 0
    rows, w = [best[keep]], [counts[keep]]
    centroid = points[sub].mean(axis=0)
    if cfg.centre:
        rows.append(np.array([np.argmin(((points - centroid) ** 2).sum(1))]))
        w.append(np.array([max(0.75 * counts[keep].min(), 1.5)]))
    if cfg.extremes:
        ends = sub[farthest_points(points[sub], cfg.extremes, centroid)]
        rows.append(ends)
        w.append(np.full(len(ends), max(0.5 * counts[keep].min(), 1.0)))
    if cfg.top_face and _horizontal_length(points[sub]) >= cfg.top_face_min_extent:
        top_rows, kinds = top_face_candidates(points[sub], cfg.top_band, cfg.spine_spacing)
        rows.append(sub[top_rows])
        w.append(max(counts[keep].min(), 2.0) * np.asarray(_TOP_WEIGHTS)[kinds])
    if cfg.part_ends and colours is not None:
        flat, rgb, width = colours
        part_rows = bar_part_ends(
            points, flat, rgb, width, hue_step=cfg.part_hue_step,
            min_part_px=cfg.part_min_px, min_elongation=cfg.part_min_elongation,
        )  # fmt: skip
        rows.append(part_rows)  # above extremities: programs name a handle's ends, not corners
        w.append(np.full(len(part_rows), max(0.6 * counts[keep].min(), 1.2)))
    all_rows, all_w = np.concatenate(rows), np.concatenate(w)
    chosen = np.unique(all_rows)
    weights = np.zeros(len(chosen))
    np.add.at(weights, np.searchsorted(chosen, all_rows), all_w)
    return chosen.astype(np.int64), weights


def _round_robin(obj: NDArray[np.int64], weight: NDArray[np.float64]) -> NDArray[np.int64]:
    """Order indices so objects take turns, each offering its heaviest candidate first."""
    order = np.lexsort((-weight, obj))
    turn = np.zeros(len(obj), dtype=np.int64)
    for o in np.unique(obj):
        idx = order[obj[order] == o]
        turn[idx] = np.arange(len(idx))
    return np.lexsort((obj, turn))


class FeatureProposer:
    """Keypoints from clustered per-pixel features (registered as ``features``).

    Args:
        config: proposal settings (default :class:`FeatureProposalConfig()`).
        extractor: a feature extractor instance; default: built from ``config.extractor``
            (``auto``: DINOv2 when its weights are on disk, else geometric, with a notice).
        segmenter: settings of the RGB-D segmenter for ``mask_source='segmenter'``.
    """

    name = "features"

    def __init__(
        self,
        config: FeatureProposalConfig | None = None,
        extractor: FeatureExtractor | None = None,
        segmenter: SegmenterConfig | None = None,
    ) -> None:
        cfg = FeatureProposalConfig() if config is None else config
        if not isinstance(cfg, FeatureProposalConfig):
            raise ConfigurationError(
                f"config must be a FeatureProposalConfig, got {type(cfg).__name__}"
            )
        if extractor is not None and not isinstance(extractor, FeatureExtractor):
            raise ConfigurationError(
                f"extractor must be a keypoints.features.FeatureExtractor, got "
                f"{type(extractor).__name__}; build one with get_feature_extractor(name)"
            )
        self.config = cfg
        self.segmenter = segmenter
        self.extractor = extractor if extractor is not None else get_feature_extractor(
            cfg.extractor
        )  # fmt: skip

    def propose(self, rgbd: RGBD, masks: Mapping[int, Any] | np.ndarray | None = None) -> Keypoints:
        """Keypoints on ``rgbd``; see :meth:`propose_with_report`."""
        return self.propose_with_report(rgbd, masks)[0]

    def _empty(self, rgbd: RGBD, report: ProposalReport) -> tuple[Keypoints, ProposalReport]:
        logger.warning("no keypoints proposed: %s", report.reason)
        kp = Keypoints(np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0, dtype=np.int64),
                       annotated_image=self._annotated(rgbd, np.zeros((0, 2))))  # fmt: skip
        return kp, report

    def _annotated(self, rgbd: RGBD, pixels: NDArray[np.float64]) -> NDArray[np.uint8] | None:
        if not self.config.annotate:
            return None
        if not is_available("cv2"):
            logger.warning("OpenCV is not installed, so keypoints have no annotated image; "
                           "install it with: pip install 'rekep[vision]'")  # fmt: skip
            return None
        return annotate_image(rgbd.rgb, pixels)

    def propose_with_report(
        self, rgbd: RGBD, masks: Mapping[int, Any] | np.ndarray | None = None
    ) -> tuple[Keypoints, ProposalReport]:
        """Keypoints on ``rgbd`` and a report of what happened.

        Args:
            rgbd: the observation.
            masks: with ``mask_source='given'``: {object id: (H, W) bool} or an (H, W) int
                segmentation image; with ``'segmenter'``: None.

        Returns:
            :class:`Keypoints` ((K, 3) world metres, (K, 2) pixels (u, v), (K,) object ids,
            annotated image), sorted by pixel row then column, and the report. K = 0 with
            ``report.reason`` set (and logged) when nothing usable is left.

        Raises:
            KeypointError: not an RGBD, masks missing or malformed (wrong shape, not bool).
        """
        if not isinstance(rgbd, RGBD):
            raise KeypointError(f"rgbd must be a rekep.observation.RGBD, got "
                                f"{type(rgbd).__name__}")  # fmt: skip
        cfg, t = self.config, {"start": time.perf_counter()}
        name = self.extractor.name

        def lap(stage: str) -> None:
            t[stage] = time.perf_counter()

        given, why = resolve_masks(cfg.mask_source, rgbd, masks, self.segmenter)
        if why:
            return self._empty(rgbd, ProposalReport(extractor=name, reason=why))
        filtered = filter_masks_with_reasons(
            given, rgbd.valid_depth(), min_area_px=cfg.min_mask_area_px,
            max_area_fraction=cfg.max_mask_fraction,
        )  # fmt: skip
        report = ProposalReport(extractor=name, masks_used=tuple(filtered.kept),
                                masks_dropped=dict(filtered.dropped))  # fmt: skip
        if not filtered.kept:
            why = f"no usable mask ({filtered.summary()})"
            return self._empty(rgbd, replace(report, reason=why))
        lap("masks")

        flats = [np.flatnonzero(m) for m in filtered.kept.values()]
        all_flat = np.concatenate(flats)
        rows, cols = np.divmod(all_flat, rgbd.width)
        feats = self.extractor.extract_at(rgbd, rows, cols)
        if not np.all(np.isfinite(feats)):
            raise KeypointError(f"the {name} extractor returned NaN or inf features")
        world = world_points(rgbd, all_flat)
        lap("features")

        flat_l: list[NDArray[np.int64]] = []
        obj_l: list[NDArray[np.int64]] = []
        w_l: list[NDArray[np.float64]] = []
        start = 0
        for obj_id, flat in zip(filtered.kept, flats, strict=True):
            rows_of_mask = slice(start, start + len(flat))
            start += len(flat)
            colours = (flat, rgbd.rgb.reshape(-1, 3)[flat], rgbd.width)
            chosen, weights = mask_candidates(
                feats[rows_of_mask], world[rows_of_mask], cfg, colours
            )
            flat_l.append(flat[chosen])
            obj_l.append(np.full(len(chosen), obj_id, dtype=np.int64))
            w_l.append(weights)
        flat, obj = np.concatenate(flat_l), np.concatenate(obj_l)
        weight = np.concatenate(w_l)
        n_cand = len(flat)
        lap("clusters")

        pos = world_points(rgbd, flat)
        inside = np.all((pos >= cfg.workspace_min) & (pos <= cfg.workspace_max), axis=1)
        report = replace(report, candidates=n_cand, outside_workspace=int((~inside).sum()))
        if not inside.any():
            why = (f"all {n_cand} candidates lie outside the workspace "
                   f"{cfg.workspace_min}..{cfg.workspace_max}")  # fmt: skip
            return self._empty(rgbd, replace(report, reason=why))
        flat, obj, weight, pos = flat[inside], obj[inside], weight[inside], pos[inside]

        keep_l: list[NDArray[np.int64]] = []
        w_keep: list[NDArray[np.float64]] = []
        for o in np.unique(obj):
            idx = np.flatnonzero(obj == o)
            if cfg.merge_method == "greedy":
                labels, reps = greedy_leaders(pos[idx], cfg.merge_radius, weight[idx])
            else:
                labels = merge_labels(pos[idx], cfg.merge_radius, cfg.merge_method, weight[idx])
                reps = group_representatives(pos[idx], labels, weight[idx])
            keep_l.append(idx[reps])
            w_keep.append(np.bincount(labels, weights=weight[idx]).astype(np.float64))
        keep, group_w = np.concatenate(keep_l), np.concatenate(w_keep)
        merged_away = len(flat) - len(keep)
        priority = keep[_round_robin(obj[keep], group_w)]
        capped = max(0, len(priority) - cfg.max_keypoints)
        sel = priority[: cfg.max_keypoints]
        flat, obj, pos = flat[sel], obj[sel], pos[sel]
        lap("merge")
        if cfg.snap_radius > 0:
            flat = snap_to_texture(rgbd, filtered.kept, flat, obj, cfg.snap_radius,
                                   cfg.snap_quality, cfg.snap_plane_tolerance)  # fmt: skip
            pos = world_points(rgbd, flat)
            lap("snap")

        r, c = np.divmod(flat, rgbd.width)
        final = np.lexsort((obj, c, r))  # pixel row, then column, then object id
        pixels = np.stack([c, r], axis=1).astype(np.float64)[final]
        image = self._annotated(rgbd, pixels)
        lap("annotate")
        stages = list(t)
        timings = {s: 1e3 * (t[s] - t[p]) for p, s in pairwise(stages)}
        report = replace(report, merged_away=merged_away, capped=capped, timings_ms=timings)
        kp = Keypoints(positions=pos[final], pixels=pixels, object_ids=obj[final],
                       annotated_image=image)  # fmt: skip
        return kp, report
