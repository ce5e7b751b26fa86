"""Constraint functions in the style of the ReKep prompt examples (test data).

Each function uses a module-level ``np`` and ``get_grasping_cost_by_keypoint_idx``, as the
generated programs do. ``CORPUS`` lists (function, ee_shape) for functions that must trace;
single-arm functions use ``NUM_KEYPOINTS`` keypoints. ``UNTRACEABLE`` lists (function, the
reason's expected prefix) for functions that must fall back to numeric evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NUM_KEYPOINTS = 12
HELD = (4,)  # keypoints of the held object in these tests


def get_grasping_cost_by_keypoint_idx(i: int) -> float:
    return 0.0 if i in HELD else 1.0


# ---------------------------------------------------------------- grasp / reach (single arm)
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the teapot handle (keypoint 4)."""
    return np.linalg.norm(end_effector - keypoints[4])


def grasp_within_tolerance(end_effector, keypoints):
    return np.linalg.norm(end_effector - keypoints[-1]) - 0.01


def offset_above(end_effector, keypoints):
    """Keypoint 5 (spout) 10 cm above the cup opening (mean of keypoints 7..10)."""
    cup_opening = np.mean(keypoints[7:11], axis=0)
    offsetted_point = cup_opening + np.array([0, 0, 0.1])
    return np.linalg.norm(keypoints[5] - offsetted_point)


def offset_below_mean_of_three(end_effector, keypoints):
    centre = (keypoints[2] + keypoints[3] + keypoints[4]) / 3.0
    offsetted_point = centre - np.array([0.0, 0.0, 0.05])
    return np.linalg.norm(end_effector - offsetted_point) - 0.02


def offset_in_front(end_effector, keypoints):
    offsetted_point = keypoints[3] + np.array([0.1, 0.0, 0.0])
    return np.linalg.norm(keypoints[4] - offsetted_point)


def pen_upright_cross(end_effector, keypoints):
    """The pen (keypoint 1 to 0) is vertical: cross product with z vanishes."""
    pen_vector = keypoints[0] - keypoints[1]
    z_axis = np.array([0, 0, 1])
    pen_vector = pen_vector / np.linalg.norm(pen_vector)
    return np.linalg.norm(np.cross(pen_vector, z_axis))


def upright_arccos(end_effector, keypoints):
    v = keypoints[6] - keypoints[5]
    cos_angle = np.dot(v, np.array([0.0, 0.0, 1.0])) / np.linalg.norm(v)
    return np.arccos(cos_angle) - np.pi / 18


def horizontal_axis(end_effector, keypoints):
    v = keypoints[8] - keypoints[7]
    v = v / np.linalg.norm(v)
    return abs(v.dot(np.array([0, 0, 1]))) - 0.05


def pouring_tilt(end_effector, keypoints):
    """Spout lower than the handle by a tilt of about 45 degrees."""
    v = keypoints[5] - keypoints[4]
    horizontal = np.linalg.norm(v[:2])
    angle = np.arctan2(-v[2], horizontal)
    return np.abs(angle - np.pi / 4)


def arcsin_tilt(end_effector, keypoints):
    v = keypoints[5] - keypoints[4]
    return np.arcsin(v[2] / np.linalg.norm(v)) + 0.3


def distance_band_max(end_effector, keypoints):
    d = np.linalg.norm(keypoints[4] - keypoints[9])
    return np.maximum(0.0, d - 0.15) + np.maximum(0.0, 0.05 - d)


def distance_band_builtin_max(end_effector, keypoints):
    d = np.linalg.norm(keypoints[2] - keypoints[9])
    return max(0.0, d - 0.2, 0.05 - d)


def min_of_distances(end_effector, keypoints):
    dists = np.linalg.norm(keypoints[[1, 2, 3]] - end_effector, axis=1)
    return np.min(dists) - 0.02


def max_of_small_array(end_effector, keypoints):
    heights = keypoints[3:7, 2]
    return np.max(heights) - np.min(heights) - 0.01


def keep_level_path(end_effector, keypoints):
    """Keep the tray level: keypoints 7..10 at equal height."""
    z = keypoints[7:11, 2]
    return np.sum(np.abs(z - np.mean(z))) - 0.02


def keep_height_path(end_effector, keypoints):
    return 0.05 - (keypoints[4][2] - keypoints[0][2])


def clip_cost(end_effector, keypoints):
    d = np.linalg.norm(end_effector - keypoints[4])
    return np.clip(d - 0.05, 0.0, 0.5)


