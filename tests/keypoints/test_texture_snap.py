"""Snapping keypoints onto texture corners: onto a checker's X-corner on a flat face, never
onto a geometric corner (a step in depth), never two onto one pixel, within the radius only."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keypoints.texture_snap import corner_score, snap_to_texture, texture_corners
from rekep.observation import RGBD

H, W = 120, 160
F = 500.0  # focal length, pixels: 2 mm per pixel at 1 m
K = np.array([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])
X_CORNER = (60, 50)  # (row, col) where the four checker squares meet
OBJ = 7


def _checker_scene() -> tuple[RGBD, dict[int, NDArray[np.bool_]]]:
    """A flat orange card 1 m in front of the camera with a 2 x 2 dark/orange checker whose
    centre is at ``X_CORNER``; camera frame = world frame."""
    rgb = np.full((H, W, 3), (230, 140, 40), dtype=np.uint8)
    r, c = X_CORNER
    rgb[r - 10 : r, c - 10 : c] = (60, 30, 10)
    rgb[r : r + 10, c : c + 10] = (60, 30, 10)
    depth = np.ones((H, W), dtype=np.float32)
    mask = np.zeros((H, W), dtype=bool)
    mask[20:100, 20:140] = True
    return RGBD(rgb, depth, K), {OBJ: mask}


def _flat(row: int, col: int) -> int:
    return row * W + col


def test_the_x_corner_is_found_at_its_pixel() -> None:
    rgbd, masks = _checker_scene()
    score = corner_score(rgbd.rgb)
    corners, strength = texture_corners(rgbd, masks[OBJ], score, 0.1, 0.0005)
    row, col = divmod(int(corners[np.argmax(strength)]), W)
    assert abs(row - X_CORNER[0]) <= 1 and abs(col - X_CORNER[1]) <= 1
    assert np.all(np.abs(score[~masks[OBJ]]) < 1e-9)  # plain card: no corner at all


def test_a_nearby_keypoint_moves_onto_the_x_corner() -> None:
    rgbd, masks = _checker_scene()
    start = np.array([_flat(X_CORNER[0] + 8, X_CORNER[1] - 6)])  # 2 cm away
    out = snap_to_texture(rgbd, masks, start, np.array([OBJ]), 0.035, 0.1, 0.0005)
    row, col = divmod(int(out[0]), W)
    assert abs(row - X_CORNER[0]) <= 1 and abs(col - X_CORNER[1]) <= 1


def test_a_keypoint_beyond_the_radius_stays() -> None:
    rgbd, masks = _checker_scene()
    start = np.array([_flat(X_CORNER[0] + 25, X_CORNER[1] + 60)])  # 13 cm away
    out = snap_to_texture(rgbd, masks, start, np.array([OBJ]), 0.035, 0.1, 0.0005)
    assert out.tolist() == start.tolist()
    assert snap_to_texture(rgbd, masks, start, np.array([OBJ]), 0.0, 0.1, 0.0005).tolist() == [
        int(start[0])
    ]


def test_two_keypoints_never_share_a_corner() -> None:
    rgbd, masks = _checker_scene()
    start = np.array([_flat(X_CORNER[0] + 5, X_CORNER[1]), _flat(X_CORNER[0] - 5, X_CORNER[1])])
    out = snap_to_texture(rgbd, masks, start, np.array([OBJ, OBJ]), 0.035, 0.1, 0.0005)
    assert len(set(out.tolist())) == 2
    moved = [i for i in range(2) if out[i] != start[i]]
    assert len(moved) >= 1  # the first takes the corner; the other stays or finds another


def test_a_geometric_corner_is_not_texture() -> None:
    """A raised block of another shade: its image corner is strong, but the depth bends
    there, so a keypoint next to it does not move onto it."""
    rgb = np.full((H, W, 3), (200, 200, 200), dtype=np.uint8)
    depth = np.ones((H, W), dtype=np.float32)
    rgb[40:80, 60:100] = (120, 120, 120)
    depth[40:80, 60:100] = 0.95
    rgbd = RGBD(rgb, depth, K)
    mask = np.zeros((H, W), dtype=bool)
    mask[20:100, 30:130] = True
    corners, _ = texture_corners(rgbd, mask, corner_score(rgb), 0.1, 0.0005)
    assert len(corners) == 0
    start = np.array([_flat(44, 64)])
    out = snap_to_texture(rgbd, {OBJ: mask}, start, np.array([OBJ]), 0.035, 0.1, 0.0005)
    assert out.tolist() == start.tolist()
