"""Square mass-spring cloths in a :class:`~rekep.sim.world.SimWorld`: load, anchor, read.

PyBullet's default world (no ``RESET_USE_DEFORMABLE_WORLD``) simulates ``loadSoftBody``
meshes as mass-spring soft bodies; that is what the cloth tasks use. A cloth is a regular
``n x n`` grid of nodes written to a temporary OBJ file for loading (the file is deleted
right after). Node ``i + n * j`` sits at grid column ``i`` (cloth-frame x) and row ``j``
(cloth-frame y); the cloth frame's origin is the cloth centre, z up.

PyBullet offers no call that sets a soft body's node positions back, so a task that must
reset deterministically removes the cloth and loads a fresh one (:func:`load_cloth`),
re-creating its anchors (and, for bit-identical resets, the bodies in contact with it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rekep.availability import require
from rekep.errors import SimulationError
from rekep.poses import as_pose, pos_quat_from_pose
from rekep.sim.world import SimWorld

p = require("pybullet", "simulation")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClothSpec:
    """A square mass-spring cloth.

    Only these properties shape the simulated cloth: in PyBullet's mass-spring world the
    spring, bending, damping and friction arguments of ``loadSoftBody`` are ignored
    (measured with pybullet 3.2.7: changing any of them leaves node trajectories
    bit-identical). The cloth's effective bending stiffness is set by the grid: bending
    constraints span two edges, so a finer grid folds more easily.

    Attributes:
        nodes_per_side: grid nodes along each side (>= 2); the cloth has ``n * n`` nodes.
        side_m: side length, metres.
        mass_kg: total mass, kg.
        margin_m: collision margin, metres: the cloth rests this high above a surface.
    """

    nodes_per_side: int = 13
    side_m: float = 0.2
    mass_kg: float = 0.05
    margin_m: float = 0.003

    def __post_init__(self) -> None:
        if int(self.nodes_per_side) != self.nodes_per_side or self.nodes_per_side < 2:
            raise SimulationError(
                f"ClothSpec.nodes_per_side must be an int >= 2, got {self.nodes_per_side}"
            )
        for name in ("side_m", "mass_kg", "margin_m"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise SimulationError(f"ClothSpec.{name} must be finite and > 0, got {value}")

    @property
    def num_nodes(self) -> int:
        return self.nodes_per_side**2

    def node_index(self, column: int, row: int) -> int:
        """Index of the node at grid ``column`` (cloth x) and ``row`` (cloth y)."""
        n = self.nodes_per_side
        if not (0 <= column < n and 0 <= row < n):
            raise SimulationError(f"grid node ({column}, {row}) outside a {n} x {n} cloth")
        return column + n * row

    def local_nodes(self) -> NDArray[np.float64]:
        """(n * n, 3) node positions in the cloth frame (flat, z = 0), metres."""
        ticks = np.linspace(-self.side_m / 2, self.side_m / 2, self.nodes_per_side)
        xs, ys = np.meshgrid(ticks, ticks)  # row j, column i -> index i + n * j
        return np.column_stack([xs.ravel(), ys.ravel(), np.zeros(self.num_nodes)])


def _grid_obj_text(spec: ClothSpec) -> str:
    n = spec.nodes_per_side
    lines = [f"v {x:.6f} {y:.6f} 0.0" for x, y, _ in spec.local_nodes()]
    for j in range(n - 1):
        for i in range(n - 1):
            a = i + n * j + 1  # OBJ indices are 1-based
            b, c, d = a + 1, a + n, a + n + 1
            lines += [f"f {a} {b} {d}", f"f {a} {d} {c}"]
    return "\n".join(lines) + "\n"


def load_cloth(world: SimWorld, spec: ClothSpec, T_world_cloth: NDArray[np.float64]) -> int:
    """Load a flat cloth at a (4, 4) pose (its centre; z is the resting height); returns its
    body id. Node order follows :meth:`ClothSpec.local_nodes`.

    Raises:
        SimulationError: PyBullet could not load the mesh.
    """
    pos, quat = pos_quat_from_pose(as_pose(T_world_cloth, "T_world_cloth"))
    fd, path = tempfile.mkstemp(prefix="rekep_cloth_", suffix=".obj")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(_grid_obj_text(spec))
        body = int(
            p.loadSoftBody(
                path, basePosition=pos.tolist(), baseOrientation=quat.tolist(), scale=1.0,
                mass=spec.mass_kg, collisionMargin=spec.margin_m, useMassSpring=1,
                useBendingSprings=1, useSelfCollision=0, useFaceContact=1,
                physicsClientId=world.client,
            )
        )
    except Exception as exc:  # pybullet raises plain `error`
        raise SimulationError(f"PyBullet could not load the cloth mesh: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
    if body < 0:
        raise SimulationError("PyBullet could not load the cloth mesh (body id < 0)")
    count = len(node_positions(world, body))
    if count != spec.num_nodes:
        raise SimulationError(f"cloth has {count} nodes, expected {spec.num_nodes}")
    return body


def node_positions(world: SimWorld, body: int) -> NDArray[np.float64]:
    """(N, 3) world positions of a soft body's simulation nodes, metres."""
    _, positions = p.getMeshData(
        body, -1, flags=p.MESH_DATA_SIMULATION_MESH, physicsClientId=world.client
    )
    return np.asarray(positions, dtype=np.float64).reshape(-1, 3)


def anchor_nodes(world: SimWorld, cloth: int, nodes: list[int], rigid: int) -> list[int]:
    """Pin cloth ``nodes`` to ``rigid``; returns the anchor (constraint) ids.

    ``rigid`` is a body from :func:`add_anchor_box` (anchors to reduced-coordinate bodies
    are ignored) or -1 for the world. Measured with pybullet 3.2.7: a node anchored to a
    body is pulled to the body's origin; a node anchored to the world stays where it is.
    Remove anchors with ``p.removeConstraint`` before removing the cloth.
    """
    try:
        return [
            int(p.createSoftBodyAnchor(cloth, int(i), rigid, -1, physicsClientId=world.client))
            for i in nodes
        ]
    except Exception as exc:
        raise SimulationError(f"could not anchor cloth {cloth} to body {rigid}: {exc}") from exc


def add_anchor_box(
    world: SimWorld,
    half_extents: tuple[float, float, float],
    T_world_body: NDArray[np.float64],
    *,
    mass: float,
    rgba: tuple[float, float, float, float],
    lateral_friction: float = 1.0,
) -> int:
    """A rigid box that soft-body nodes can be anchored to; returns its body id.

    :meth:`SimWorld.add_box` makes a reduced-coordinate multibody, which the mass-spring
    world cannot anchor nodes to (the anchor is silently ignored); this box is a maximal-
    coordinate rigid body, which it can.
    """
    cid = world.client
    pos, quat = pos_quat_from_pose(as_pose(T_world_body, "T_world_body"))
    try:
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=list(half_extents),
                                     physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=list(half_extents),
                                  rgbaColor=list(rgba), physicsClientId=cid)
        body = int(p.createMultiBody(
            baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
            basePosition=pos.tolist(), baseOrientation=quat.tolist(),
            useMaximalCoordinates=True, physicsClientId=cid,
        ))
    except Exception as exc:
        raise SimulationError(f"PyBullet could not create the anchor box: {exc}") from exc
    p.changeDynamics(body, -1, lateralFriction=lateral_friction, spinningFriction=0.01,
                     physicsClientId=cid)
    return body
