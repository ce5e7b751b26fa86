"""A track that locks onto something passing over it is lost, not carried away with it."""

from __future__ import annotations

import numpy as np
import pytest
from tracking_frames import DEPTH, K, frame, texture, world_at

from rekep.observation import RGBD
from rekep.tracking import FlowTracker
from rekep.tracking.slide import moved_unlike_object

pytest.importorskip("cv2")

PIXELS = np.array([[200.0, 200.0], [260.0, 300.0], [400.0, 180.0], [450.0, 320.0],
                   [320.0, 240.0]])  # fmt: skip
STEP_PX = 10  # 2 cm per update at 1 m, f = 500 px (LK loses faster squares on this texture)
GATE_M = 0.015  # below the step, so the synthetic slide is caught (default 3 cm: real jumps)


def test_only_the_point_moving_unlike_its_object_is_flagged() -> None:
    before = np.zeros((6, 3))
    after = np.tile([0.01, 0.0, 0.0], (6, 1))  # the whole object moved 1 cm
    after[1] += [0.0, 0.05, 0.0]  # point 1 moved 5 cm more than the others
    groups = np.array([0, 0, 0, 0, 1, -1])
    flagged = moved_unlike_object(before, after, groups, 0.03)
    assert flagged.tolist() == [False, True, False, False, False, False]
    after[4] += [0.0, 0.2, 0.0]  # an object with one tracked point, and an ungrouped one:
    after[5] += [0.0, 0.2, 0.0]  # no median to compare with
    assert not moved_unlike_object(before, after, groups, 0.03)[4:].any()
    rigid = moved_unlike_object(before, np.tile([0.05, 0.0, 0.0], (6, 1)), groups, 0.03)
    assert not rigid.any()  # a whole object moving fast is not a slide


def _passing(static: np.ndarray, moving: np.ndarray, centre: np.ndarray, shift: int) -> RGBD:
    """The static texture with a 70 px square of another texture over it, its centre
    ``shift`` px right of ``centre`` and carrying its texture along (a passing object)."""
    base = frame(static, (0, 0))
    over = frame(moving, (shift, 0)).rgb
    rgb = base.rgb.copy()
    u, v = int(centre[0]) + shift, int(centre[1])
    rgb[v - 35 : v + 35, u - 35 : u + 35] = over[v - 35 : v + 35, u - 35 : u + 35]
    return RGBD(rgb=rgb, depth=np.full(rgb.shape[:2], DEPTH, np.float32), intrinsics=K)


@pytest.mark.parametrize("gate", [GATE_M, None])
def test_a_static_point_is_not_carried_off_by_a_passing_object(gate: float | None) -> None:
    static, moving = texture(3), texture(4)
    tracker = FlowTracker(slide_tolerance_m=gate, redetect=False, wide_redetect=False,
                          rest_check=False,  # this test is about the gate alone
                          point_groups=np.zeros(len(PIXELS), int))  # fmt: skip
    tracker.start(_passing(static, moving, PIXELS[0], 0), world_at(PIXELS), 0.0)
    for i in range(1, 4):
        result = tracker.update(_passing(static, moving, PIXELS[0], STEP_PX * i), 0.05 * i)
    start = world_at(PIXELS)
    assert result.visible[1:].all()
    assert np.allclose(result.positions[1:], start[1:], atol=2e-3)  # the object stood still
    if gate is None:  # without the gate the track rides away on the passing square
        assert result.visible[0] and result.positions[0, 0] - start[0, 0] > 0.05
    else:
        assert not result.visible[0]
        assert np.allclose(result.positions[0], start[0], atol=2e-3)
