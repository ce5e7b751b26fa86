"""Split one depth cluster into parts of different colour (a dark handle on a wooden
drawer, a drawer in a cabinet of another colour).

Depth alone joins everything that touches: a handle bar on its posts, a drawer in its
cabinet. Shading is not a part boundary: a lit and a shaded face of one object differ in
lightness and in saturation (CIE Lab chroma) but hardly in hue. So two image neighbours
of the cluster (4-connected, or two pixels apart in a row or column, across a one-pixel
seam) are linked when

- both are greyish (chroma below ``grey_chroma``) or only one is and their chromas differ
  by less than ``grey_chroma`` (a grey robot, a grey box; a dark grey handle is NOT linked
  to a brown drawer, whose chroma is much higher);
- both are coloured and their hues differ by less than ``hue_step`` degrees.

The connected components of that graph with at least ``min_part_px`` pixels are the
parts, and every other pixel of the cluster joins the part of its nearest part pixel in
the image (edge pixels, specks). A cluster with fewer than two parts is left whole.

Deterministic; never raises on degenerate input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from keypoints.features.geometric import rgb_to_lab


def hue_chroma(rgb: NDArray[np.uint8]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(N, 3) uint8 sRGB -> (N,) CIE Lab hue angles in degrees and (N,) chromas."""
    lab = rgb_to_lab(rgb)
    return np.degrees(np.arctan2(lab[:, 2], lab[:, 1])), np.hypot(lab[:, 1], lab[:, 2])


def _linked(
    hue: NDArray[np.float64], chroma: NDArray[np.float64], a: NDArray[np.int64],
    b: NDArray[np.int64], hue_step: float, grey_chroma: float,
) -> NDArray[np.bool_]:  # fmt: skip
    """(E,) whether the neighbour pairs (a, b) have the same colour up to shading."""
    grey_a, grey_b = chroma[a] < grey_chroma, chroma[b] < grey_chroma
    dh = np.abs((hue[a] - hue[b] + 180.0) % 360.0 - 180.0)
    coloured = ~grey_a & ~grey_b & (dh < hue_step)
    greyish = (grey_a | grey_b) & (np.abs(chroma[a] - chroma[b]) < grey_chroma)
    return np.asarray(coloured | greyish)


def colour_parts(
    pixels: NDArray[np.int64],
    rgb: NDArray[np.uint8],
    width: int,
    hue_step: float,
    min_part_px: int,
    grey_chroma: float = 10.0,
) -> NDArray[np.int64]:
    """Part labels of one cluster's pixels.

    Args:
        pixels: (N,) distinct flat pixel indices (row * width + col) of the cluster.
        rgb: (N, 3) uint8 colours of those pixels.
        width: image width in pixels.
        hue_step: largest hue difference of linked coloured neighbours, degrees.
        min_part_px: a component needs this many pixels to be a part.
        grey_chroma: CIE Lab chroma below which a pixel counts as greyish.

    Returns:
        (N,) int64 labels 0..P-1 (P >= 1), numbered by each part's first pixel in the
        order of ``pixels``; all zeros when the cluster has fewer than two parts.
    """
    n = len(pixels)
    labels = np.zeros(n, dtype=np.int64)
    if n < 2 * min_part_px:
        return labels
    hue, chroma = hue_chroma(rgb)
    order = np.argsort(pixels, kind="stable")
    sorted_px = pixels[order]
    heads, tails = [], []
    col = sorted_px % width
    for offset, cols_right in ((1, 1), (2, 2), (width, 0), (2 * width, 0)):
        # right and down neighbours, and across one-pixel gaps (a seam, a thin occluder)
        target = sorted_px + offset
        pos = np.minimum(np.searchsorted(sorted_px, target), n - 1)
        ok = (sorted_px[pos] == target) & (col < width - cols_right)  # no row wrap-around
        a, b = order[ok], order[pos[ok]]
        close = _linked(hue, chroma, a, b, hue_step, grey_chroma)
        heads.append(a[close])
        tails.append(b[close])
    head, tail = np.concatenate(heads), np.concatenate(tails)
    graph = coo_matrix((np.ones(len(head)), (head, tail)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    big = np.flatnonzero(sizes >= min_part_px)
    if len(big) < 2:
        return labels
    in_part = np.isin(comp, big)
    first_row = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first_row, comp, np.arange(n))
    rank = np.zeros(len(sizes), dtype=np.int64)
    rank[big[np.argsort(first_row[big], kind="stable")]] = np.arange(len(big))
    part = rank[comp[in_part]]
    labels[in_part] = part
    rest = np.flatnonzero(~in_part)
    if len(rest):
        rc = np.stack(np.divmod(pixels, width), axis=1).astype(np.float64)
        _, nearest = cKDTree(rc[in_part]).query(rc[rest])
        labels[rest] = part[nearest]
    return labels
