"""The bimanual closed-loop engine: a fixed-rate planner tick for two arms.

Every tick of ``1 / hz`` robot seconds: observe (only as often as the tracker needs images),
track the keypoints, verify each hand's hold (:class:`~rekep.loop.bimanual.hands.HandHolds`),
fill in free keypoints a hand covers (:class:`~rekep.loop.bimanual.covered.CoveredKeypoints`),
let the :class:`~rekep.loop.bimanual.stage_machine.BimanualStageMachine` check the current
stage's path constraints (backtrack) and its sub-goal (advance / act) on the tracked
keypoints, re-solve the stage for both arms jointly, warm
(:class:`~rekep.loop.bimanual.planning.StagePlanner`), and stream the next target of both
arms; then :meth:`~rekep.loop.bimanual.arms.ArmPair.advance` lets robot time pass.

Motion: in a stage that grasps, each grasping hand goes to its pre-grasp (``approach_m``
back along the approach axis) and then to its solved grasp pose, as bounded Cartesian steps
(IK per arm); the closing axis is re-chosen from the object's observed points whenever its
keypoints move. Any other stage streams a joint path of both arms
(:func:`solvers.bimanual.plan_bimanual_path`, arm-arm clearance at every sample), replanned
when the warm re-solved sub-goal moves more than ``replan_m``. A solution or path with
``feasible=False`` is never executed (the arms hold their targets and the tick is counted);
either one, or a solver exception, lasting ``infeasible_timeout_s`` ends the episode.
When a hand loses its hold, a tracker with ``redetect`` is asked to find the object again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from rekep.grasp_geometry import closing_axis_from_points, grasp_pose, wrist_of
from rekep.keypoint_set import Keypoints
from rekep.loop.bimanual.arms import ArmPair
from rekep.loop.bimanual.clouds import ObjectClouds
from rekep.loop.bimanual.config import BimanualLoopConfig
from rekep.loop.bimanual.covered import CoveredKeypoints
from rekep.loop.bimanual.hands import HandHolds
from rekep.loop.bimanual.planning import JointPathFollower, StagePlanner, robot_pair
from rekep.loop.bimanual.primitives import BimanualActPrimitive, BiStep, Targets, backed_off
from rekep.loop.bimanual.stage_machine import BimanualStageMachine, arm_pair
from rekep.loop.engine import LoopRun
from rekep.loop.stage_machine import Verdict
from rekep.loop.tick_stats import TickStats
from rekep.observation import RGBD
from rekep.poses import interpolate_poses, rotation_angle
from rekep.program import ConstraintProgram
from rekep.tracking.base import PointTracker, TrackResult

FloatArray = NDArray[np.float64]
logger = logging.getLogger(__name__)
AXIS_REFRESH_M = 0.01
"""An object's keypoints moving more than this re-chooses the grasp's closing axis, m."""


class BimanualClosedLoop:
    """Runs a bimanual ``program`` on ``arms`` with ``tracker`` following ``keypoints``.

    Args:
        object_clouds: object id -> (N, 3) observed points at start (closing axes and the
            floor clearance of grasps), moved with the object's tracked keypoints.
        on_tick: called as ``on_tick(stage, robot_time_s)`` at the start of every tick (the
            simulated episode fires armed disturbances from here).
        rng_seed: seed of the solver's sampled starts.
    """

    def __init__(self, arms: ArmPair, tracker: PointTracker, program: ConstraintProgram,
                 keypoints: Keypoints, config: BimanualLoopConfig | None = None,
                 object_clouds: dict[int, FloatArray] | None = None, *,
                 on_tick: Callable[[int, float], None] | None = None,
                 rng_seed: int = 0) -> None:  # fmt: skip
        self.arms, self.tracker, self.program, self.keypoints = arms, tracker, program, keypoints
        self.config = config or BimanualLoopConfig()
        self.clouds = ObjectClouds(keypoints, object_clouds or {})
        self.holds = HandHolds(keypoints, self.config.held, self.config.track_hold_check)
        self.covered = CoveredKeypoints(keypoints.positions, keypoints.object_ids)
        self.machine = BimanualStageMachine(program, self.config.machine, arms.time_s)
        self.planner = StagePlanner(self.config, rng_seed)
        self.stats = TickStats()
        self.on_tick = on_tick
        self._primitive: BimanualActPrimitive | None = None
        self._track: TrackResult | None = None
        self._observation: RGBD | None = None
        self._q_cmd: list[FloatArray | None] = [None, None]
        self._bad_since: float | None = None
        self._bad_kind = ""
        self._enter_stage()

    # ------------------------------------------------------------------ run
    def run(self) -> LoopRun:
        """Tick until the stage machine reaches a terminal outcome (or the episode limit)."""
        arms, cfg = self.arms, self.config
        self.tracker.start(arms.observe(), self.keypoints.positions, arms.time_s)
        t0, tick = arms.time_s, 0
        while not self.machine.done:
            if arms.time_s - t0 > cfg.episode_timeout_s:
                self.machine.fail("timeout", f"episode over {cfg.episode_timeout_s:.0f} s",
                                  arms.time_s)  # fmt: skip
                break
            self.tick(tick)
            tick += 1
            if not self.machine.done:
                arms.advance(cfg.dt)
        m = self.machine
        return LoopRun(
            outcome=str(m.outcome), reason=m.reason, ticks=tick,
            robot_time_s=arms.time_s - t0, backtracks=m.backtracks, recoveries=m.recoveries,
            infeasible_ticks=self.stats.infeasible_ticks,
            solver_exceptions=self.stats.solver_exceptions, ik_failures=self.stats.ik_failures,
            latency_ms=self.stats.medians(), loop_hz_median=self.stats.loop_hz_median(),
            events=tuple(m.events),
        )

    def tick(self, index: int) -> None:
        """One planner tick (see the module docstring)."""
        arms, t = self.arms, self.arms.time_s
        if self.on_tick is not None:
            self.on_tick(self.machine.stage, t)
        start = time.perf_counter()
        self._observation = None
        if self.tracker.needs_images and index % self.config.observe_every == 0:
            t_obs = time.perf_counter()
            self._observation = arms.observe()
            self.stats.add("observe", time.perf_counter() - t_obs)
            start += time.perf_counter() - t_obs  # rendering is not planner + tracker time
        t_track, T, widths = time.perf_counter(), arms.hand_poses(), arms.gripper_widths()
        if hasattr(self.tracker, "hold"):  # no whole-object search of what the hands carry
            self.tracker.hold(self.holds.held)
        if self._observation is not None or not self.tracker.needs_images or self._track is None:
            self._track = self.tracker.update(self._observation, t)
        track = self._track
        self.stats.add("tracking", time.perf_counter() - t_track)
        for arm, indices in self.holds.update(T, track.positions, track.visible, widths):
            logger.info("the %s hand lost its hold of %s", ("left", "right")[arm], list(indices))
            track = self._redetect(indices, t, stale=True)
        positions = self.holds.fused_positions(T, track.positions, track.visible)
        held: NDArray[np.bool_] = np.asarray(self.holds.masks().any(axis=0))
        positions = self.covered.apply(T, positions, track.visible, held)
        self.clouds.update(self.holds, T, positions)
        if self._primitive is not None:
            step = self._primitive.tick(arms, self.holds, positions, t)
            self._after_primitive(step, t)
            self._stream_poses(step.targets, T)
        else:
            visible = track.visible | self.holds.masks().any(axis=0)
            ee = T[:, :3, 3] - self._shifts  # where the solved grasp poses put the hands
            verdict = self.machine.update(t, ee, positions, self.holds.held, visible,
                                          ready=self._motion_done(t))
            self._after_verdict(verdict, T, positions, t)
        self.stats.add("total", time.perf_counter() - start)

    def _redetect(self, indices: tuple[int, ...] | list[int], t: float,
                  stale: bool) -> TrackResult:  # fmt: skip
        """Ask a tracker that can (optional ``redetect``) to search ``indices`` again."""
        assert self._track is not None
        redetect = getattr(self.tracker, "redetect", None)
        if redetect is None:
            return self._track
        obs = self._observation if self._observation is not None else self.arms.observe()
        self._track = redetect(obs, list(indices), stale=stale, time_s=t)
        return self._track

    # ------------------------------------------------------------------ decisions
    def _enter_stage(self) -> None:
        self.planner.reset()
        self._follower: JointPathFollower | None = None
        self._goal: FloatArray | None = None
        self._axes: list[FloatArray | None] = [None, None]
        self._axis_at: list[FloatArray | None] = [None, None]
        self._via_passed = [False, False]
        self._shifts = np.zeros((2, 3))  # grasp centring of each hand
        for arm, kp in enumerate(arm_pair(self.machine.current().grasp_keypoint)):
            if kp >= 0:
                if self.holds.holding(arm):
                    self.holds.release(arm, "re-entering a grasp stage")
                self.arms.command_gripper(arm, close=False)

    def _motion_done(self, t: float) -> bool:
        """Whether no hold is in doubt, the streamed path is over and every grasping hand
        passed its pre-grasp."""
        if self.holds.doubtful:
            return False
        if self._follower is not None and t < self._follower.start_s + self._follower.duration_s:
            return False
        grasps = arm_pair(self.machine.current().grasp_keypoint)
        return all(self._via_passed[a] for a in range(2) if grasps[a] >= 0)

    def _after_primitive(self, step: BiStep, t: float) -> None:
        if step.status == "running":
            return
        primitive, self._primitive = self._primitive, None
        ok = step.status == "ok"
        if not ok and primitive is not None:  # missed: look at the objects again
            self._redetect([k for k in primitive.grasps if k >= 0], t, stale=False)
        verdict = self.machine.primitive_done(ok, step.reason, t)
        if verdict.action in ("advance", "retry"):
            self._enter_stage()

    def _after_verdict(self, verdict: Verdict, T: FloatArray, positions: FloatArray,
                       t: float) -> None:  # fmt: skip
        if verdict.action in ("done", "wait"):
            return
        if verdict.action in ("advance", "backtrack", "retry"):
            self._enter_stage()
        if verdict.action == "act":
            stage = self.machine.current()
            grasps = arm_pair(stage.grasp_keypoint)
            held: NDArray[np.bool_] = np.asarray(self.holds.masks().any(axis=0))
            ids = self.keypoints.object_ids
            free = tuple(bool(k < 0 or not held[ids == ids[k]].any()) for k in grasps)
            self._primitive = BimanualActPrimitive(
                grasps, arm_pair(stage.release_keypoint), T if self._goal is None else self._goal,
                (self.clouds.points(grasps[0], T, positions),
                 self.clouds.points(grasps[1], T, positions)),
                (free[0], free[1]), self.config.grasp, self.config.retreat_m,
                self.config.primitive_timeout_s, positions,
            )
            return
        self._solve(T, positions, t)

    # ------------------------------------------------------------------ solving
    def _solve(self, T: FloatArray, positions: FloatArray, t: float) -> None:
        stage = self.machine.current()
        try:
            problem = self.planner.problem(stage, positions, self.holds.masks(), T,
                                           self.arms.joint_positions())  # fmt: skip
            solution = self.planner.subgoal(problem)
        except Exception as exc:  # a tick must survive any solver failure
            logger.warning("tick solve raised %s: %s", type(exc).__name__, exc)
            self.stats.solver_exceptions += 1
            self._count_bad(t, "solver_error", f"solver raised {type(exc).__name__}: {exc}")
            return
        self.stats.add("subgoal", solution.wall_time_s)
        if not solution.feasible:
            self.stats.infeasible_ticks += 1
            self._count_bad(t, "infeasible", f"stage {stage.number}: {solution.reason}")
            return
        if stage.is_grasp_stage:
            self._bad_since = None
            self._approach(T, np.array(solution.poses), np.asarray(solution.q), positions,
                           arm_pair(stage.grasp_keypoint))
            return
        if self._needs_path(solution.poses, t):
            try:
                path = self.planner.path(problem, solution)
            except Exception as exc:
                self.stats.solver_exceptions += 1
                self._count_bad(t, "solver_error", f"path raised {type(exc).__name__}: {exc}")
                return
            self.stats.add("path", path.wall_time_s)
            if not path.feasible:
                self.stats.infeasible_ticks += 1
                self._count_bad(t, "infeasible", f"stage {stage.number}: path: {path.reason}")
                return
            self._follower = JointPathFollower(path.q, path.times_s, solution.poses, t,
                                               self.config.max_joint_speed)  # fmt: skip
        self._bad_since = None
        assert self._follower is not None
        q = self._follower.target(t + self.config.dt)
        for arm in range(2):
            self._q_cmd[arm] = q[arm]
            self.arms.send_joint_targets(arm, q[arm])

    def _needs_path(self, goal_poses: FloatArray, t: float) -> bool:
        """No path yet, or the re-solved goal moved: beyond ``replan_m`` while the path
        runs, beyond ``settle_replan_m`` once it is over (the measured sub-goal is missed)."""
        follower = self._follower
        if follower is None:
            return True
        over = t >= follower.start_s + follower.duration_s
        tol = self.config.settle_replan_m if over else self.config.replan_m
        return follower.goal_moved(goal_poses, tol)

    def _count_bad(self, t: float, kind: str, reason: str) -> None:
        if self._bad_since is None or self._bad_kind != kind:
            self._bad_since, self._bad_kind = t, kind
        if t - self._bad_since >= self.config.infeasible_timeout_s:
            self.machine.fail(kind, reason, t)

    def _approach(self, T: FloatArray, goals: FloatArray, q: FloatArray, positions: FloatArray,
                  grasps: tuple[int, int]) -> None:  # fmt: skip
        """Grasp stage: closing axes (within each wrist's reach at the solved joints ``q``)
        and centred grasp poses on the grasping hands' goals, pre-grasp vias, stream. An
        object the other hand holds is taken where the solved poses put it (measured on
        handover_block: while the holding hand turned the block, its current points put the
        grasp 3-6 cm off the solved keypoint)."""
        targets: list[FloatArray | None] = [goals[0], goals[1]]
        solved = goals.copy()  # a held object's points where the holding hand will be
        for arm, kp in enumerate(grasps):
            if kp < 0:
                continue
            mask = self.keypoints.object_ids == self.keypoints.object_ids[kp]
            moved = self._axis_at[arm] is None or float(np.max(np.linalg.norm(
                positions[mask] - self._axis_at[arm], axis=1))) > AXIS_REFRESH_M  # type: ignore[operator]
            axis = self._axes[arm]
            points = self.clouds.points(kp, solved, positions)
            if moved or axis is None:
                preferred = T[arm][:3, 0] if axis is None else axis
                wrist = wrist_of(robot_pair()[arm], q[arm])
                axis = closing_axis_from_points(points, preferred, wrist,
                                                self.config.grasp.wrist_margin_rad)
                self._axes[arm], self._axis_at[arm] = axis, positions[mask].copy()
            goals[arm], self._shifts[arm] = grasp_pose(goals[arm], points, axis, self.config.grasp)
            pre = backed_off(goals[arm], self.config.grasp.approach_m)
            if not self._via_passed[arm]:
                if np.linalg.norm(T[arm][:3, 3] - pre[:3, 3]) > self.config.waypoint_tol_m:
                    targets[arm] = pre
                else:
                    self._via_passed[arm] = True
            if self._via_passed[arm]:
                targets[arm] = goals[arm]
        self._goal = goals
        self._stream_poses((targets[0], targets[1]), T)

    def _stream_poses(self, targets: Targets, T: FloatArray) -> None:
        """Send each arm with a target a joint target a bounded step towards it."""
        cfg = self.config
        for arm, target in enumerate(targets):
            if target is None:
                continue
            dist = float(np.linalg.norm(target[:3, 3] - T[arm][:3, 3]))
            angle = rotation_angle(T[arm][:3, :3], target[:3, :3])
            alpha = min(1.0, cfg.lookahead_m / max(dist, 1e-9),
                        cfg.lookahead_rad / max(angle, 1e-9))  # fmt: skip
            carrot = interpolate_poses(T[arm], target, np.array([alpha]))[0]
            seed = self._q_cmd[arm]
            if seed is None:
                seed = self.arms.joint_positions()[arm]
            q = self.arms.inverse_kinematics(arm, carrot, seed)
            if q is None:
                self.stats.ik_failures += 1
                continue
            step = np.asarray(q, dtype=np.float64) - seed
            q_new = seed + np.clip(step, -cfg.max_joint_step_rad, cfg.max_joint_step_rad)
            self._q_cmd[arm] = q_new
            self.arms.send_joint_targets(arm, q_new)
