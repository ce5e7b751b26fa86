"""The weight-free geometric keypoint proposer.

Per object mask, from the mask's observed 3D points (world frame, metres):

1. the centre: the observed surface point nearest the 3D centroid (the top-face centre of
   a box seen from above, the floor centre of a tray);
2. extremes: for each principal axis of the points (largest spread first), the robust
   low and high ends (``extremal_percentile`` and ``100 - extremal_percentile``) placed on
   the axis through the centroid and snapped to the nearest observed point.

Candidates outside the workspace box are dropped; candidates of one object closer than
``merge_radius`` are merged, keeping the one of higher priority (centre, then major-axis
ends, ...); the total is capped at ``max_keypoints`` (every object's centre first); the
result is sorted by pixel row, then column, like the original ReKep.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keypoints.annotate import annotate_image
from keypoints.config import ProposalConfig
from keypoints.masks import filter_masks_with_reasons
from rekep.availability import is_available
from rekep.errors import ConfigurationError, KeypointError
from rekep.keypoint_set import Keypoints
from rekep.observation import RGBD

logger = logging.getLogger(__name__)


def _nearest(points: NDArray[np.float64], targets: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index into ``points`` (N, 3) of the nearest point to each of ``targets`` (T, 3)."""
    return np.array([np.argmin(((points - t) ** 2).sum(axis=1)) for t in targets], dtype=np.int64)


