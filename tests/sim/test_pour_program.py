"""The pour task's anchors and reference program: every anchor lies on a visible surface a
flow tracker can follow, and the program's derived quantities (opening centre, up axis,
tilt, sideways roll) follow the cup's pose."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pybullet")

from rekep.poses import make_pose, transform_points
from rekep.program import ConstraintProgram, load_program
from rekep.sim import HOME_Q, Panda, SimWorld
from rekep.sim.tasks.pour_particles import CUP_WALL, CUP_WALL_HEIGHT, PourParticles
from rekep.sim.tasks.pour_program import make_program

SEEDS = (1000, 1003, 1006, 1009)
NAMES = ("bowl_center", "cup_back_left", "cup_back_right", "cup_spout")
"""Anchor names in keypoint order (sorted, as the annotated mode orders them)."""


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@pytest.mark.parametrize("seed", SEEDS)
def test_anchors_lie_on_visible_textured_surfaces(seed: int) -> None:
    """At reset every anchor is the nearest surface along its camera ray (no cavity, no
    empty space), and the image around it has contrast for Lucas-Kanade."""
    with SimWorld() as world:
        Panda(world).reset_joints(HOME_Q, width=0.08)
        task = PourParticles(world)
        task.reset(seed)
        rgbd, _ = task.camera().render(world.client)
        T_cam_world = np.linalg.inv(rgbd.T_world_camera)
        gray = rgbd.rgb.astype(np.float64).mean(axis=2)
        for name, point in task.anchors().items():
            u, v = np.round(rgbd.project(point[None])[0]).astype(int)
            assert 5 <= u < rgbd.rgb.shape[1] - 5 and 5 <= v < rgbd.rgb.shape[0] - 5, name
            depth = float(np.nanmedian(rgbd.depth[v - 1:v + 2, u - 1:u + 2]))
            z = transform_points(T_cam_world, point)[2]
            assert abs(depth - z) < 0.01, f"{name}: surface at {depth:.3f} m, anchor {z:.3f} m"
            patch = gray[v - 4:v + 5, u - 4:u + 5]
            assert patch.max() - patch.min() > 40, f"{name}: no texture to track"


def _program_and_anchors(T_cup: np.ndarray) -> tuple[ConstraintProgram, np.ndarray, np.ndarray]:
    """The loaded program and the anchors (K, 3) with the cup at pose ``T_cup``."""
    with SimWorld() as world:
        task = PourParticles(world)
        task.reset(1000)
        T_bowl = world.body_pose(task.bowl)
        world.set_body_pose(task.cup, T_cup)
        anchors = task.anchors()
        text = task.resolved_program({n: i for i, n in enumerate(NAMES)})
    program = load_program(text, num_keypoints=len(NAMES))
    return program, np.stack([anchors[n] for n in NAMES]), T_bowl


def test_program_reads_the_opening_and_the_up_axis_from_rim_anchors() -> None:
    T_cup = make_pose(np.eye(3), [0.45, 0.2, 0.0])
    program, kp, _ = _program_and_anchors(T_cup)
    opening = transform_points(T_cup, np.array([0.0, 0.0, CUP_WALL + CUP_WALL_HEIGHT]))
    grasp = program.stages[0].subgoal_constraints[0]
    assert grasp(opening, kp) == pytest.approx(0.0, abs=1e-6)
    assert grasp(opening + [0.0, 0.0, 0.05], kp) == pytest.approx(0.05, abs=1e-6)
    upright = program.stages[1].path_constraints[1]
    assert upright(opening, kp) < 0  # upright cup: the carry constraint holds
    _, kp_tipped, _ = _program_and_anchors(make_pose(_rot_x(1.0), [0.45, 0.2, 0.1]))
    assert upright(opening, kp_tipped) > 0.1  # tipped 57 degrees: it would backtrack


@pytest.mark.parametrize("tilt_deg", [126.0, 140.0])
def test_pour_stage_wants_the_cup_tipped_over_its_spout_not_sideways(tilt_deg: float) -> None:
    ee = np.zeros(3)
    for roll_deg in (0.0, 20.0):
        # tip the spout (+y) down about the cup's x axis, then roll about its long axis
        c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
        R = _rot_x(-np.radians(tilt_deg)) @ np.array([[c, 0.0, s], [0.0, 1.0, 0.0],
                                                       [-s, 0.0, c]])  # fmt: skip
        program, kp, _ = _program_and_anchors(make_pose(R, [0.5, 0.0, 0.3]))
        tilt, spout_low, sideways = program.stages[2].subgoal_constraints[1:4]
        if roll_deg == 0.0:
            assert tilt(ee, kp) <= 0 and spout_low(ee, kp) <= 0 and sideways(ee, kp) <= 0
        else:
            assert sideways(ee, kp) > 0.1  # rolled 20 degrees: the balls would spill sideways
    # upright: far from poured
    program, kp, _ = _program_and_anchors(make_pose(np.eye(3), [0.5, 0.0, 0.3]))
    assert program.stages[2].subgoal_constraints[1](ee, kp) > 1.0


def test_make_program_fills_every_parameter() -> None:
    text = make_program(pour_m=0.25, tilt_deg=30.0)
    for key in ("CARRY", "POUR_", "TILT_", "LEVEL_", "DONE_"):
        assert key not in text
    assert "0.25" in text and "0.50" in text  # sin(30 degrees)
