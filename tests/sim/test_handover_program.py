"""handover_block's reference program holds for any spacing of the two end keypoints: a
proposer puts them near, not exactly at, the block's ends (measured 1-2 cm off), and a
program that pins each end to its own point made the handover infeasible (stage 2)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.program import load_program
from rekep.program.model import ConstraintProgram
from rekep.sim import SimWorld
from rekep.sim.bimanual_world import add_two_pandas
from rekep.sim.tasks.handover_block import HANDOVER, HandoverBlock


@pytest.fixture(scope="module")
def program() -> Iterator[tuple[ConstraintProgram, dict[str, int]]]:
    with SimWorld() as world:
        add_two_pandas(world)
        task = HandoverBlock(world)
        names = sorted(task.anchors())
        mapping = {n: i for i, n in enumerate(names)}
        yield load_program(task.resolved_program(mapping), num_keypoints=len(names),
                           bimanual=True), mapping  # fmt: skip


def _keypoints(mapping: dict[str, int], spacing: float, yaw: float = 0.0) -> np.ndarray:
    kp = np.zeros((len(mapping), 3))
    h = np.asarray(HANDOVER)
    axis = np.array([np.sin(-yaw), np.cos(yaw), 0.0])
    kp[mapping["block_left_end"]] = h + axis * spacing / 2
    kp[mapping["block_right_end"]] = h - axis * spacing / 2
    kp[mapping["block_center"]] = h
    kp[mapping["pad_center"]] = [0.5, -0.27, 0.006]
    return kp


@pytest.mark.parametrize("spacing", [0.10, 0.13, 0.16])
def test_handover_pose_satisfies_stage_2_for_any_end_spacing(program, spacing: float) -> None:  # type: ignore[no-untyped-def]
    prog, mapping = program
    kp = _keypoints(mapping, spacing)
    ee = np.stack([kp[mapping["block_left_end"]], kp[mapping["block_right_end"]]])
    for fn in prog.stages[1].subgoal_constraints:
        assert fn(ee, kp) <= 1e-9, fn.name
    assert prog.stages[2].subgoal_constraints[0](ee, kp) <= 1e-9


@pytest.mark.parametrize("yaw", [0.3, np.pi])
def test_a_turned_or_flipped_block_violates_stage_2(program, yaw: float) -> None:  # type: ignore[no-untyped-def]
    prog, mapping = program
    kp = _keypoints(mapping, 0.13, yaw)
    ee = np.stack([kp[mapping["block_left_end"]], kp[mapping["block_right_end"]]])
    assert max(fn(ee, kp) for fn in prog.stages[1].subgoal_constraints) > 0.02
