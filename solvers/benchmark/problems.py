"""The fixed benchmark problem set: :func:`bench_problems`.

Scenes in the Panda workspace (base at the origin, table top at z = 0, objects at x 0.3 to
0.7 m, |y| < 0.3 m), the hand starting top-down near (0.4, 0, 0.35) unless a problem says
otherwise. Every problem is deterministic. All are satisfiable within tolerance by the
reference SciPy backend except those with ``expect_feasible=False``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from solvers.benchmark import programs as P
from solvers.benchmark.problem import BenchProblem
from solvers.benchmark.scenes import (
    DOWN,
    HELD_BLOCK_TCP,
    HELD_BOTTLE_TCP,
    HELD_MUG_TCP,
    HELD_PEG_TCP,
    HOME,
    box_points,
    held,
    ring,
    tcp_for_held_point,
    tcp_pose,
)

T_HOME = tcp_pose(HOME)
WALL = box_points((0.48, 0.12, 0.15), (0.04, 0.12, 0.30))
"""A thin board standing between the home pose and the left of the table."""
PILLAR = box_points((0.50, -0.10, 0.12), (0.08, 0.08, 0.24))
"""A pillar right of the home pose."""


def _mask(k: int, held_ids: tuple[int, ...] = ()) -> np.ndarray:
    mask = np.zeros(k, dtype=bool)
    mask[list(held_ids)] = True
    return mask


def _grasp(name: str, program: str, kps: list, grasp: int, T=T_HOME, obstacles=None,
           desc: str = "") -> BenchProblem:  # fmt: skip
    arr = np.asarray(kps, dtype=np.float64)
    return BenchProblem(
        name=name, category="grasp", program=program, stage=1, keypoints=arr,
        held_mask=_mask(len(arr)), T_world_tcp=T, grasp_keypoint=grasp,
        obstacles=np.zeros((0, 3)) if obstacles is None else obstacles, description=desc,
    )  # fmt: skip


def _holding(name: str, category: str, program: str, stage: int, T: np.ndarray,
             held_tcp: tuple, others: ArrayLike, obstacles=None, expect: bool = True,
             desc: str = "") -> BenchProblem:  # fmt: skip
    """Held object's keypoints first (indices 0..), then the other keypoints."""
    in_hand = held(T, held_tcp)
    kps = np.concatenate([in_hand, np.asarray(others, dtype=np.float64).reshape(-1, 3)])
    return BenchProblem(
        name=name, category=category, program=program, stage=stage, keypoints=kps,
        held_mask=_mask(len(kps), tuple(range(len(in_hand)))), T_world_tcp=T,
        obstacles=np.zeros((0, 3)) if obstacles is None else obstacles,
        expect_feasible=expect, description=desc,
    )  # fmt: skip


def _tray(centre: tuple) -> list:
    c = np.asarray(centre, dtype=np.float64)
    return [c, c + np.array([0.08, 0.08, 0.03]), c + np.array([-0.08, -0.08, 0.03])]


def _grasp_problems() -> list[BenchProblem]:
    tray = _tray((0.45, -0.20, 0.02))
    return [
        _grasp("grasp_block", P.PICK_PLACE, [[0.50, 0.10, 0.05], *tray], 0,
               desc="block front-left of the hand"),
        _grasp("grasp_block_far_yawed", P.PICK_PLACE, [[0.64, 0.24, 0.05], *tray], 0,
               T=tcp_pose(HOME, yaw_deg=35.0), desc="far block, hand turned 35 deg"),
        _grasp("grasp_block_tilted_start", P.PICK_PLACE, [[0.36, -0.12, 0.05], *tray], 0,
               T=tcp_pose((0.45, 0.05, 0.30), tilt_deg=25.0), desc="hand starts tilted 25 deg"),
        _grasp("grasp_block_wall", P.PICK_PLACE, [[0.60, 0.16, 0.05], *tray], 0,
               obstacles=WALL, desc="block behind a board"),
        _grasp("grasp_peg", P.INSERT_UPRIGHT,
               [[0.55, -0.15, 0.14], [0.55, -0.15, 0.02], [0.40, 0.20, 0.05],
                [0.32, 0.12, 0.0], [0.48, 0.28, 0.0]], 0, desc="standing peg"),
        _grasp("grasp_mug_handle", P.POUR,
               [[0.45, 0.20, 0.06], [0.55, 0.20, 0.09], [0.51, 0.20, 0.0],
                *ring((0.55, -0.15, 0.06), 0.07)], 0, obstacles=PILLAR,
               desc="mug handle, pillar on the other side"),
        _grasp("grasp_bottle_cap", P.CARRY_UPRIGHT,
               [[0.60, 0.0, 0.21], [0.60, 0.0, 0.0], [0.40, -0.22, 0.0]], 0,
               desc="tall bottle"),
    ]


