from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.errors import SimulationError
from rekep.poses import make_pose
from rekep.sim import BoxPart, SimWorld
from rekep.sim.world import TIME_STEP


def test_import_without_pybullet_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['pybullet'] = None\n"
        "try:\n    import rekep.sim\nexcept Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "MissingDependencyError" in out.stdout
    assert "rekep[sim]" in out.stdout


def test_box_falls_and_rests_on_table() -> None:
    with SimWorld() as w:
        box = w.add_box([0.02, 0.02, 0.02], make_pose(np.eye(3), [0.5, 0.0, 0.2]), mass=0.1)
        w.step(240)
        assert w.sim_time == pytest.approx(240 * TIME_STEP)
        assert w.body_pose(box)[2, 3] == pytest.approx(0.02, abs=2e-3)


def test_worlds_are_independent() -> None:
    with SimWorld() as a, SimWorld() as b:
        assert a.client != b.client
        box_a = a.add_box([0.02] * 3, make_pose(np.eye(3), [0.5, 0.0, 0.3]))
        box_b = b.add_box([0.02] * 3, make_pose(np.eye(3), [0.5, 0.0, 0.3]))
        a.step(120)
        assert a.body_pose(box_a)[2, 3] < 0.2
        assert b.body_pose(box_b)[2, 3] == pytest.approx(0.3)


def test_compound_body_is_one_rigid_body() -> None:
    with SimWorld() as w:
        parts = [
            BoxPart((0.05, 0.05, 0.005), (0.0, 0.0, 0.005)),
            BoxPart((0.005, 0.05, 0.02), (0.045, 0.0, 0.03)),
        ]
        body = w.add_compound(parts, make_pose(np.eye(3), [0.5, 0.0, 0.0]), mass=0.3)
        steps = w.settle(bodies=[body])
        assert steps < 240
        assert w.body_pose(body)[2, 3] == pytest.approx(0.0, abs=2e-3)


def test_closed_world_refuses_work() -> None:
    w = SimWorld()
    w.close()
    w.close()  # idempotent
    assert w.closed
    with pytest.raises(SimulationError, match="closed"):
        w.step(1)


def test_bad_box_part_is_rejected() -> None:
    with pytest.raises(SimulationError, match="positive"):
        BoxPart((0.1, -0.1, 0.1))


def test_moving_pose_follows_a_slider_link_and_is_the_base_pose_otherwise() -> None:
    from rekep.sim.articulated import add_slider, link_pose, set_joint_position

    with SimWorld() as world:
        T_base = np.eye(4)
        T_base[:3, 3] = [0.5, 0.0, 0.2]
        slider = add_slider(
            world, [BoxPart(half_extents=(0.05, 0.1, 0.02), position=(0.0, 0.0, 0.0))], T_base
        )
        before = world.moving_pose(slider)
        set_joint_position(world, slider, 0.12)
        after = world.moving_pose(slider)
        np.testing.assert_allclose(after[:3, 3] - before[:3, 3], [0.12, 0.0, 0.0], atol=1e-6)
        np.testing.assert_allclose(after, link_pose(world, slider), atol=1e-9)
        np.testing.assert_allclose(world.body_pose(slider)[:3, 3], [0.5, 0.0, 0.2], atol=1e-6)
        box = world.add_box((0.02, 0.02, 0.02), make_pose(np.eye(3), [0.3, 0.3, 0.02]))
        np.testing.assert_allclose(world.moving_pose(box), world.body_pose(box))
