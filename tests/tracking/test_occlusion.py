"""Hidden vs. lost: a point behind a nearer surface is occluded; elsewhere it is not."""

from __future__ import annotations

import numpy as np
import pytest

from rekep.observation import RGBD
from rekep.tracking.base import TrackingError, TrackResult
from rekep.tracking.occlusion import hidden_behind_surface

K = np.array([[100.0, 0.0, 40.0], [0.0, 100.0, 30.0], [0.0, 0.0, 1.0]])


def _scene() -> RGBD:
    """A wall 1 m away (identity camera pose, so world = camera frame) and, over the
    left half of the image, a board 0.6 m away."""
    depth = np.full((60, 80), 1.0, dtype=np.float32)
    depth[:, :40] = 0.6
    depth[50:, 60:] = np.nan  # a hole with no depth
    return RGBD(rgb=np.zeros((60, 80, 3), np.uint8), depth=depth, intrinsics=K)


def _at(u: float, v: float, z: float) -> list[float]:
    return [(u - 40.0) * z / 100.0, (v - 30.0) * z / 100.0, z]


def test_only_points_behind_a_nearer_surface_are_hidden() -> None:
    points = [
        _at(20, 30, 1.0),   # behind the board: hidden
        _at(20, 30, 0.6),   # on the board itself: not hidden
        _at(60, 30, 1.0),   # on the wall, nothing in front
        _at(60, 30, 0.9),   # in front of the wall (floating): not hidden
        _at(70, 55, 1.0),   # over the depth hole: unknown, not hidden
        _at(200, 30, 1.0),  # outside the image
        [0.0, 0.0, -1.0],   # behind the camera
    ]
    hidden = hidden_behind_surface(_scene(), points, margin_m=0.02)
    assert hidden.tolist() == [True, False, False, False, False, False, False]


def test_margin_decides_how_much_nearer_the_occluder_must_be() -> None:
    point = [_at(20, 30, 0.65)]  # 5 cm behind the board's surface
    assert hidden_behind_surface(_scene(), point, margin_m=0.02).tolist() == [True]
    assert hidden_behind_surface(_scene(), point, margin_m=0.1).tolist() == [False]
    with pytest.raises(ValueError, match="margin_m"):
        hidden_behind_surface(_scene(), point, margin_m=0.0)
    assert hidden_behind_surface(_scene(), np.zeros((0, 3))).shape == (0,)


def test_track_result_occlusion_is_only_for_lost_points() -> None:
    pos = np.zeros((3, 3))
    result = TrackResult(pos, [True, False, False], 0.0, occluded=[True, True, False])
    assert result.occluded_mask.tolist() == [False, True, False]
    assert TrackResult(pos, [True, False, True], 0.0).occluded_mask.tolist() == [False] * 3
    with pytest.raises(TrackingError, match="occluded"):
        TrackResult(pos, [True, True, True], 0.0, occluded=[True])
