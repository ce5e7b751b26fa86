from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from rekep.poses import make_pose
from rekep.tracking import NO_BODY, PointTracker, SimTracker, TrackingError, bodies_under_pixels


def _pose(yaw_deg: float, t: list[float]) -> np.ndarray:
    return make_pose(Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix(), t)


def test_points_ride_rigidly_and_unbound_points_stay() -> None:
    poses = {3: _pose(0, [0.5, 0, 0]), 7: _pose(30, [0, 0.4, 0.1])}
    pts = np.array([[0.5, 0.1, 0.0], [0.5, 0.0, 0.2], [0.0, 0.4, 0.2], [1.0, 1.0, 1.0]])
    tracker = SimTracker(lambda b: poses[b], point_bodies=np.array([3, 3, 7, NO_BODY]))
    assert isinstance(tracker, PointTracker)
    assert (tracker.name, tracker.privileged, tracker.needs_images) == ("sim", True, False)
    tracker.start(None, pts, 0.0)
    poses[3] = _pose(90, [0.6, 0.0, 0.0])
    poses[7] = _pose(30, [0.0, 0.5, 0.1])
    res = tracker.update(None, 0.5)
    # local (0, 0.1, 0) turned 90 deg about z is (-0.1, 0, 0), plus the new origin (0.6, 0, 0)
    np.testing.assert_allclose(res.positions[0], [0.5, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(res.positions[1], [0.6, 0.0, 0.2], atol=1e-12)
    np.testing.assert_allclose(res.positions[2], [0.0, 0.5, 0.2], atol=1e-12)
    np.testing.assert_allclose(res.positions[3], pts[3])
    assert res.visible.all() and res.time_s == 0.5


def test_bind_is_required_and_checked() -> None:
    tracker = SimTracker(lambda b: np.eye(4))
    with pytest.raises(TrackingError, match="bind"):
        tracker.start(None, np.zeros((2, 3)), 0.0)
    tracker.bind(np.array([1, 2, 3]))
    with pytest.raises(TrackingError, match="3 entries but 2 points"):
        tracker.start(None, np.zeros((2, 3)), 0.0)
    with pytest.raises(TrackingError, match="integer"):
        tracker.bind(np.array([0.5, 1.0]))
    with pytest.raises(TrackingError, match="start"):
        SimTracker(lambda b: np.eye(4), [0]).update(None, 0.0)


def test_bad_body_pose_is_wrapped() -> None:
    def broken(body: int) -> np.ndarray:
        raise KeyError(body)

    tracker = SimTracker(broken, [4])
    with pytest.raises(TrackingError, match="body 4"):
        tracker.start(None, np.zeros((1, 3)), 0.0)


def test_bodies_under_pixels() -> None:
    seg = -np.ones((10, 20), np.int64)
    seg[2:5, 3:8] = 6
    pix = np.array([[4.2, 3.4], [15.0, 8.0], [-3.0, 2.0], [np.nan, 1.0]])
    np.testing.assert_array_equal(bodies_under_pixels(seg, pix), [6, NO_BODY, NO_BODY, NO_BODY])
