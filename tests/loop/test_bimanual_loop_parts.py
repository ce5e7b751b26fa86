"""Pieces of the bimanual loop: the joint path follower, object clouds, the per-hand held
models and the act primitive on a fake kinematic arm pair."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.keypoint_set import Keypoints
from rekep.loop.bimanual.covered import CoveredKeypoints
from rekep.loop.bimanual.hands import HandHolds
from rekep.loop.bimanual.planning import JointPathFollower
from rekep.loop.bimanual.primitives import BimanualActPrimitive
from rekep.poses import make_pose
from rekep.robot import GraspConfig

DOWN = np.diag([1.0, -1.0, -1.0])  # TCP z pointing down


def keypoints(positions: ArrayLike, ids: ArrayLike) -> Keypoints:
    pos = np.asarray(positions, dtype=float)
    return Keypoints(positions=pos, pixels=np.zeros((len(pos), 2)),
                     object_ids=np.asarray(ids))  # fmt: skip


def test_follower_respects_the_joint_speed_and_ends_at_the_goal() -> None:
    q = np.zeros((3, 2, 7))
    q[1, 0, 0], q[2, 0, 0] = 0.3, 0.6  # 0.3 rad per segment in 0.1 s: too fast
    goal = np.stack([make_pose(DOWN, [0.5, 0.2, 0.2]), make_pose(DOWN, [0.5, -0.2, 0.2])])
    f = JointPathFollower(q, np.array([0.0, 0.1, 0.2]), goal, start_s=1.0, max_joint_speed=0.6)
    assert f.duration_s >= 1.0 - 1e-9
    assert np.allclose(f.target(1.0 + f.duration_s / 2)[0, 0], 0.3, atol=1e-6)
    assert np.allclose(f.target(99.0), q[-1]) and np.allclose(f.target(0.0), q[0])
    assert not f.goal_moved(goal, 0.01)
    moved = goal.copy()
    moved[1, 2, 3] += 0.05
    assert f.goal_moved(moved, 0.03) and not f.goal_moved(moved, 0.06)


def test_each_hand_holds_its_own_object_and_carries_its_keypoints() -> None:
    kps = keypoints([[0.5, 0.2, 0.05], [0.5, 0.25, 0.05], [0.55, 0.2, 0.05],
                     [0.5, -0.2, 0.05]], [4, 4, 4, 7])  # fmt: skip
    holds = HandHolds(kps)
    T = np.stack([make_pose(DOWN, [0.5, 0.2, 0.05]), make_pose(DOWN, [0.5, -0.2, 0.05])])
    assert holds.grasp(0, 0, T[0], kps.positions) == (0, 1, 2)
    assert holds.masks().tolist() == [[True, True, True, False], [False] * 4]
    up = T.copy()
    up[0, 2, 3] += 0.1
    tracked = kps.positions.copy()
    tracked[:3, 2] += 0.1
    tracked[1] += [0.03, 0.0, 0.0]  # one track dragged off under the hand
    fused = holds.fused_positions(up, tracked, np.ones(4, bool))
    assert not holds.doubtful
    assert np.allclose(fused[:3], kps.positions[:3] + [0, 0, 0.1])
    assert np.allclose(fused[3], kps.positions[3])  # not held: as tracked
    lost = holds.update(up, fused, np.ones(4, bool), np.array([0.0005, 0.08]))
    assert lost == [(0, (0, 1, 2))] and holds.held == ()


class FakeArms:
    """Two kinematic hands: they jump to their targets; grippers close to ``block_m``."""

    def __init__(self, T: NDArray[np.float64], block_m: tuple[float, float]) -> None:
        self.T = T.copy()
        self.block = block_m
        self.widths = np.array([0.08, 0.08])
        self.time_s = 0.0

    def hand_poses(self) -> NDArray[np.float64]:
        return self.T.copy()

    def gripper_widths(self) -> NDArray[np.float64]:
        return self.widths.copy()

    def command_gripper(self, arm: int, close: bool) -> None:
        self.widths[arm] = self.block[arm] if close else 0.08


def run_primitive(p: BimanualActPrimitive, arms: FakeArms, holds: HandHolds,
                  kps: Keypoints) -> str:  # fmt: skip
    for tick in range(200):
        step = p.tick(arms, holds, kps.positions, tick * 0.05)  # type: ignore[arg-type]
        for arm, target in enumerate(step.targets):
            if target is not None:
                arms.T[arm] = target
        if step.status != "running":
            return f"{step.status}: {step.reason}"
    return "running"


def test_act_primitive_grasps_with_both_hands_and_lifts_a_free_object() -> None:
    kps = keypoints([[0.5, 0.15, 0.08], [0.5, -0.15, 0.08]], [3, 3])
    T = np.stack([make_pose(DOWN, kps.positions[0]), make_pose(DOWN, kps.positions[1])])
    holds, arms = HandHolds(kps), FakeArms(T, (0.06, 0.06))
    cloud = np.array([[0.5, 0.0, 0.0], [0.5, 0.0, 0.08]])
    p = BimanualActPrimitive((0, 1), (-1, -1), T, (cloud, cloud), (True, True), GraspConfig())
    assert run_primitive(p, arms, holds, kps).startswith("ok: grasped left keypoint 0")
    assert holds.holding(0) and holds.holding(1)
    lift = GraspConfig().approach_m - GraspConfig().depth_m
    assert np.allclose(arms.T[:, 2, 3], kps.positions[:, 2] + lift)


def test_act_primitive_fails_on_a_missed_grasp_and_releases_with_a_retreat() -> None:
    kps = keypoints([[0.5, 0.15, 0.08], [0.5, -0.15, 0.08]], [3, 3])
    T = np.stack([make_pose(DOWN, kps.positions[0]), make_pose(DOWN, kps.positions[1])])
    holds, arms = HandHolds(kps), FakeArms(T, (0.06, 0.0))  # the right hand closes on air
    p = BimanualActPrimitive((0, 1), (-1, -1), T, (np.zeros((0, 3)),) * 2, (True, True),
                             GraspConfig())  # fmt: skip
    result = run_primitive(p, arms, holds, kps)
    assert result.startswith("failed") and "right" in result and holds.held == ()
    holds.grasp(1, 1, T[1], kps.positions)
    arms = FakeArms(T, (0.06, 0.06))
    arms.widths[1] = 0.06
    p = BimanualActPrimitive((-1, -1), (-1, 1), T, (np.zeros((0, 3)),) * 2, (False, False),
                             GraspConfig(), retreat_m=0.1)  # fmt: skip
    assert run_primitive(p, arms, holds, kps) == "ok: released right"
    assert not holds.holding(1) and np.isclose(arms.T[1, 2, 3], 0.18)


def test_a_hold_in_doubt_keeps_carrying_and_is_cleared_when_it_stays_in_doubt() -> None:
    kps = keypoints([[0.5, 0.2, 0.05], [0.5, 0.3, 0.05], [0.6, 0.2, 0.05]], [4, 4, 4])
    holds = HandHolds(kps)
    T = np.stack([make_pose(DOWN, [0.5, 0.2, 0.05]), make_pose(DOWN, [0.5, -0.2, 0.05])])
    holds.grasp(0, 0, T[0], kps.positions)
    knocked = kps.positions + [0.15, 0.0, 0.0]  # the whole object left the hand
    seen = np.ones(3, bool)
    fused = holds.fused_positions(T, knocked, seen)
    assert holds.doubtful and np.allclose(fused, kps.positions)
    assert holds.update(T, knocked, seen, np.array([0.04, 0.08])) == []  # one tick: doubt
    fused = holds.fused_positions(T, kps.positions, seen)
    assert not holds.doubtful and np.allclose(fused, kps.positions)
    assert holds.update(T, kps.positions, seen, np.array([0.04, 0.08])) == []  # follows again
    lost = [holds.update(T, knocked, seen, np.array([0.04, 0.08])) for _ in range(3)]
    assert lost == [[], [], [(0, (0, 1, 2))]] and not holds.holding(0)
    assert np.allclose(holds.fused_positions(T, knocked, seen), knocked)


def test_a_covered_free_keypoint_stays_where_seen_and_moves_only_with_its_object() -> None:
    start = np.array([[0.5, 0.2, 0.05], [0.5, 0.35, 0.05], [0.5, -0.2, 0.05]])
    covered = CoveredKeypoints(start, np.array([4, 4, 7]))
    T = np.stack([make_pose(DOWN, [0.5, 0.2, 0.08]), make_pose(DOWN, [0.5, -0.4, 0.3])])
    seen, free = np.ones(3, bool), np.zeros(3, bool)
    dragged = start + [[0.03, 0.0, -0.01], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert np.allclose(covered.apply(T, dragged, seen, free), start)  # drift under the hand
    pushed = start + [[0.05, 0.0, 0.0], [0.01, 0.0, 0.0], [0.0, 0.0, 0.0]]
    out = covered.apply(T, pushed, seen, free)  # the object's visible keypoint moved 1 cm
    assert np.allclose(out[0], start[0] + [0.01, 0.0, 0.0]) and np.allclose(out[1:], pushed[1:])
    held = np.array([True, True, False])
    assert np.allclose(covered.apply(T, dragged, seen, held), dragged)  # held: as given


def test_a_closing_gripper_puts_its_hold_in_doubt_until_it_closes_on_nothing() -> None:
    kps = keypoints([[0.5, 0.2, 0.05], [0.5, 0.3, 0.05]], [4, 4])
    holds = HandHolds(kps, track_check=False)
    T = np.stack([make_pose(DOWN, [0.5, 0.2, 0.05]), make_pose(DOWN, [0.5, -0.2, 0.05])])
    holds.grasp(0, 0, T[0], kps.positions)
    seen = np.ones(2, bool)
    for width in (0.045, 0.045):  # a firm hold keeps its width
        assert holds.update(T, kps.positions, seen, np.array([width, 0.08])) == []
        holds.fused_positions(T, kps.positions, seen)
        assert not holds.doubtful
    assert holds.update(T, kps.positions, seen, np.array([0.03, 0.08])) == []  # knocked out
    holds.fused_positions(T, kps.positions, seen)
    assert holds.doubtful and holds.holding(0)
    assert holds.update(T, kps.positions, seen, np.array([0.001, 0.08])) == [(0, (0, 1))]
