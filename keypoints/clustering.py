"""Clustering primitives for keypoint proposal (NumPy/SciPy only, deterministic).

- :func:`pca_reduce`: project features onto their leading principal components;
- :func:`minmax_normalize`: scale every column to [0, 1];
- :func:`kmeans`: k-means++ seeding from a fixed seed, then Lloyd iterations;
- :func:`merge_labels`: group 3D points closer than a radius (DBSCAN with one sample per
  core, i.e. single linkage), by flat-kernel mean-shift with that bandwidth, or greedily
  (non-maximum suppression: the heaviest point leads, points within the radius join it);
- :func:`representatives`: per group, the member nearest the group's weighted mean;
- :func:`farthest_points`: farthest-point sampling from a start point (object extremities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from rekep.errors import KeypointError

MERGE_METHODS = ("greedy", "dbscan", "meanshift")


def _as_matrix(x: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise KeypointError(f"{what} must be a non-empty (N, F) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise KeypointError(f"{what} contains NaN or inf; drop invalid pixels first")
    return arr


#: above this many feature channels PCA uses subspace iteration instead of a full eigh
#: (a dense 384 x 384 LAPACK eigh costs seconds under thread contention; matmuls do not)
EXACT_PCA_MAX_DIM = 32


def _leading_axes(cov: NDArray[np.float64], dims: int) -> NDArray[np.float64]:
    """(F, min(dims, F)) leading eigenvectors of the symmetric (F, F) ``cov``, largest first.

    Exact for small F; otherwise block subspace iteration from a fixed start (so the result
    is deterministic) with dims + 8 vectors, then Rayleigh-Ritz on that subspace.
    """
    F = cov.shape[0]
    if F <= EXACT_PCA_MAX_DIM:
        _, vecs = np.linalg.eigh(cov)
        return np.asarray(vecs[:, ::-1][:, :dims])
    block = min(F, dims + 8)
    basis = np.random.default_rng(0).standard_normal((F, block))
    for _ in range(12):
        basis, _ = np.linalg.qr(cov @ basis)
    vals, small = np.linalg.eigh(basis.T @ cov @ basis)
    return np.asarray((basis @ small)[:, np.argsort(vals)[::-1][:dims]])


def pca_reduce(
    x: ArrayLike, dims: int = 3, fit_rows: NDArray[np.int64] | None = None
) -> NDArray[np.float64]:
    """(N, F) -> (N, dims) coordinates on the leading principal axes.

    The axes are fitted on ``x[fit_rows]`` (all rows when None) and their signs fixed
    (largest-magnitude component positive), so the result is deterministic. Missing
    components (F < dims or rank-deficient data) are zero columns.
    """
    arr = _as_matrix(x, "features")
    fit = arr if fit_rows is None else arr[fit_rows]
    mean = fit.mean(axis=0)
    centred = fit - mean
    cov = centred.T @ centred / max(len(fit), 1)
    axes = _leading_axes(cov, dims)
    flip = axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])] < 0
    axes = np.where(flip, -axes, axes)
    out = np.zeros((arr.shape[0], dims))
    out[:, : axes.shape[1]] = (arr - mean) @ axes
    return out


def minmax_normalize(x: ArrayLike) -> NDArray[np.float64]:
    """Every column of (N, F) scaled to [0, 1]; constant columns become 0."""
    arr = _as_matrix(x, "values")
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    span = hi - lo
    scale = np.divide(1.0, span, out=np.zeros_like(span), where=span > 1e-12)
    return (arr - lo) * scale


@dataclass(frozen=True)
class KMeansResult:
    """``centres`` (k, F) and ``labels`` (N,) in 0..k-1; k may be below the requested k
    when there are fewer distinct points."""

    centres: NDArray[np.float64]
    labels: NDArray[np.int64]


def _sq_dists(x: NDArray[np.float64], c: NDArray[np.float64]) -> NDArray[np.float64]:
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans(x: ArrayLike, k: int, *, seed: int = 0, max_iter: int = 100) -> KMeansResult:
    """Deterministic k-means of (N, F) points: k-means++ seeding from ``seed``, Lloyd steps.

    Raises:
        KeypointError: empty or non-finite ``x``, or ``k`` < 1.
    """
    arr = _as_matrix(x, "k-means input")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise KeypointError(f"k must be an int >= 1, got {k!r}")
    k = int(min(k, len(np.unique(arr, axis=0))))
    rng = np.random.default_rng(seed)
    centres = [arr[int(rng.integers(len(arr)))]]
    closest = ((arr - centres[0]) ** 2).sum(1)
    while len(centres) < k:
        total = closest.sum()
        if total <= 0.0:
            break
        pick = int(np.searchsorted(np.cumsum(closest), rng.random() * total, side="right"))
        centres.append(arr[min(pick, len(arr) - 1)])
        closest = np.minimum(closest, ((arr - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    labels = np.full(len(arr), -1, dtype=np.int64)
    for _ in range(max_iter):
        d = _sq_dists(arr, c)
        new = np.argmin(d, axis=1).astype(np.int64)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(len(c)):
            members = labels == j
            if members.any():
                c[j] = arr[members].mean(axis=0)
            else:  # re-seed an empty cluster at the point farthest from its centre
                far = int(np.argmax(d[np.arange(len(arr)), labels]))
                c[j], labels[far] = arr[far], j
    return KMeansResult(centres=c, labels=labels)


def _components(points: NDArray[np.float64], radius: float) -> NDArray[np.int64]:
    """Connected components of the graph linking points closer than ``radius``."""
    n = len(points)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _mean_shift_modes(
    points: NDArray[np.float64], weights: NDArray[np.float64], bandwidth: float
) -> NDArray[np.float64]:
    tree = cKDTree(points)
    modes = points.copy()
    for _ in range(100):
        moved = 0.0
        for i, near in enumerate(tree.query_ball_point(modes, bandwidth)):
            if not near:
                continue
            new = np.average(points[near], axis=0, weights=weights[near])
            moved = max(moved, float(np.linalg.norm(new - modes[i])))
            modes[i] = new
        if moved < 1e-6 * bandwidth:
            break
    return modes


def merge_labels(
    points: ArrayLike,
    radius: float,
    method: str = "dbscan",
    weights: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Group (N, 3) points in metres; returns (N,) group ids numbered by first member.

    Args:
        points: (N, 3) positions in metres.
        radius: ``dbscan``: points closer than this share a group (chains included);
            ``meanshift``: flat-kernel bandwidth; points whose modes end closer than
            radius / 2 share a group. 0 keeps every point alone.
        method: one of :data:`MERGE_METHODS`.
        weights: (N,) positive weights for mean-shift and the priority for ``greedy``
            (default all 1; ties: the lower index first).
    """
    pts = _as_matrix(points, "points")
    if method not in MERGE_METHODS:
        raise KeypointError(f"unknown merge method {method!r}; valid: {', '.join(MERGE_METHODS)}")
    if not (np.isfinite(radius) and radius >= 0):
        raise KeypointError(f"merge radius must be finite and >= 0 metres, got {radius!r}")
    if radius == 0.0 or len(pts) == 1:
        return np.arange(len(pts), dtype=np.int64)
    if method == "dbscan":
        raw = _components(pts, radius)
    elif method == "greedy":
        raw = greedy_leaders(pts, radius, weights)[0]
    else:
        w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(pts),) or not np.all(w > 0):
            raise KeypointError(f"weights must be ({len(pts)},) and positive")
        raw = _components(_mean_shift_modes(pts, w, radius), radius / 2.0)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return np.asarray(rank[inverse], dtype=np.int64)


