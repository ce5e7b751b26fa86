"""Task "stow_book": stow the standing book upright in the gap between two books.

Variant (why): the issue's book lies flat (15 x 20 cm face down); a parallel gripper that
opens to 8 cm cannot grasp it top-down, and the open-loop runner only grasps top-down. The
nearest feasible variant is used: the book already stands on its 3 x 15 cm edge, and the
robot grasps it top-down across its 3 cm thickness at its top edge, lifts it over the shelf,
turns it (yaw) parallel to the other books and lowers it into the gap.

Scene: a red book, a 3 x 15 x 20 cm box (0.2 kg) standing on the table, and a "shelf":
two 3 x 15 x 16 cm books standing 5 cm apart, one static body (fixed, as if held by a
shelf). Positions are random within reach, never overlapping; the shelf's yaw is random;
the book's yaw is the shelf's plus up to ``BOOK_YAW_SPREAD`` (60 degrees).

Seeds: train 0-999, test 1000-1999 (see :mod:`rekep.sim.tasks.placement`).

Success (all must hold), with the tolerances named in ``details``:

* the book is upright: its long (20 cm) axis within ``TILT_LIMIT`` (15 degrees) of
  vertical (the gap bounds a resting lean to about 7 degrees);
* it is between the two books: its centre, in the shelf frame, has ``|x| <= GAP_HALF``
  (2.5 cm, the gap's half width) and ``|y| <= 0.075`` m (the books' half length), and its
  centre is at most ``Z_LIMIT`` (12 cm) above the table (standing in the gap, not on top);
* no robot touches the book (it has been released).

Anchors (object frames), all on visible, textured surfaces: each book carries small labels
printed in a darker shade of its own colour (real covers carry print; Lucas-Kanade needs a
blob to follow, and a label's hue leaves whole-object re-detection's colour test unchanged).
``book_top`` the label at the centre of the book's top edge; ``book_front`` and
``book_back`` the labels 2.5 cm in from that edge's ends; ``shelf_left_front``,
``shelf_left_back``, ``shelf_right_front`` and ``shelf_right_back`` the labels on the shelf
books' top faces, on each face's centre line 2.5 cm in from its ends. (They were the books'
outer corners: on the outline, where the depth image shows the table behind a corner, a
tracker cannot follow or re-find them.) The gap between the books is empty space, where no
keypoint can be proposed, so the program names it as the mean of the four shelf labels (the
gap's centre at the books' top height) and the shelf's direction as the mean of the two
books' front -> back lines.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rekep.poses import make_pose, transform_points
from rekep.sim.camera import Camera, look_at
from rekep.sim.tasks.base import Task, TaskOutcome
from rekep.sim.tasks.placement import sample_apart, tilt_rad, yaw_pose
from rekep.sim.world import BoxPart, SimWorld

BOOK_HALF = (0.015, 0.075, 0.10)
"""Book half sizes (thickness, length, height), metres; frame origin at its centre."""
BOOK_MASS = 0.2
SHELF_BOOK_HALF = (0.015, 0.075, 0.08)
"""Half sizes of each of the two shelf books, metres."""
GAP_HALF = 0.025
"""Half the gap between the shelf books, metres; the shelf frame origin is the gap's
centre on the table."""
TILT_LIMIT = np.deg2rad(15.0)
"""Success: largest angle between the book's long axis and vertical, radians."""
Z_LIMIT = 0.12
"""Success: highest centre height of a book standing in the gap, metres."""
BOOK_BOX = ((0.38, 0.58), (-0.28, 0.28))
"""Sampling box of the book centre (x, y), metres."""
SHELF_BOX = ((0.45, 0.62), (-0.25, 0.25))
"""Sampling box of the shelf centre (x, y), metres."""
BOOK_YAW_SPREAD = np.deg2rad(60.0)
"""The book's yaw differs from the shelf's by at most this, radians."""
MARK_HALF = (0.009, 0.012, 0.0005)
"""Half sizes (across, along, up) of the labels printed on the shelf books' top faces, metres (1 mm
thick, standing proud of the face)."""
MARK_Y = 0.05
"""The labels' centres lie on each top face's centre line, this far from the book's middle
(2.5 cm in from its ends), metres."""
SHELF_RGBA = ((0.2, 0.5, 0.3, 1.0), (0.85, 0.75, 0.3, 1.0))
"""Colours of the left (green) and right (yellow) shelf book."""
BOOK_RGBA = (0.8, 0.15, 0.15, 1.0)
LABEL_SHADE = 0.4
"""Labels are printed in their book's colour times this: darker, but of the same hue, so
whole-object re-detection, which compares mean colours, sees the book's colour unchanged."""
BOOK_LABELS: tuple[tuple[float, float], ...] = ((-0.05, 0.012), (0.0, 0.010), (0.05, 0.012))
"""Labels printed on the red book's top edge, ``(y centre, half length)`` in the book frame
(metres): at ``book_front``, ``book_top`` (under the fingers once grasped), ``book_back``;
each is ``BOOK_LABEL_HALF_WIDTH`` wide across the edge."""
BOOK_LABEL_HALF_WIDTH = 0.009
LABEL_PROUD = 0.0007
"""Labels stand this far above the face they are printed on (drawn, not collided), metres."""
MIN_SEPARATION = 0.25
"""Minimum distance between book and shelf centres when sampling, metres."""

