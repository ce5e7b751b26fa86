"""Wide-area re-detection of a rigid object after it jumped (knocked, moved, turned).

Objects are assumed to rest on horizontal supports (world z up), so a jump is mostly a
translation plus a turn about the vertical (yaw). The search therefore runs in a top-down
view: the observation's point cloud, kept between ``z_margin_m`` below and above the
object's reference heights (which drops the arm above it), is drawn orthographically onto
an xy grid of ``cell_m`` cells holding the colour and height of the highest point per cell.
In that view a yaw is an exact image rotation and there is no perspective scale.

* :func:`make_template` cuts an :class:`ObjectTemplate` from a reference observation: the
  object's cells (a mask from the proposal, or the pixels within ``radius_m`` of its
  keypoints) with a ring of ``ring_cells`` of surroundings, and the object's 3D points.
* :func:`find_object` draws the top-down view of a new observation within
  ``search_radius_m`` of the reference position and matches the template, turned every
  ``angle_step_deg``, by normalized cross-correlation (``cv2.matchTemplate``,
  ``TM_CCOEFF_NORMED``, masked; channels R, G, B and height). Candidates, best first, must
  match the template's mean colour within ``max_colour_angle_rad``; their coarse motion
  (yaw, xy shift, median height change) is refined by a few trimmed ICP steps (nearest
  neighbours within ``inlier_m``, Kabsch), and at least ``min_inlier_fraction`` of the
  object's reference points must then lie within ``inlier_m`` of the observed surface.

The result ``T`` (reference world -> now) moves every keypoint of the object. Only images,
depth and camera poses are used, never simulator state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from rekep.observation import RGBD
from rekep.tracking.base import TrackingError
from rekep.tracking.lk import cv2
from rekep.tracking.rigid import kabsch

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)
HEIGHT_GAIN = 2550.0  # height channel of the top-down view: grey levels per metre


@dataclass(frozen=True)
class RedetectConfig:
    """Settings of the wide re-detection (metres, degrees, cells).

    Attributes:
        cell_m: top-down cell side. angle_step_deg: yaw step of the turned templates.
        ring_cells: background ring kept around the object in the template.
        radius_m: without a mask, the object is the pixels this close to its keypoints.
        search_radius_m: half side of the searched square around the last position.
        z_margin_m: heights kept around the object's reference heights.
        min_score: least NCC score of a candidate. max_candidates: candidates checked.
        max_colour_angle_rad: angle allowed between the mean RGB vectors of template and
            match (hue and saturation, not brightness: faces turned to the light differ).
        inlier_m / min_inlier_fraction: after the fit, this share of the object's points
            must lie this close to the observed surface. icp_iterations: refinement steps.
        min_points: fewest object points (template, matches) worth a decision.
    """

    cell_m: float = 0.004
    angle_step_deg: float = 10.0
    ring_cells: int = 3
    radius_m: float = 0.04
    search_radius_m: float = 0.40
    z_margin_m: float = 0.02
    min_score: float = 0.4
    max_candidates: int = 8
    max_colour_angle_rad: float = 0.15
    inlier_m: float = 0.01
    min_inlier_fraction: float = 0.5
    icp_iterations: int = 5
    min_points: int = 12

    def __post_init__(self) -> None:
        for name in ("cell_m", "radius_m", "search_radius_m", "z_margin_m",
                     "max_colour_angle_rad", "inlier_m"):  # fmt: skip
            if not getattr(self, name) > 0:
                raise TrackingError(f"{name} must be positive, got {getattr(self, name)}")
        if not (0 < self.angle_step_deg <= 180 and 0 < self.min_inlier_fraction <= 1):
            raise TrackingError("need 0 < angle_step_deg <= 180, 0 < min_inlier_fraction <= 1")
        if not -1 <= self.min_score <= 1:
            raise TrackingError(f"min_score is an NCC score in [-1, 1], got {self.min_score}")
        if self.ring_cells < 0 or self.max_candidates < 1 or self.min_points < 3:
            raise TrackingError("ring_cells >= 0, max_candidates >= 1 and min_points >= 3 needed")


@dataclass(frozen=True)
class ObjectTemplate:
    """One object's top-down appearance in a reference observation.

    Attributes:
        view: (h, w, 4) float32 cells: R, G, B (0-255) and height (:data:`HEIGHT_GAIN`).
        mask: (h, w) uint8, 255 on object and ring cells with data, else 0.
        object_cells: (h, w) bool cells holding object points.
        centre: (2,) cell (col, row) the template turns about (object cells' centroid).
        centre_xy: (2,) world xy of that cell centre, metres.
        points: (N, 3) the object's world points in the reference, metres.
        point_colours: (N, 3) their RGB colours.
        z_range: (2,) lowest and highest object height, metres.
        colour: (3,) mean RGB of the object cells.
    """

    view: NDArray[np.float32]
    mask: NDArray[np.uint8]
    object_cells: NDArray[np.bool_]
    centre: FloatArray
    centre_xy: FloatArray
    points: FloatArray
    point_colours: FloatArray
    z_range: FloatArray
    colour: FloatArray


@dataclass(frozen=True)
class Detection:
    """A re-detected object: ``T`` (4, 4) maps reference world points to where they are
    now; ``score`` the NCC score; ``inliers`` the fraction of the object's reference points
    on the observed surface after the fit; ``yaw_deg`` the coarse turn."""

    T: FloatArray
    score: float
    inliers: float
    yaw_deg: float


def region_mask(obs: RGBD, points_world: FloatArray, radius_m: float) -> NDArray[np.bool_]:
    """(H, W) pixels whose world point lies within ``radius_m`` of one of (N, 3) points and
    above the lowest of those points minus ``radius_m / 2`` (a crude object region)."""
    cloud = obs.points_world()
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    mask = np.zeros(cloud.shape[:2], dtype=bool)
    with np.errstate(invalid="ignore"):
        finite = np.all(np.isfinite(cloud), axis=-1) & (
            cloud[..., 2] >= pts[:, 2].min() - radius_m / 2
        )
        for p in pts:
            mask |= finite & (np.linalg.norm(cloud - p, axis=-1) <= radius_m)
    return mask


def _topdown(
    xyz: FloatArray, rgb: FloatArray, origin: FloatArray, shape: tuple[int, int], cell: float
) -> NDArray[np.float32]:
    """(rows, cols, 5) view: R, G, B, scaled height of the highest point per cell, and 1 on
    cells with data (0 elsewhere); row index grows with world y, column with world x."""
    rows, cols = shape
    out = np.zeros((rows, cols, 5), np.float32)
    ix = np.floor((xyz[:, 0] - origin[0]) / cell).astype(np.int64)
    iy = np.floor((xyz[:, 1] - origin[1]) / cell).astype(np.int64)
    keep = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
    if not keep.any():
        return out
    ix, iy, z, c = ix[keep], iy[keep], xyz[keep, 2], rgb[keep]
    cell_id = iy * cols + ix
    order = np.lexsort((-z, cell_id))  # per cell, highest first
    first = np.unique(cell_id[order], return_index=True)[1]
    pick = order[first]
    out[iy[pick], ix[pick], :3] = c[pick]
    out[iy[pick], ix[pick], 3] = z[pick] * HEIGHT_GAIN
    out[iy[pick], ix[pick], 4] = 1.0
    return out


def _cloud(obs: RGBD, zlo: float, zhi: float) -> tuple[FloatArray, FloatArray]:
    """(N, 3) world points of ``obs`` with heights in [zlo, zhi] and their (N, 3) colours."""
    cloud = obs.points_world().reshape(-1, 3)
    rgb = obs.rgb.reshape(-1, 3).astype(np.float64)
    with np.errstate(invalid="ignore"):
        keep = np.all(np.isfinite(cloud), axis=1) & (cloud[:, 2] >= zlo) & (cloud[:, 2] <= zhi)
    return cloud[keep], rgb[keep]


def make_template(
    obs: RGBD, object_mask: NDArray[np.bool_], config: RedetectConfig | None = None
) -> ObjectTemplate | None:
    """The top-down template of the object at ``object_mask`` (H, W) in ``obs``; None when
    the object shows fewer than ``min_points`` points with valid depth."""
    cfg = config or RedetectConfig()
    cloud = obs.points_world()
    valid = np.asarray(object_mask, bool) & np.all(np.isfinite(cloud), axis=-1)
    if int(valid.sum()) < cfg.min_points:
        return None
    pts = cloud[valid]
    z_range = np.array([pts[:, 2].min(), pts[:, 2].max()])
    pad = (cfg.ring_cells + 1) * cfg.cell_m
    lo, hi = pts[:, :2].min(axis=0) - pad, pts[:, :2].max(axis=0) + pad
    shape = (int(np.ceil((hi[1] - lo[1]) / cfg.cell_m)), int(np.ceil((hi[0] - lo[0]) / cfg.cell_m)))
    obj = _topdown(pts, obs.rgb[valid].astype(np.float64), lo, shape, cfg.cell_m)
    around, around_rgb = _cloud(obs, z_range[0] - cfg.z_margin_m, z_range[1] + cfg.z_margin_m)
    view = _topdown(around, around_rgb, lo, shape, cfg.cell_m)
    cells = obj[..., 4] > 0
    view[cells] = obj[cells]
    k = 2 * cfg.ring_cells + 1
    ring = cv2.dilate(cells.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    mask = ((ring & (view[..., 4] > 0)) * 255).astype(np.uint8)
    r, c = np.nonzero(cells)
    centre = np.array([c.mean(), r.mean()])
    return ObjectTemplate(
        view=np.ascontiguousarray(view[..., :4]), mask=mask, object_cells=cells, centre=centre,
        centre_xy=lo + (centre + 0.5) * cfg.cell_m, points=pts,
        point_colours=obs.rgb[valid].astype(np.float64), z_range=z_range,
        colour=obj[cells][:, :3].mean(axis=0).astype(np.float64),
    )


def group_templates(
    obs: RGBD, groups: ArrayLike | None, points: FloatArray,
    masks: Mapping[int, NDArray[np.bool_]], config: RedetectConfig, enabled: bool = True,
) -> tuple[NDArray[np.int64], dict[int, NDArray[np.intp]], dict[int, ObjectTemplate]]:
    """(K,) object ids (-1 when ``groups`` is None), and the member indices and template of
    every id >= 0 among (K, 3) ``points`` in ``obs`` (mask from ``masks`` or
    :func:`region_mask`; objects too small are left out; none unless ``enabled``)."""
    K = len(points)
    ids = np.full(K, -1, np.int64) if groups is None else np.asarray(groups, np.int64)
    if ids.shape != (K,):
        raise TrackingError(f"point_groups must be ({K},) ints, got shape {ids.shape}")
    members: dict[int, NDArray[np.intp]] = {}
    templates: dict[int, ObjectTemplate] = {}
    for g in sorted({int(i) for i in ids if i >= 0} if enabled else ()):
        idx = np.flatnonzero(ids == g)
        mask = masks.get(g)
        if mask is None:
            mask = region_mask(obs, points[idx], config.radius_m)
        template = make_template(obs, np.asarray(mask, bool), config)
        if template is None:
            logger.info("object %d too small to re-detect as a whole", g)
            continue
        members[g], templates[g] = idx, template
    return ids, members, templates


def colour_angle(a: FloatArray, b: FloatArray) -> float:
    """Angle between two (3,) RGB vectors, radians (0: same hue and saturation)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < 1e-9 or nb < 1e-9:
        return float(np.pi / 2) if max(na, nb) > 1e-9 else 0.0
    return float(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0)))


