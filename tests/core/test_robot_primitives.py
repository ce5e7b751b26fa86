"""Grasp-axis selection and pose rotation of the grasp primitive (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.poses import make_pose
from rekep.robot import closing_axis_from_points, with_closing_axis


def top_down_pose(position: list[float]) -> np.ndarray:
    return make_pose(np.diag([1.0, -1.0, -1.0]), position)


def rectangle_points(half_x: float, half_y: float, yaw: float, n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(0)
    local = rng.uniform([-half_x, -half_y], [half_x, half_y], size=(n, 2))
    c, s = np.cos(yaw), np.sin(yaw)
    xy = local @ np.array([[c, s], [-s, c]])
    offset = np.array([0.5, 0.1])
    return np.c_[xy + offset, np.full(n, 0.05)]


@pytest.mark.parametrize("yaw", [0.0, 0.3, -1.0, 2.5])
def test_closes_across_the_narrow_side(yaw: float) -> None:
    pts = rectangle_points(0.06, 0.02, yaw)  # narrow along the object's local y
    narrow = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    axis = closing_axis_from_points(pts, preferred=narrow)
    assert abs(axis @ narrow) > np.cos(np.deg2rad(2.0))
    assert axis @ narrow > 0  # the sign nearer the preferred direction


def test_square_picks_face_axis_nearest_preference() -> None:
    yaw = 0.4
    pts = rectangle_points(0.025, 0.025, yaw)
    angles = [yaw + k * np.pi / 2 for k in range(4)]
    face_axes = [np.array([np.cos(a), np.sin(a), 0.0]) for a in angles]
    preferred = np.array([0.0, -1.0, 0.0])
    axis = closing_axis_from_points(pts, preferred)
    best = max(face_axes, key=lambda a: a @ preferred)
    assert axis @ best > np.cos(np.deg2rad(2.0))


def test_with_closing_axis_keeps_approach_and_position() -> None:
    T = top_down_pose([0.4, 0.0, 0.2])
    out = with_closing_axis(T, [np.cos(0.7), np.sin(0.7), 0.0])
    np.testing.assert_allclose(out[:3, 2], T[:3, 2], atol=1e-12)
    np.testing.assert_allclose(out[:3, 3], T[:3, 3])
    np.testing.assert_allclose(out[:3, :3] @ out[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.linalg.det(out[:3, :3]) > 0
    np.testing.assert_allclose(out[:3, 0], [np.cos(0.7), np.sin(0.7), 0.0], atol=1e-12)
