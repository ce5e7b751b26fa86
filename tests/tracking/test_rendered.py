"""Trackers on a PyBullet-rendered sequence with known rigid motion (640 x 480)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")
pytest.importorskip("cv2")

from tracking_scene import EYE, TARGET, Sequence, make_pose, render_sequence, step_pose

from rekep.observation import RGBD
from rekep.sim import Camera, SimWorld, look_at
from rekep.tracking import FlowTracker, SimTracker, bodies_under_pixels


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[SimWorld, Sequence]]:
    with SimWorld() as world:
        yield world, render_sequence(world, n_frames=16)


def test_flow_median_error_below_5mm(scene: tuple[SimWorld, Sequence]) -> None:
    _, seq = scene
    tracker = FlowTracker()
    tracker.start(seq.frames[0], seq.truth(0), 0.0)
    errors = []
    for i in range(1, len(seq.frames)):
        res = tracker.update(seq.frames[i], 0.05 * i)
        assert res.visible.mean() >= 0.8, f"frame {i}: {res.num_lost} keypoints lost"
        diff = res.positions[res.visible] - seq.truth(i)[res.visible]
        errors.append(np.linalg.norm(diff, axis=1))
        assert np.median(errors[-1]) < 0.005, f"frame {i}: median error {np.median(errors[-1])}"
    assert np.median(np.concatenate(errors)) < 0.005


def test_sim_tracker_is_exact(scene: tuple[SimWorld, Sequence]) -> None:
    world, seq = scene
    first = seq.frames[0]
    world.set_body_pose(seq.body, seq.poses[0])
    table_point = np.array([[0.3, -0.2, 0.0]])
    points = np.vstack([seq.truth(0), table_point])
    bodies = np.append(np.full(len(seq.points_body), seq.body), -1)
    tracker = SimTracker(world.body_pose, bodies)
    tracker.start(first, points, 0.0)
    for i in range(1, len(seq.poses)):
        world.set_body_pose(seq.body, seq.poses[i])
        res = tracker.update(None, float(i))
        np.testing.assert_allclose(res.positions[:-1], seq.truth(i), atol=1e-9)
        np.testing.assert_allclose(res.positions[-1], table_point[0], atol=1e-12)
        assert res.visible.all()


def test_nan_depth_under_a_rendered_keypoint_loses_only_it(
    scene: tuple[SimWorld, Sequence],
) -> None:
    _, seq = scene
    tracker = FlowTracker(redetect=False)
    tracker.start(seq.frames[0], seq.truth(0), 0.0)
    obs = seq.frames[1]
    u, v = np.round(obs.project(seq.truth(1)[5:6])[0]).astype(int)
    depth = obs.depth.copy()
    depth[v - 3 : v + 4, u - 3 : u + 4] = np.nan
    res = tracker.update(RGBD(obs.rgb, depth, obs.intrinsics, obs.T_world_camera), 0.05)
    assert not res.visible[5]
    np.testing.assert_array_equal(res.positions[5], seq.truth(0)[5])  # last known row
    assert res.visible[np.arange(len(res.visible)) != 5].mean() >= 0.9


def test_block_sliding_out_of_view_is_lost() -> None:
    start = step_pose(0)
    poses = [make_pose(start[:3, :3], start[:3, 3] + [0.0, 0.06 * i, 0.0]) for i in range(9)]
    with SimWorld() as other:
        seq = render_sequence(other, width=320, height=240, poses=poses)
    tracker = FlowTracker()
    tracker.start(seq.frames[0], seq.truth(0), 0.0)
    for i in range(1, len(seq.frames)):
        res = tracker.update(seq.frames[i], float(i))
        pix = seq.frames[i].project(seq.truth(i))
        out = (pix[:, 0] < 0) | (pix[:, 0] > 319) | (pix[:, 1] < 0) | (pix[:, 1] > 239)
        assert not res.visible[out].any()
    assert out.all(), "the scene should have moved every keypoint out of view"
    assert np.isfinite(res.positions).all()


def test_segmentation_gives_the_sim_tracker_its_bodies(scene: tuple[SimWorld, Sequence]) -> None:
    world, seq = scene
    world.set_body_pose(seq.body, seq.poses[0])
    obs, segmentation = Camera(640, 480, 50.0, look_at(EYE, TARGET)).render(world.client)
    ids = bodies_under_pixels(segmentation, obs.project(seq.truth(0)))
    assert (ids == seq.body).all()
