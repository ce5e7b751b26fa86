"""Objects at rest (:mod:`rekep.tracking.resting`) and how the flow tracker uses them."""

from __future__ import annotations

import numpy as np
import pytest
from tracking_frames import DEPTH, K, frame, texture, world_at

from rekep.observation import RGBD
from rekep.tracking import FlowTracker, TrackingError
from rekep.tracking.resting import RestConfig, colour_kept, pixel_colours, rest_state

CFG = RestConfig()
REST = np.array([[0.0, 0.0, 1.0], [0.05, 0.0, 1.0], [0.1, 0.0, 1.0], [0.0, 0.05, 1.0],
                 [0.05, 0.05, 1.0], [0.1, 0.05, 1.0]])  # fmt: skip


def test_points_off_their_colour_on_an_object_at_rest_slid_and_lost_ones_are_known() -> None:
    pos = REST.copy()
    pos[1] += [0.0, 0.04, -0.2]  # tracked on something passing in front
    pos[5] += [0.0, 0.005, 0.0]  # lost near its place
    vis = np.array([True, True, True, True, False, False])
    on_colour = np.array([True, False, True, True, True, True])
    still, slid, known = rest_state(REST, pos, vis, on_colour, CFG)
    assert still
    assert slid.tolist() == [False, True, False, False, False, False]
    assert known.tolist() == [False, True, False, False, True, True]


def test_a_point_that_moved_on_its_own_colour_is_left_alone() -> None:
    pos = REST.copy()
    pos[2] += [0.0, 0.0, -0.03]  # e.g. a cloth corner folded up: its colour is its own
    pos[5] += [0.0, 0.0, -0.03]  # and lost there: not known at its old place
    vis = np.array([True, True, True, True, True, False])
    still, slid, known = rest_state(REST, pos, vis, np.ones(6, bool), CFG)
    assert still and not slid.any() and not known.any()


def test_an_object_whose_points_moved_is_not_at_rest() -> None:
    pos = REST + [0.03, 0.0, 0.0]
    pos[0] = REST[0]  # one point left behind does not make it rest
    vis = np.array([True, True, True, True, True, False])
    still, slid, known = rest_state(REST, pos, vis, np.ones(6, bool), CFG)
    assert not still and not slid.any() and not known.any()
    few = np.array([True, True, False, False, False, False])  # two points show too little
    assert not rest_state(REST, REST, few, np.ones(6, bool), CFG)[0]


def test_colours_keep_their_hue_through_brightness_not_through_a_new_hue() -> None:
    red, dark_red, grey = [200.0, 40.0, 40.0], [80.0, 16.0, 16.0], [120.0, 120.0, 120.0]
    now = np.array([dark_red, grey, [np.nan] * 3])
    first = np.array([red, red, red])
    assert colour_kept(now, first, 0.15).tolist() == [True, False, True]
    rgb = np.zeros((5, 5, 3), np.uint8)
    rgb[..., 0] = 90
    cols = pixel_colours(rgb, np.array([[2.0, 2.0], [10.0, 1.0], [np.nan, 0.0]], np.float32))
    np.testing.assert_allclose(cols[0], [90, 0, 0])
    assert np.isnan(cols[1:]).all()


def test_rest_config_is_validated() -> None:
    with pytest.raises(TrackingError):
        RestConfig(inlier_m=0.02, known_m=0.01)
    with pytest.raises(TrackingError):
        RestConfig(min_points=1)


# ---------------------------------------------------------------- in the flow tracker
pytest.importorskip("cv2")
PIX = np.array([[200.0, 200.0], [260.0, 200.0], [320.0, 200.0], [200.0, 260.0],
                [260.0, 260.0], [320.0, 260.0]])  # fmt: skip


def _coloured(obs: RGBD) -> RGBD:
    """The grey texture tinted orange (a hue the board below does not have)."""
    rgb = (obs.rgb.astype(np.float64) * [1.0, 0.6, 0.2]).astype(np.uint8)
    return RGBD(rgb, obs.depth, K)


def _board_over(obs: RGBD, centre: tuple[int, int], tex: np.ndarray, half: int = 25) -> RGBD:
    """A textured grey board 40 cm in front of the plane, centred on ``centre``."""
    rgb, depth = obs.rgb.copy(), obs.depth.copy()
    u, v = centre
    rgb[v - half : v + half + 1, u - half : u + half + 1] = tex[:2 * half + 1, :2 * half + 1, None]
    depth[v - half : v + half + 1, u - half : u + half + 1] = DEPTH - 0.4
    return RGBD(rgb, depth, K)


def _tracker(rest_check: bool = True) -> tuple[FlowTracker, RGBD, RGBD]:
    """A tracker started on a frame with no depth under point 5; that frame; the plane
    with full depth."""
    tex = texture(11)
    first = _coloured(frame(tex, (0, 0)))
    depth = first.depth.copy()
    u, v = PIX[5].astype(int)
    depth[v - 4 : v + 5, u - 4 : u + 5] = np.nan  # point 5: no depth at start, never seen
    first = RGBD(first.rgb, depth, K)
    tracker = FlowTracker(rest_check=rest_check, wide_redetect=False)
    tracker.start(first, world_at(PIX), 0.0, point_groups=np.zeros(len(PIX), int))
    return tracker, first, _coloured(frame(tex, (0, 0)))


def test_a_point_covered_by_a_passing_board_stays_where_it_rests() -> None:
    tracker, _, still = _tracker()
    board = texture(12)
    for i, du in enumerate((-30, -20, -10, 0, 10, 20)):  # the board slides over point 0
        res = tracker.update(_board_over(still, (200 + du, 200), board), 0.1 * (i + 1))
        np.testing.assert_allclose(res.positions[0], world_at(PIX[:1])[0], atol=2e-3)
        assert res.visible[0] or res.occluded_mask[0]  # never lost
        assert res.visible[1:5].all()
    res = tracker.update(still, 1.0)  # the board has gone: point 0 is tracked again
    assert res.visible[0]
    np.testing.assert_allclose(res.positions[0], world_at(PIX[:1])[0], atol=2e-3)


def test_a_point_never_seen_on_an_object_at_rest_is_known_where_it_was_proposed() -> None:
    tracker, _, still = _tracker()
    res = tracker.update(still, 0.1)  # depth is back under point 5: it shows its surface
    assert res.visible.all()
    tracker, first, _ = _tracker()
    res = tracker.update(first, 0.1)  # the hole stays
    assert not res.visible[5] and res.occluded_mask[5]
    np.testing.assert_allclose(res.positions[5], world_at(PIX[5:])[0])
    off, _, _ = _tracker(rest_check=False)
    res = off.update(first, 0.1)
    assert not res.visible[5] and not res.occluded_mask[5]  # without the rule: lost
    held, _, _ = _tracker()
    held.hold([0])  # a hand took the object: nothing is assumed about it any more
    res = held.update(first, 0.1)
    assert not res.visible[5] and not res.occluded_mask[5]
