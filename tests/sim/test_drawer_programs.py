"""open_drawer and close_drawer reference programs: the pull/push goals are measured from the
static cabinet keypoints (they hold still while the drawer moves), they open/close the drawer
within its travel, and the hand reaches the handle bar's height before pulling or pushing."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy.optimize import minimize

pytest.importorskip("pybullet")

from rekep.program import ConstraintProgram, load_program
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.articulated import set_joint_position
from rekep.sim.tasks.close_drawer import CLOSED_MAX, CloseDrawer
from rekep.sim.tasks.open_drawer import GEOMETRY, OPEN_MIN, DrawerTask, OpenDrawer


@pytest.fixture(params=[OpenDrawer, CloseDrawer], ids=["open", "close"])
def task(request: pytest.FixtureRequest) -> Iterator[DrawerTask]:
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        t = request.param(world)
        t.reset(1004)
        yield t


def _program(task: DrawerTask) -> tuple[ConstraintProgram, list[str]]:
    names = sorted(task.anchors())
    text = task.resolved_program({n: i for i, n in enumerate(names)})
    return load_program(text, num_keypoints=len(names)), names


def _keypoints(task: DrawerTask, names: list[str]) -> np.ndarray:
    anchors = task.anchors()
    return np.stack([anchors[n] for n in names])


def _goal(program: ConstraintProgram, stage: int, kps: np.ndarray) -> np.ndarray:
    """(3,) the hand position minimizing the stage's (single) sub-goal cost; asserts ~0."""
    (fn,) = program.stages[stage - 1].subgoal_constraints
    res = minimize(lambda x: float(fn(x, kps)), kps.mean(axis=0), method="Powell",
                   options={"xtol": 1e-7, "ftol": 1e-10})  # fmt: skip
    assert res.fun < 1e-4, f"stage {stage} sub-goal cannot reach 0 (min {res.fun})"
    return np.asarray(res.x)


def _axis(task: DrawerTask) -> np.ndarray:
    return task.world.body_pose(task.cabinet)[:3, 0]  # the drawer opens along cabinet +x


def test_pull_and_push_goals_hold_still_while_the_drawer_moves(task: DrawerTask) -> None:
    program, names = _program(task)
    before = [_goal(program, s, _keypoints(task, names)) for s in (3, 4)]
    set_joint_position(task.world, task.drawer, task.opening() + 0.06)
    after = [_goal(program, s, _keypoints(task, names)) for s in (3, 4)]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_goals_move_the_drawer_to_the_success_range(task: DrawerTask) -> None:
    program, names = _program(task)
    kps = _keypoints(task, names)
    front = task.anchors()["cabinet_front"]
    out = float((_goal(program, 3, kps) - front) @ _axis(task))  # hand in front of the cabinet
    bar = GEOMETRY.handle_gap + GEOMETRY.handle_bar / 2  # closed bar centre in front of it
    if isinstance(task, OpenDrawer):
        # fingers start 4 cm behind the bar centre and drag it: the drawer ends opened by
        # out - (bar - 0.04), give or take the couple of centimetres of play
        opening = out - (bar - 0.04)
        assert OPEN_MIN + 0.03 <= opening <= GEOMETRY.travel
    else:
        # the hand stops in front of the closed bar's face, no further than CLOSED_MAX + 1 cm
        face = bar + GEOMETRY.handle_bar / 2
        assert face + 0.005 <= out <= face + CLOSED_MAX + 0.01


def test_the_fingers_reach_the_bar_height_before_pulling_or_pushing(task: DrawerTask) -> None:
    program, names = _program(task)
    reach = _goal(program, 2, _keypoints(task, names))
    bar_top = task.anchors()["handle_left"][2]
    # fingertips below the bar (the fingers then cover it), not under the drawer's floor
    assert bar_top - GEOMETRY.handle_bar - 0.01 <= reach[2] <= bar_top - GEOMETRY.handle_bar
    pull_or_push = _goal(program, 3, _keypoints(task, names))
    assert pull_or_push[2] == pytest.approx(reach[2], abs=1e-3)  # at the same height