def _place_problems() -> list[BenchProblem]:
    T_low = tcp_pose((0.35, 0.05, 0.25), yaw_deg=-20.0)
    return [
        _holding("place_block_in_tray", "place", P.PICK_PLACE, 2, T_HOME, HELD_BLOCK_TCP[:1],
                 _tray((0.55, -0.20, 0.02)), desc="block in hand, tray to the right"),
        _holding("place_block_in_far_tray", "place", P.PICK_PLACE, 2, T_low, HELD_BLOCK_TCP[:1],
                 _tray((0.60, 0.20, 0.02)), desc="tray far left, hand turned"),
        _holding("place_block_wall", "place", P.PICK_PLACE, 2, T_HOME, HELD_BLOCK_TCP[:1],
                 _tray((0.60, 0.18, 0.02)), obstacles=WALL, desc="tray behind a board"),
        _holding("stack_block", "place", P.STACK, 2, T_HOME, HELD_BLOCK_TCP,
                 [[0.60, 0.10, 0.08]], desc="small block onto a large one"),
        _holding("place_block_unreachable", "place", P.PICK_PLACE, 2, T_HOME,
                 HELD_BLOCK_TCP[:1], _tray((0.50, 0.0, 0.62)), expect=False,
                 desc="tray above the workspace box: unsatisfiable"),
    ]


def _reach_problems() -> list[BenchProblem]:
    button = [[0.60, -0.10, 0.10], [0.55, -0.15, 0.10], [0.65, -0.05, 0.10]]
    kps = np.asarray(button)
    hover = tcp_pose(kps[0] + np.array([0.0, 0.0, 0.08]))
    return [
        BenchProblem(name="hover_button", category="reach", program=P.PRESS_BUTTON, stage=1,
                     keypoints=kps, held_mask=_mask(3), T_world_tcp=T_HOME,
                     description="hover 8 cm above a button"),
        BenchProblem(name="press_button", category="reach", program=P.PRESS_BUTTON, stage=2,
                     keypoints=kps, held_mask=_mask(3), T_world_tcp=hover, obstacles=PILLAR,
                     description="press straight down, staying on the button's axis"),
    ]  # fmt: skip


def _insert_problems() -> list[BenchProblem]:
    hole, base = [0.55, 0.12, 0.05], [[0.47, 0.04, 0.0], [0.63, 0.20, 0.0]]
    hole2, base2 = [0.42, -0.22, 0.05], [[0.35, -0.28, 0.0], [0.49, -0.16, 0.0]]
    above = np.asarray(hole) + np.array([0.0, 0.0, 0.10])
    T_above = tcp_for_held_point(above, HELD_PEG_TCP[1], DOWN)
    return [
        _holding("insert_align", "insert_upright", P.INSERT_UPRIGHT, 2, T_HOME, HELD_PEG_TCP,
                 [hole, *base], desc="peg upright 10 cm above the hole"),
        _holding("insert_align_tilted_peg", "insert_upright", P.INSERT_UPRIGHT, 2,
                 tcp_pose(HOME, tilt_deg=20.0), HELD_PEG_TCP, [hole2, *base2],
                 desc="peg held tilted 20 deg: must be turned upright"),
        _holding("insert_align_wall", "insert_upright", P.INSERT_UPRIGHT, 2, T_HOME,
                 HELD_PEG_TCP, [[0.62, 0.20, 0.05], [0.54, 0.12, 0.0], [0.70, 0.28, 0.0]],
                 obstacles=WALL, desc="hole behind a board"),
        _holding("insert_lower", "insert_upright", P.INSERT_UPRIGHT, 3, T_above, HELD_PEG_TCP,
                 [hole, *base], desc="lower the peg into the hole, upright, on its axis"),
    ]


def _pour_problems() -> list[BenchProblem]:
    bowl_c = np.array([0.55, -0.15, 0.06])
    bowl2_c = np.array([0.62, 0.16, 0.06])
    T_pour = tcp_for_held_point(bowl_c + np.array([0.0, 0.0, 0.12]), HELD_MUG_TCP[1], DOWN)
    T_pour2 = tcp_for_held_point(bowl2_c + np.array([0.0, 0.0, 0.12]), HELD_MUG_TCP[1], DOWN)
    return [
        _holding("pour_bring_upright", "keep_upright", P.POUR, 2, T_HOME, HELD_MUG_TCP,
                 ring(bowl_c, 0.07), desc="carry the mug above the bowl, upright"),
        _holding("pour_tilt", "pour_tilt", P.POUR, 3, T_pour, HELD_MUG_TCP, ring(bowl_c, 0.07),
                 desc="tilt the mug over the bowl"),
        _holding("pour_tilt_left_bowl", "pour_tilt", P.POUR, 3, T_pour2, HELD_MUG_TCP,
                 ring(bowl2_c, 0.07), obstacles=PILLAR, desc="tilt over a bowl on the left"),
    ]


def _carry_problems() -> list[BenchProblem]:
    return [
        _holding("carry_bottle", "keep_upright", P.CARRY_UPRIGHT, 2, T_HOME, HELD_BOTTLE_TCP,
                 [[0.55, -0.20, 0.0]], desc="bottle to a coaster, upright all the way"),
        _holding("carry_bottle_far", "keep_upright", P.CARRY_UPRIGHT, 2,
                 tcp_pose((0.35, -0.1, 0.40), yaw_deg=60.0), HELD_BOTTLE_TCP,
                 [[0.66, 0.24, 0.0]], desc="far coaster, hand turned 60 deg"),
        _holding("carry_bottle_wall", "keep_upright", P.CARRY_UPRIGHT, 2, T_HOME,
                 HELD_BOTTLE_TCP, [[0.62, 0.22, 0.0]], obstacles=WALL,
                 desc="coaster behind a board"),
    ]


def bench_problems() -> list[BenchProblem]:
    """The benchmark problems, in a fixed order (names are unique)."""
    return [
        *_grasp_problems(),
        *_place_problems(),
        *_reach_problems(),
        *_insert_problems(),
        *_pour_problems(),
        *_carry_problems(),
    ]
