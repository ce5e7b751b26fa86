"""A flat, uniformly coloured pad (a target) jumps 10 cm while a bar (the arm) hides its
middle: the flow tracker must report the hidden keypoints at the new place once they show
again, not where the pad used to be (rekep.tracking.carry). Rendered with PyBullet."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")
pytest.importorskip("cv2")

from tracking_scene import EYE, TARGET

from rekep.observation import RGBD
from rekep.poses import make_pose, transform_points
from rekep.sim import Camera, SimWorld, look_at
from rekep.tracking import FlowTracker
from rekep.tracking.carry import carried_position, is_flat

PAD_HALF = (0.06, 0.06, 0.003)
PAD_START = make_pose(np.eye(3), [0.50, 0.0, PAD_HALF[2]])
JUMP = np.array([-0.02, -0.098, 0.0])  # 10 cm, partly across the bar
ARM = make_pose(np.eye(3), [0.545, 0.001, 0.08])  # a thin bar that hides both middles
# keypoints in the pad frame: its top face, near the corners and in the plain middle
KEYPOINTS = np.array(
    [[x, y, PAD_HALF[2]] for x in (-0.045, 0.0, 0.045) for y in (-0.045, 0.0, 0.045)]
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[SimWorld, int, int, Camera]]:
    with SimWorld() as w:
        pad = w.add_box(PAD_HALF, PAD_START, mass=0.0, rgba=(0.1, 0.75, 0.3, 1.0))
        arm = w.add_box((0.006, 0.05, 0.006), ARM, mass=0.0, rgba=(0.9, 0.9, 0.9, 1.0))
        yield w, pad, arm, Camera(640, 480, 50.0, look_at(EYE, TARGET))


def render(world: tuple[SimWorld, int, int, Camera], pad_pose: np.ndarray,
           arm_on: bool) -> tuple[RGBD, np.ndarray, np.ndarray]:  # fmt: skip
    """(observation, (H, W) pad mask, (K, 3) true keypoints)."""
    w, pad, arm, camera = world
    w.set_body_pose(pad, pad_pose)
    w.set_body_pose(arm, ARM if arm_on else make_pose(np.eye(3), [3.0, 3.0, -1.0]))
    obs, seg = camera.render(w.client)
    return obs, seg == pad, transform_points(w.body_pose(pad), KEYPOINTS)


def test_hidden_points_of_a_flat_object_that_jumped_come_back_at_the_new_place(
    world: tuple[SimWorld, int, int, Camera],
) -> None:
    obs0, mask, truth0 = render(world, PAD_START, False)
    tracker = FlowTracker(point_groups=np.zeros(len(KEYPOINTS), int), group_masks={0: mask})
    tracker.start(obs0, truth0, 0.0)
    res = tracker.update(render(world, PAD_START, True)[0], 0.05)  # the arm comes over
    hidden = ~res.visible
    assert hidden.any() and res.visible.sum() >= 3
    moved = make_pose(np.eye(3), PAD_START[:3, 3] + JUMP)
    obs, _, truth = render(world, moved, True)  # the pad jumps under the arm
    assert np.linalg.norm(truth - truth0, axis=1).min() > 0.099
    tracker.update(obs, 0.10)
    for i in range(3):  # the arm leaves
        res = tracker.update(render(world, moved, False)[0], 0.15 + 0.05 * i)
    error = np.linalg.norm(res.positions - truth, axis=1)
    assert res.visible[hidden].all(), f"visible {res.visible}"
    assert error.max() < 0.01, f"errors {np.round(error, 4)} m"


def test_carried_position_uses_only_neighbours_of_the_same_object() -> None:
    then = np.array([[0.0, 0, 1], [0.02, 0, 1], [0.0, 0.02, 1], [0.03, 0.03, 1]])
    vis_then = np.array([True, True, True, True])
    now = then.copy()
    now[1:3] += [0.1, 0.0, 0.0]  # the points of object 0 moved by 10 cm ...
    vis_now = np.array([False, True, True, True])  # ... while point 0 was hidden
    groups = np.array([0, 0, 0, 1])
    pred, carried = carried_position(0, then, vis_then, now, vis_now, 0.05, groups)
    assert carried
    np.testing.assert_allclose(pred[0], [0.1, 0.0, 1.0])
    pred, carried = carried_position(0, then, vis_then, now, vis_now, 0.05, np.array([0, 2, 2, 1]))
    assert not carried  # nobody of its object to carry it: it stays
    np.testing.assert_allclose(pred[0], then[0])


def test_is_flat() -> None:
    assert is_flat(np.full((15, 15), 120, np.uint8))
    assert not is_flat(np.arange(225, dtype=np.uint8).reshape(15, 15))
    assert not is_flat(None)
