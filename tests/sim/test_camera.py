from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.observation import RGBD
from rekep.poses import make_pose, transform_points
from rekep.sim import Camera, SimWorld, look_at

HALF = np.array([0.03, 0.02, 0.025])
CENTRE = np.array([0.5, 0.05, 0.025])


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[SimWorld, int, Camera, RGBD, np.ndarray]]:
    w = SimWorld()
    box = w.add_box(HALF, make_pose(np.eye(3), CENTRE), mass=0.0, rgba=(0.9, 0.1, 0.1, 1))
    cam = Camera(640, 480, 50.0, look_at([1.1, 0.3, 0.7], [0.5, 0.0, 0.0]))
    obs, seg = cam.render(w.client)
    yield w, box, cam, obs, seg
    w.close()


def test_look_at_gives_opencv_axes() -> None:
    T = look_at([1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(T[:3, 2], [-1, 0, 0], atol=1e-12)  # z forward
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)  # y down in the world
    np.testing.assert_allclose(T[:3, 0], [0, 1, 0], atol=1e-12)  # x right (looking at -x)


def test_intrinsics_match_fov() -> None:
    cam = Camera(640, 480, 60.0)
    K = cam.intrinsics
    assert K[1, 1] == pytest.approx(240 / np.tan(np.radians(30)))
    assert K[0, 0] == K[1, 1]
    assert (K[0, 2], K[1, 2]) == (319.5, 239.5)


def test_render_types(scene) -> None:  # type: ignore[no-untyped-def]
    _, _, cam, obs, seg = scene
    assert obs.rgb.shape == (480, 640, 3) and obs.rgb.dtype == np.uint8
    assert seg.shape == (480, 640)
    np.testing.assert_allclose(obs.intrinsics, cam.intrinsics)


def test_observe_is_render_without_segmentation(scene) -> None:  # type: ignore[no-untyped-def]
    w, _, cam, obs, _ = scene
    seen = cam.observe(w.client)
    np.testing.assert_array_equal(seen.rgb, obs.rgb)
    np.testing.assert_array_equal(seen.depth, obs.depth)


def test_projected_points_backproject_to_themselves(scene) -> None:  # type: ignore[no-untyped-def]
    _, box, _, obs, seg = scene
    # points on the visible top face of the box and on the table
    top = CENTRE + np.array([0.0, 0.0, HALF[2]])
    points = np.array([top, top + np.array([0.02, 0.01, 0]), top - np.array([0.02, 0.012, 0]),
                       [0.3, -0.2, 0.0], [0.7, 0.2, 0.0]])
    pixels = obs.project(points)
    world = obs.points_world()
    for point, (u, v) in zip(points, pixels, strict=True):
        col, row = round(u), round(v)
        assert 0 <= col < 640 and 0 <= row < 480
        error = np.linalg.norm(world[row, col] - point)
        pixel_size = np.linalg.norm(point - obs.T_world_camera[:3, 3]) / obs.intrinsics[0, 0]
        assert error < 0.003 + pixel_size, f"{point} back-projects to {world[row, col]}"
    assert seg[round(pixels[0][1]), round(pixels[0][0])] == box


def test_segmented_pixels_lie_on_the_object(scene) -> None:  # type: ignore[no-untyped-def]
    w, box, _, obs, seg = scene
    mask = seg == box
    assert mask.sum() > 200
    local = transform_points(np.linalg.inv(w.body_pose(box)), obs.points_world()[mask])
    assert np.all(np.abs(local) <= HALF + 0.004)
    # and the visible top face is flat at its true height
    interior = np.all(np.abs(local[:, :2]) < HALF[:2] - 0.005, axis=1) & (local[:, 2] > 0)
    assert interior.sum() > 50
    assert np.abs(local[interior, 2] - HALF[2]).max() < 0.002


def test_segmentation_ids_are_bodies(scene) -> None:  # type: ignore[no-untyped-def]
    w, box, _, obs, seg = scene
    assert set(np.unique(seg).tolist()) <= {-1, w.floor_id, w.table_id, box}
    table = obs.points_world()[seg == w.table_id]
    # the table top is the plane z = 0 (the rest is the table's front face)
    assert np.mean(np.abs(table[:, 2]) < 0.003) > 0.9


def test_depth_buffer_conversion() -> None:
    cam = Camera(near=0.1, far=4.0)
    z = cam.depth_from_buffer(np.array([[0.0, 0.5, 1.0]]))
    assert z[0, 2] == 0.0  # far plane / background -> invalid
    # the OpenGL buffer value of depth z is (1/near - 1/z) / (1/near - 1/far)
    d = (1 / 0.1 - 1 / 1.7) / (1 / 0.1 - 1 / 4.0)
    assert cam.depth_from_buffer(np.array([[d]]))[0, 0] == pytest.approx(1.7, rel=1e-5)
