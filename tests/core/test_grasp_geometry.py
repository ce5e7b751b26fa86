"""Grasp geometry shared by every grasp path: centring, wrist-aware closing axis, descent."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.grasp_geometry import (
    GraspConfig,
    WristRange,
    centring_shift,
    closing_axis_from_points,
    descent_target,
    grasp_pose,
    wrist_range,
)
from rekep.poses import make_pose


def bar_points(half: tuple[float, float, float], centre: tuple[float, float, float],
               n: int = 3000) -> np.ndarray:  # fmt: skip
    """Observed top face and one long side of an axis-aligned bar (x narrow, y long)."""
    rng = np.random.default_rng(1)
    hx, hy, hz = half
    top = np.c_[rng.uniform(-hx, hx, n), rng.uniform(-hy, hy, n), np.full(n, hz)]
    side = np.c_[np.full(n, -hx), rng.uniform(-hy, hy, n), rng.uniform(-hz, hz, n)]
    return np.vstack([top, side]) + np.array(centre)


def top_down(position: list[float], closing: tuple[float, float, float] = (1.0, 0.0, 0.0)
             ) -> np.ndarray:  # fmt: skip
    x = np.array(closing, dtype=float)
    z = np.array([0.0, 0.0, -1.0])
    return make_pose(np.column_stack([x, np.cross(z, x), z]), position)


BAR = ((0.0225, 0.10, 0.025), (0.5, 0.2, 0.025))


def test_a_keypoint_on_the_edge_is_centred_across_the_bar() -> None:
    pts = bar_points(*BAR)
    T = top_down([0.5 + 0.022, 0.265, 0.05])  # on the top face's edge, near one end
    shift = centring_shift(T, pts)
    np.testing.assert_allclose(shift, [-0.022, 0.0, 0.0], atol=2e-3)
    pose, applied = grasp_pose(T, pts, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(applied, shift)
    np.testing.assert_allclose(pose[:3, 3], T[:3, 3] + shift)
    np.testing.assert_allclose(pose[:3, :3], T[:3, :3])


def test_no_centring_when_too_wide_far_or_off() -> None:
    wide = bar_points((0.06, 0.10, 0.025), (0.5, 0.2, 0.025))  # 12 cm across: no fit
    assert not centring_shift(top_down([0.55, 0.2, 0.05]), wide).any()
    pts = bar_points(*BAR)
    far = top_down([0.5 + 0.06, 0.2, 0.05])  # the middle 6 cm away: not this object's part
    assert not centring_shift(far, pts).any()
    off = GraspConfig(centre=False)
    assert not centring_shift(top_down([0.52, 0.2, 0.05]), pts, off).any()
    assert not centring_shift(top_down([0.52, 0.2, 0.05]), np.zeros((0, 3))).any()
    assert not centring_shift(top_down([0.503, 0.2, 0.05]), pts).any()  # 3 mm: centred


def test_points_below_the_fingers_do_not_count() -> None:
    """A wide base 5 cm under a narrow top: only what the fingers reach is centred on."""
    top = bar_points((0.01, 0.05, 0.01), (0.5, 0.2, 0.09))
    base = bar_points((0.10, 0.10, 0.01), (0.5, 0.2, 0.01))
    shift = centring_shift(top_down([0.508, 0.2, 0.10]), np.vstack([top, base]))
    np.testing.assert_allclose(shift, [-0.008, 0.0, 0.0], atol=2e-3)


def test_descent_target_goes_past_but_not_into_the_floor() -> None:
    pts = bar_points(*BAR)
    cfg = GraspConfig(depth_m=0.02, clearance_m=0.015)
    T = top_down([0.5, 0.2, 0.05])
    np.testing.assert_allclose(descent_target(T, pts, cfg)[:3, 3], [0.5, 0.2, 0.03])
    low = top_down([0.5, 0.2, 0.02])
    assert descent_target(low, pts, cfg)[2, 3] == pytest.approx(pts[:, 2].min() + 0.015)
    assert descent_target(low, np.zeros((0, 3)), cfg)[2, 3] == pytest.approx(0.0)


def test_the_wrist_limit_picks_the_opposite_closing_direction() -> None:
    pts = bar_points(*BAR)
    preferred = np.array([0.99, 0.1, 0.0])
    assert closing_axis_from_points(pts, preferred)[0] > 0.99
    z = np.array([0.0, 0.0, -1.0])
    blocked = WristRange(np.array([0.995, 0.0998, 0.0]), z, low=-3.5, high=0.05)
    axis = closing_axis_from_points(pts, preferred, blocked, margin_rad=0.3)
    assert axis[0] < -0.99  # turning to +x needs +0.1 rad, past high - margin
    free = WristRange(np.array([0.995, 0.0998, 0.0]), z, low=-3.5, high=3.0)
    assert closing_axis_from_points(pts, preferred, free)[0] > 0.99
    neither = WristRange(np.array([0.0, 1.0, 0.0]), z, low=-1.5, high=0.1)
    best = closing_axis_from_points(pts, preferred, neither)  # both 90 deg away: most slack
    assert neither.slack(best) == pytest.approx(max(neither.slack(d) for d in
                                                    ([1.0, 0, 0], [-1.0, 0, 0])))
    assert neither.slack(best) < 0.3


def test_wrist_range_of_the_panda_matches_its_last_joint() -> None:
    from solvers.kinematics import RobotModel

    robot = RobotModel()
    q = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 2.6])  # a top-down pose, wrist near a limit
    wrist = wrist_range(robot.fk, q, robot.lower, robot.upper)
    assert wrist is not None
    for dq in (-1.0, 0.3):  # turning the last joint turns the TCP x by the range's sign
        q2 = q.copy()
        q2[-1] += dq
        turn = wrist.turn(robot.fk(q2)[:3, 0])
        assert abs(abs(turn) - abs(dq)) < 1e-6
        assert wrist.low <= turn <= wrist.high
    width = wrist.high - wrist.low
    assert width == pytest.approx(robot.upper[-1] - robot.lower[-1])
    assert min(abs(wrist.low), abs(wrist.high)) == pytest.approx(robot.upper[-1] - 2.6)


def test_wrist_range_is_none_when_the_last_joint_moves_the_tcp() -> None:
    def fk(q: np.ndarray) -> np.ndarray:  # a last joint that slides the TCP sideways
        return make_pose(np.eye(3), [float(q[-1]), 0.0, 0.0])

    assert wrist_range(fk, np.zeros(3), -np.ones(3), np.ones(3)) is None
