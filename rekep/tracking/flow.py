"""The ``flow`` tracker: pyramidal Lucas-Kanade on the images, depth back-projection.

Each update, for every visible point:

1. guess its new pixel: the previous pixel plus the image motion the camera's own motion
   gives its last 3D position (each observation carries its ``T_world_camera``);
2. track it from the previous grey frame with pyramidal LK, then back again; a
   forward-backward error above ``fb_threshold_px`` or a failed LK status -> lost;
3. a pixel within ``border_px`` of the image edge -> lost (left the image);
4. read the depth under it (:func:`~rekep.tracking.backprojection.depth_at_pixels`); too
   little valid depth (holes, NaN) -> lost;
5. back-project; a jump of over ``max_jump_m``, or a motion unlike its object's other points
   (``slide_tolerance_m``, :mod:`.slide`) -> lost (LK slid onto another surface).

Lost points keep their last world position and report ``visible=False``; those behind a
nearer surface in the depth image are also reported ``occluded`` (:mod:`.occlusion`).

Re-detection (``redetect=True``), tried every update for each lost point:

* if it was seen before: take the ``(2 patch_radius + 1)^2`` grey patch around it in the
  frame where it was last tracked, search it by normalized cross-correlation within
  ``search_radius`` px of where its last 3D position projects now; a score of at least
  ``min_match_score`` is refined by LK from that last-seen frame (with the same
  forward-backward check, border, depth and jump tests). Where it should project now: its
  last 3D position moved by the median 3D motion, since it was lost, of the still
  visible points of its object (``point_groups``) that were within ``neighbour_radius_m``
  of it then (rigid objects carry their hidden points along); with no such neighbour,
  its last 3D position. A textureless patch (a plain pad) cannot be matched: the point is
  accepted where carried when a surface shows at that depth (:mod:`rekep.tracking.carry`).
* if it was never seen (occluded or out of view at start): it reappears when its 3D
  position projects into the image onto a surface at the depth it should have (within
  ``occlusion_tolerance_m``), i.e. when a static point is uncovered.

Wide re-detection of whole objects (``wide_redetect``; needs ``point_groups``, the proposal's
object/mask ids): each group's template is cut from the first observation (see
:mod:`rekep.tracking.redetect`; ``group_masks`` or the pixels near the group's points). When
over half of a group is lost, its visible points stop keeping their distances (rigid
objects; tolerance ``2 wide.inlier_m``) or the image disagrees with the object moved by
their mean motion (:func:`~rekep.tracking.redetect.doubtful`), at most every
``wide_every`` updates (every 3 for a mostly lost group), or on
:meth:`FlowTracker.redetect`, the object is searched for near its last position; a detection
moves the group's points rigidly from their start positions and those landing on their own
surface become visible again. Objects the loop says a hand holds (:meth:`FlowTracker.hold`)
are searched only when asked.

Objects at rest (``rest_check``, :mod:`rekep.tracking.resting`): while most tracked points of
an object no hand has held sit where it was last placed, its points that lost their colour or
whose place is covered slid onto something passing (lost, put back), its lost points still at
their place are reported ``occluded`` and tracked again when their surface shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.observation import RGBD
from rekep.tracking import lk
from rekep.tracking.backprojection import (
    backproject,
    depth_at_pixels,
    inside_image,
    surface_visible,
)
from rekep.tracking.base import TrackingError, TrackResult
from rekep.tracking.carry import carried_position, is_flat
from rekep.tracking.flow_config import FlowConfig
from rekep.tracking.occlusion import hidden_behind_surface
from rekep.tracking.redetect import (
    Detection,
    doubtful,
    find_object,
    group_templates,
)
from rekep.tracking.resting import colour_kept, object_rest_state, pixel_colours
from rekep.tracking.slide import moved_unlike_object

logger = logging.getLogger(__name__)


class FlowTracker:
    """Keypoint tracker on RGB-D images (see the module docs for the algorithm).

    Args:
        config: a :class:`FlowConfig`; keyword overrides may be given instead
            (``FlowTracker(fb_threshold_px=0.5)``).
        point_groups: (K,) int object/mask id per keypoint (negative: none), used by the
            wide re-detection; may also be given to :meth:`start`.
        group_masks: object id -> (H, W) bool mask of that object in the first observation
            (the proposal's masks); optional, may also be given to :meth:`start`.
    """

    name = "flow"
    privileged = False
    needs_images = True

    def __init__(self, config: FlowConfig | None = None, *, point_groups: ArrayLike | None = None,
                 group_masks: Mapping[int, NDArray[np.bool_]] | None = None,
                 **overrides: object) -> None:  # fmt: skip
        base = config or FlowConfig()
        if overrides:
            try:
                base = replace(base, **overrides)  # type: ignore[arg-type]
            except TypeError as exc:
                raise TrackingError(f"unknown FlowConfig setting: {exc}") from exc
        self.config = base
        self._started = False
        self._groups_arg = point_groups
        self._masks_arg = group_masks

    # ------------------------------------------------------------------ lifecycle
    def start(self, observation: RGBD, points_world: ArrayLike, time_s: float,
              point_groups: ArrayLike | None = None,
              group_masks: Mapping[int, NDArray[np.bool_]] | None = None) -> None:  # fmt: skip
        """Begin tracking (K, 3) world points; hidden or out-of-view ones start lost.
        ``point_groups`` / ``group_masks`` override the constructor's (see the class docs)."""
        if not isinstance(observation, RGBD):
            raise TrackingError("flow tracker needs an RGBD observation to start")
        pts = np.asarray(points_world, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3 or not np.all(np.isfinite(pts)):
            raise TrackingError(f"points_world must be finite (K, 3) metres, got {pts.shape}")
        K = pts.shape[0]
        gray = lk.to_gray(observation.rgb)
        pix = observation.project(pts).astype(np.float32)
        seen = self._surface_matches(observation, pix, pts)
        self._pos = pts.copy()
        self._pix = np.where(seen[:, None], pix, np.nan).astype(np.float32)
        self._vis = seen
        self._seen_gray: list[NDArray[np.uint8] | None] = [gray if s else None for s in seen]
        self._seen_pix = self._pix.copy()
        # per point: (positions, visibility) of all points when it was last seen
        snapshot = (self._pos.copy(), seen.copy())
        self._anchor = [snapshot] * K
        self._prev_gray = gray
        self._prev_obs = observation
        self._started = True
        self._updates = 0
        self._start_gray, self._start_pix = gray, self._pix.copy()
        groups = point_groups if point_groups is not None else self._groups_arg
        masks = group_masks if group_masks is not None else self._masks_arg
        self._ref, self._last_wide = pts.copy(), dict[int, int]()
        self._held_groups: set[int] = set()
        self._rest, self._touched = pts.copy(), set[int]()  # where objects rest; ever held
        self._colour = pixel_colours(observation.rgb, pix)  # each point's first colour
        self._groups, self._members, self._templates = group_templates(
            observation, groups, pts, masks or {}, self.config.wide, self.config.wide_redetect
        )
        if K and not seen.all():
            logger.info("flow tracker: %d of %d keypoints hidden at start", int((~seen).sum()), K)

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        """Track to ``observation``; returns (K, 3) positions and (K,) visibility."""
        if not self._started:
            raise TrackingError("flow tracker: call start() before update()")
        if not isinstance(observation, RGBD):
            raise TrackingError("flow tracker needs an RGBD observation on every update")
        gray = lk.to_gray(observation.rgb)
        if gray.shape != self._prev_gray.shape:
            raise TrackingError(
                f"image size changed from {self._prev_gray.shape} to {gray.shape}; restart"
            )
        idx = np.flatnonzero(self._vis)
        if idx.size:
            snapshot = (self._pos.copy(), self._vis.copy())
            self._track_visible(idx, gray, observation)
            for k in idx[~self._vis[idx]]:
                self._anchor[k] = snapshot
        if self.config.redetect:
            for k in np.flatnonzero(~self._vis):
                self._redetect(int(k), gray, observation)
        known, resting = self._settle(gray, observation)
        self._prev_gray, self._prev_obs = gray, observation
        self._updates += 1
        if self.config.wide_redetect:
            for g, members in self._members.items():
                if g in self._held_groups or g in resting:  # carried by the hand; at rest
                    continue
                since = self._updates - self._last_wide.get(g, -10**9)
                lost = (~self._vis[members]).mean() > 0.5
                if (lost and since >= min(3, self.config.wide_every)) or (  # lost: every 3
                        since >= self.config.wide_every and self._doubtful(g, observation)):
                    self._wide(g, gray, observation)
        hidden, tol = ~self._vis, self.config.occlusion_tolerance_m  # lost and behind a surface:
        hidden[hidden] = hidden_behind_surface(observation, self._pos[hidden], margin_m=tol)
        return TrackResult(self._pos.copy(), self._vis.copy(), time_s, hidden | known)

    def hold(self, indices: Sequence[int]) -> None:
        """The loop says keypoints ``indices`` are in a hand (empty: nothing held). Their
        objects get no automatic whole-object search while held: the hand carries them (the
        loop fills their lost points from it), and the search, which keeps table-top heights,
        can match a lifted, turned object flipped at its old place. :meth:`redetect` still
        searches them when asked (the loop asks when an object leaves the hand)."""
        if self._started:
            groups = {int(g) for g in self._groups[[int(k) for k in indices]] if g >= 0}
            self._held_groups = groups & set(self._members)
            self._touched |= groups  # moved by a hand: never assumed at rest again

    def redetect(self, observation: RGBD, indices: Sequence[int] | None = None, *,
                 stale: bool = False, time_s: float = 0.0) -> TrackResult:  # fmt: skip
        """Search the objects of keypoints ``indices`` (default: all) in ``observation`` now,
        move their points where found, and return the tracked state. ``stale``: the caller
        knows these positions are wrong (the object left the hand): points of an object not
        found are marked lost until re-detected."""
        if not self._started:
            raise TrackingError("flow tracker: call start() before redetect()")
        gray = lk.to_gray(observation.rgb)
        wanted = range(len(self._pos)) if indices is None else [int(i) for i in indices]
        groups = {int(self._groups[k]) for k in wanted if self._groups[k] in self._members}
        for g in sorted(groups):
            if not self._wide(g, gray, observation) and stale:
                self._forget(self._members[g])
        if stale:
            self._forget(np.array([k for k in wanted if self._groups[k] not in groups], int))
        return TrackResult(self._pos.copy(), self._vis.copy(), time_s)

    # ------------------------------------------------------------------ whole objects
    def _wide(self, g: int, gray: NDArray[np.uint8], obs: RGBD) -> bool:
        """Search object ``g`` around its members' last positions; True when found."""
        self._last_wide[g] = self._updates
        members = self._members[g]
        near = np.median(self._pos[members, :2], axis=0)
        kept = members[self._vis[members]]

        def disagreement(T: NDArray[np.float64]) -> float:  # with the still-tracked points
            moved = self._ref[kept] @ T[:3, :3].T + T[:3, 3]
            return float(np.median(np.linalg.norm(moved - self._pos[kept], axis=1)))

        found: Detection | None = find_object(obs, self._templates[g], self.config.wide, near,
                                              disagreement if len(kept) else None)  # fmt: skip
        if found is None:
            return False
        pos = self._ref[members] @ found.T[:3, :3].T + found.T[:3, 3]
        pix = obs.project(pos).astype(np.float32)
        seen = self._surface_matches(obs, pix, pos)
        self._pos[members], self._vis[members] = pos, seen
        self._rest[members] = pos  # it rests here now (if nothing holds it)
        self._pix[members] = np.where(seen[:, None], pix, np.nan)
        for i in np.flatnonzero(seen):
            self._seen_gray[members[i]], self._seen_pix[members[i]] = gray, pix[i]
        snapshot = (self._pos.copy(), self._vis.copy())
        for k in members[~seen]:
            self._anchor[k] = snapshot
        logger.info("flow tracker: object %d re-detected (NCC %.2f, yaw %.0f deg)", g,
                    found.score, found.yaw_deg)  # fmt: skip
        return True

    def _settle(self, gray: NDArray[np.uint8], obs: RGBD) -> tuple[NDArray[np.bool_], set[int]]:
        """Apply :mod:`.resting` to every object no hand has held: returns (K,) True for
        lost points known where they rest, and the objects at rest."""
        known = np.zeros(len(self._pos), dtype=bool)
        resting: set[int] = set()
        cfg = self.config.rest
        if not self.config.rest_check:
            return known, resting
        for g in sorted({int(g) for g in self._groups if g >= 0} - self._touched):
            idx = np.flatnonzero(self._groups == g)
            still, slid, at_rest = object_rest_state(
                obs, self._rest[idx], self._pos[idx], self._vis[idx], self._pix[idx],
                self._colour[idx], cfg, self.config.occlusion_tolerance_m)  # fmt: skip
            if not still:
                continue
            resting.add(g)
            if slid.any():
                logger.debug("flow tracker: keypoints %s slid off resting object %d",
                             idx[slid].tolist(), g)  # fmt: skip
                self._forget(idx[slid])  # re-detect from the start frame, not the occluder
            lost = idx[at_rest]
            self._pos[lost] = self._rest[lost]
            pix = obs.project(self._pos[lost]).astype(np.float32)
            back = self._surface_matches(obs, pix, self._pos[lost]) & colour_kept(
                pixel_colours(obs.rgb, pix), self._colour[lost], cfg.max_colour_angle_rad)
            for k, p in zip(lost[back], pix[back], strict=True):
                self._accept(int(k), p, self._pos[k].copy(), gray)
            known[lost[~back]] = True
        return known, resting

    def _doubtful(self, g: int, obs: RGBD) -> bool:
        seen = self._members[g][self._vis[self._members[g]]]
        return len(seen) > 0 and doubtful(obs, self._templates[g], self._ref[seen],
                                          self._pos[seen], self.config.wide)  # fmt: skip

    def _forget(self, idx: NDArray[np.intp]) -> None:
        """Mark points lost and make their re-detection patch the start frame's."""
        for k in np.asarray(idx, dtype=np.intp):
            self._vis[k] = False
            self._pix[k] = np.nan
            if np.isfinite(self._start_pix[k]).all():
                self._seen_gray[k], self._seen_pix[k] = self._start_gray, self._start_pix[k]
            self._anchor[k] = (self._pos.copy(), self._vis.copy())

    # ------------------------------------------------------------------ steps
    def _track_visible(self, idx: NDArray[np.intp], gray: NDArray[np.uint8], obs: RGBD) -> None:
        cfg = self.config
        p0 = self._pix[idx]
        guess = p0 + self._camera_flow(self._pos[idx], obs)
        p1, ok, _ = lk.track_fb(
            self._prev_gray, gray, p0, guess, win_size=cfg.win_size,
            max_level=cfg.max_level, fb_threshold_px=cfg.fb_threshold_px,
        )
        world, ok = self._measure(obs, p1, ok, self._pos[idx])
        if cfg.slide_tolerance_m is not None:  # one object's points move together
            m = np.flatnonzero(ok)
            ok[m[moved_unlike_object(self._pos[idx[m]], world[m], self._groups[idx[m]],
                                     cfg.slide_tolerance_m)]] = False  # fmt: skip
        self._vis[idx] = ok
        good = idx[ok]
        self._pix[good] = p1[ok]
        self._pos[good] = world[ok]
        for k in good:
            self._seen_gray[k] = gray
        self._seen_pix[good] = p1[ok]
        self._pix[idx[~ok]] = np.nan

    def _redetect(self, k: int, gray: NDArray[np.uint8], obs: RGBD) -> None:
        cfg = self.config
        expected, carried = carried_position(k, *self._anchor[k], self._pos, self._vis,
                                             cfg.neighbour_radius_m, self._groups)  # fmt: skip
        predicted = obs.project(expected).astype(np.float32)
        if not inside_image(predicted, obs.width, obs.height, cfg.border_px)[0]:
            return
        seen_gray = self._seen_gray[k]
        if seen_gray is None:  # never seen: a static point that gets uncovered
            if self._surface_matches(obs, predicted, self._pos[k : k + 1])[0]:
                self._accept(k, predicted[0], self._pos[k], gray)
            return
        template = lk.patch_around(seen_gray, self._seen_pix[k], cfg.patch_radius)
        if template is None:
            return
        if is_flat(template):  # NCC cannot find it: trust its carriers where depth agrees
            if carried and self._surface_matches(obs, predicted, expected)[0]:
                self._accept(k, predicted[0], expected[0], gray)
            return
        found = lk.search_patch(gray, template, predicted[0], cfg.search_radius)
        if found is None or found[1] < cfg.min_match_score:
            return
        p1, ok, _ = lk.track_fb(
            seen_gray, gray, self._seen_pix[k : k + 1], found[0][None, :],
            win_size=cfg.win_size, max_level=cfg.max_level, fb_threshold_px=cfg.fb_threshold_px,
        )
        world, ok = self._measure(obs, p1, ok, expected)
        if ok[0]:
            logger.debug("flow tracker: keypoint %d re-detected (NCC %.2f)", k, found[1])
            self._accept(k, p1[0], world[0], gray)

    def _accept(self, k: int, pixel: NDArray[np.float32], world: NDArray[np.float64],
                gray: NDArray[np.uint8]) -> None:  # fmt: skip
        self._vis[k] = True
        self._pix[k] = pixel
        self._seen_pix[k] = pixel
        self._pos[k] = world
        self._seen_gray[k] = gray

    # ------------------------------------------------------------------ geometry
    def _measure(
        self, obs: RGBD, pixels: NDArray[np.float32], ok: NDArray[np.bool_],
        last: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """World points under tracked pixels, and which of them pass border/depth/jump."""
        cfg = self.config
        ok = ok & inside_image(pixels, obs.width, obs.height, cfg.border_px)
        world = np.full((pixels.shape[0], 3), np.nan)
        if not ok.any():
            return world, ok
        z, has_z = depth_at_pixels(
            obs.depth, pixels[ok], radius=cfg.depth_radius,
            min_valid_fraction=cfg.min_valid_depth_fraction, tolerance_m=cfg.depth_tolerance_m,
        )
        world[ok] = backproject(obs, pixels[ok], z)
        ok = ok.copy()
        ok[ok] = has_z
        if cfg.max_jump_m is not None:
            with np.errstate(invalid="ignore"):
                ok &= np.linalg.norm(world - last, axis=1) <= cfg.max_jump_m
        return world, ok

    def _surface_matches(
        self, obs: RGBD, pixels: NDArray[np.float32], points: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        """(N,) True where the points project inside the image onto their own surface."""
        cfg = self.config
        return surface_visible(
            obs, pixels, points, border_px=cfg.border_px, radius=cfg.depth_radius,
            min_valid_fraction=cfg.min_valid_depth_fraction,
            occlusion_tolerance_m=cfg.occlusion_tolerance_m,
        )

    def _camera_flow(self, points: NDArray[np.float64], obs: RGBD) -> NDArray[np.float32]:
        """(N, 2) image motion of static 3D points from the previous camera to this one."""
        if np.allclose(obs.T_world_camera, self._prev_obs.T_world_camera, atol=1e-9):
            return np.zeros((points.shape[0], 2), np.float32)
        shift = obs.project(points) - self._prev_obs.project(points)
        return np.nan_to_num(shift, nan=0.0).astype(np.float32)
