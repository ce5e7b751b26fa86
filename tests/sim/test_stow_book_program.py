"""stow_book: its anchors lie on visible surfaces (labels printed on the books' tops, never
the empty gap between the shelf books), and the reference program names the gap and the shelf's
direction correctly from those anchors."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.poses import transform_points
from rekep.program import ConstraintProgram, load_program
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.tasks.stow_book import BOOK_HALF, MARK_HALF, SHELF_BOOK_HALF, StowBook

Cost = Callable[[np.ndarray, np.ndarray], float]


@pytest.fixture()
def world() -> Iterator[SimWorld]:
    with SimWorld() as w:
        Panda(w).reset_joints(HOME_Q, width=0.08)
        yield w


def _program(task: StowBook) -> tuple[ConstraintProgram, list[str]]:
    names = sorted(task.anchors())
    text = task.resolved_program({n: i for i, n in enumerate(names)})
    return load_program(text, num_keypoints=len(names)), names


def _costs(program: ConstraintProgram, stage: int, kind: str) -> list[Cost]:
    st = program.stages[stage - 1]
    return list(st.subgoal_constraints if kind == "subgoal" else st.path_constraints)


def _surface_distance(world: SimWorld, body: int, point: np.ndarray) -> float:
    """Distance from ``point`` to the closest surface of ``body``, metres (PyBullet)."""
    import pybullet as p

    probe = p.createMultiBody(
        baseMass=0.0,
        baseCollisionShapeIndex=p.createCollisionShape(
            p.GEOM_SPHERE, radius=1e-4, physicsClientId=world.client
        ),
        basePosition=point.tolist(),
        physicsClientId=world.client,
    )
    try:
        hits = p.getClosestPoints(probe, body, 0.1, physicsClientId=world.client)
        return min(h[8] for h in hits) + 1e-4 if hits else np.inf
    finally:
        p.removeBody(probe, physicsClientId=world.client)


def test_anchors_lie_on_object_surfaces(world: SimWorld) -> None:
    task = StowBook(world)
    task.reset(1004)
    owners = task.anchor_objects()
    for name, point in task.anchors().items():
        assert abs(_surface_distance(world, owners[name], point)) < 2e-3, name


def test_stow_program_puts_the_book_top_over_the_gap(world: SimWorld) -> None:
    task = StowBook(world)
    task.reset(1003)
    program, names = _program(task)
    kp = np.stack([task.anchors()[n] for n in names])
    T_shelf = world.body_pose(task.shelf)
    top = 2 * SHELF_BOOK_HALF[2] + 2 * MARK_HALF[2]  # the labels on the shelf books' tops
    gap_top = transform_points(T_shelf, np.array([0.0, 0.0, top]))
    along = T_shelf[:3, 1] * BOOK_HALF[1]
    placed = kp.copy()
    for name, point in (("book_top", gap_top), ("book_front", gap_top - along),
                        ("book_back", gap_top + along)):
        placed[names.index(name)] = point + np.array([0.0, 0.0, 0.05])
    assert all(f(np.zeros(3), placed) <= 1e-6 for f in _costs(program, 3, "subgoal"))
    # off by the gap's half width, or turned 20 degrees: violated
    shifted = placed.copy()
    for name in ("book_top", "book_front", "book_back"):
        shifted[names.index(name)] += T_shelf[:3, 0] * 0.025
    assert _costs(program, 3, "subgoal")[0](np.zeros(3), shifted) > 0.02
    turned = placed.copy()
    c, s = np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    for name in ("book_front", "book_back"):
        i = names.index(name)
        turned[i] = placed[names.index("book_top")] + rot @ (placed[i] - placed[names.index(
            "book_top")])
    assert _costs(program, 3, "subgoal")[1](np.zeros(3), turned) > 0.02