def _turn(tpl: ObjectTemplate, angle_deg: float) -> tuple[
    NDArray[np.float32], NDArray[np.uint8], NDArray[np.uint8], FloatArray
]:
    """Template turned by ``angle_deg`` onto a square canvas: (view, mask, object, centre)."""
    h, w = tpl.mask.shape
    side = int(np.ceil(np.hypot(h, w))) + 3
    dst = np.array([side / 2.0, side / 2.0])
    A = cv2.getRotationMatrix2D((float(tpl.centre[0]), float(tpl.centre[1])), angle_deg, 1.0)
    A[:, 2] += dst - tpl.centre
    size = (side, side)
    view = cv2.warpAffine(tpl.view, A, size, flags=cv2.INTER_NEAREST)
    mask = cv2.warpAffine(tpl.mask, A, size, flags=cv2.INTER_NEAREST)
    obj = cv2.warpAffine(tpl.object_cells.astype(np.uint8) * 255, A, size, flags=cv2.INTER_NEAREST)
    return view, mask, obj, dst


def _peaks(scores: FloatArray, count: int, spacing: int) -> list[tuple[float, int, int]]:
    """Up to ``count`` (score, x, y) local maxima of a score map, ``spacing`` px apart."""
    s = np.nan_to_num(np.array(scores), nan=-1.0, posinf=-1.0, neginf=-1.0)
    out = []
    for _ in range(count):
        _, best, _, (x, y) = cv2.minMaxLoc(s)
        if best <= -1.0:
            break
        out.append((float(best), int(x), int(y)))
        s[max(y - spacing, 0) : y + spacing + 1, max(x - spacing, 0) : x + spacing + 1] = -1.0
    return out


