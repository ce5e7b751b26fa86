"""RGBD validation and back-projection."""

from __future__ import annotations

import numpy as np
import pytest

from rekep import RGBD, Keypoints, ObservationError, RekepError
from rekep.poses import make_pose

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def frame(h: int = 480, w: int = 640, depth_value: float = 1.0) -> dict[str, np.ndarray]:
    return {
        "rgb": np.zeros((h, w, 3), np.uint8),
        "depth": np.full((h, w), depth_value, np.float32),
        "intrinsics": K,
    }


def test_valid_frame_back_projects_principal_point_onto_axis() -> None:
    obs = RGBD(**frame())
    pts = obs.points_camera()
    np.testing.assert_allclose(pts[240, 320], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(pts[240, 420], [100 / 500, 0.0, 1.0])


def test_world_points_and_projection_are_inverse() -> None:
    T = make_pose(np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]]), [0.1, 0.2, 1.5])
    obs = RGBD(**frame(), T_world_camera=T)
    world = obs.points_world()
    pix = obs.project(world[[10, 200, 400], [20, 300, 600]])
    np.testing.assert_allclose(pix, [[20, 10], [300, 200], [600, 400]], atol=1e-9)


def test_invalid_depth_is_nan_in_points() -> None:
    f = frame()
    f["depth"][0, 0] = 0.0
    f["depth"][0, 1] = np.nan
    obs = RGBD(**f)
    assert not obs.valid_depth()[0, :2].any()
    assert np.isnan(obs.points_world()[0, :2]).all()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda f: f.update(rgb=np.zeros((480, 640), np.uint8)), "rgb must be (H, W, 3)"),
        (lambda f: f.update(rgb=np.zeros((480, 640, 3), np.float32)), "uint8"),
        (lambda f: f.update(depth=np.ones((240, 320), np.float32)), "does not match rgb"),
        (lambda f: f.update(depth=np.zeros((480, 640), np.float32)), "no valid pixel"),
        (lambda f: f.update(depth=np.full((480, 640), np.nan, np.float32)), "no valid pixel"),
        (lambda f: f.update(depth=np.full((480, 640), 1000, np.uint16)), "float metres"),
        (lambda f: f.update(depth=np.full((480, 640), 1500.0, np.float32)), "millimetres"),
        (lambda f: f.update(intrinsics=np.eye(4)), "(3, 3)"),
        (lambda f: f.update(intrinsics=np.full((3, 3), np.nan)), "NaN"),
        (lambda f: f.update(T_world_camera=np.eye(3)), "T_world_camera"),
    ],
)
def test_bad_frames_name_the_field(change, fragment: str) -> None:  # type: ignore[no-untyped-def]
    f = frame()
    change(f)
    with pytest.raises(ObservationError, match=None) as info:
        RGBD(**f)
    assert isinstance(info.value, RekepError)
    assert fragment in str(info.value)


def test_keypoints_validate_and_round_trip() -> None:
    kp = Keypoints(positions=np.ones((3, 3)), pixels=np.zeros((3, 2)), object_ids=[1, 1, 2])
    assert len(kp) == 3
    assert kp.indices_of_object(1).tolist() == [0, 1]
    again = Keypoints.from_dict(kp.to_dict())
    np.testing.assert_array_equal(again.positions, kp.positions)
    with pytest.raises(ObservationError):
        Keypoints(positions=np.ones((3, 2)), pixels=np.zeros((3, 2)), object_ids=[1, 1, 2])
    with pytest.raises(ObservationError):
        Keypoints(positions=np.ones((3, 3)), pixels=np.zeros((3, 2)), object_ids=[1, 1])
