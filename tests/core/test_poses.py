"""Properties of the single pose convention."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rekep.errors import PoseError
from rekep.poses import (
    as_pose,
    interpolate_poses,
    invert_pose,
    make_pose,
    matrix_to_quat,
    pos_quat_from_pose,
    pose_from_pos_quat,
    pose_from_pos_rotvec,
    quat_to_matrix,
    rotation_angle,
    rotvec_from_matrix,
    transform_points,
)

RNG = np.random.default_rng(7)


def random_pose() -> np.ndarray:
    rotation = Rotation.random(random_state=RNG.integers(1 << 30)).as_matrix()
    return make_pose(rotation, RNG.normal(size=3))


@pytest.mark.parametrize("trial", range(20))
def test_inverse_composes_to_identity(trial: int) -> None:
    T = random_pose()
    np.testing.assert_allclose(T @ invert_pose(T), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(invert_pose(T) @ T, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("trial", range(20))
def test_quaternion_round_trip_is_xyzw(trial: int) -> None:
    T = random_pose()
    pos, quat = pos_quat_from_pose(T)
    assert quat[3] >= 0.0  # canonical sign, scalar last
    np.testing.assert_allclose(pose_from_pos_quat(pos, quat), T, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(matrix_to_quat(T[:3, :3])), T[:3, :3], atol=1e-12)


def test_quaternion_order_is_scalar_last() -> None:
    # 90 degrees about z: (x, y, z, w) = (0, 0, sin45, cos45)
    R = quat_to_matrix([0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    np.testing.assert_allclose(R @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)


def test_rotvec_round_trip() -> None:
    rv = np.array([0.3, -0.2, 0.9])
    T = pose_from_pos_rotvec([1.0, 2.0, 3.0], rv)
    np.testing.assert_allclose(rotvec_from_matrix(T[:3, :3]), rv, atol=1e-12)


def test_transform_points_matches_homogeneous_product() -> None:
    T = random_pose()
    pts = RNG.normal(size=(10, 3))
    homo = np.c_[pts, np.ones(10)] @ T.T
    np.testing.assert_allclose(transform_points(T, pts), homo[:, :3], atol=1e-12)
    np.testing.assert_allclose(transform_points(T, pts[0]), homo[0, :3], atol=1e-12)


def test_interpolation_endpoints_and_geodesic() -> None:
    A, B = random_pose(), random_pose()
    poses = interpolate_poses(A, B, np.linspace(0.0, 1.0, 11))
    np.testing.assert_allclose(poses[0], A, atol=1e-9)
    np.testing.assert_allclose(poses[-1], B, atol=1e-9)
    total = rotation_angle(A[:3, :3], B[:3, :3])
    steps = [rotation_angle(poses[i, :3, :3], poses[i + 1, :3, :3]) for i in range(10)]
    np.testing.assert_allclose(steps, total / 10, atol=1e-9)  # constant angular speed


@pytest.mark.parametrize(
    "bad",
    [np.eye(3), np.full((4, 4), np.nan), np.diag([1.0, 1.0, -1.0, 1.0]), np.ones((4, 4))],
)
def test_as_pose_rejects_malformed(bad: np.ndarray) -> None:
    with pytest.raises(PoseError):
        as_pose(bad)
