"""FlowTracker on synthetic frames: a random texture on a plane 1 m in front of the camera."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tracking_frames import DEPTH, F, K, frame, texture, world_at

from rekep.observation import RGBD
from rekep.tracking import FlowConfig, FlowTracker, PointTracker, TrackingError

pytest.importorskip("cv2")

RNG = np.random.default_rng(7)
PIXELS = RNG.uniform([120, 100], [520, 380], (20, 2))


def _start(tex: np.ndarray, **overrides: Any) -> FlowTracker:
    tracker = FlowTracker(**overrides)
    tracker.start(frame(tex, (0, 0)), world_at(PIXELS), 0.0)
    return tracker


def test_follows_a_shifting_texture_to_sub_millimetre() -> None:
    tex = texture(1)
    tracker = _start(tex)
    assert isinstance(tracker, PointTracker)
    for i in range(1, 11):
        shift = (4 * i, -3 * i)
        res = tracker.update(frame(tex, shift), 0.05 * i)
        assert res.visible.all()
        err = np.linalg.norm(res.positions - world_at(PIXELS + shift), axis=1)
        assert err.max() < 1e-3  # 1 px = 2 mm at 1 m with f = 500
    assert res.time_s == pytest.approx(0.5)


def test_moving_camera_over_a_static_scene_keeps_points_still() -> None:
    tex = texture(2)
    tracker = _start(tex)
    for i in range(1, 8):
        du, dv = 5 * i, 2 * i
        obs = frame(tex, (du, dv))
        # content moving by (du, dv) px == camera moving by -(du, dv) px * z / f
        T = np.eye(4)
        T[:3, 3] = [-du * DEPTH / F, -dv * DEPTH / F, 0.0]
        res = tracker.update(RGBD(obs.rgb, obs.depth, K, T), 0.1 * i)
        assert res.visible.all()
        np.testing.assert_allclose(res.positions, world_at(PIXELS), atol=1e-3)


def test_points_leaving_the_image_are_lost_and_keep_their_position() -> None:
    tex = texture(3)
    tracker = _start(tex)
    last = None
    for i in range(1, 14):  # content slides right by 40 px per frame
        res = tracker.update(frame(tex, (40 * i, 0)), float(i))
        u = PIXELS[:, 0] + 40 * i
        assert not res.visible[u > 640 - 1 - tracker.config.border_px].any()
        # well inside (the LK window fits in the image): nearly all still tracked (a 40 px
        # jump per frame can make LK lose an odd point, as it may)
        inside = u < 640 - tracker.config.win_size
        assert not inside.any() or res.visible[inside].mean() >= 0.8
        if last is not None:  # lost rows are frozen at their last position
            frozen = ~res.visible & ~last.visible
            np.testing.assert_array_equal(res.positions[frozen], last.positions[frozen])
        last = res
    assert last is not None and not last.visible.any()


def test_nan_depth_under_a_point_loses_it_and_it_comes_back() -> None:
    tex = texture(4)
    tracker = _start(tex)
    obs = frame(tex, (6, 4))
    depth = obs.depth.copy()
    u, v = np.round(PIXELS[0] + (6, 4)).astype(int)
    depth[v - 4 : v + 5, u - 4 : u + 5] = np.nan
    res = tracker.update(RGBD(obs.rgb, depth, K), 0.1)
    assert not res.visible[0] and res.visible[1:].all()
    np.testing.assert_array_equal(res.positions[0], world_at(PIXELS[:1])[0])
    res = tracker.update(frame(tex, (10, 6)), 0.2)  # depth back: re-detected by patch search
    assert res.visible.all()
    np.testing.assert_allclose(res.positions[0], world_at(PIXELS[:1] + (10, 6))[0], atol=1e-3)


def test_occluded_patch_is_lost_then_redetected_after_motion() -> None:
    tex = texture(5)
    tracker = _start(tex)
    obs = frame(tex, (3, 3))
    rgb = obs.rgb.copy()
    u, v = np.round(PIXELS[2] + (3, 3)).astype(int)
    rgb[v - 15 : v + 16, u - 15 : u + 16] = 128  # a flat occluder: LK cannot follow
    assert not tracker.update(RGBD(rgb, obs.depth, K), 0.1).visible[2]
    res = tracker.update(frame(tex, (12, 9)), 0.2)  # uncovered, and it moved 9+6 px meanwhile
    assert res.visible[2]
    np.testing.assert_allclose(res.positions[2], world_at(PIXELS[2:3] + (12, 9))[0], atol=1e-3)


def test_without_redetection_lost_points_stay_lost() -> None:
    tex = texture(4)
    tracker = _start(tex, redetect=False)
    obs = frame(tex, (0, 0))
    depth = obs.depth.copy()
    u, v = np.round(PIXELS[0]).astype(int)
    depth[v - 4 : v + 5, u - 4 : u + 5] = np.nan
    assert not tracker.update(RGBD(obs.rgb, depth, K), 0.1).visible[0]
    assert not tracker.update(frame(tex, (0, 0)), 0.2).visible[0]


def test_points_hidden_at_start_appear_when_uncovered() -> None:
    tex = texture(6)
    tracker = FlowTracker()
    first = frame(tex, (0, 0))
    depth = first.depth.copy()
    depth[:, :320] = 0.5  # something nearer covers the left half at start
    tracker.start(RGBD(first.rgb, depth, K), world_at(PIXELS), 0.0)
    left = PIXELS[:, 0] < 315
    res = tracker.update(RGBD(first.rgb, depth, K), 0.1)
    assert not res.visible[left].any() and res.visible[~left & (PIXELS[:, 0] > 325)].all()
    res = tracker.update(frame(tex, (0, 0)), 0.2)
    assert res.visible.all()


def test_bad_input_is_reported() -> None:
    with pytest.raises(TrackingError, match="win_size"):
        FlowConfig(win_size=4)
    with pytest.raises(TrackingError, match="unknown FlowConfig"):
        FlowTracker(no_such_setting=1)
    tracker = FlowTracker()
    with pytest.raises(TrackingError, match="start"):
        tracker.update(frame(texture(0), (0, 0)), 0.0)
    tracker.start(frame(texture(0), (0, 0)), world_at(PIXELS), 0.0)
    with pytest.raises(TrackingError, match="RGBD observation"):
        tracker.update(None, 0.1)
    with pytest.raises(TrackingError, match=r"\(K, 3\)"):
        tracker.start(frame(texture(0), (0, 0)), np.zeros((3, 2)), 0.0)


def test_a_point_behind_a_nearer_board_is_occluded_a_point_over_a_hole_is_only_lost() -> None:
    tex = texture(8)
    tracker = _start(tex)
    obs = frame(tex, (0, 0))
    rgb, depth = obs.rgb.copy(), obs.depth.copy()
    (u0, v0), (u1, v1) = np.round(PIXELS[:2]).astype(int)
    rgb[v0 - 20 : v0 + 21, u0 - 20 : u0 + 21] = 90  # a flat board 40 cm in front of point 0
    depth[v0 - 20 : v0 + 21, u0 - 20 : u0 + 21] = 0.6
    depth[v1 - 4 : v1 + 5, u1 - 4 : u1 + 5] = np.nan  # no depth under point 1
    res = tracker.update(RGBD(rgb, depth, K), 0.1)
    assert not res.visible[0] and res.occluded_mask[0]
    assert not res.visible[1] and not res.occluded_mask[1]
    assert not res.occluded_mask[2:].any() and res.visible[2:].all()
    np.testing.assert_allclose(res.positions[0], world_at(PIXELS[:1])[0])  # kept where it was
