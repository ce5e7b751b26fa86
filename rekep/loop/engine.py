"""The closed-loop engine: a fixed-rate planner tick decoupled from physics stepping.

Every tick of ``1 / hz`` robot seconds: observe (only as often as the tracker needs images),
track the keypoints, update the held-object model, let the stage machine check path
constraints (backtrack) and the measured sub-goal (advance / act), re-solve the stage warm
(:func:`rekep.planner.plan_stage`), and stream the next target as joint targets; then
:meth:`~rekep.loop.robot_interface.LoopRobot.advance` lets robot time pass (the simulator
steps its physics there). A solution with ``feasible=False`` is never executed (the arm
holds its last target and the tick is counted); a solver exception inside a tick, or a hand
that no IK moves (:mod:`rekep.loop.streaming`), the same; ``infeasible_timeout_s`` of it ends.

Lost objects: a tracker with the optional ``hold(indices)`` (``flow``) learns what the hand
carries (no whole-object search of it); while a holding gripper closes nothing is decided.
Once the object has left, ``redetect(observation, indices, stale=True, time_s=...)`` is asked
to find it; until it is seen again the hand waits at its start pose, out of the camera's way
(``tracking_lost`` after ``lost_timeout_s``). A missed grasp re-detects before the retry; a
release whose object is lost, or seen away from where the hand put it
(:mod:`rekep.loop.release_check`), fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from rekep.grasp_geometry import closing_axis_from_points, grasp_pose, wrist_of
from rekep.keypoint_set import Keypoints
from rekep.loop.config import LoopConfig
from rekep.loop.held_model import HeldObjectModel
from rekep.loop.object_cloud import moved_cloud
from rekep.loop.primitives import GraspPrimitive, ReleasePrimitive, Step
from rekep.loop.recording import is_recording, record_tick, stage_costs
from rekep.loop.release_check import ReleaseCheck
from rekep.loop.robot_interface import LoopRobot
from rekep.loop.stage_machine import StageMachine, StageObservation, Verdict
from rekep.loop.streaming import carrot_pose, joint_step
from rekep.loop.tick_stats import TickStats
from rekep.observation import RGBD
from rekep.planner import plan_stage
from rekep.program import ConstraintProgram, Stage
from rekep.record.recorder import Recorder
from rekep.tracking.base import PointTracker, TrackResult

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)
RECORD_FRAME_EVERY = 10
"""Ticks between camera frames sent to a recorder (the cloud and images are heavy)."""


@dataclass(frozen=True)
class LoopRun:
    """What one run of the loop did. ``outcome`` is ``success`` or a named failure (see
    :data:`rekep.loop.stage_machine.OUTCOMES`); latencies are per-tick medians in ms."""

    outcome: str
    reason: str
    ticks: int
    robot_time_s: float
    backtracks: int
    recoveries: int
    infeasible_ticks: int
    solver_exceptions: int
    ik_failures: int
    latency_ms: dict[str, float]
    loop_hz_median: float
    events: tuple[tuple[float, str, int, str], ...]

    @property
    def success(self) -> bool:
        return self.outcome == "success"


class ClosedLoop:
    """Runs ``program`` on ``robot`` with ``tracker`` following ``keypoints``.

    Args:
        object_clouds: object id -> (N, 3) observed points at start (closing axis and the
            floor clearance of grasps); shifted each grasp by the object's tracked motion.
        recorder: receives hand poses, tracked keypoints, sub-goals, stage events and the
            stage's costs every tick (see :mod:`rekep.record`).
        on_tick: called as ``on_tick(stage, robot_time_s)`` at the start of every tick (the
            simulated episode fires armed disturbances from here).
    """

    def __init__(
        self,
        robot: LoopRobot,
        tracker: PointTracker,
        program: ConstraintProgram,
        keypoints: Keypoints,
        config: LoopConfig | None = None,
        object_clouds: dict[int, FloatArray] | None = None,
        *,
        recorder: Recorder | None = None,
        on_tick: Callable[[int, float], None] | None = None,
    ) -> None:
        self.robot, self.tracker, self.program, self.keypoints = robot, tracker, program, keypoints
        self.config = config or LoopConfig()
        self.planner = replace(self.config.planner, lift_m=0.0)  # vias are the loop's job
        self.clouds = object_clouds or {}
        self.held = HeldObjectModel(keypoints, self.config.held)
        self.machine = StageMachine(program, self.config.machine, robot.time_s)
        self.stats = TickStats()
        self._primitive: GraspPrimitive | ReleasePrimitive | None = None
        self._track: TrackResult | None = None
        self._q_cmd: FloatArray | None = None
        self._bad_since: float | None = None
        self._bad_kind, self._events_logged = "", 0
        self._waiting_since: float | None = None
        self._lost_object: int | None = None
        self._release = ReleaseCheck()
        self._home = robot.hand_pose()
        self.recorder, self.on_tick = recorder or Recorder(), on_tick
        self._enter_stage(robot.hand_pose())

    # ------------------------------------------------------------------ run
    def run(self) -> LoopRun:
        """Tick until the stage machine reaches a terminal outcome."""
        robot, cfg = self.robot, self.config
        self.tracker.start(robot.observe(), self.keypoints.positions, robot.time_s)
        t0 = robot.time_s
        tick = 0
        while not self.machine.done:
            if robot.time_s - t0 > cfg.episode_timeout_s:
                self.machine.fail("timeout", f"episode over {cfg.episode_timeout_s:.0f} s",
                                  robot.time_s)
                break
            self.tick(tick)
            tick += 1
            if not self.machine.done:
                robot.advance(cfg.dt)
        m = self.machine
        return LoopRun(
            outcome=str(m.outcome), reason=m.reason, ticks=tick,
            robot_time_s=robot.time_s - t0, backtracks=m.backtracks, recoveries=m.recoveries,
            infeasible_ticks=self.stats.infeasible_ticks,
            solver_exceptions=self.stats.solver_exceptions, ik_failures=self.stats.ik_failures,
            latency_ms=self.stats.medians(), loop_hz_median=self.stats.loop_hz_median(),
            events=tuple(m.events),
        )

    def tick(self, index: int) -> None:
        """One planner tick (see the module docstring)."""
        robot, t = self.robot, self.robot.time_s
        if self.on_tick is not None:
            self.on_tick(self.machine.stage, t)
        start = time.perf_counter()
        observation = None
        if self.tracker.needs_images and (index % self.config.observe_every == 0):
            t_obs = time.perf_counter()
            observation = robot.observe()
            self.stats.add("observe", time.perf_counter() - t_obs)
            start += time.perf_counter() - t_obs  # rendering is not planner + tracker time
            if index % RECORD_FRAME_EVERY == 0 and is_recording(self.recorder):
                self.recorder.set_time(t)
                self.recorder.log_observation(observation)
        t_track, T = time.perf_counter(), robot.hand_pose()
        if hasattr(self.tracker, "hold"):  # no whole-object search of what the hand carries
            self.tracker.hold(self.held.held)
        if observation is not None or not self.tracker.needs_images or self._track is None:
            self._track = self.tracker.update(observation, t)
        track = self._track
        self.stats.add("tracking", time.perf_counter() - t_track)
        was_held = self.held.held
        self.held.update(T, track.positions, track.visible, robot.gripper_width())
        if was_held and not self.held.holding:  # the object left the hand: find it again
            track = self._redetect(was_held, observation, t, stale=True)
            oid = int(self.keypoints.object_ids[was_held[0]])
            seen = track.visible[list(was_held)].any()
            if hasattr(self.tracker, "redetect") and oid >= 0 and not seen:
                self._lost_object = oid
        positions = self.held.fused_positions(T, track.positions, track.visible)
        target: FloatArray | None = None
        if self._primitive is not None:
            step = self._primitive.tick(robot, self.held, positions, t)
            target = self._after_primitive(step, T, t, track)
        elif self._awaiting_redetection(track, t):
            target = self._home  # back to the pose the scene was first seen from
        elif self.held.closing:  # the object is leaving the hand: no decision until it is clear
            pass
        else:
            visible = track.visible | track.occluded_mask | self.held.held_mask()  # not lost
            verdict = self.machine.update(
                StageObservation(t, T[:3, 3] - self._shift, positions, self.held.held, visible)
            )
            target = self._after_verdict(verdict, T, positions, t)
        if target is not None:
            self._stream(target, T, t)
        self.stats.add("total", time.perf_counter() - start)
        self._record(t, T, positions)

    def _redetect(self, indices: tuple[int, ...] | list[int], observation: RGBD | None,
                  t: float, stale: bool) -> TrackResult:  # fmt: skip
        """Ask a tracker that can (optional ``redetect`` method) to search the objects of
        ``indices`` again; ``stale``: their tracked positions are known to be wrong."""
        assert self._track is not None
        redetect = getattr(self.tracker, "redetect", None)
        if redetect is None:
            return self._track
        obs = observation if observation is not None else self.robot.observe()
        logger.info("asking the tracker to re-detect keypoints %s", list(indices))
        self._track = redetect(obs, list(indices), stale=stale, time_s=t)
        return self._track

    def _awaiting_redetection(self, track: TrackResult, t: float) -> bool:
        """After a held object left the hand, go back to the start pose (out of the camera's
        way; never grasp a stale position) until the tracker sees one of its keypoints again;
        end ``tracking_lost`` after the machine's ``lost_timeout_s``."""
        if self._lost_object is None:
            return False
        ids = self.keypoints.object_ids
        if np.any(track.visible[ids == self._lost_object]) or self.held.holding:
            logger.info("object %d re-detected after %.2f s", self._lost_object,
                        t - (self._waiting_since or t))  # fmt: skip
            self._lost_object, self._waiting_since = None, None
            return False
        if self._waiting_since is None:
            self._waiting_since = t
        if t - self._waiting_since > self.machine.config.lost_timeout_s:
            self.machine.fail("tracking_lost", f"object {self._lost_object} not re-detected "
                              f"within {self.machine.config.lost_timeout_s:.1f} s", t)  # fmt: skip
        return True

    def _record(self, t: float, T: FloatArray, positions: FloatArray) -> None:
        events = self.machine.events
        record_tick(self.recorder, t, T, positions, self.keypoints.object_ids.tolist(),
                    events[self._events_logged:])  # fmt: skip
        self._events_logged = len(events)
        if is_recording(self.recorder):
            costs = stage_costs(self._stage(), self.held.held, T[:3, 3], positions)
            self.recorder.log_constraint_costs(costs)

    # ------------------------------------------------------------------ decisions
    def _stage(self) -> Stage:
        return self.program.stages[self.machine.stage - 1]

    def _enter_stage(self, T: FloatArray) -> None:
        self._warm: FloatArray | None = None
        self._goal: FloatArray | None = None
        self._goal_q: FloatArray | None = None  # the sub-goal's joints (joint-space solves)
        self._stuck_since: float | None = None  # robot time the IK began failing
        self._axis: FloatArray | None = None
        self._shift = np.zeros(3)  # grasp centring: the hand's offset from the solved pose
        self._vias_passed = 0
        self._entry_T = T.copy()
        self._entry_holding = self.held.holding
        if self._stage().is_grasp_stage:
            if self.held.holding:
                self.held.release("re-entering a grasp stage")
            self.robot.command_gripper(close=False)

    def _after_primitive(self, step: Step, T: FloatArray, t: float,
                         track: TrackResult) -> FloatArray | None:  # fmt: skip
        if step.status == "running":
            return step.target
        primitive = self._primitive
        self._primitive = None
        ok, reason = step.status == "ok", step.reason
        if isinstance(primitive, GraspPrimitive):
            if not ok:
                self._redetect([primitive.keypoint], None, t, stale=False)  # missed: look again
        elif ok:
            ok, reason = self._check_release(track, reason)
        verdict = self.machine.primitive_done(ok, reason, t)
        if verdict.action in ("advance", "retry"):
            self._enter_stage(T)
        return None

    def _check_release(self, track: TrackResult, reason: str) -> tuple[bool, str]:
        """An object that left the hand before the release fails it; otherwise
        :class:`~rekep.loop.release_check.ReleaseCheck` decides."""
        if self._lost_object is not None:
            return False, f"object {self._lost_object} left the hand before the release"
        ok, why = self._release.verdict(track)
        return ok, reason if ok else why

    def _after_verdict(
        self, verdict: Verdict, T: FloatArray, positions: FloatArray, t: float
    ) -> FloatArray | None:
        if verdict.action in ("done", "wait"):
            return None
        if verdict.action in ("advance", "backtrack", "retry"):
            self._enter_stage(T)
        if verdict.action == "act":
            stage = self._stage()
            if stage.is_grasp_stage:
                index = int(stage.grasp_keypoint)  # type: ignore[arg-type]
                goal = T if self._goal is None else self._goal
                self._primitive = GraspPrimitive(
                    index, goal, self._object_points(index, positions), self.config.grasp,
                    self.config.primitive_timeout_s,
                )
            else:
                self._primitive = ReleasePrimitive(
                    self.config.grasp.approach_m, self.config.primitive_timeout_s, self._goal,
                    on_open=lambda T_open: self._release.begin(
                        self.held.held, self.held.predicted(T_open), self._track))
            return None
        return self._solve(T, positions, t)

    def _object_points(self, index: int, positions: FloatArray) -> FloatArray:
        oid = int(self.keypoints.object_ids[index])
        cloud = self.clouds.get(oid)
        if cloud is None or len(cloud) == 0:
            return np.zeros((0, 3))
        mask = self.keypoints.object_ids == oid
        return moved_cloud(cloud, self.keypoints.positions[mask], positions[mask])

    # ------------------------------------------------------------------ solving
    def _solve(self, T: FloatArray, positions: FloatArray, t: float) -> FloatArray | None:
        stage = self._stage()
        try:
            plan = plan_stage(
                stage, self.keypoints, positions, self.held.held, T, self.planner,
                warm_start=self._warm, q_current=self.robot.joint_positions(),
            )
        except Exception as exc:  # a tick must survive any solver failure
            logger.warning("tick solve raised %s: %s", type(exc).__name__, exc)
            self.stats.solver_exceptions += 1
            self._count_bad(t, "solver_error", f"solver raised {type(exc).__name__}: {exc}")
            return None
        self.stats.add("subgoal", plan.subgoal.wall_time_s)
        self.stats.add("path", plan.path.wall_time_s)
        if not plan.feasible:
            self.stats.infeasible_ticks += 1
            bad = plan.subgoal if not plan.subgoal.feasible else plan.path
            self._count_bad(t, "infeasible", f"stage {stage.number}: {bad.reason}")
            return None
        self._bad_since = None
        self._warm = plan.subgoal.pose
        goal = np.array(plan.subgoal.pose)
        self.recorder.log_subgoal(stage.number, goal)
        if len(plan.path.trajectory) and is_recording(self.recorder):
            self.recorder.log_path(np.asarray(plan.path.trajectory)[:, :3, 3])
        joints = plan.subgoal.joint_positions  # the closing axis turns a grasp's wrist
        if stage.is_grasp_stage:
            points = self._object_points(int(stage.grasp_keypoint), positions)  # type: ignore[arg-type]
            if self._axis is None:
                wrist = wrist_of(self.planner.robot, joints)
                self._axis = closing_axis_from_points(points, T[:3, 0], wrist,
                                                      self.config.grasp.wrist_margin_rad)
            goal, self._shift = grasp_pose(goal, points, self._axis, self.config.grasp)
        self._goal = goal
        self._goal_q = None if joints is None or stage.is_grasp_stage else np.ravel(joints)
        return self._next_waypoint(T, goal, stage)

    def _count_bad(self, t: float, kind: str, reason: str) -> None:
        if self._bad_since is None or self._bad_kind != kind:
            self._bad_since, self._bad_kind = t, kind
        if t - self._bad_since >= self.config.infeasible_timeout_s:
            self.machine.fail(kind, reason, t)

    def _next_waypoint(self, T: FloatArray, goal: FloatArray, stage: Stage) -> FloatArray:
        vias: list[FloatArray] = []
        if stage.is_grasp_stage:
            pre = goal.copy()
            pre[:3, 3] = goal[:3, 3] - self.config.grasp.approach_m * goal[:3, 2]
            vias.append(pre)
        elif self._entry_holding and self.config.lift_m > 0:
            lift = self._entry_T.copy()
            lift[2, 3] += self.config.lift_m
            vias.append(lift)
        while self._vias_passed < len(vias):
            via = vias[self._vias_passed]
            if np.linalg.norm(T[:3, 3] - via[:3, 3]) > self.config.waypoint_tol_m:
                return via
            self._vias_passed += 1
        return goal

    def _stream(self, target: FloatArray, T: FloatArray, t: float) -> None:
        """Send a joint target a bounded step from the hand towards ``target``
        (:mod:`rekep.loop.streaming`; IK failures step towards the sub-goal's joints)."""
        cfg = self.config
        seed = self.robot.joint_positions() if self._q_cmd is None else self._q_cmd
        carrot = carrot_pose(T, target, cfg.lookahead_m, cfg.lookahead_rad)
        q = self.robot.inverse_kinematics(carrot, seed)
        if q is None:
            self.stats.ik_failures += 1
            goal_q = self._goal_q if target is self._goal else None
            if goal_q is None or goal_q.shape != np.shape(seed):
                self._stuck_since = t if self._stuck_since is None else self._stuck_since
                if t - self._stuck_since >= cfg.infeasible_timeout_s:
                    self.machine.fail("infeasible", "no IK solution for the hand's next step "
                                      f"for {cfg.infeasible_timeout_s:.0f} s", t)  # fmt: skip
                return
            q = joint_step(seed, goal_q, cfg.lookahead_rad)
        self._stuck_since = None
        self._q_cmd = np.asarray(q, dtype=np.float64)
        self.robot.send_joint_targets(self._q_cmd)