def find_object(
    obs: RGBD, tpl: ObjectTemplate, config: RedetectConfig | None = None,
    near_xy: FloatArray | None = None, prefer: Callable[[FloatArray], float] | None = None,
) -> Detection | None:
    """Search ``obs`` within ``search_radius_m`` of ``near_xy`` (default: the template's
    reference position) for the object (see the module docs); None when no candidate
    passes the colour and 3D checks. ``prefer(T)``: among all passing candidates take the
    lowest (e.g. disagreement with still-tracked points: symmetric objects match at
    several turns); else the best-scoring one."""
    cfg = config or RedetectConfig()
    centre = tpl.centre_xy if near_xy is None else np.asarray(near_xy, dtype=np.float64)
    zlo, zhi = tpl.z_range[0] - cfg.z_margin_m, tpl.z_range[1] + cfg.z_margin_m
    xyz, rgb = _cloud(obs, zlo, zhi)
    near = np.all(np.abs(xyz[:, :2] - centre) <= cfg.search_radius_m, axis=1)
    xyz, rgb = xyz[near], rgb[near]
    if len(xyz) < cfg.min_points:
        return None
    origin = centre - cfg.search_radius_m
    n = int(np.ceil(2 * cfg.search_radius_m / cfg.cell_m))
    full = _topdown(xyz, rgb, origin, (n, n), cfg.cell_m)
    view = np.ascontiguousarray(full[..., :4])
    candidates: list[tuple[float, float, FloatArray]] = []
    for angle in np.arange(0.0, 360.0, cfg.angle_step_deg):
        t_view, t_mask, _, t_centre = _turn(tpl, float(angle))
        if t_view.shape[0] >= n or int((t_mask > 0).sum()) < cfg.min_points:
            continue
        scores = cv2.matchTemplate(view, t_view, cv2.TM_CCOEFF_NORMED, mask=t_mask)
        for score, x, y in _peaks(scores, 2, max(2, t_view.shape[0] // 4)):
            if score >= cfg.min_score:
                cell = np.array([x, y], dtype=np.float64) + t_centre
                candidates.append((score, float(angle), origin + (cell + 0.5) * cfg.cell_m))
    candidates.sort(key=lambda c: -c[0])
    tree = cKDTree(xyz)
    found: list[Detection] = []
    for score, angle, xy in candidates[: cfg.max_candidates]:
        det = _verify(xyz, rgb, tree, tpl, cfg, score, angle, xy)
        if det is not None and prefer is None:
            return det
        found += [det] if det is not None else []
    return min(found, key=lambda d: prefer(d.T)) if found and prefer is not None else None


def _coarse(tpl: ObjectTemplate, angle_deg: float, xy: FloatArray) -> FloatArray:
    """(4, 4) yaw about the template centre plus the xy shift of a top-down match."""
    # cv2 turns counter-clockwise as seen on screen with rows growing downwards; here rows
    # grow with world y, so a view angle of +a is a world yaw of -a.
    a = np.deg2rad(-angle_deg)
    c, s = np.cos(a), np.sin(a)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:2, 3] = xy - T[:2, :2] @ tpl.centre_xy
    return T


def _verify(
    xyz: FloatArray, rgb: FloatArray, tree: cKDTree, tpl: ObjectTemplate, cfg: RedetectConfig,
    score: float, angle: float, xy: FloatArray,
) -> Detection | None:
    """Colour check, ICP refinement and surface-agreement check of one candidate."""
    best: Detection | None = None
    for turn in (angle,):
        T = _coarse(tpl, turn, xy)
        moved = tpl.points @ T[:3, :3].T + T[:3, 3]
        dist, idx = tree.query(moved, distance_upper_bound=0.03)
        near = np.isfinite(dist)
        if near.sum() < cfg.min_points:
            continue
        T[2, 3] += float(np.median(xyz[idx[near], 2] - moved[near, 2]))
        for i in range(cfg.icp_iterations):
            moved = tpl.points @ T[:3, :3].T + T[:3, 3]
            bound = max(cfg.inlier_m, 0.03 / (i + 1))
            dist, idx = tree.query(moved, distance_upper_bound=bound)
            near = np.isfinite(dist)
            if near.sum() < cfg.min_points:
                break
            T = kabsch(tpl.points[near], xyz[idx[near]])
        moved = tpl.points @ T[:3, :3].T + T[:3, 3]
        dist, idx = tree.query(moved, distance_upper_bound=cfg.inlier_m)
        near = np.isfinite(dist)
        frac = float(near.mean())
        if near.sum() < cfg.min_points or frac < cfg.min_inlier_fraction:
            continue
        if colour_angle(rgb[idx[near]].mean(axis=0), tpl.colour) > cfg.max_colour_angle_rad:
            continue
        if best is None or frac > best.inliers:
            best = Detection(T, score, frac, -turn)
    return best


def agreement(obs: RGBD, tpl: ObjectTemplate, T: FloatArray, config: RedetectConfig) -> float:
    """Share of the object's reference points, moved by ``T`` (4, 4), that ``obs`` shows
    where they should be (depth within ``2 inlier_m`` and colour within
    ``max_colour_angle_rad``); points hidden behind something nearer do not count. 1.0 when
    too few points can be judged."""
    step = max(1, len(tpl.points) // 200)
    pts = tpl.points[::step] @ T[:3, :3].T + T[:3, 3]
    ref = tpl.point_colours[::step]
    pix = np.round(obs.project(pts)).astype(np.int64)
    inside = (pix >= 0).all(axis=1) & (pix[:, 0] < obs.width) & (pix[:, 1] < obs.height)
    pix, pts, ref = pix[inside], pts[inside], ref[inside]
    z = obs.depth[pix[:, 1], pix[:, 0]].astype(np.float64)
    expected = (pts - obs.T_world_camera[:3, 3]) @ obs.T_world_camera[:3, 2]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(z) & (z > 0) & (z > expected - 2 * config.inlier_m)  # not hidden
        near = valid & (np.abs(z - expected) <= 2 * config.inlier_m)
    if valid.sum() < config.min_points:
        return 1.0
    rgb = obs.rgb[pix[:, 1], pix[:, 0]].astype(np.float64)
    norms = np.linalg.norm(rgb, axis=1) * np.linalg.norm(ref, axis=1) + 1e-9
    cos = np.einsum("ij,ij->i", rgb, ref) / norms
    same = np.arccos(np.clip(cos, -1.0, 1.0)) <= config.max_colour_angle_rad
    return float((near & same).sum() / valid.sum())


def doubtful(
    obs: RGBD, tpl: ObjectTemplate, ref: FloatArray, now: FloatArray, config: RedetectConfig,
    min_agreement: float = 0.6,
) -> bool:
    """Whether an object's tracked points, (N, 3) ``now`` (N >= 1) against their start
    positions ``ref``, are in doubt: they moved apart by more than ``2 inlier_m`` (some slid
    off a rigid object), or the image no longer shows the object moved by their mean motion
    (:func:`agreement` below ``min_agreement``; e.g. a point stuck on a uniform surface)."""
    d_now = np.linalg.norm(now[:, None] - now[None], axis=-1)
    d_ref = np.linalg.norm(ref[:, None] - ref[None], axis=-1)
    if len(now) > 1 and np.abs(d_now - d_ref).max() > 2 * config.inlier_m:
        return True
    T = np.eye(4)
    T[:3, 3] = np.mean(now - ref, axis=0)
    return agreement(obs, tpl, T, config) < min_agreement
