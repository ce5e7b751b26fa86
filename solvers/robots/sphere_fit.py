"""Fit covering collision spheres to link meshes (the recipe behind ``PANDA_SPHERES``).

For each mesh: sample its surface (vertices plus area-weighted points), sample its
convex-hull volume, take k-means centres of the volume samples (several restarts, the one
with the least total sphere volume wins), give each centre the radius of the farthest
surface sample closest to it, round centres to 1 mm and radii up to 1 mm. Every surface
sample, hence every vertex, lies inside some sphere.

Regenerate the Panda table (needs pybullet_data for the meshes)::

    D=$(python -c 'import pybullet_data as d; print(d.getDataPath())')
    python -m solvers.robots.sphere_fit "$D/franka_panda/meshes/collision"

and paste the output into ``solvers/robots/panda.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.vq import kmeans2
from scipy.spatial import Delaunay

from solvers.robots.chain import CollisionSphere

FloatArray = NDArray[np.float64]

#: (mesh file, frame, number of spheres) for the Panda arm and hand.
PANDA_MESHES: tuple[tuple[str, str, int], ...] = (
    ("link0.obj", "panda_link0", 4), ("link1.obj", "panda_link1", 5),
    ("link2.obj", "panda_link2", 5), ("link3.obj", "panda_link3", 5),
    ("link4.obj", "panda_link4", 5), ("link5.obj", "panda_link5", 6),
    ("link6.obj", "panda_link6", 5), ("link7.obj", "panda_link7", 4),
    ("hand.obj", "panda_hand", 5),
)
FINGER_JOINT_Z = 0.0584  # finger joint origin in the hand frame (URDF), metres
FINGER_OPEN = 0.04  # travel of each finger when fully open, metres


def load_obj(path: Path) -> tuple[FloatArray, NDArray[np.int64]]:
    """Vertices (V, 3) and triangle indices (F, 3) of a Wavefront OBJ file."""
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(t) for t in line.split()[1:4]])
        elif line.startswith("f "):
            idx = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
            faces.extend([idx[0], idx[i], idx[i + 1]] for i in range(1, len(idx) - 1))
    return np.array(verts), np.array(faces, dtype=np.int64)


def sample_surface(
    verts: FloatArray, faces: NDArray[np.int64], n: int, rng: np.random.Generator
) -> FloatArray:
    """The vertices plus ``n`` area-weighted random points on the triangles, (V + n, 3)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1) / 2
    idx = rng.choice(len(faces), n, p=area / area.sum())
    u = rng.random((n, 2))
    flip = u.sum(axis=1) > 1
    u[flip] = 1 - u[flip]
    pts = a[idx] + u[:, :1] * (b[idx] - a[idx]) + u[:, 1:] * (c[idx] - a[idx])
    return np.vstack([verts, pts])


def fit_spheres(
    surface: FloatArray, k: int, rng: np.random.Generator, restarts: int = 5
) -> tuple[FloatArray, FloatArray]:
    """(k', 3) centres and (k',) radii (k' <= k) covering every surface point, metres."""
    hull = Delaunay(surface)
    lo, hi = surface.min(axis=0), surface.max(axis=0)
    vol = rng.uniform(lo, hi, size=(40000, 3))
    vol = vol[hull.find_simplex(vol) >= 0]
    best: tuple[float, FloatArray, FloatArray] | None = None
    for _ in range(restarts):
        centres, _labels = kmeans2(vol, k, seed=int(rng.integers(2**31)), minit="++")
        centres = np.round(centres, 3)
        d = np.linalg.norm(surface[:, None] - centres[None], axis=2)
        nearest = d.argmin(axis=1)
        used = np.array([np.any(nearest == i) for i in range(k)])
        radii = np.array([d[nearest == i, i].max() if used[i] else 0.0 for i in range(k)])
        radii = np.ceil(radii * 1000.0) / 1000.0
        score = float(np.sum(radii**3))
        if best is None or score < best[0]:
            best = (score, centres[used], radii[used])
    assert best is not None
    return best[1], best[2]


def panda_spheres(mesh_dir: Path, seed: int = 1) -> list[CollisionSphere]:
    """The Panda's collision spheres fitted to the meshes in ``mesh_dir`` (deterministic)."""
    rng = np.random.default_rng(seed)
    out: list[CollisionSphere] = []
    for mesh, frame, k in PANDA_MESHES:
        verts, faces = load_obj(mesh_dir / mesh)
        centres, radii = fit_spheres(sample_surface(verts, faces, 4000, rng), k, rng)
        out += [
            CollisionSphere(frame, _vec(c), float(r))
            for c, r in zip(centres, radii, strict=True)
        ]
    verts, faces = load_obj(mesh_dir / "finger.obj")
    finger = sample_surface(verts, faces, 3000, rng)
    left = finger + np.array([0.0, FINGER_OPEN, FINGER_JOINT_Z])
    right = finger * np.array([-1.0, -1.0, 1.0]) + np.array([0.0, -FINGER_OPEN, FINGER_JOINT_Z])
    for pts in (left, right):
        centres, radii = fit_spheres(pts, 3, rng)
        out += [
            CollisionSphere("panda_hand", _vec(c), float(r))
            for c, r in zip(centres, radii, strict=True)
        ]
    return out


def _vec(c: FloatArray) -> tuple[float, float, float]:
    return (float(c[0]) + 0.0, float(c[1]) + 0.0, float(c[2]) + 0.0)


def format_table(spheres: list[CollisionSphere]) -> str:
    """Python source lines for ``PANDA_SPHERES``."""
    return "\n".join(
        f'    CollisionSphere("{s.link}", ({s.center[0]:.3f}, {s.center[1]:.3f}, '
        f"{s.center[2]:.3f}), {s.radius:.3f}),".replace("-0.000", "0.000")
        for s in spheres
    )


if __name__ == "__main__":  # pragma: no cover - regeneration recipe
    sys.stdout.write(format_table(panda_spheres(Path(sys.argv[1]))) + "\n")
