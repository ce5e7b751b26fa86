"""Whole-object re-detection: a rendered textured block jumps ~12 cm (and turns) between two
frames; the flow tracker with point groups finds it again (rekep.tracking.redetect)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")
pytest.importorskip("cv2")

from scipy.spatial.transform import Rotation
from tracking_scene import EYE, START, TARGET, build_block, keypoints_body

from rekep.observation import RGBD
from rekep.poses import make_pose, transform_points
from rekep.sim import Camera, SimWorld, look_at
from rekep.tracking import FlowTracker
from rekep.tracking import flow as flow_module
from rekep.tracking.redetect import RedetectConfig, agreement, find_object, make_template
from rekep.tracking.rigid import kabsch

JUMPS = [(0.0, [0.12, 0.0, 0.0]), (40.0, [-0.05, 0.11, 0.0]), (-120.0, [0.10, 0.08, 0.0])]
"""(yaw degrees, translation metres) of the block between the two frames."""


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[SimWorld, int, Camera]]:
    with SimWorld() as w:
        yield w, build_block(w), Camera(640, 480, 50.0, look_at(EYE, TARGET))


Frame = tuple[RGBD, np.ndarray, np.ndarray]


def render(world: tuple[SimWorld, int, Camera], pose: np.ndarray) -> Frame:
    """(observation, (H, W) object mask, (K, 3) true keypoints) with the block at ``pose``."""
    w, body, camera = world
    w.set_body_pose(body, pose)
    obs, seg = camera.render(w.client)
    return obs, seg == body, transform_points(w.body_pose(body), keypoints_body())


def jumped(yaw_deg: float, shift: list[float]) -> np.ndarray:
    R = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    return make_pose(R @ START[:3, :3], START[:3, 3] + np.asarray(shift))


@pytest.mark.parametrize(("yaw_deg", "shift"), JUMPS)
def test_flow_tracker_finds_a_block_that_jumped(
    world: tuple[SimWorld, int, Camera], yaw_deg: float, shift: list[float],
) -> None:
    obs0, mask, truth0 = render(world, START)
    obs1, _, truth1 = render(world, jumped(yaw_deg, shift))
    assert np.linalg.norm(truth1.mean(axis=0) - truth0.mean(axis=0)) > 0.09  # a real jump
    groups = np.zeros(len(truth0), dtype=int)
    tracker = FlowTracker(point_groups=groups, group_masks={0: mask}, wide_every=1)
    tracker.start(obs0, truth0, 0.0)
    res = tracker.update(obs1, 0.05)
    assert res.visible.mean() >= 0.5, f"only {res.visible.sum()} points visible after the jump"
    error = np.linalg.norm(res.positions - truth1, axis=1)
    assert error.max() < 0.01, f"errors {np.round(error, 4)} m"


def test_no_automatic_search_for_a_held_object(
    world: tuple[SimWorld, int, Camera], monkeypatch: pytest.MonkeyPatch,
) -> None:
    obs0, mask, truth0 = render(world, START)
    obs1, _, truth1 = render(world, jumped(*JUMPS[0]))
    tracker = FlowTracker(point_groups=np.zeros(len(truth0), dtype=int),
                          group_masks={0: mask}, wide_every=1)  # fmt: skip
    tracker.start(obs0, truth0, 0.0)
    tracker.hold(list(range(len(truth0))))
    searches = []
    search = flow_module.find_object
    monkeypatch.setattr(flow_module, "find_object",
                        lambda *a, **k: searches.append(1) or search(*a, **k))  # fmt: skip
    res = tracker.update(obs1, 0.05)
    assert searches == [] and not res.visible.any()  # lost, not searched: the hand has it
    asked = tracker.redetect(obs1, [0], time_s=0.05)  # an explicit search is not restricted
    assert np.linalg.norm(asked.positions - truth1, axis=1).max() < 0.01
    tracker.hold([])  # put down: searched automatically again
    tracker.update(obs1, 0.10)
    assert len(searches) == 1


def test_stale_redetect_of_a_vanished_object_marks_it_lost(
    world: tuple[SimWorld, int, Camera],
) -> None:
    obs0, mask, truth0 = render(world, START)
    away = make_pose(np.eye(3), [3.0, 3.0, -1.0])  # out of view
    obs1, _, _ = render(world, away)
    tracker = FlowTracker(point_groups=np.zeros(len(truth0), dtype=int), group_masks={0: mask})
    tracker.start(obs0, truth0, 0.0)
    res = tracker.redetect(obs1, [0], stale=True, time_s=0.05)
    assert not res.visible.any()
    assert np.isfinite(res.positions).all()


def test_find_object_rejects_another_colour(world: tuple[SimWorld, int, Camera]) -> None:
    obs0, mask, _ = render(world, START)
    template = make_template(obs0, mask)
    assert template is not None
    recoloured = RGBD(255 - obs0.rgb, obs0.depth, obs0.intrinsics, obs0.T_world_camera)
    assert find_object(recoloured, template) is None
    assert find_object(obs0, template) is not None


def test_kabsch_recovers_a_rigid_motion() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 3))
    T = make_pose(Rotation.from_rotvec([0.3, -0.2, 1.0]).as_matrix(), [0.1, -0.4, 0.2])
    np.testing.assert_allclose(kabsch(a, transform_points(T, a)), T, atol=1e-9)


def test_agreement_tells_where_the_object_is(world: tuple[SimWorld, int, Camera]) -> None:
    obs0, mask, _ = render(world, START)
    template = make_template(obs0, mask)
    assert template is not None
    cfg = RedetectConfig()
    assert agreement(obs0, template, np.eye(4), cfg) > 0.8
    moved, _, _ = render(world, jumped(0.0, [0.07, 0.0, 0.0]))
    assert agreement(moved, template, np.eye(4), cfg) < 0.6  # no longer where believed
    shift = make_pose(np.eye(3), [0.07, 0.0, 0.0])
    assert agreement(moved, template, shift, cfg) > 0.8