REFERENCE_PROGRAM = '''\
num_stages = 3

### stage 1 sub-goal constraints
def stage1_subgoal_constraint1(end_effector, keypoints):
    """Align the end-effector with the top edge of the book (keypoint {book_top})."""
    cost = np.linalg.norm(end_effector - keypoints[{book_top}])
    return cost

### stage 1 path constraints
# (none: this is a grasping stage)

### stage 2 sub-goal constraints
def stage2_subgoal_constraint1(end_effector, keypoints):
    """The book's top (keypoint {book_top}) is 24 cm above the top of the gap between the
    other books (the mean of the four labels on their tops, keypoints {shelf_left_front},
    {shelf_left_back}, {shelf_right_front}, {shelf_right_back}), so the 20 cm book clears
    them."""
    gap_top = (keypoints[{shelf_left_front}] + keypoints[{shelf_left_back}]
               + keypoints[{shelf_right_front}] + keypoints[{shelf_right_back}]) / 4
    offsetted_point = gap_top + np.array([0, 0, 0.24])
    cost = np.linalg.norm(keypoints[{book_top}] - offsetted_point)
    return cost

def stage2_subgoal_constraint2(end_effector, keypoints):
    """The book's top edge (keypoints {book_front} -> {book_back}) points along the other
    books (their front labels {shelf_left_front}, {shelf_right_front} -> their back labels
    {shelf_left_back}, {shelf_right_back})."""
    book_edge = keypoints[{book_back}] - keypoints[{book_front}]
    shelf_edge = (keypoints[{shelf_left_back}] + keypoints[{shelf_right_back}]
                  - keypoints[{shelf_left_front}] - keypoints[{shelf_right_front}])
    shelf_direction = shelf_edge / np.linalg.norm(shelf_edge)
    cost = np.linalg.norm(book_edge - np.linalg.norm(book_edge) * shelf_direction)
    return cost

### stage 2 path constraints
def stage2_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the book (keypoint {book_top})."""
    return get_grasping_cost_by_keypoint_idx({book_top})

### stage 3 sub-goal constraints
def stage3_subgoal_constraint1(end_effector, keypoints):
    """The book's top (keypoint {book_top}) is 5 cm above the top of the gap (the mean of
    the four labels on the other books' tops): the book stands in the gap, 1 cm above the
    table."""
    gap_top = (keypoints[{shelf_left_front}] + keypoints[{shelf_left_back}]
               + keypoints[{shelf_right_front}] + keypoints[{shelf_right_back}]) / 4
    offsetted_point = gap_top + np.array([0, 0, 0.05])
    cost = np.linalg.norm(keypoints[{book_top}] - offsetted_point)
    return cost

def stage3_subgoal_constraint2(end_effector, keypoints):
    """The book's top edge stays along the other books."""
    book_edge = keypoints[{book_back}] - keypoints[{book_front}]
    shelf_edge = (keypoints[{shelf_left_back}] + keypoints[{shelf_right_back}]
                  - keypoints[{shelf_left_front}] - keypoints[{shelf_right_front}])
    shelf_direction = shelf_edge / np.linalg.norm(shelf_edge)
    cost = np.linalg.norm(book_edge - np.linalg.norm(book_edge) * shelf_direction)
    return cost

### stage 3 path constraints
def stage3_path_constraint1(end_effector, keypoints):
    """The robot must still be grasping the book (keypoint {book_top})."""
    return get_grasping_cost_by_keypoint_idx({book_top})

grasp_keypoints = [{book_top}, -1, -1]
release_keypoints = [-1, -1, {book_top}]
'''