def principal_axes(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 3) unit principal axes of (N, 3) points as rows, largest spread first.

    Signs are fixed (largest-magnitude component positive) so the result depends on the
    point set only, not on the eigen-solver's sign choice.
    """
    centred = points - points.mean(axis=0)
    cov = centred.T @ centred / max(len(points), 1)
    _, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1].T.copy()
    for i in range(3):
        if axes[i, np.argmax(np.abs(axes[i]))] < 0:
            axes[i] = -axes[i]
    return np.asarray(axes, dtype=np.float64)


def mask_candidates(
    points: NDArray[np.float64], per_mask: int, extremal_percentile: float
) -> NDArray[np.int64]:
    """Candidate indices into ``points`` (N, 3), in priority order, at most ``per_mask``.

    Index 0 is the point nearest the centroid; then low/high ends of each principal axis.
    Duplicates (an end snapping onto an earlier candidate) are removed.
    """
    centroid = points.mean(axis=0)
    targets = [centroid]
    if per_mask > 1 and len(points) >= 2:
        for axis in principal_axes(points):
            proj = (points - centroid) @ axis
            lo, hi = np.percentile(proj, [extremal_percentile, 100.0 - extremal_percentile])
            targets += [centroid + lo * axis, centroid + hi * axis]
    chosen = _nearest(points, np.asarray(targets[:per_mask]))
    _, first = np.unique(chosen, return_index=True)
    return chosen[np.sort(first)]


def _empty(rgbd: RGBD, config: ProposalConfig) -> Keypoints:
    return Keypoints(
        positions=np.zeros((0, 3)),
        pixels=np.zeros((0, 2)),
        object_ids=np.zeros(0, dtype=np.int64),
        annotated_image=_annotated(rgbd, np.zeros((0, 2)), config),
    )


def _annotated(
    rgbd: RGBD, pixels: NDArray[np.float64], config: ProposalConfig
) -> NDArray[np.uint8] | None:
    if not config.annotate:
        return None
    if not is_available("cv2"):
        logger.warning(
            "OpenCV is not installed, so keypoints have no annotated image; "
            "install it with: pip install 'rekep[vision]'"
        )
        return None
    return annotate_image(rgbd.rgb, pixels)


def _merge(
    positions: NDArray[np.float64],
    flat: NDArray[np.int64],
    obj: NDArray[np.int64],
    radius: float,
) -> NDArray[np.int64]:
    """Indices of candidates kept after greedy merging in the given (priority) order."""
    kept: list[int] = []
    for i in range(len(positions)):
        same = [j for j in kept if obj[j] == obj[i]]
        if same:
            d = np.linalg.norm(positions[same] - positions[i], axis=1)
            if np.any(d < radius) or np.any(flat[same] == flat[i]):
                continue
        kept.append(i)
    return np.asarray(kept, dtype=np.int64)


def propose_keypoints(
    rgbd: RGBD,
    masks: Mapping[int, ArrayLike],
    config: ProposalConfig | None = None,
) -> Keypoints:
    """Propose 3D keypoints on every usable object mask (weight-free, deterministic).

    Args:
        rgbd: the observation; positions come from ``rgbd.points_world()``.
        masks: {object id: (H, W) bool mask}; ids become ``Keypoints.object_ids``.
        config: proposal settings; default :class:`ProposalConfig()`.

    Returns:
        :class:`Keypoints` with (K, 3) world positions in metres, (K, 2) pixels (u, v),
        (K,) object ids and the annotated image, sorted by pixel row then column. Empty
        (K = 0, reason logged at WARNING) when no mask survives filtering or every
        candidate lies outside the workspace.

    Raises:
        KeypointError: ``rgbd`` is not an RGBD, no masks, or a malformed mask.
        ConfigurationError: ``config`` is not a :class:`ProposalConfig`.
    """
    cfg = ProposalConfig() if config is None else config
    if not isinstance(cfg, ProposalConfig):
        raise ConfigurationError(
            f"config must be a keypoints.config.ProposalConfig, got {type(cfg).__name__}"
        )
    if not isinstance(rgbd, RGBD):
        raise KeypointError(
            f"rgbd must be a rekep.observation.RGBD, got {type(rgbd).__name__}; "
            "build one with RGBD(rgb, depth, intrinsics, T_world_camera)"
        )
    filtered = filter_masks_with_reasons(
        masks,
        rgbd.valid_depth(),
        min_area_px=cfg.min_mask_area_px,
        max_area_fraction=cfg.max_mask_fraction,
    )
    if not filtered.kept:
        logger.warning("no keypoints proposed: no usable mask (%s)", filtered.summary())
        return _empty(rgbd, cfg)

    world = rgbd.points_world().reshape(-1, 3)
    flat_l, obj_l, rank_l = [], [], []
    for obj_id, mask in filtered.kept.items():
        idx = np.flatnonzero(mask)
        chosen = idx[mask_candidates(world[idx], cfg.per_mask, cfg.extremal_percentile)]
        flat_l.append(chosen)
        obj_l.append(np.full(len(chosen), obj_id, dtype=np.int64))
        rank_l.append(np.arange(len(chosen)))
    flat, obj, rank = (np.concatenate(a) for a in (flat_l, obj_l, rank_l))
    pos = world[flat]

    lo, hi = np.asarray(cfg.workspace_min), np.asarray(cfg.workspace_max)
    inside = np.all((pos >= lo) & (pos <= hi), axis=1)
    if not inside.all():
        logger.info("dropped %d candidates outside the workspace", int((~inside).sum()))
    if not inside.any():
        logger.warning(
            "no keypoints proposed: all %d candidates lie outside the workspace %s..%s",
            len(pos), cfg.workspace_min, cfg.workspace_max,
        )  # fmt: skip
        return _empty(rgbd, cfg)
    flat, obj, rank, pos = flat[inside], obj[inside], rank[inside], pos[inside]

    order = np.lexsort((obj, rank))  # priority: every object's centre first, then ends
    flat, obj, rank, pos = flat[order], obj[order], rank[order], pos[order]
    keep = _merge(pos, flat, obj, cfg.merge_radius)
    if len(keep) > cfg.max_keypoints:
        logger.info("capping %d keypoints at max_keypoints=%d", len(keep), cfg.max_keypoints)
        keep = keep[: cfg.max_keypoints]
    flat, obj, pos = flat[keep], obj[keep], pos[keep]

    rows, cols = np.divmod(flat, rgbd.width)
    final = np.lexsort((obj, cols, rows))  # row, then column, then object id
    pixels = np.stack([cols, rows], axis=1).astype(np.float64)[final]
    logger.debug("proposed %d keypoints on %d objects", len(final), len(filtered.kept))
    return Keypoints(
        positions=pos[final],
        pixels=pixels,
        object_ids=obj[final],
        annotated_image=_annotated(rgbd, pixels, cfg),
    )


@dataclass(frozen=True)
class SimpleProposer:
    """The weight-free proposer behind the :class:`~keypoints.proposer.Proposer` interface."""

    config: ProposalConfig = field(default_factory=ProposalConfig)
    name: str = "simple"

    def __post_init__(self) -> None:
        if not isinstance(self.config, ProposalConfig):
            raise ConfigurationError(
                f"SimpleProposer config must be a ProposalConfig, got {type(self.config).__name__}"
            )

    def propose(self, rgbd: RGBD, masks: Mapping[int, ArrayLike]) -> Keypoints:
        """See :func:`propose_keypoints`."""
        return propose_keypoints(rgbd, masks, self.config)
