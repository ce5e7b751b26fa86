"""Output trajectory of the baseline path: splines through the control poses, resampled.

As in the original: a B-spline (degree <= 3, interpolating) through the control positions,
a rotation spline through their orientations at the same parameters, both sampled at one
count of evenly spaced parameters. Here the count is raised until consecutive samples are
at most ``step_m`` metres and ``step_rad`` radians apart.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import splev, splprep
from scipy.spatial.transform import Rotation, RotationSpline

from solvers.path import densify

FloatArray = NDArray[np.float64]
DUPLICATE_M = 1.0e-3
"""Control positions closer than this to the previous one are dropped before fitting."""
MAX_REFINEMENTS = 8


def step_lengths(poses: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(N - 1,) distances (m) and (N - 1,) angles (rad) between consecutive (N, 4, 4) poses."""
    dist = np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1)
    traces = np.einsum("nij,nij->n", poses[:-1, :3, :3], poses[1:, :3, :3])
    return dist, np.arccos(np.clip((traces - 1.0) / 2.0, -1.0, 1.0))


def max_steps(trajectory: FloatArray) -> tuple[float, float]:
    """Largest (distance m, angle rad) between consecutive (N, 4, 4) samples."""
    if len(trajectory) < 2:
        return 0.0, 0.0
    dist, ang = step_lengths(trajectory)
    return float(dist.max()), float(ang.max())


def _polyline_lengths(poses: FloatArray) -> tuple[float, float]:
    dist, ang = step_lengths(poses)
    return float(dist.sum()), float(ang.sum())


def spline_resample(control: FloatArray, step_m: float, step_rad: float) -> FloatArray:
    """(N, 4, 4) samples through the (C, 4, 4) control poses; first/last = first/last control.

    Falls back to piecewise linear/slerp samples (:func:`solvers.path.densify`) when the
    positions do not support a spline (fewer than two distinct positions, or a fit error).
    """
    keep = [0]
    for i in range(1, len(control) - 1):
        if np.linalg.norm(control[i, :3, 3] - control[keep[-1], :3, 3]) > DUPLICATE_M:
            keep.append(i)
    keep.append(len(control) - 1)
    pts = control[keep]
    pos_len, rot_len = _polyline_lengths(pts)
    if pos_len <= DUPLICATE_M or np.linalg.norm(pts[-1, :3, 3] - pts[-2, :3, 3]) <= DUPLICATE_M:
        return _linear(control, step_m, step_rad)
    try:
        tck, u = splprep(pts[:, :3, 3].T, s=0, k=min(3, len(pts) - 1))
        rot_spline = RotationSpline(u, Rotation.from_matrix(pts[:, :3, :3]))
    except (ValueError, TypeError) as exc:  # degenerate control polygon
        del exc
        return _linear(control, step_m, step_rad)
    count = max(2, math.ceil(max(pos_len / step_m, rot_len / step_rad)) + 1)
    for _ in range(MAX_REFINEMENTS):
        s = np.linspace(0.0, 1.0, count)
        out = np.tile(np.eye(4), (count, 1, 1))
        out[:, :3, 3] = np.asarray(splev(s, tck)).T
        out[:, :3, :3] = rot_spline(s).as_matrix()
        out[0], out[-1] = control[0], control[-1]
        dm, dr = max_steps(out)
        if dm <= step_m and dr <= step_rad:
            return out
        count = math.ceil(count * max(dm / step_m, dr / step_rad, 1.2)) + 1
    return _linear(control, step_m, step_rad)


def _linear(control: FloatArray, step_m: float, step_rad: float) -> FloatArray:
    out = densify(list(control), step_m, step_rad)
    out[-1] = control[-1]
    return out
