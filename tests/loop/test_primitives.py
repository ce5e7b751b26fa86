"""The single-arm grasp and release primitives, ticked against a stub hand."""

from __future__ import annotations

import numpy as np

from rekep.keypoint_set import Keypoints
from rekep.loop import HeldObjectModel
from rekep.loop.primitives import GraspPrimitive, ReleasePrimitive
from rekep.poses import make_pose
from rekep.robot import GraspConfig

DOWN = np.diag([1.0, -1.0, -1.0])


class StubHand:
    """Teleports to each streamed target; the gripper opens or closes in one tick to
    ``width_when_closed`` (an object between the fingers) or 8 cm."""

    def __init__(self, T: np.ndarray, width_when_closed: float = 0.04) -> None:
        self.T, self.width, self.closed_width = T.copy(), 0.08, width_when_closed

    def hand_pose(self) -> np.ndarray:
        return self.T.copy()

    def gripper_width(self) -> float:
        return self.width

    def command_gripper(self, close: bool) -> None:
        self.width = self.closed_width if close else 0.08


def _keypoints() -> Keypoints:
    positions = np.array([[0.5, 0.0, 0.05], [0.52, 0.0, 0.05], [0.7, 0.2, 0.0]])
    return Keypoints(positions, np.zeros((3, 2)), np.array([1, 1, 2]))


def test_the_grasp_keeps_the_keypoints_measured_before_the_hand_covered_them() -> None:
    kps = _keypoints()
    goal = make_pose(DOWN, kps.positions[0])
    hand, held = StubHand(goal), HeldObjectModel(kps)
    grasp = GraspPrimitive(0, goal, np.zeros((0, 3)), GraspConfig(), phase_timeout_s=1.0)
    slid = kps.positions.copy()
    slid[0] += [0.02, 0.0, -0.01]  # under the descending hand the track slid onto a finger
    t, positions = 0.0, kps.positions
    for _ in range(20):
        step = grasp.tick(hand, held, positions, t)  # type: ignore[arg-type]
        if step.target is not None:
            hand.T = step.target
        positions, t = slid, t + 0.05
        if grasp.phase == "lift":
            break
    assert held.held == (0, 1)
    # the fingers closed at the grasp target: carried from there, the held keypoints are
    # where they were measured at the start, not where the slid track was at the close
    np.testing.assert_allclose(held.predicted(grasp.target), kps.positions[:2], atol=1e-9)


def test_a_release_first_settles_at_the_solved_pose_then_opens_once() -> None:
    kps = _keypoints()
    goal = make_pose(DOWN, [0.6, 0.1, 0.15])
    hand = StubHand(make_pose(DOWN, [0.58, 0.1, 0.15]))  # within tolerance, 2 cm short
    hand.width = 0.04
    held = HeldObjectModel(kps)
    held.grasp(0, hand.hand_pose(), kps.positions)
    opened: list[np.ndarray] = []
    release = ReleasePrimitive(0.1, 1.0, goal, on_open=opened.append)
    step = release.tick(hand, held, kps.positions, 0.0)  # type: ignore[arg-type]
    assert step.status == "running" and step.target is not None
    np.testing.assert_allclose(step.target, goal)
    assert hand.width < 0.07 and not opened  # still closed while it settles
    hand.T = step.target
    for i in range(1, 40):
        step = release.tick(hand, held, kps.positions, 0.05 * i)  # type: ignore[arg-type]
        if step.target is not None:
            hand.T = step.target
        if step.status == "ok":
            break
    assert step.status == "ok" and not held.holding
    assert len(opened) == 1
    np.testing.assert_allclose(opened[0], goal)  # the fingers opened at the solved pose
