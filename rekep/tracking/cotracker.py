"""The ``cotracker`` tracker: an adapter for CoTracker's online predictor.

Needs the ``cotracker`` package (not on PyPI: ``pip install
git+https://github.com/facebookresearch/co-tracker``) and a local checkpoint (e.g.
``scaled_online.pth`` from https://huggingface.co/facebook/cotracker3), given as
``checkpoint=`` or in the environment variable ``REKEP_COTRACKER_CHECKPOINT``. Nothing is
downloaded here; constructing the tracker without either raises :class:`TrackingError`
naming what is missing.

Online mode works in chunks: CoTracker's predictor is fed the last ``2 * step`` frames
each time ``step`` new frames have arrived (``step = window_len // 2``), so a fresh
estimate comes every ``step`` updates; in between, :meth:`update` returns the latest
estimate with the ``time_s`` of the frame it is from (the result lags the request). The
2D tracks are back-projected with the depth of the frame they belong to, like the
``flow`` tracker; invalid depth or CoTracker's own "not visible" -> lost.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import is_available
from rekep.observation import RGBD
from rekep.tracking.backprojection import (
    backproject,
    depth_at_pixels,
    inside_image,
    surface_visible,
)
from rekep.tracking.base import TrackingError, TrackResult

logger = logging.getLogger(__name__)

CHECKPOINT_ENV = "REKEP_COTRACKER_CHECKPOINT"
INSTALL_HINT = "pip install git+https://github.com/facebookresearch/co-tracker"
CHECKPOINT_HINT = (
    f"download an online checkpoint (e.g. scaled_online.pth from "
    f"https://huggingface.co/facebook/cotracker3) and pass checkpoint=PATH or set {CHECKPOINT_ENV}"
)


@dataclass(frozen=True)
class CoTrackerConfig:
    """Settings of :class:`CoTrackerTracker`.

    Attributes:
        checkpoint: path of the online checkpoint; None reads ``REKEP_COTRACKER_CHECKPOINT``.
        device: torch device string ("cpu", "cuda").
        window_len: CoTracker's sliding window in frames (16 for CoTracker3, 8 for v2).
        v2: the checkpoint is a CoTracker2 one.
        depth_radius: depth window radius around a tracked pixel, pixels.
        border_px: tracks nearer the image edge are lost, pixels.
    """

    checkpoint: str | None = None
    device: str = "cpu"
    window_len: int = 16
    v2: bool = False
    depth_radius: int = 2
    border_px: float = 3.0

    def __post_init__(self) -> None:
        if self.window_len < 2 or self.window_len % 2:
            raise TrackingError(f"window_len must be an even number >= 2, got {self.window_len}")
        if self.depth_radius < 0 or self.border_px < 0:
            raise TrackingError("depth_radius and border_px must be >= 0")


def resolve_checkpoint(checkpoint: str | None) -> Path | None:
    """The checkpoint path from the argument or ``REKEP_COTRACKER_CHECKPOINT`` (or None)."""
    value = checkpoint or os.environ.get(CHECKPOINT_ENV) or None
    return Path(value).expanduser() if value else None


def cotracker_problems(checkpoint: str | None = None) -> list[str]:
    """What stops the cotracker tracker from being built here (empty list: nothing)."""
    problems = []
    if not is_available("torch"):
        problems.append("torch is not installed (pip install 'rekep[dinov2]' or pip install torch)")
    if not is_available("cotracker"):
        problems.append(f"the cotracker package is not installed ({INSTALL_HINT})")
    path = resolve_checkpoint(checkpoint)
    if path is None:
        problems.append(f"no checkpoint is configured ({CHECKPOINT_HINT})")
    elif not path.is_file():
        problems.append(f"the checkpoint {path} does not exist ({CHECKPOINT_HINT})")
    return problems


class CoTrackerTracker:
    """Keypoint tracker backed by ``cotracker.predictor.CoTrackerOnlinePredictor``.

    Args:
        config: a :class:`CoTrackerConfig`; keyword overrides may be given instead.

    Raises:
        TrackingError: the package, torch or the checkpoint is missing, or the model
            could not be loaded.
    """

    name = "cotracker"
    privileged = False
    needs_images = True

    def __init__(self, config: CoTrackerConfig | None = None, **overrides: Any) -> None:
        cfg = config or CoTrackerConfig()
        if overrides:
            try:
                cfg = replace(cfg, **overrides)
            except TypeError as exc:
                raise TrackingError(f"unknown CoTrackerConfig setting: {exc}") from exc
        self.config = cfg
        problems = cotracker_problems(cfg.checkpoint)
        if problems:
            raise TrackingError("cotracker tracker unavailable: " + "; ".join(problems))
        self._torch = importlib.import_module("torch")
        predictor_mod = importlib.import_module("cotracker.predictor")
        kwargs: dict[str, Any] = {
            "checkpoint": str(resolve_checkpoint(cfg.checkpoint)), "window_len": cfg.window_len,
        }
        if cfg.v2:
            kwargs["v2"] = True
        try:
            model = predictor_mod.CoTrackerOnlinePredictor(**kwargs)
            self._model = model.to(cfg.device)
        except Exception as exc:
            raise TrackingError(
                f"CoTracker could not load checkpoint {kwargs['checkpoint']}: {exc}; check that "
                "it is an online checkpoint matching window_len/v2"
            ) from exc
        self._step = max(int(getattr(model, "step", cfg.window_len // 2)), 1)
        self._frames: list[NDArray[np.uint8]] = []
        self._result: TrackResult | None = None
        self._count = 0

    def start(self, observation: RGBD, points_world: ArrayLike, time_s: float) -> None:
        """Queue the (K, 3) world points as CoTracker queries on this first frame."""
        if not isinstance(observation, RGBD):
            raise TrackingError("cotracker tracker needs an RGBD observation to start")
        pts = np.asarray(points_world, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3 or not np.all(np.isfinite(pts)):
            raise TrackingError(f"points_world must be finite (K, 3) metres, got {pts.shape}")
        pix = observation.project(pts)
        visible = surface_visible(
            observation, pix, pts, border_px=self.config.border_px,
            radius=self.config.depth_radius,
        )
        W, H = observation.width, observation.height
        pix = np.nan_to_num(pix, nan=0.0).clip([0, 0], [W - 1, H - 1])
        torch = self._torch
        queries = torch.zeros((1, pts.shape[0], 3), dtype=torch.float32)
        queries[0, :, 1:] = torch.from_numpy(pix.astype(np.float32))
        self._frames = [observation.rgb]
        self._count = 1
        self._result = TrackResult(pts.copy(), visible, time_s)
        self._last_size = (H, W)
        try:
            self._model(self._video(self._frames), is_first_step=True,
                        queries=queries.to(self.config.device))
        except Exception as exc:
            raise TrackingError(f"CoTracker failed to start: {exc}") from exc

    def update(self, observation: RGBD | None, time_s: float) -> TrackResult:
        """Add a frame; every ``step`` frames run CoTracker and refresh the estimate."""
        if self._result is None:
            raise TrackingError("cotracker tracker: call start() before update()")
        if not isinstance(observation, RGBD):
            raise TrackingError("cotracker tracker needs an RGBD observation on every update")
        if (observation.height, observation.width) != self._last_size:
            raise TrackingError("image size changed since start(); restart the tracker")
        self._frames.append(observation.rgb)
        self._frames = self._frames[-2 * self._step :]
        self._count += 1
        if self._count < 2 * self._step or self._count % self._step:
            return self._result
        try:
            tracks, vis = self._model(self._video(self._frames), is_first_step=False)
        except Exception as exc:
            raise TrackingError(f"CoTracker failed on a chunk: {exc}") from exc
        pix = np.asarray(tracks[0, -1].detach().cpu().numpy(), dtype=np.float64).reshape(-1, 2)
        seen = np.asarray(vis[0, -1].detach().cpu().numpy()).reshape(-1).astype(bool)
        self._result = self._backproject(observation, pix, seen, time_s)
        return self._result

    def _video(self, frames: list[NDArray[np.uint8]]) -> Any:
        """(1, T, 3, H, W) float tensor in 0..255 on the configured device."""
        arr = np.stack(frames).transpose(0, 3, 1, 2)
        return self._torch.from_numpy(np.ascontiguousarray(arr)).float()[None].to(
            self.config.device
        )

    def _backproject(
        self, obs: RGBD, pix: NDArray[np.float64], seen: NDArray[np.bool_], time_s: float
    ) -> TrackResult:
        assert self._result is not None
        if pix.shape[0] != self._result.positions.shape[0] or seen.shape != (pix.shape[0],):
            raise TrackingError(
                f"CoTracker returned {pix.shape[0]} tracks for "
                f"{self._result.positions.shape[0]} queries"
            )
        ok = seen & inside_image(pix, obs.width, obs.height, self.config.border_px)
        pos = self._result.positions.copy()
        if ok.any():
            z, has_z = depth_at_pixels(obs.depth, pix[ok], radius=self.config.depth_radius)
            world = backproject(obs, pix[ok], z)
            rows = np.flatnonzero(ok)[has_z]
            pos[rows] = world[has_z]
            ok[np.flatnonzero(ok)[~has_z]] = False
        return TrackResult(pos, ok, time_s)
