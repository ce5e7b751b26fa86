"""fold_cloth: the cloth helpers, deterministic resets, success false at reset and true in a
folded state made by carrying the tab, anchors on the right objects."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

import pybullet as p

from rekep.errors import ConfigurationError, SimulationError
from rekep.poses import transform_points
from rekep.program import load_program
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.disturbances import DisturbanceSchedule
from rekep.sim.soft_body import ClothSpec, load_cloth, node_positions
from rekep.sim.tasks import get_task_class
from rekep.sim.tasks.fold_cloth import (
    CLOTH,
    CORNER_FAR,
    CORNER_TAB,
    PEG_HALF,
    TAB_HALF,
    FoldCloth,
)
from rekep.sim.tasks.placement import yaw_pose


@pytest.fixture()
def task() -> Iterator[FoldCloth]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        made = get_task_class("fold_cloth")(world)
        assert isinstance(made, FoldCloth)
        yield made


def _state(task: FoldCloth) -> list[np.ndarray]:
    return [task.nodes()] + [task.world.body_pose(b) for b in (task.tab, task.peg)]


def _carry_tab(task: FoldCloth, waypoints: list[np.ndarray], speed: float = 0.2) -> None:
    """Drive the tab through world ``waypoints`` (its centre, metres) by setting its
    velocity every step, then let go and let everything settle."""
    cid = task.world.client
    for goal in waypoints:
        for _ in range(2000):
            delta = goal - task.world.body_pose(task.tab)[:3, 3]
            if np.linalg.norm(delta) < 0.003:
                break
            velocity = delta / np.linalg.norm(delta) * min(speed, 50 * np.linalg.norm(delta))
            p.resetBaseVelocity(task.tab, velocity.tolist(), [0, 0, 0], physicsClientId=cid)
            task.world.step(1)
    p.resetBaseVelocity(task.tab, [0, 0, 0], [0, 0, 0], physicsClientId=cid)
    task.world.step(480)


def test_cloth_spec_validates_and_lays_out_the_grid() -> None:
    with pytest.raises(SimulationError, match="nodes_per_side"):
        ClothSpec(nodes_per_side=1)
    with pytest.raises(SimulationError, match="side_m"):
        ClothSpec(side_m=-0.1)
    with pytest.raises(SimulationError, match="outside"):
        ClothSpec(nodes_per_side=3).node_index(3, 0)
    spec = ClothSpec(nodes_per_side=4, side_m=0.3)
    local = spec.local_nodes()
    assert local.shape == (16, 3)
    np.testing.assert_allclose(local[spec.node_index(0, 0)], [-0.15, -0.15, 0.0])
    np.testing.assert_allclose(local[spec.node_index(3, 1)], [0.15, -0.05, 0.0])


def test_load_cloth_keeps_the_node_order() -> None:
    spec = ClothSpec(nodes_per_side=5, side_m=0.2)
    T = yaw_pose([0.5, -0.1], spec.margin_m, 0.7)
    with SimWorld() as world:
        body = load_cloth(world, spec, T)
        np.testing.assert_allclose(
            node_positions(world, body), transform_points(T, spec.local_nodes()), atol=1e-6
        )


def test_reset_is_deterministic_settles_flat_and_starts_unsolved(task: FoldCloth) -> None:
    seen: dict[int, list[np.ndarray]] = {}
    for seed in (1000, 5, 1000):
        task.reset(seed)
        state = _state(task)
        if seed in seen:
            for a, b in zip(seen[seed], state, strict=True):
                np.testing.assert_allclose(a, b, atol=1e-6)
        seen[seed] = state
        nodes = state[0]
        assert nodes.shape == (CLOTH.num_nodes, 3)
        assert np.all(nodes[:, 2] > 0.0)
        # flat on the table, except where the pinned corner rises into the tab
        away = np.linalg.norm(nodes[:, :2] - nodes[CORNER_TAB, :2], axis=1) > 0.04
        assert np.all(nodes[away, 2] < 0.006), "cloth not flat"
        diagonal = np.linalg.norm(nodes[CORNER_TAB] - nodes[CORNER_FAR])
        assert diagonal == pytest.approx(CLOTH.side_m * np.sqrt(2), abs=0.01)
        outcome = task.success()
        assert not outcome.success
        assert not outcome.details["corners_together"] and not outcome.details["folded"]
    assert not np.allclose(seen[1000][0], seen[5][0])


def test_success_follows_the_cloth_state(task: FoldCloth) -> None:
    task.reset(1003)
    start = task.world.body_pose(task.tab)[:3, 3]
    over_peg = task.anchors()["peg_top"] + np.array([0.0, 0.0, 0.02 + TAB_HALF[2]])
    lifted = start + np.array([0.0, 0.0, 0.08])
    # carried half way only: the corners stay apart
    _carry_tab(task, [lifted, (lifted + over_peg) / 2 - np.array([0, 0, 0.06])])
    assert not task.success().success
    # carried over the peg and dropped: folded
    _carry_tab(task, [over_peg + np.array([0, 0, 0.06]), over_peg])
    outcome = task.success()
    assert outcome.success, outcome.details
    assert outcome.details["corner_xy_distance_m"] <= outcome.details["corner_xy_limit_m"]
    assert outcome.details["hull_area_fraction"] <= outcome.details["area_fraction_limit"]
    assert outcome.details["corner_xy_limit_m"] > 0


def test_anchors_lie_on_their_objects(task: FoldCloth) -> None:
    task.reset(1002)
    owners, anchors = task.anchor_objects(), task.anchors()
    assert set(owners) == set(anchors) == {"tab_top", "peg_top"}
    assert owners == {"tab_top": task.tab, "peg_top": task.peg}
    assert set(owners.values()) <= set(task.object_bodies().values())
    assert task.object_bodies()["cloth"] == task.cloth
    T_tab = task.world.body_pose(task.tab)
    np.testing.assert_allclose(
        transform_points(np.linalg.inv(T_tab), anchors["tab_top"]), [0, 0, TAB_HALF[2]],
        atol=1e-9,
    )
    nodes = task.nodes()
    # the tab stands on its corner, the peg on the far corner
    assert np.linalg.norm(T_tab[:2, 3] - nodes[CORNER_TAB, :2]) < 0.01
    assert np.linalg.norm(anchors["peg_top"][:2] - nodes[CORNER_FAR, :2]) < 0.01
    assert anchors["peg_top"][2] == pytest.approx(2 * CLOTH.margin_m + 2 * PEG_HALF[2], abs=1e-3)
    assert task.manipulated_body() == task.tab and task.target_body() == task.peg
    rgbd, seg = task.camera().render(task.world.client)
    assert (seg == task.cloth).sum() > 2000
    for point in anchors.values():
        u, v = rgbd.project([point])[0]
        assert 0 <= u < rgbd.width and 0 <= v < rgbd.height


def test_program_resolves_and_disturbances_are_declined(task: FoldCloth) -> None:
    task.reset(1000)
    names = sorted(task.anchor_objects())
    program = load_program(
        task.resolved_program({n: i for i, n in enumerate(names)}), num_keypoints=len(names)
    )
    assert program.num_stages == 2
    assert task.disturbances() == {}
    with pytest.raises(ConfigurationError, match="does not support"):
        task.arm_disturbance(DisturbanceSchedule("knock_out", stage=1))
