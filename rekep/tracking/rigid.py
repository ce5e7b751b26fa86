"""Least-squares rigid motion between corresponding 3D point sets (Kabsch), NumPy only."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

__all__ = ["kabsch"]


def kabsch(a: FloatArray, b: FloatArray) -> FloatArray:
    """(4, 4) rigid transform minimizing ||T a - b|| over (N, 3) point pairs, N >= 3."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    U, _, Vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(Vt.T @ U.T)) or 1.0
    R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, cb - R @ ca
    return T
