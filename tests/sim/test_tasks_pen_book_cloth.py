"""pen_upright and stow_book: deterministic resets, success false at reset and true in a
constructed goal state, anchors on the right objects (fold_cloth: test_task_fold_cloth.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.poses import make_pose
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.tasks import get_task_class
from rekep.sim.tasks.base import Task
from rekep.sim.tasks.pen_upright import (
    HOLDER_FLOOR,
    HOLDER_WALL_HEIGHT,
    MARK_HEIGHT,
    PEN_BANDS,
    PEN_HALF,
    RIM_CORNER,
    PenUpright,
)
from rekep.sim.tasks.stow_book import BOOK_HALF, StowBook

NAMES = ("pen_upright", "stow_book")


@pytest.fixture(params=NAMES)
def task(request: pytest.FixtureRequest) -> Iterator[Task]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        yield get_task_class(request.param)(world)


def test_reset_is_deterministic_and_starts_unsolved(task: Task) -> None:
    seen: dict[int, list[np.ndarray]] = {}
    for seed in (1000, 5, 1000):
        task.reset(seed)
        poses = [task.world.body_pose(b) for b in task.object_bodies().values()]
        if seed in seen:
            for a, b in zip(seen[seed], poses, strict=True):
                np.testing.assert_allclose(a, b, atol=1e-6)
        seen[seed] = poses
        assert not task.success().success
    assert not np.allclose(seen[1000][0], seen[5][0])


def test_anchors_lie_on_their_objects(task: Task) -> None:
    task.reset(1002)
    owners = task.anchor_objects()
    anchors = task.anchors()
    assert set(owners) == set(anchors)
    assert set(owners.values()) == set(task.object_bodies().values())
    held = task.manipulated_body()
    assert {n for n, b in owners.items() if b == held} == (
        {"pen_tip", "pen_cap", "pen_label", "pen_barrel"}
        if task.name == "pen_upright"
        else {"book_top", "book_front", "book_back"}
    )
    obs, seg = task.camera().render(task.world.client)
    for name, point in anchors.items():
        u, v = obs.project([point])[0]
        assert 0 <= u < obs.width and 0 <= v < obs.height, name
    for body in task.object_bodies().values():
        assert (seg == body).sum() > 300


def _pen_in_holder(task: PenUpright) -> None:
    T_holder = task.world.body_pose(task.holder)
    upright = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # tip (+x) down
    centre = T_holder @ np.array([0.005, -0.004, HOLDER_FLOOR + PEN_HALF[0] + 0.002, 1.0])
    task.world.set_body_pose(task.pen, make_pose(T_holder[:3, :3] @ upright, centre[:3]))


def _book_in_gap(task: StowBook) -> None:
    T_shelf = task.world.body_pose(task.shelf)
    centre = T_shelf @ np.array([0.004, 0.01, BOOK_HALF[2] + 0.002, 1.0])
    task.world.set_body_pose(task.book, make_pose(T_shelf[:3, :3], centre[:3]))


GOALS: dict[str, tuple[Callable[..., None], str]] = {
    "pen_upright": (_pen_in_holder, "pen"),
    "stow_book": (_book_in_gap, "book"),
}


def test_success_follows_the_physical_state(task: Task) -> None:
    place, attr = GOALS[task.name]
    task.reset(1001)
    place(task)
    moved = getattr(task, attr)
    task.world.settle(max_steps=240, bodies=[moved])
    outcome = task.success()
    assert outcome.success, outcome.details
    # lying on the table far from the goal: no success
    task.world.set_body_pose(moved, task.rest_pose(moved))
    task.world.settle(max_steps=240, bodies=[moved])
    assert not task.success().success
    # in the goal but tipped over on its side: no success (the tilt limit)
    place(task)
    T = task.world.body_pose(moved)
    tipped = T.copy()
    tipped[:3, :3] = T[:3, :3] @ np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    tipped[2, 3] = 0.3
    task.world.set_body_pose(moved, tipped)
    assert not task.success().success


# ---------------------------------------------------------------- pen_upright only


@pytest.fixture
def pen_task() -> Iterator[PenUpright]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        yield PenUpright(world)


def test_pen_bands_cover_the_pen_once() -> None:
    starts = [a for a, _, _ in PEN_BANDS]
    ends = [b for _, b, _ in PEN_BANDS]
    assert starts[0] == pytest.approx(-PEN_HALF[0]) and ends[-1] == pytest.approx(PEN_HALF[0])
    np.testing.assert_allclose(starts[1:], ends[:-1])
    assert all(b > a for a, b in zip(starts, ends, strict=True))


def test_pen_shows_texture_along_its_axis(pen_task: PenUpright) -> None:
    """Grey levels along the pen's top centre line change several times with strong
    contrast (what keeps Lucas-Kanade from sliding along the pen)."""
    pen_task.reset(1000)
    obs, seg = pen_task.camera().render(pen_task.world.client)
    xs = np.arange(-PEN_HALF[0] + 0.004, PEN_HALF[0] - 0.004, 0.004)
    line = np.stack([xs, np.zeros_like(xs), np.full_like(xs, PEN_HALF[2])], axis=1)
    T = pen_task.world.body_pose(pen_task.pen)
    pix = np.round(obs.project(line @ T[:3, :3].T + T[:3, 3])).astype(int)
    assert np.all(seg[pix[:, 1], pix[:, 0]] == pen_task.pen)
    grey = obs.rgb[pix[:, 1], pix[:, 0]].astype(float) @ np.array([0.299, 0.587, 0.114])
    assert grey.max() - grey.min() > 100
    assert int(np.sum(np.abs(np.diff(grey)) > 40)) >= 3  # cap|barrel, label edges


@pytest.mark.parametrize("seed", [1000, 1003, 1006])
def test_flow_tracker_sees_every_pen_task_anchor_at_start(pen_task: PenUpright,
                                                          seed: int) -> None:  # fmt: skip
    """The rim anchors lie on visible rim tops (outer corners started hidden)."""
    pytest.importorskip("cv2")
    from rekep.tracking.flow import FlowTracker

    pen_task.reset(seed)
    obs, _ = pen_task.camera().render(pen_task.world.client)
    anchors = pen_task.anchors()
    tracker = FlowTracker()
    tracker.start(obs, np.stack(list(anchors.values())), 0.0)
    result = tracker.update(obs, 0.1)
    assert result.visible.all(), dict(zip(anchors, result.visible, strict=True))


@pytest.mark.parametrize("seed", [1000, 1001, 1002, 1005])
def test_rim_anchors_straddle_the_opening_across_the_line_of_sight(pen_task: PenUpright,
                                                                   seed: int) -> None:  # fmt: skip
    pen_task.reset(seed)
    a, b = pen_task.anchors()["holder_rim_a"], pen_task.anchors()["holder_rim_b"]
    T_holder = pen_task.world.body_pose(pen_task.holder)
    np.testing.assert_allclose((a + b)[:2] / 2, T_holder[:2, 3], atol=1e-6)  # the centre
    sight = T_holder[:2, 3] - pen_task.camera().T_world_camera[:2, 3]
    sight /= np.linalg.norm(sight)
    chosen = (b - a)[:2] / np.linalg.norm((b - a)[:2])
    other = np.array([-chosen[1], chosen[0]])  # the other diagonal of a square
    assert abs(chosen @ sight) <= abs(other @ sight) + 1e-9


def test_neighbouring_rim_posts_show_opposite_contrast(pen_task: PenUpright) -> None:
    """Each corner post's neighbours look different (dark vs white marks), so the tracker's
    patch search cannot take one for the other."""
    pen_task.reset(1000)
    obs, seg = pen_task.camera().render(pen_task.world.client)
    c, top = RIM_CORNER, HOLDER_FLOOR + HOLDER_WALL_HEIGHT + MARK_HEIGHT
    local = np.array([[c, c, top], [-c, -c, top], [c, -c, top], [-c, c, top]])
    T = pen_task.world.body_pose(pen_task.holder)
    pix = np.round(obs.project(local @ T[:3, :3].T + T[:3, 3])).astype(int)
    assert np.all(seg[pix[:, 1], pix[:, 0]] == pen_task.holder)
    grey = obs.rgb[pix[:, 1], pix[:, 0]].astype(float) @ np.array([0.299, 0.587, 0.114])
    assert grey[2:].min() - grey[:2].max() > 100