def grasping_helper_path(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(4)


def grasping_helper_plus_distance(end_effector, keypoints):
    return get_grasping_cost_by_keypoint_idx(3) + np.linalg.norm(keypoints[4] - keypoints[3]) - 0.3


def point_into_hole(end_effector, keypoints):
    hole = np.mean(keypoints[[8, 9, 10, 11]], axis=0)
    offsetted_point = hole + np.array([0, 0, 0.02])
    horizontal = np.linalg.norm((keypoints[4] - offsetted_point)[:2])
    vertical = np.abs(keypoints[4][2] - offsetted_point[2])
    return horizontal + 0.5 * vertical


def squared_distance(end_effector, keypoints):
    diff = end_effector - keypoints[2]
    return np.sum(np.square(diff)) - 0.0004


def sqrt_of_sum(end_effector, keypoints):
    diff = keypoints[4] - keypoints[0]
    return np.sqrt(diff[0] ** 2 + diff[1] ** 2 + diff[2] ** 2) - 0.1


def angle_between_objects(end_effector, keypoints):
    a = keypoints[1] - keypoints[0]
    b = keypoints[5] - keypoints[4]
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - cos


def matrix_rows_norm(end_effector, keypoints):
    pts = np.vstack([keypoints[4], keypoints[5], end_effector])
    centre = np.array([0.5, 0.0, 0.2])
    return np.mean(np.linalg.norm(pts - centre, axis=1)) - 0.1


def stack_and_transpose(end_effector, keypoints):
    m = np.stack([keypoints[1] - keypoints[0], keypoints[2] - keypoints[0]]).T
    g = m.T @ m
    return g[0, 0] + g[1, 1] - 2.0 * g[0, 1]


def outer_product(end_effector, keypoints):
    u = keypoints[1] - keypoints[0]
    return np.trace(np.outer(u, u)) - np.dot(u, u) + np.linalg.norm(u) - 0.05


def concatenate_reshape(end_effector, keypoints):
    v = np.concatenate([keypoints[4], end_effector]).reshape(2, 3)
    return np.linalg.norm(v[0] - v[1]) - 0.03


def exp_log_trig(end_effector, keypoints):
    d = np.linalg.norm(keypoints[4] - keypoints[6])
    return np.exp(-d) + np.log(1.0 + d) + np.sin(d) * np.cos(d) + np.tanh(d) - 1.5


def power_and_hypot(end_effector, keypoints):
    v = keypoints[4] - keypoints[8]
    return np.power(np.hypot(v[0], v[1]), 2) - 0.01


def setitem_copy(end_effector, keypoints):
    target = keypoints[3].copy()
    target[2] = target[2] + 0.08
    return np.linalg.norm(end_effector - target)


def where_branchless(end_effector, keypoints):
    d = keypoints[4][2] - keypoints[0][2]
    return np.where(d > 0.1, 0.0, 0.1 - d) + 0.0 * d


def float_of_cost(end_effector, keypoints):
    return float(np.linalg.norm(keypoints[4] - keypoints[2]) - 0.1)


def loop_over_keypoints(end_effector, keypoints):
    total = 0.0
    for kp in keypoints[7:11]:
        total = total + np.linalg.norm(kp - end_effector)
    return total / 4 - 0.2


def weighted_average(end_effector, keypoints):
    centre = np.average(keypoints[0:3], axis=0, weights=[0.5, 0.25, 0.25])
    return np.linalg.norm(end_effector - centre) - 0.05


# -------------------------------------------------------------------------------- bimanual
def bimanual_both_grasp(end_effector, keypoints):
    return np.linalg.norm(end_effector[0] - keypoints[2]) + np.linalg.norm(
        end_effector[1] - keypoints[5]
    )


def bimanual_hands_apart(end_effector, keypoints):
    return 0.3 - np.linalg.norm(end_effector[0] - end_effector[1])


def bimanual_level_object(end_effector, keypoints):
    left, right = end_effector[0], end_effector[1]
    return np.abs(left[2] - right[2]) + np.linalg.norm(np.mean(end_effector, axis=0) - keypoints[0])


CORPUS: list[tuple[Callable[..., Any], tuple[int, ...]]] = [
    (f, (3,))
    for f in (
        stage1_subgoal_constraint1, grasp_within_tolerance, offset_above,
        offset_below_mean_of_three, offset_in_front, pen_upright_cross, upright_arccos,
        horizontal_axis, pouring_tilt, arcsin_tilt, distance_band_max,
        distance_band_builtin_max, min_of_distances, max_of_small_array, keep_level_path,
        keep_height_path, clip_cost, grasping_helper_path, grasping_helper_plus_distance,
        point_into_hole, squared_distance, sqrt_of_sum, angle_between_objects,
        matrix_rows_norm, stack_and_transpose, outer_product, concatenate_reshape,
        exp_log_trig, power_and_hypot, setitem_copy, where_branchless, float_of_cost,
        loop_over_keypoints, weighted_average,
    )
] + [(f, (2, 3)) for f in (bimanual_both_grasp, bimanual_hands_apart, bimanual_level_object)]


# ----------------------------------------------------------------------------- untraceable
def branch_on_height(end_effector, keypoints):
    if keypoints[4][2] > 0.1:
        return 0.0
    return np.linalg.norm(end_effector - keypoints[4])


def argmin_nearest(end_effector, keypoints):
    i = np.argmin(np.linalg.norm(keypoints - end_effector, axis=1))
    return np.linalg.norm(keypoints[i] - end_effector)


def sort_heights(end_effector, keypoints):
    return np.sort(keypoints[:, 2])[-1] - 0.3


def returns_vector(end_effector, keypoints):
    return keypoints[4] - end_effector


def symbolic_index(end_effector, keypoints):
    return keypoints[int(keypoints[0][0])][2]


UNTRACEABLE: list[tuple[Callable[..., Any], str]] = [
    (branch_on_height, "branch"),
    (argmin_nearest, "unsupported"),
    (sort_heights, "unsupported"),
    (returns_vector, "unsupported"),
    (symbolic_index, "unsupported"),
]
