from __future__ import annotations

import numpy as np
from tracking_frames import DEPTH, K, frame, texture, world_at

from rekep.observation import RGBD
from rekep.tracking.backprojection import (
    backproject,
    depth_at_pixels,
    inside_image,
    surface_visible,
)


def _slanted(h: int = 60, w: int = 80) -> np.ndarray:
    """Depth of a plane z = 1 + 0.01 u + 0.002 v (metres)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    return (1.0 + 0.01 * u + 0.002 * v).astype(np.float32)


def test_bilinear_depth_is_exact_on_a_plane() -> None:
    depth = _slanted()
    pix = np.array([[10.3, 20.7], [40.0, 30.0], [55.9, 12.1]])
    z, ok = depth_at_pixels(depth, pix)
    assert ok.all()
    np.testing.assert_allclose(z, 1.0 + 0.01 * pix[:, 0] + 0.002 * pix[:, 1], atol=1e-5)


def test_depth_holes_and_outside_pixels_have_no_depth() -> None:
    depth = _slanted()
    depth[15:26, 5:16] = np.nan  # hole around (10, 20)
    depth[40:51, 60:71] = 0.0  # invalid zeros around (65, 45)
    pix = np.array([[10.0, 20.0], [65.0, 45.0], [-1.0, 3.0], [3.0, 60.5], [np.nan, 1.0]])
    z, ok = depth_at_pixels(depth, pix)
    assert not ok.any()
    assert np.isnan(z).all()


def test_median_survives_a_few_holes_and_an_edge() -> None:
    depth = np.full((40, 40), 0.8, np.float32)
    depth[:, 21:] = 1.5  # a depth edge one pixel right of column 20
    depth[19, 19] = np.nan
    z, ok = depth_at_pixels(depth, np.array([[19.0, 19.0], [20.0, 10.0]]), radius=2)
    assert ok.all()
    np.testing.assert_allclose(z, [0.8, 0.8], atol=1e-6)  # majority surface, not a blend


def test_backproject_inverts_project() -> None:
    obs = frame(texture(), (0, 0))
    T = np.eye(4)
    T[:3, 3] = [0.1, -0.2, 0.3]
    moved = RGBD(rgb=obs.rgb, depth=obs.depth, intrinsics=K, T_world_camera=T)
    pts = world_at(np.array([[100.0, 50.0], [320.5, 240.25]])) + T[:3, 3]
    pix = moved.project(pts)
    back = backproject(moved, pix, np.full(2, DEPTH))
    np.testing.assert_allclose(back, pts, atol=1e-9)


def test_inside_image_and_surface_visibility() -> None:
    obs = frame(texture(), (0, 0))
    pix = np.array([[1.0, 1.0], [10.0, 10.0], [639.0, 10.0], [np.nan, 3.0]])
    np.testing.assert_array_equal(inside_image(pix, 640, 480, 3.0), [False, True, False, False])
    on_plane = world_at(np.array([[50.0, 60.0]]))
    in_front = on_plane * 0.9  # same pixel, 10 cm nearer than the surface seen there
    pts = np.vstack([on_plane, in_front])
    np.testing.assert_array_equal(surface_visible(obs, obs.project(pts), pts), [True, False])