def greedy_leaders(
    points: ArrayLike, radius: float, weights: ArrayLike | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Non-maximum suppression of (N, 3) points: in order of decreasing weight (ties: lower
    index first) a point leads a new group unless a leader lies within ``radius`` (then it
    joins the nearest one). Returns (N,) raw group ids and the (G,) leader of each group;
    leaders are at least ``radius`` apart."""
    pts = _as_matrix(points, "points")
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(pts),) or not np.all(np.isfinite(w)):
        raise KeypointError(f"weights must be ({len(pts)},) and finite")
    labels = np.full(len(pts), -1, dtype=np.int64)
    leaders: list[int] = []
    for i in np.lexsort((np.arange(len(pts)), -w)):
        if leaders:
            d = np.linalg.norm(pts[leaders] - pts[i], axis=1)
            j = int(np.argmin(d))
            if d[j] < radius:
                labels[i] = j
                continue
        labels[i] = len(leaders)
        leaders.append(int(i))
    return labels, np.asarray(leaders, dtype=np.int64)


def representatives(
    points: ArrayLike, labels: ArrayLike, weights: ArrayLike | None = None
) -> NDArray[np.int64]:
    """Per group g = 0, 1, ...: index of the member nearest the group's weighted mean
    (ties: the lowest index)."""
    pts = _as_matrix(points, "points")
    lab = np.asarray(labels, dtype=np.int64)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    out = []
    for g in range(int(lab.max()) + 1 if lab.size else 0):
        members = np.flatnonzero(lab == g)
        centre = np.average(pts[members], axis=0, weights=w[members])
        out.append(members[int(np.argmin(((pts[members] - centre) ** 2).sum(1)))])
    return np.asarray(out, dtype=np.int64)


def farthest_points(points: ArrayLike, n: int, start: ArrayLike) -> NDArray[np.int64]:
    """Indices of ``n`` rows of (N, 3) ``points`` chosen by farthest-point sampling.

    The first is the point farthest from ``start`` (3,) (e.g. the centroid: an
    extremity), each next one the point farthest from ``start`` and every point chosen so
    far; ties go to the lowest index, so the result is deterministic. Returns fewer than
    ``n`` (distinct) indices when the points run out.
    """
    pts = _as_matrix(points, "points")
    origin = np.asarray(start, dtype=np.float64).reshape(1, -1)
    if origin.shape[1] != pts.shape[1] or not np.all(np.isfinite(origin)):
        raise KeypointError(f"start must be a finite ({pts.shape[1]},) point, got {start!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise KeypointError(f"n must be an int >= 0, got {n!r}")
    dist = np.linalg.norm(pts - origin, axis=1)
    chosen: list[int] = []
    for _ in range(min(int(n), len(pts))):
        i = int(np.argmax(dist))
        if chosen and dist[i] <= 0.0:
            break
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(pts - pts[i], axis=1))
    return np.asarray(chosen, dtype=np.int64)
