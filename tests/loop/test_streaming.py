"""The streamed step: a bounded carrot pose, and a bounded joint step towards a goal."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.loop.streaming import carrot_pose, joint_step
from rekep.poses import make_pose, rotation_angle


def test_carrot_is_bounded_by_distance_and_angle() -> None:
    T = make_pose(np.eye(3), [0.0, 0.0, 0.0])
    far = make_pose(np.eye(3), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(carrot_pose(T, far, 0.03, 0.25)[:3, 3], [0.03, 0, 0], atol=1e-12)
    c, s = np.cos(1.0), np.sin(1.0)
    turned = make_pose(np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]), [0.01, 0, 0])
    carrot = carrot_pose(T, turned, 0.03, 0.25)
    assert rotation_angle(T[:3, :3], carrot[:3, :3]) == pytest.approx(0.25)
    near = make_pose(np.eye(3), [0.01, 0.0, 0.0])
    np.testing.assert_allclose(carrot_pose(T, near, 0.03, 0.25), near, atol=1e-12)


def test_joint_step_moves_straight_and_no_joint_beyond_the_bound() -> None:
    q0, q1 = np.zeros(7), np.array([1.0, -0.5, 0.0, 0.2, 0.0, 0.0, 2.0])
    q = joint_step(q0, q1, 0.25)
    assert np.max(np.abs(q - q0)) == pytest.approx(0.25)
    np.testing.assert_allclose(q / 0.125, q1, atol=1e-12)  # along the straight line
    np.testing.assert_allclose(joint_step(q0, q1 * 0.01, 0.25), q1 * 0.01)
    with pytest.raises(ValueError, match="differ in shape"):
        joint_step(np.zeros(6), np.zeros(7), 0.1)
