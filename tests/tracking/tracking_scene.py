"""A rendered PyBullet sequence with known rigid motion, for tracker tests.

A checker-like block (4 x 4 cells of random colours, 2.2 cm each) sits on the
table; it is teleported by ``STEP`` (1.2 cm, 0.8 cm and 2 degrees about z per frame) and
rendered at 640 x 480 from a fixed camera. Keypoints are points of its top face (and of
the face turned to the camera), so their true positions follow from the body pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from rekep.observation import RGBD
from rekep.poses import make_pose, transform_points

__all__ = ["EYE", "TARGET", "Sequence", "make_pose", "render_sequence", "step_pose"]
from rekep.sim import BoxPart, Camera, SimWorld, look_at

CELL = 0.011  # half size of one checker cell, metres
N_CELLS = 4  # PyBullet crashes on compounds of more than 16 parts
HALF_HEIGHT = 0.025
COLOURS = [
    (0.9, 0.1, 0.1, 1.0), (0.1, 0.2, 0.9, 1.0), (0.95, 0.9, 0.1, 1.0),
    (0.1, 0.75, 0.2, 1.0), (0.95, 0.95, 0.95, 1.0), (0.1, 0.1, 0.1, 1.0),
]
START = make_pose(np.eye(3), [0.45, 0.02, HALF_HEIGHT])
STEP_TRANSLATION = np.array([0.012, -0.008, 0.0])
STEP_YAW_DEG = 2.0
EYE, TARGET = [0.78, 0.22, 0.42], [0.5, 0.0, 0.02]


def step_pose(i: int) -> np.ndarray:
    """(4, 4) world pose of the block at frame ``i`` (frame 0 = START)."""
    R = Rotation.from_euler("z", STEP_YAW_DEG * i, degrees=True).as_matrix()
    return make_pose(R @ START[:3, :3], START[:3, 3] + i * STEP_TRANSLATION)


def keypoints_body() -> np.ndarray:
    """(K, 3) keypoints in the block frame: top-face points and two on the +x face."""
    half = CELL * N_CELLS
    grid = np.linspace(-0.6 * half, 0.6 * half, 4)
    top = [[x, y, HALF_HEIGHT] for x in grid for y in grid]
    side = [[half, 0.3 * half, 0.0], [half, -0.4 * half, -0.005]]
    return np.array(top + side, dtype=np.float64)


@dataclass
class Sequence:
    """Rendered frames and ground truth (body poses per frame)."""

    frames: list[RGBD]
    poses: list[np.ndarray]
    body: int
    points_body: np.ndarray

    def truth(self, i: int) -> np.ndarray:
        """(K, 3) true world keypoints at frame ``i``."""
        return transform_points(self.poses[i], self.points_body)


def build_block(world: SimWorld) -> int:
    rng = np.random.default_rng(3)
    parts = []
    offset = (N_CELLS - 1) / 2
    for i in range(N_CELLS):
        for j in range(N_CELLS):
            colour = COLOURS[int(rng.integers(len(COLOURS)))]
            centre = ((i - offset) * 2 * CELL, (j - offset) * 2 * CELL, 0.0)
            parts.append(BoxPart((CELL, CELL, HALF_HEIGHT), centre, rgba=colour))
    return world.add_compound(parts, START, mass=0.0)


def render_sequence(
    world: SimWorld, n_frames: int = 16, width: int = 640, height: int = 480,
    poses: list[np.ndarray] | None = None,
) -> Sequence:
    """Add the block to ``world`` and render it at ``poses`` (default: :func:`step_pose`)."""
    body = build_block(world)
    camera = Camera(width, height, 50.0, look_at(EYE, TARGET))
    targets = poses if poses is not None else [step_pose(i) for i in range(n_frames)]
    frames, actual = [], []
    for pose in targets:
        world.set_body_pose(body, pose)
        frames.append(camera.render(world.client)[0])
        actual.append(world.body_pose(body))
    return Sequence(frames, actual, body, keypoints_body())
