from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.poses import make_pose, rotation_angle
from rekep.sim import HOME_Q, Panda, SimWorld, top_down_tcp_pose
from rekep.sim.panda_model import ARM_LOWER, ARM_UPPER, FINGER_LINKS


def _link_position(panda: Panda, link: int) -> np.ndarray:
    import pybullet as p

    state = p.getLinkState(panda.body, link, computeForwardKinematics=True,
                           physicsClientId=panda.client)
    return np.asarray(state[4])


def test_ik_respects_joint_limits_and_reaches(panda: Panda) -> None:
    rng = np.random.default_rng(0)
    margin = 0.1
    tried = solved = 0
    for _ in range(30):
        q_true = rng.uniform(ARM_LOWER + margin, ARM_UPPER - margin)
        target = panda.forward_kinematics(q_true)
        if target[2, 3] < 0.05:  # below the table top is not a useful target
            continue
        tried += 1
        q = panda.solve_ik(target)
        if q is None:  # PyBullet's IK may miss far-off branches; check what it returns
            continue
        solved += 1
        assert np.all(q >= ARM_LOWER - 1e-9) and np.all(q <= ARM_UPPER + 1e-9)
        reached = panda.forward_kinematics(q)
        assert np.linalg.norm(reached[:3, 3] - target[:3, 3]) < 0.005
        assert rotation_angle(reached[:3, :3], target[:3, :3]) < 0.05
    assert tried >= 20
    assert solved >= 0.8 * tried


def test_ik_top_down_workspace_is_solved_within_limits(panda: Panda) -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        pos = rng.uniform([0.35, -0.3, 0.03], [0.65, 0.3, 0.3])
        target = top_down_tcp_pose(pos, rng.uniform(-np.pi, 0.0))
        q = panda.solve_ik(target)
        assert q is not None, f"top-down target {pos} unreachable"
        assert np.all(q >= ARM_LOWER) and np.all(q <= ARM_UPPER)
        assert np.linalg.norm(panda.forward_kinematics(q)[:3, 3] - pos) < 1e-3


def test_ik_returns_none_when_out_of_reach(panda: Panda) -> None:
    assert panda.solve_ik(top_down_tcp_pose([1.5, 0.0, 0.2], 0.0)) is None


def test_move_to_pose_arrives_within_tolerance(panda: Panda) -> None:
    panda.reset_joints(HOME_Q, width=0.08)
    for pos, yaw in [((0.45, 0.15, 0.25), -1.2), ((0.55, -0.2, 0.12), -2.0)]:
        target = top_down_tcp_pose(pos, yaw)
        assert panda.move_to_pose(target)
        now = panda.hand_pose()
        assert np.linalg.norm(now[:3, 3] - target[:3, 3]) <= 0.005
        assert rotation_angle(now[:3, :3], target[:3, :3]) <= 0.05
        assert np.all(panda.joint_positions() >= ARM_LOWER - 1e-3)
        assert np.all(panda.joint_positions() <= ARM_UPPER + 1e-3)


def test_move_to_unreachable_pose_reports_failure(panda: Panda) -> None:
    panda.reset_joints(HOME_Q)
    assert not panda.move_to_pose(top_down_tcp_pose([1.5, 0.0, 0.2], 0.0))
    np.testing.assert_allclose(panda.joint_positions(), HOME_Q, atol=1e-3)


def test_tcp_frame_convention(panda: Panda) -> None:
    panda.reset_joints(HOME_Q, width=0.06)
    T = panda.hand_pose()
    left, right = (_link_position(panda, link) for link in FINGER_LINKS)
    closing = left - right
    # x axis = finger closing direction; z axis = approach (hand -> fingertips), here down
    assert abs(np.dot(closing / np.linalg.norm(closing), T[:3, 0])) > 0.999
    assert T[2, 2] < -0.999
    # origin midway between the fingers, below the finger joints' origins
    mid = (left + right) / 2
    assert np.linalg.norm(np.cross(mid - T[:3, 3], T[:3, 2])) < 1e-3
    np.testing.assert_allclose(np.linalg.det(T[:3, :3]), 1.0, atol=1e-9)


def test_gripper_opens_and_closes_on_nothing(panda: Panda) -> None:
    panda.reset_joints(HOME_Q)
    assert panda.open_gripper() == pytest.approx(0.08, abs=2e-3)
    assert panda.close_gripper() < 0.003
    assert panda.open_gripper(0.05) == pytest.approx(0.05, abs=2e-3)


def test_move_joints_and_home() -> None:
    with SimWorld() as w:
        panda = Panda(w)
        q = HOME_Q + np.array([0.3, 0.2, 0.0, 0.3, 0.0, -0.2, 0.5])
        assert panda.move_joints(q)
        np.testing.assert_allclose(panda.joint_positions(), q, atol=0.01)
        assert panda.home()
        np.testing.assert_allclose(panda.joint_positions(), HOME_Q, atol=0.01)
        assert panda.gripper_width() == pytest.approx(0.08, abs=2e-3)


def test_grasp_is_by_friction_only() -> None:
    import pybullet as p

    with SimWorld() as w:
        panda = Panda(w)
        block = w.add_box([0.0225, 0.0225, 0.025], make_pose(np.eye(3), [0.5, 0.0, 0.025]))
        assert panda.grasp_mode == "friction"
        assert panda.move_to_pose(top_down_tcp_pose([0.5, 0.0, 0.03], -np.pi / 2))
        width = panda.close_gripper()
        assert width == pytest.approx(0.045, abs=2e-3)
        assert panda.is_holding(block)
        assert panda.move_to_pose(top_down_tcp_pose([0.5, 0.0, 0.2], -np.pi / 2))
        assert w.body_pose(block)[2, 3] > 0.15
        # the only constraint in the world is the robot's own finger coupling
        constraints = [p.getConstraintInfo(p.getConstraintUniqueId(i, physicsClientId=w.client),
                                           physicsClientId=w.client)
                       for i in range(p.getNumConstraints(physicsClientId=w.client))]
        assert all(c[0] == panda.body and c[2] == panda.body for c in constraints)
        panda.open_gripper()
        w.step(120)
        assert w.body_pose(block)[2, 3] == pytest.approx(0.025, abs=3e-3)
