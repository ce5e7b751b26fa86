"""A PyBullet world that owns its own physics client.

Every call passes ``physicsClientId`` explicitly, so several :class:`SimWorld` objects can
coexist in one process (and others can run in separate processes) without sharing state.

World frame: z up, metres. The table top is the plane ``z = 0`` (so task heights read as
"height above the table"); the floor is a plane at ``z = -TABLE_HEIGHT``. The table spans
``TABLE_X`` x ``TABLE_Y``; the Panda base sits on it at the origin.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import as_pose, pos_quat_from_pose, pose_from_pos_quat

p = require("pybullet", "simulation")
pybullet_data = require("pybullet_data", "simulation")

logger = logging.getLogger(__name__)

TIME_STEP = 1.0 / 240.0
"""Physics time step in seconds."""
TABLE_HEIGHT = 0.6
"""Height of the table top above the floor, metres."""
TABLE_X = (-0.35, 1.0)
"""Table extent along world x (min, max), metres."""
TABLE_Y = (-0.7, 0.7)
"""Table extent along world y (min, max), metres."""
TABLE_FRICTION = 0.6
"""Lateral friction coefficient of the table top."""

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxPart:
    """One box of a compound body, in the body frame.

    Attributes:
        half_extents: (3,) half sizes along the part's axes, metres.
        position: (3,) part centre in the body frame, metres.
        quat: (4,) part orientation in the body frame, (x, y, z, w).
        rgba: colour (r, g, b, a) in 0..1.
    """

    half_extents: tuple[float, float, float]
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    rgba: RGBA = (0.6, 0.6, 0.6, 1.0)

    def __post_init__(self) -> None:
        he = np.asarray(self.half_extents, dtype=np.float64)
        if he.shape != (3,) or not np.all(np.isfinite(he)) or np.any(he <= 0):
            raise SimulationError(
                f"BoxPart half_extents must be 3 positive metres, got {self.half_extents}"
            )
        if len(self.position) != 3 or len(self.quat) != 4 or len(self.rgba) != 4:
            raise SimulationError("BoxPart position needs 3 values, quat 4 (x,y,z,w), rgba 4")


MAX_BOX_PARTS = 16
"""PyBullet crashes the process (no Python error) on shape arrays of more parts."""


def box_part_shapes(parts: Sequence[BoxPart], client: int,
                    look: Sequence[BoxPart] | None = None) -> tuple[int, int]:  # fmt: skip
    """PyBullet (collision, visual) shape arrays of box ``parts`` in one frame, the visual
    one drawn from ``look`` when given (drawn only: labels, bands); raises PyBullet's own
    error (callers wrap it)."""
    drawn = parts if look is None else look
    count = max(len(parts), len(drawn))
    if count > MAX_BOX_PARTS:
        raise SimulationError(
            f"a body can have at most {MAX_BOX_PARTS} box parts, got {count}; "
            "split it into several bodies"
        )
    col = p.createCollisionShapeArray(
        shapeTypes=[p.GEOM_BOX] * len(parts),
        halfExtents=[list(pt.half_extents) for pt in parts],
        collisionFramePositions=[list(pt.position) for pt in parts],
        collisionFrameOrientations=[list(pt.quat) for pt in parts],
        physicsClientId=client,
    )
    vis = p.createVisualShapeArray(
        shapeTypes=[p.GEOM_BOX] * len(drawn),
        halfExtents=[list(pt.half_extents) for pt in drawn],
        rgbaColors=[list(pt.rgba) for pt in drawn],
        visualFramePositions=[list(pt.position) for pt in drawn],
        visualFrameOrientations=[list(pt.quat) for pt in drawn],
        physicsClientId=client,
    )
    return int(col), int(vis)


class SimWorld:
    """A headless (DIRECT) PyBullet world: gravity, 1/240 s steps, floor and table.

    Use as a context manager or call :meth:`close`. ``client`` is the PyBullet client id to
    pass as ``physicsClientId`` to any direct PyBullet call.
    """

    def __init__(self, *, gravity: float = -9.81, solver_iterations: int = 150) -> None:
        try:
            self.client: int = int(p.connect(p.DIRECT))
        except Exception as exc:  # pybullet raises plain `error`
            raise SimulationError(f"could not start a PyBullet DIRECT client: {exc}") from exc
        if self.client < 0:
            raise SimulationError("could not start a PyBullet DIRECT client (id < 0)")
        self._closed = False
        self.time_step = TIME_STEP
        self.sim_time = 0.0
        self.steps_taken = 0
        self._robot_bodies: list[int] = []
        self._close_callbacks: list[Callable[[], None]] = []
        self._step_listeners: list[Callable[[SimWorld], None]] = []
        cid = self.client
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        p.setGravity(0.0, 0.0, gravity, physicsClientId=cid)
        p.setTimeStep(TIME_STEP, physicsClientId=cid)
        p.setPhysicsEngineParameter(numSolverIterations=solver_iterations, physicsClientId=cid)
        self.floor_id = int(
            p.loadURDF("plane.urdf", [0.0, 0.0, -TABLE_HEIGHT], physicsClientId=cid)
        )
        half = (
            (TABLE_X[1] - TABLE_X[0]) / 2,
            (TABLE_Y[1] - TABLE_Y[0]) / 2,
            TABLE_HEIGHT / 2,
        )
        centre = np.array([(TABLE_X[0] + TABLE_X[1]) / 2, (TABLE_Y[0] + TABLE_Y[1]) / 2, -half[2]])
        self.table_id = self.add_box(
            half, pose_from_pos_quat(centre, [0, 0, 0, 1]), mass=0.0,
            rgba=(0.82, 0.71, 0.55, 1.0), lateral_friction=TABLE_FRICTION,
        )
        logger.debug("SimWorld client %d ready", cid)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Disconnect the client (idempotent)."""
        if not self._closed:
            self._closed = True
            for callback in self._close_callbacks:
                callback()
            try:
                p.disconnect(physicsClientId=self.client)
            except Exception as exc:  # already gone: nothing to free
                logger.debug("disconnect of client %d failed: %s", self.client, exc)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the world closes (robots free helper clients this way)."""
        self._close_callbacks.append(callback)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> SimWorld:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; explicit close() is preferred
        with contextlib.suppress(Exception):
            self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SimulationError("this SimWorld is closed; create a new one")

    # ------------------------------------------------------------------ stepping
    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` steps of :data:`TIME_STEP` seconds."""
        self._check_open()
        if n < 0:
            raise SimulationError(f"step count must be >= 0, got {n}")
        for _ in range(n):
            p.stepSimulation(physicsClientId=self.client)
            self.steps_taken += 1
            self.sim_time += TIME_STEP
            for listener in self._step_listeners:
                listener(self)

    def add_step_listener(self, listener: Callable[[SimWorld], None]) -> None:
        """Call ``listener(world)`` after every physics step (e.g. a video recorder that
        renders every k-th step). Keep it cheap: it runs inside every motion."""
        self._step_listeners.append(listener)

    def remove_step_listener(self, listener: Callable[[SimWorld], None]) -> None:
        """Stop calling ``listener`` (no error when it is not attached)."""
        if listener in self._step_listeners:
            self._step_listeners.remove(listener)

    # ------------------------------------------------------------------ bodies
    def add_box(
        self,
        half_extents: ArrayLike,
        T_world_body: ArrayLike,
        *,
        mass: float = 0.1,
        rgba: RGBA = (0.6, 0.6, 0.6, 1.0),
        lateral_friction: float = 1.0,
        spinning_friction: float = 0.001,
    ) -> int:
        """Add one box (half sizes in metres) at a (4, 4) pose; mass 0 makes it static."""
        he = np.asarray(half_extents, dtype=np.float64).reshape(-1)
        if he.shape != (3,):
            raise SimulationError(f"add_box needs 3 half extents, got {he.shape[0]}")
        part = BoxPart((float(he[0]), float(he[1]), float(he[2])), rgba=rgba)
        return self.add_compound(
            [part], T_world_body, mass=mass, lateral_friction=lateral_friction,
            spinning_friction=spinning_friction,
        )

    def add_compound(
        self,
        parts: Sequence[BoxPart],
        T_world_body: ArrayLike,
        *,
        mass: float = 0.5,
        lateral_friction: float = 1.0,
        spinning_friction: float = 0.001,
        rolling_friction: float = 0.0,
        look: Sequence[BoxPart] | None = None,
    ) -> int:
        """Add a rigid body made of box parts; returns its body unique id.

        The body frame is the frame the parts' positions are expressed in; its inertia is
        computed by PyBullet from the compound shape with uniform density. ``look``: boxes
        drawn instead of ``parts`` (colour bands, labels) that do not collide.
        """
        self._check_open()
        if not parts:
            raise SimulationError("add_compound needs at least one BoxPart")
        if mass < 0:
            raise SimulationError(f"mass must be >= 0 kg (0 = static), got {mass}")
        cid = self.client
        pos, quat = pos_quat_from_pose(as_pose(T_world_body, "T_world_body"))
        try:
            col, vis = box_part_shapes(parts, cid, look)
            body = int(
                p.createMultiBody(
                    baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                    basePosition=pos.tolist(), baseOrientation=quat.tolist(),
                    physicsClientId=cid,
                )
            )
        except Exception as exc:
            raise SimulationError(f"PyBullet could not create the compound body: {exc}") from exc
        p.changeDynamics(
            body, -1, lateralFriction=lateral_friction, spinningFriction=spinning_friction,
            rollingFriction=rolling_friction, physicsClientId=cid,
        )
        return body

    def remove_body(self, body: int) -> None:
        self._check_open()
        p.removeBody(body, physicsClientId=self.client)

    def body_pose(self, body: int) -> NDArray[np.float64]:
        """(4, 4) world pose of a body's base frame."""
        self._check_open()
        pos, quat = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return pose_from_pos_quat(pos, quat)

    def moving_pose(self, body: int) -> NDArray[np.float64]:
        """(4, 4) world pose of the part of ``body`` that moves: the link frame of a body
        with exactly one prismatic or revolute joint (a drawer on its rail), else the base
        pose. The privileged ``sim`` tracker follows this, so a drawer's keypoints move with
        the drawer, not with its fixed rail."""
        self._check_open()
        if p.getNumJoints(body, physicsClientId=self.client) == 1:
            joint_type = p.getJointInfo(body, 0, physicsClientId=self.client)[2]
            if joint_type in (p.JOINT_PRISMATIC, p.JOINT_REVOLUTE):
                state = p.getLinkState(body, 0, computeForwardKinematics=True,
                                       physicsClientId=self.client)
                return pose_from_pos_quat(state[4], state[5])
        return self.body_pose(body)

    def set_body_pose(self, body: int, T_world_body: ArrayLike) -> None:
        """Teleport a body's base (for scene set-up only) and zero its velocity."""
        self._check_open()
        pos, quat = pos_quat_from_pose(as_pose(T_world_body, "T_world_body"))
        p.resetBasePositionAndOrientation(
            body, pos.tolist(), quat.tolist(), physicsClientId=self.client
        )
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=self.client)

    def body_velocity(self, body: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """((3,) linear m/s, (3,) angular rad/s) velocity of a body's base."""
        lin, ang = p.getBaseVelocity(body, physicsClientId=self.client)
        return np.asarray(lin, dtype=np.float64), np.asarray(ang, dtype=np.float64)

    def in_contact(self, body_a: int, body_b: int, link_a: int | None = None) -> bool:
        """True when the two bodies touch (optionally only link ``link_a`` of ``body_a``)."""
        self._check_open()
        kwargs = {} if link_a is None else {"linkIndexA": link_a}
        pts = p.getContactPoints(bodyA=body_a, bodyB=body_b, physicsClientId=self.client, **kwargs)
        return bool(pts)

    # ------------------------------------------------------------------ robots
    def register_robot(self, body: int) -> None:
        """Record a robot body (tasks use this to tell whether an object is held)."""
        if body not in self._robot_bodies:
            self._robot_bodies.append(body)

    @property
    def robot_bodies(self) -> tuple[int, ...]:
        """Body ids of the robots registered in this world."""
        return tuple(self._robot_bodies)

    def settle(
        self, max_steps: int = 240, bodies: Sequence[int] = (), speed_tol: float = 1e-3
    ) -> int:
        """Step until ``bodies`` move slower than ``speed_tol`` m/s (and rad/s); returns steps."""
        for i in range(1, max_steps + 1):
            self.step(1)
            if i >= 5 and all(
                max(np.linalg.norm(v) for v in self.body_velocity(b)) < speed_tol for b in bodies
            ):
                return i
        return max_steps
