"""Forward model: held keypoints move rigidly with the hand, the others stay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from rekep.errors import PoseError, SolverError
from rekep.poses import invert_pose, make_pose, transform_points
from solvers.forward_model import HeldKeypointModel, move_held_keypoints

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random_pose(rng: np.random.Generator) -> np.ndarray:
    quat = rng.normal(size=4)
    return make_pose(
        Rotation.from_quat(quat / np.linalg.norm(quat)).as_matrix(), rng.normal(size=3)
    )


def random_scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    K = int(rng.integers(3, 9))
    keypoints = rng.normal(size=(K, 3))
    held = rng.random(K) < 0.5
    held[0], held[1], held[2] = True, True, False  # at least two held, one not
    return keypoints, held


def pairwise(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


@settings(max_examples=50, deadline=None)
@given(seeds)
def test_held_set_moves_rigidly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keypoints, held = random_scene(rng)
    T_now, T_new = random_pose(rng), random_pose(rng)
    moved = move_held_keypoints(keypoints, held, T_now, T_new)
    np.testing.assert_allclose(pairwise(moved[held]), pairwise(keypoints[held]), atol=1e-9)
    # rigidly attached to the hand: the same coordinates in the TCP frame before and after
    np.testing.assert_allclose(
        transform_points(invert_pose(T_new), moved[held]),
        transform_points(invert_pose(T_now), keypoints[held]),
        atol=1e-9,
    )


@settings(max_examples=50, deadline=None)
@given(seeds)
def test_unheld_points_are_unchanged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keypoints, held = random_scene(rng)
    moved = move_held_keypoints(keypoints, held, random_pose(rng), random_pose(rng))
    np.testing.assert_array_equal(moved[~held], keypoints[~held])
    assert not np.allclose(moved[held], keypoints[held])  # the held ones did move


@settings(max_examples=50, deadline=None)
@given(seeds)
def test_identity_when_poses_are_equal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keypoints, held = random_scene(rng)
    T = random_pose(rng)
    np.testing.assert_allclose(move_held_keypoints(keypoints, held, T, T), keypoints, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(seeds)
def test_moves_compose(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keypoints, held = random_scene(rng)
    T_a, T_b, T_c = random_pose(rng), random_pose(rng), random_pose(rng)
    two_steps = move_held_keypoints(move_held_keypoints(keypoints, held, T_a, T_b), held, T_b, T_c)
    np.testing.assert_allclose(two_steps, move_held_keypoints(keypoints, held, T_a, T_c), atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_precomputed_model_matches_function(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keypoints, held = random_scene(rng)
    T_now, T_new = random_pose(rng), random_pose(rng)
    model = HeldKeypointModel(keypoints, held, T_now)
    np.testing.assert_allclose(
        model.at_pose(T_new), move_held_keypoints(keypoints, held, T_now, T_new), atol=1e-12
    )


def test_pure_translation_shifts_held_points_only() -> None:
    keypoints = np.array([[0.0, 0.0, 0.1], [1.0, 0.0, 0.0]])
    T_now = make_pose(np.eye(3), [0.0, 0.0, 0.2])
    T_new = make_pose(np.eye(3), [0.3, 0.0, 0.2])
    moved = move_held_keypoints(keypoints, [True, False], T_now, T_new)
    np.testing.assert_allclose(moved, [[0.3, 0.0, 0.1], [1.0, 0.0, 0.0]])


def test_inputs_are_not_mutated_and_int_masks_accepted() -> None:
    keypoints = np.array([[0.0, 0.0, 0.1], [1.0, 0.0, 0.0]])
    original = keypoints.copy()
    T_new = make_pose(np.eye(3), [0.3, 0.0, 0.0])
    moved = move_held_keypoints(keypoints, np.array([1, 0]), np.eye(4), T_new)
    np.testing.assert_array_equal(keypoints, original)
    np.testing.assert_allclose(moved[0], [0.3, 0.0, 0.1])


@pytest.mark.parametrize(
    ("keypoints", "mask", "T", "error"),
    [
        (np.zeros((2, 2)), [True, False], np.eye(4), SolverError),
        (np.array([[np.nan, 0, 0], [0, 0, 0]]), [True, False], np.eye(4), SolverError),
        (np.zeros((2, 3)), [True], np.eye(4), SolverError),
        (np.zeros((2, 3)), [2, 0], np.eye(4), SolverError),
        (np.zeros((2, 3)), [True, False], np.eye(3), PoseError),
    ],
)
def test_invalid_inputs_raise(
    keypoints: np.ndarray, mask: list, T: np.ndarray, error: type
) -> None:
    with pytest.raises(error):
        move_held_keypoints(keypoints, mask, np.eye(4), T)
