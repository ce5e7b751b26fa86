"""One closed-loop PyBullet episode end to end, and the Panda's non-blocking commands."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.loop.episode import ClosedLoopConfig, run_closed_loop_episode


@pytest.mark.sim
def test_block_in_tray_closed_loop_succeeds() -> None:
    result = run_closed_loop_episode(
        ClosedLoopConfig(task="block_in_tray", seed=1000, keypoint_mode="annotated",
                         tracker="sim")
    )
    assert result.success, result.failure
    assert result.terminal == "success" and result.failure is None
    assert result.outcome["inside_footprint"] and result.outcome["released"]
    assert result.tracker == "sim" and result.privileged  # named as privileged
    assert [s.number for s in result.stages] == [1, 2]
    assert result.ticks > 0 and result.loop_hz_median > 0
    assert result.infeasible_ticks == 0 and result.solver_exceptions == 0
    assert "proposal" not in result.latency_ms  # annotated keypoints are not proposed
    assert set(result.to_dict()) >= {"task", "seed", "success", "tracker", "privileged",
                                     "loop_hz_median", "backtracks", "recovered", "latency_ms"}


@pytest.mark.sim
def test_panda_streaming_commands_do_not_step_physics() -> None:
    from rekep.loop.sim_robot import SimRobot
    from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class

    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        robot = SimRobot(panda, task.camera())
        t0 = robot.time_s
        q = HOME_Q + np.array([0.2, 0, 0, 0, 0, 0, 0])
        robot.send_joint_targets(q)
        robot.command_gripper(close=True)
        assert robot.time_s == t0  # nothing moved yet
        robot.advance(1.0)
        assert robot.time_s == pytest.approx(t0 + 1.0, abs=world.time_step)
        np.testing.assert_allclose(robot.joint_positions(), q, atol=0.02)
        assert robot.gripper_width() < 0.005  # closed on nothing
        robot.command_gripper(close=False)
        robot.advance(1.0)
        assert robot.gripper_width() > 0.07
        T = robot.hand_pose()
        q_ik = robot.inverse_kinematics(T, robot.joint_positions())
        assert q_ik is not None
        np.testing.assert_allclose(panda.forward_kinematics(q_ik)[:3, 3], T[:3, 3], atol=0.005)


@pytest.mark.sim
def test_block_knocked_out_of_the_hand_backtracks_and_recovers() -> None:
    from rekep.loop.engine import ClosedLoop
    from rekep.loop.episode import make_loop_tracker
    from rekep.loop.sim_robot import SimRobot
    from rekep.poses import make_pose
    from rekep.program import load_program
    from rekep.sim import HOME_Q, Panda, SimWorld, get_task_class
    from rekep.sim.keypoint_modes import task_keypoints

    class Knocking(SimRobot):
        """Teleports the block back onto the table 0.3 s after it is lifted."""

        block = -1
        lifted_at: float | None = None
        knocked = False

        def advance(self, seconds: float) -> None:
            super().advance(seconds)
            if (self.lifted_at is None and self.panda.is_holding(self.block)
                    and self.hand_pose()[2, 3] > 0.12):
                self.lifted_at = self.time_s
            if not self.knocked and self.lifted_at and self.time_s > self.lifted_at + 0.3:
                self.knocked = True
                self.world.set_body_pose(self.block, make_pose(np.eye(3), [0.45, 0.3, 0.025]))

    config = ClosedLoopConfig(task="block_in_tray", seed=1000, keypoint_mode="annotated",
                              tracker="sim")
    with SimWorld() as world:
        panda = Panda(world)
        task = get_task_class("block_in_tray")(world)
        panda.reset_joints(HOME_Q, width=0.08)
        task.reset(1000)
        camera = task.camera()
        rgbd, seg = camera.render(world.client)
        keypoints, mapping = task_keypoints(task, rgbd, seg, "annotated")
        program = load_program(task.resolved_program(mapping), num_keypoints=len(keypoints))
        robot = Knocking(panda, camera)
        robot.block = task.block  # type: ignore[attr-defined]
        tracker = make_loop_tracker("sim", world, keypoints)
        run = ClosedLoop(robot, tracker, program, keypoints, config.loop_config()).run()
        assert robot.knocked
        assert run.backtracks >= 1 and run.recoveries >= 1
        assert run.outcome == "success", run.reason
        assert task.success().success


@pytest.mark.sim
@pytest.mark.parametrize("kind", ["knock_out", "move_target"])
def test_armed_task_disturbance_fires_and_the_loop_still_succeeds(kind: str) -> None:
    from rekep.loop.episode import ClosedLoopConfig, run_closed_loop_episode

    result = run_closed_loop_episode(ClosedLoopConfig(
        task="block_in_tray", seed=1000, keypoint_mode="annotated", tracker="sim",
        disturbance=kind,
    ))  # fmt: skip
    assert [d["kind"] for d in result.disturbances] == [kind]
    assert result.disturbances[0]["displacement_m"] > 0.04
    assert result.success, result.failure
    if kind == "knock_out":  # the object left the hand: the loop went back and re-grasped
        assert result.backtracks >= 1 and result.recovered >= 1
    assert result.to_dict()["disturbances"][0]["stage"] == 2


def test_disturbance_config_is_validated() -> None:
    from rekep.errors import ConfigurationError
    from rekep.loop.episode import ClosedLoopConfig, disturbance_schedule

    with pytest.raises(ConfigurationError, match="disturbance must be"):
        ClosedLoopConfig(disturbance="earthquake")
    both = ("knock_out", "move_target")
    auto = [disturbance_schedule(ClosedLoopConfig(seed=s, disturbance="auto"), both, 2).kind
            for s in (0, 1, 2)]  # fmt: skip
    assert auto == ["knock_out", "move_target", "knock_out"]
    late = disturbance_schedule(ClosedLoopConfig(disturbance="knock_out", disturb_stage=5),
                                ("knock_out",), 3)  # fmt: skip
    assert late.stage == 3
    assert disturbance_schedule(ClosedLoopConfig(), ("knock_out",), 2) is None