class StowBook(Task):
    """Stow the book between the two books (see the module docstring for the variant)."""

    name = "stow_book"
    description = "lift a standing book and stow it upright in the gap between two books"
    instruction = "stow the red book upright between the two other books"
    reference_program = REFERENCE_PROGRAM

    def __init__(self, world: SimWorld) -> None:
        super().__init__(world)
        self.book = _add_book(world, make_pose(np.eye(3), [0.5, 0.2, BOOK_HALF[2]]))
        offset = GAP_HALF + SHELF_BOOK_HALF[0]
        parts = [
            BoxPart(SHELF_BOOK_HALF, (side * offset, 0.0, SHELF_BOOK_HALF[2]), rgba=rgba)
            for side, rgba in zip((-1.0, 1.0), SHELF_RGBA, strict=True)
        ]
        mark_z = 2 * SHELF_BOOK_HALF[2] + MARK_HALF[2]
        parts += [
            BoxPart(MARK_HALF, (side * offset, end * MARK_Y, mark_z), rgba=_shade(rgba))
            for side, rgba in zip((-1.0, 1.0), SHELF_RGBA, strict=True) for end in (-1.0, 1.0)
        ]
        self.shelf = world.add_compound(
            parts, make_pose(np.eye(3), [0.5, -0.2, 0.0]), mass=0.0, lateral_friction=0.6
        )

    def reset(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        book_xy, shelf_xy = sample_apart(rng, [BOOK_BOX, SHELF_BOX], MIN_SEPARATION, seed)
        shelf_yaw = rng.uniform(-np.pi, np.pi)
        book_yaw = shelf_yaw + rng.uniform(-BOOK_YAW_SPREAD, BOOK_YAW_SPREAD)
        self.world.set_body_pose(self.shelf, yaw_pose(shelf_xy, 0.0, shelf_yaw))
        self._place_and_settle({self.book: yaw_pose(book_xy, BOOK_HALF[2], book_yaw)})
        self.seed = seed

    def success(self) -> TaskOutcome:
        T_book = self.world.body_pose(self.book)
        tilt = tilt_rad(T_book)
        local = transform_points(np.linalg.inv(self.world.body_pose(self.shelf)), T_book[:3, 3])
        upright = tilt <= TILT_LIMIT
        between = bool(
            abs(local[0]) <= GAP_HALF and abs(local[1]) <= SHELF_BOOK_HALF[1]
            and local[2] <= Z_LIMIT
        )
        released = not any(self.world.in_contact(r, self.book) for r in self.world.robot_bodies)
        return TaskOutcome(
            success=upright and between and released,
            details={
                "book_in_shelf_frame_m": [float(v) for v in local],
                "gap_half_limit_m": GAP_HALF,
                "length_half_limit_m": SHELF_BOOK_HALF[1],
                "z_limit_m": Z_LIMIT,
                "between_books": between,
                "tilt_deg": float(np.rad2deg(tilt)),
                "tilt_limit_deg": float(np.rad2deg(TILT_LIMIT)),
                "upright": bool(upright),
                "released": released,
            },
        )

    def anchors(self) -> dict[str, NDArray[np.float64]]:
        T_book = self.world.body_pose(self.book)
        T_shelf = self.world.body_pose(self.shelf)
        top = BOOK_HALF[2] + LABEL_PROUD
        front, back = BOOK_LABELS[0][0], BOOK_LABELS[2][0]
        height, half = 2 * SHELF_BOOK_HALF[2] + 2 * MARK_HALF[2], MARK_Y
        outer = GAP_HALF + SHELF_BOOK_HALF[0]  # the top faces' centre lines
        book = transform_points(T_book, np.array([[0, 0, top], [0, front, top],
                                                  [0, back, top]]))
        corners = transform_points(T_shelf, np.array(
            [[-outer, -half, height], [-outer, half, height],
             [outer, -half, height], [outer, half, height]]))
        return {"book_top": book[0], "book_front": book[1], "book_back": book[2],
                "shelf_left_front": corners[0], "shelf_left_back": corners[1],
                "shelf_right_front": corners[2], "shelf_right_back": corners[3]}

    def anchor_objects(self) -> dict[str, int]:
        shelf = ("shelf_left_front", "shelf_left_back", "shelf_right_front", "shelf_right_back")
        return {"book_top": self.book, "book_front": self.book, "book_back": self.book,
                **{name: self.shelf for name in shelf}}

    def object_bodies(self) -> dict[str, int]:
        return {"book": self.book, "shelf": self.shelf}

    def manipulated_body(self) -> int:
        """The book to stow (``knock_out`` and ``rotate_object`` act on it)."""
        return self.book

    def target_body(self) -> int:
        """The two shelf books (``move_target`` moves them together)."""
        return self.shelf

    def camera(self) -> Camera:
        """Front-top view from beyond the table's far edge, looking back at the workspace."""
        return Camera(640, 480, 55.0, look_at([1.15, 0.0, 0.9], [0.48, 0.0, 0.05]))


def _shade(rgba: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A label's colour on a surface of colour ``rgba`` (see :data:`LABEL_SHADE`)."""
    r, g, b, a = rgba
    return (LABEL_SHADE * r, LABEL_SHADE * g, LABEL_SHADE * b, a)


def _add_book(world: SimWorld, T_world_book: NDArray[np.float64]) -> int:
    """The red book: one box collision shape, drawn with the :data:`BOOK_LABELS` on its top
    edge; returns its body id."""
    z = BOOK_HALF[2] + LABEL_PROUD / 2
    labels = [BoxPart((BOOK_LABEL_HALF_WIDTH, h, LABEL_PROUD / 2), (0.0, y, z),
                      rgba=_shade(BOOK_RGBA)) for y, h in BOOK_LABELS]  # fmt: skip
    return world.add_compound(
        [BoxPart(BOOK_HALF)], T_world_book, mass=BOOK_MASS,
        look=[BoxPart(BOOK_HALF, rgba=BOOK_RGBA), *labels], lateral_friction=1.5,
        spinning_friction=0.1,
    )
