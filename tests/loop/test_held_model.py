"""Held-object model: what moves with the hand comes from the grasp (object ids, or a
radius), is verified every tick, and is cleared on release or when it stops following."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.errors import ConfigurationError
from rekep.keypoint_set import Keypoints
from rekep.loop import HeldModelConfig, HeldObjectModel
from rekep.poses import make_pose

T_GRASP = make_pose(np.diag([1.0, -1.0, -1.0]), [0.5, 0.1, 0.05])
VISIBLE = np.ones(3, dtype=bool)


def moved(T: np.ndarray, dz: float) -> np.ndarray:
    out = T.copy()
    out[2, 3] += dz
    return out


def test_grasp_holds_every_keypoint_of_the_grasped_object(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    held = model.grasp(0, T_GRASP, keypoints.positions)
    assert held == (0, 1)
    assert model.held_mask().tolist() == [True, True, False]
    # the carried keypoints follow the hand rigidly
    lifted = moved(T_GRASP, 0.1)
    np.testing.assert_allclose(model.predicted(lifted), keypoints.positions[:2] + [0, 0, 0.1])


def test_unknown_object_id_falls_back_to_radius(keypoints: Keypoints) -> None:
    kps = Keypoints(keypoints.positions, keypoints.pixels, np.array([-1, -1, -1]))
    near = HeldObjectModel(kps, HeldModelConfig(radius_m=0.05)).grasp(0, T_GRASP, kps.positions)
    assert near == (0, 1)  # keypoint 1 is 3.6 cm away, keypoint 2 is 30 cm away
    tight = HeldObjectModel(kps, HeldModelConfig(radius_m=0.01)).grasp(0, T_GRASP, kps.positions)
    assert tight == (0,)


def test_release_clears(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    model.release()
    assert model.held == () and not model.held_mask().any()
    assert not model.update(T_GRASP, keypoints.positions, VISIBLE, 0.04)


def test_following_keypoints_keep_the_hold(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    for k in range(1, 10):
        T = moved(T_GRASP, 0.02 * k)
        tracked = keypoints.positions.copy()
        tracked[:2] += [0.0, 0.0, 0.02 * k]
        assert model.update(T, tracked, VISIBLE, 0.04)
    assert model.held == (0, 1)


def test_keypoints_that_stop_following_are_cleared(keypoints: Keypoints) -> None:
    cfg = HeldModelConfig(follow_tolerance_m=0.02, lost_ticks=3)
    model = HeldObjectModel(keypoints, cfg)
    model.grasp(0, T_GRASP, keypoints.positions)
    results = []
    for k in range(1, 6):  # the hand rises, the object stays on the table (knocked out)
        results.append(model.update(moved(T_GRASP, 0.05 * k), keypoints.positions, VISIBLE, 0.04))
    assert results[:2] == [True, True] and results[2] is False
    assert model.held == () and "stopped following" in model.last_event


def test_a_few_tracks_left_do_not_clear_the_hold() -> None:
    points = np.array([0.5, 0.1, 0.05]) + 0.01 * np.arange(6)[:, None]
    kps = Keypoints(points, np.zeros((6, 2)), np.ones(6, dtype=int))
    model = HeldObjectModel(kps)  # min_tracked 4
    model.grasp(0, T_GRASP, points)
    slid = points + [0.05, 0.0, 0.0]  # tracks slid 5 cm off the carried object
    three = np.array([True, True, True, False, False, False])
    for _ in range(5):
        assert model.update(T_GRASP, slid, three, 0.04)  # 3 of 6 seen: the width decides
    assert not model.update(T_GRASP, slid, three, 0.0)
    model.grasp(0, T_GRASP, points)
    assert [model.update(T_GRASP, slid, np.ones(6, bool), 0.04) for _ in range(3)] == [
        True, True, False]  # all seen and none follows: cleared


def test_closed_gripper_clears_the_hold(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    assert not model.update(T_GRASP, keypoints.positions, VISIBLE, 0.0)
    assert model.held == ()


def test_lost_held_keypoints_are_filled_from_the_hand(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    T = moved(T_GRASP, 0.1)
    stale = keypoints.positions.copy()  # the tracker lost both held points (occluded)
    visible = np.array([False, False, True])
    assert model.update(T, stale, visible, 0.04)  # nothing visible to contradict the hold
    fused = model.fused_positions(T, stale, visible)
    np.testing.assert_allclose(fused[:2], keypoints.positions[:2] + [0, 0, 0.1])
    np.testing.assert_allclose(fused[2], keypoints.positions[2])


def test_held_keypoints_ride_with_the_hand_even_where_their_tracks_slid(
    keypoints: Keypoints,
) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    T = moved(T_GRASP, 0.1)
    tracked = keypoints.positions.copy()
    tracked[:2] += [0.0, 0.0, 0.1]
    tracked[0] += [0.02, 0.0, 0.0]  # this track slid 2 cm onto a finger and rides along
    assert model.update(T, tracked, VISIBLE, 0.04)  # still a hold: the tracks verify it
    fused = model.fused_positions(T, tracked, VISIBLE)
    np.testing.assert_allclose(fused[:2], keypoints.positions[:2] + [0, 0, 0.1])
    np.testing.assert_allclose(fused[2], keypoints.positions[2])  # not held: as tracked


def test_bad_inputs(keypoints: Keypoints) -> None:
    with pytest.raises(ConfigurationError):
        HeldObjectModel(keypoints).grasp(7, T_GRASP, keypoints.positions)
    with pytest.raises(ConfigurationError):
        HeldModelConfig(lost_ticks=0)


def test_a_closing_gripper_puts_the_hold_in_doubt(keypoints: Keypoints) -> None:
    model = HeldObjectModel(keypoints)
    model.grasp(0, T_GRASP, keypoints.positions)
    widths = [0.040, 0.0398, 0.030, 0.020, 0.0199, 0.004]  # settles, then squeezes on nothing
    closing = []
    for width in widths:
        model.update(T_GRASP, keypoints.positions, VISIBLE, width)
        closing.append(model.closing)
    assert closing == [False, False, True, True, False, False]
    assert model.held == () and "gripper closed" in model.last_event
