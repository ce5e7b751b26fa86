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
from rekep.sim.tasks.pen_upright import HOLDER_FLOOR, PEN_HALF, PenUpright
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
        {"pen_tip", "pen_cap", "pen_grasp"} if task.name == "pen_upright"
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
