"""Fixtures for the keypoint tests: synthetic RGB-D scenes rendered analytically (no simulator).

A scene is a union of axis-aligned solid boxes in the world (z up, metres): a table slab,
a closed box, and a tray built from a floor slab and four wall slabs. Every pixel's ray
from a pinhole camera is intersected with every slab (slab method); the nearest hit gives
the depth along the optical axis and the object id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from rekep.observation import RGBD

TABLE, BOX, TRAY = 0, 1, 2
H, W = 480, 640
K_CAM = np.array([[600.0, 0.0, 319.5], [0.0, 600.0, 239.5], [0.0, 0.0, 1.0]])

# (object id, lower corner, upper corner) in world metres
BOX_LO, BOX_HI = (0.11, 0.02, 0.0), (0.19, 0.08, 0.10)
TRAY_LO, TRAY_HI = (-0.25, -0.12, 0.0), (-0.05, 0.02, 0.05)
TRAY_WALL, TRAY_FLOOR = 0.01, 0.01


def tray_slabs(lo: tuple[float, ...], hi: tuple[float, ...]) -> list[tuple[tuple, tuple]]:
    """Floor plus four walls of an open tray occupying the box ``lo``..``hi``."""
    (x0, y0, z0), (x1, y1, z1), t = lo, hi, TRAY_WALL
    return [
        ((x0, y0, z0), (x1, y1, z0 + TRAY_FLOOR)),
        ((x0, y0, z0), (x0 + t, y1, z1)),
        ((x1 - t, y0, z0), (x1, y1, z1)),
        ((x0, y0, z0), (x1, y0 + t, z1)),
        ((x0, y1 - t, z0), (x1, y1, z1)),
    ]


def look_at(eye: tuple[float, float, float], target: tuple[float, float, float]) -> NDArray:
    """(4, 4) T_world_camera with OpenCV axes (z forward) looking from ``eye`` at ``target``."""
    e, t = np.asarray(eye, float), np.asarray(target, float)
    z = (t - e) / np.linalg.norm(t - e)
    up = np.array([0.0, 1.0, 0.0]) if abs(z[2]) > 0.99 else np.array([0.0, 0.0, 1.0])
    x = np.cross(z, up) if abs(z[2]) <= 0.99 else np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], axis=1)
    T[:3, 3] = e
    return T


def render(
    slabs: list[tuple[int, tuple, tuple]], T_world_camera: NDArray, K: NDArray = K_CAM
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Depth (H, W) metres along the optical axis and id image (-1 where nothing is hit)."""
    u, v = np.meshgrid(np.arange(W, dtype=float), np.arange(H, dtype=float))
    d_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    d = d_cam @ T_world_camera[:3, :3].T  # world ray direction, unit depth per step
    o = T_world_camera[:3, 3]
    depth = np.full((H, W), np.inf)
    seg = np.full((H, W), -1, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for obj_id, lo, hi in slabs:
            t0 = (np.asarray(lo) - o) / d
            t1 = (np.asarray(hi) - o) / d
            t_near = np.nanmax(np.minimum(t0, t1), axis=-1)
            t_far = np.nanmin(np.maximum(t0, t1), axis=-1)
            hit = (t_near <= t_far) & (t_near > 0) & (t_near < depth)
            depth[hit] = t_near[hit]
            seg[hit] = obj_id
    depth[~np.isfinite(depth)] = 0.0
    return depth.astype(np.float32), seg


@dataclass
class Scene:
    TABLE: ClassVar[int] = TABLE
    BOX: ClassVar[int] = BOX
    TRAY: ClassVar[int] = TRAY

    rgbd: RGBD
    seg: NDArray[np.int64]
    masks: dict[int, NDArray[np.bool_]]  # box and tray only (table left out)
    box_top_centre: NDArray[np.float64]
    tray_floor_centre: NDArray[np.float64]


def make_scene(
    eye: tuple[float, float, float] = (0.0, 0.0, 1.0),
    target: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Scene:
    slabs = [(TABLE, (-3.0, -3.0, -0.05), (3.0, 3.0, 0.0)), (BOX, BOX_LO, BOX_HI)]
    slabs += [(TRAY, lo, hi) for lo, hi in tray_slabs(TRAY_LO, TRAY_HI)]
    T = look_at(eye, target)
    depth, seg = render(slabs, T)
    palette = np.array([[150, 150, 150], [200, 60, 40], [40, 90, 200]], dtype=np.uint8)
    rgb = np.where((seg >= 0)[..., None], palette[np.clip(seg, 0, 2)], 0).astype(np.uint8)
    rgbd = RGBD(rgb=rgb, depth=depth, intrinsics=K_CAM, T_world_camera=T)
    box_top = np.array([(BOX_LO[0] + BOX_HI[0]) / 2, (BOX_LO[1] + BOX_HI[1]) / 2, BOX_HI[2]])
    tray_floor = np.array(
        [(TRAY_LO[0] + TRAY_HI[0]) / 2, (TRAY_LO[1] + TRAY_HI[1]) / 2, TRAY_LO[2] + TRAY_FLOOR]
    )
    masks = {BOX: seg == BOX, TRAY: seg == TRAY}
    return Scene(rgbd, seg, masks, box_top, tray_floor)


@pytest.fixture(scope="session")
def scene() -> Scene:
    """Camera 1 m above the table looking straight down; box and tray off-centre."""
    return make_scene()


@pytest.fixture(scope="session")
def oblique_scene() -> Scene:
    """Camera in front of and above the table, looking down at about 55 degrees."""
    return make_scene(eye=(0.0, -0.55, 0.85), target=(0.0, 0.0, 0.0))


@pytest.fixture(scope="session")
def scene_factory() -> Callable[..., Scene]:
    """``make_scene(eye, target)``: render the scene from another viewpoint."""
    return make_scene
