"""The object cloud follows its tracked keypoints (planar, collinear and single keypoints)."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.loop.object_cloud import moved_cloud
from rekep.poses import make_pose, transform_points
from rekep.robot import closing_axis_from_points


def _yaw(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])


def _book_cloud() -> np.ndarray:
    """Points on a 3 x 15 cm slab top (x thin, y long) at 20 cm height."""
    xs, ys = np.meshgrid(np.linspace(-0.015, 0.015, 4), np.linspace(-0.075, 0.075, 16))
    return np.stack([xs.ravel() + 0.5, ys.ravel(), np.full(xs.size, 0.2)], axis=1)


def test_collinear_keypoints_turn_the_cloud_about_the_vertical() -> None:
    cloud = _book_cloud()
    before = np.array([[0.5, -0.075, 0.2], [0.5, 0.0, 0.2], [0.5, 0.075, 0.2]])
    T = make_pose(_yaw(60.0), [0.05, -0.1, 0.0])
    T[:3, 3] += np.array([0.5, 0.0, 0.0]) - _yaw(60.0) @ np.array([0.5, 0.0, 0.0])
    now = transform_points(T, before)
    moved = moved_cloud(cloud, before, now)
    np.testing.assert_allclose(moved, transform_points(T, cloud), atol=1e-9)
    # the grasp closes across the thin side of the turned book, not the old one
    axis = closing_axis_from_points(moved, [1.0, 0.0, 0.0])
    thin = _yaw(60.0) @ np.array([1.0, 0.0, 0.0])
    assert abs(axis @ thin) > 0.99


def test_small_turn_is_noise_and_only_shifts_unless_every_turn_counts() -> None:
    cloud = _book_cloud()
    before = np.array([[0.5, -0.075, 0.2], [0.5, 0.075, 0.2]])
    T = make_pose(_yaw(5.0), [0.02, 0.0, 0.0])
    now = transform_points(T, before)
    moved = moved_cloud(cloud, before, now)
    np.testing.assert_allclose(moved, cloud + (now.mean(0) - before.mean(0)), atol=1e-12)
    exact = moved_cloud(cloud, before, now, turned_rad=0.0)
    np.testing.assert_allclose(exact, transform_points(T, cloud), atol=1e-9)


def test_a_line_tipped_up_turns_the_cloud_by_its_least_rotation() -> None:
    before = np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 0.0], [0.0, -0.1, 0.0]])
    cloud = np.array([[0.02, 0.1, 0.0], [-0.02, -0.1, 0.0]])
    tip = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # y axis -> z axis
    now = before @ tip.T + [0.3, 0.0, 0.1]
    np.testing.assert_allclose(moved_cloud(cloud, before, now), cloud @ tip.T + [0.3, 0, 0.1],
                               atol=1e-9)  # fmt: skip
    # the tracker swapped the two ends: no meaningful turn, only the shift
    swapped = before[::-1] + [0.1, 0.0, 0.0]
    np.testing.assert_allclose(moved_cloud(cloud, before, swapped), cloud + [0.1, 0, 0])


def test_planar_keypoints_use_the_rigid_fit() -> None:
    rng = np.random.default_rng(0)
    cloud = rng.uniform(-0.05, 0.05, size=(50, 3)) + [0.5, 0.0, 0.05]
    before = cloud[:5]
    T = make_pose(_yaw(-45.0) @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]]), [0.1, 0.1, 0.0])
    moved = moved_cloud(cloud, before, transform_points(T, before))
    np.testing.assert_allclose(moved, transform_points(T, cloud), atol=1e-9)


def test_vertical_line_and_single_keypoint_shift_only() -> None:
    cloud = _book_cloud()
    vertical = np.array([[0.5, 0.0, 0.0], [0.5, 0.0, 0.2]])
    shift = np.array([0.1, 0.0, 0.0])
    np.testing.assert_allclose(moved_cloud(cloud, vertical, vertical + shift), cloud + shift)
    one = np.array([[0.5, 0.0, 0.2]])
    np.testing.assert_allclose(moved_cloud(cloud, one, one + shift), cloud + shift)
    assert moved_cloud(cloud, np.zeros((0, 3)), np.zeros((0, 3))).shape == cloud.shape


def test_mismatched_keypoints_raise() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        moved_cloud(_book_cloud(), np.zeros((2, 3)), np.zeros((3, 3)))
