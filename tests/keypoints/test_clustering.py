"""PCA, min-max scaling, deterministic k-means, and 3D merging."""

from __future__ import annotations

import numpy as np
import pytest

from keypoints.clustering import (
    farthest_points,
    kmeans,
    merge_labels,
    minmax_normalize,
    pca_reduce,
    representatives,
)
from rekep.errors import KeypointError


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 5.0]])
    truth = np.repeat(np.arange(3), 40)
    return centres[truth] + 0.1 * rng.normal(size=(120, 3)), truth


def test_kmeans_is_deterministic_and_finds_separated_blobs():
    x, truth = _blobs()
    a, b = kmeans(x, 3, seed=0), kmeans(x, 3, seed=0)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centres, b.centres)
    # one-to-one correspondence between found clusters and true blobs
    pairs = {(int(t), int(lab)) for t, lab in zip(truth, a.labels, strict=True)}
    assert len(pairs) == 3 and len({p[1] for p in pairs}) == 3


def test_kmeans_with_fewer_distinct_points_than_k():
    x = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    res = kmeans(x, 5)
    assert len(res.centres) == 2 and set(res.labels.tolist()) == {0, 1}
    single = kmeans(np.ones((1, 4)), 5)
    assert single.centres.shape == (1, 4) and single.labels.tolist() == [0]


@pytest.mark.parametrize(
    "x, k",
    [(np.zeros((0, 3)), 2), (np.array([[np.nan, 0.0]]), 1), (np.ones((3, 2)), 0),
     (np.ones(3), 1)],
)  # fmt: skip
def test_kmeans_bad_input_is_a_keypoint_error(x, k):
    with pytest.raises(KeypointError):
        kmeans(x, k)


def test_pca_reduce_captures_a_line_and_pads_missing_components():
    t = np.linspace(-1, 1, 50)[:, None]
    direction = np.arange(1.0, 11.0) / np.linalg.norm(np.arange(1.0, 11.0))
    x = t * direction + 3.0
    y = pca_reduce(x, 3)
    assert y.shape == (50, 3)
    np.testing.assert_allclose(np.abs(y[:, 0]), np.abs(t[:, 0]), atol=1e-9)
    np.testing.assert_allclose(y[:, 1:], 0.0, atol=1e-9)
    assert pca_reduce(np.ones((4, 2)) * [[1.0], [2.0], [3.0], [4.0]], 3)[:, 2].tolist() == [0] * 4
    # signs are fixed, so reversing the rows gives reversed coordinates
    np.testing.assert_allclose(pca_reduce(x[::-1], 3), y[::-1], atol=1e-9)


def test_minmax_normalize_range_and_constant_columns():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, -2.0], [2.0, 5.0, 0.0]])
    y = minmax_normalize(x)
    np.testing.assert_allclose(y.min(axis=0), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(y.max(axis=0), [1.0, 0.0, 1.0])


@pytest.mark.parametrize("method", ["dbscan", "meanshift"])
def test_merge_groups_nearby_points_and_numbers_groups_by_first_member(method):
    pts = np.array([[1.0, 0, 0], [0.0, 0, 0], [0.01, 0, 0], [1.005, 0, 0], [0.0, 0.5, 0]])
    labels = merge_labels(pts, 0.03, method)
    assert labels.tolist() == [0, 1, 1, 0, 2]
    assert merge_labels(pts, 0.0, method).tolist() == [0, 1, 2, 3, 4]


def test_dbscan_chains_and_separates_groups_by_the_radius():
    rng = np.random.default_rng(2)
    pts = rng.uniform(0, 0.3, size=(60, 3))
    radius = 0.05
    labels = merge_labels(pts, radius, "dbscan")
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    assert np.all(d[labels[:, None] != labels[None, :]] >= radius)  # separated groups
    chain = np.array([[0.0, 0, 0], [0.04, 0, 0], [0.08, 0, 0]])
    assert merge_labels(chain, 0.05, "dbscan").tolist() == [0, 0, 0]


def test_meanshift_uses_weights_and_representatives_are_members():
    pts = np.array([[0.0, 0, 0], [0.02, 0, 0], [0.04, 0, 0]])
    labels = merge_labels(pts, 0.05, "meanshift", weights=[1.0, 1.0, 10.0])
    assert labels.tolist() == [0, 0, 0]
    assert representatives(pts, labels, [1.0, 1.0, 10.0]).tolist() == [2]
    assert representatives(pts, labels).tolist() == [1]


def test_merge_bad_input():
    with pytest.raises(KeypointError, match="merge method"):
        merge_labels(np.zeros((2, 3)), 0.1, "kmeans")
    with pytest.raises(KeypointError, match="radius"):
        merge_labels(np.zeros((2, 3)), -1.0)
    with pytest.raises(KeypointError, match="weights"):
        merge_labels(np.zeros((2, 3)), 0.1, "meanshift", weights=[1.0, 0.0])


def test_pca_of_wide_features_matches_the_exact_axes():
    rng = np.random.default_rng(3)
    latent = rng.standard_normal((1500, 3)) * [5.0, 3.0, 2.0]
    x = latent @ rng.standard_normal((3, 384)) + 0.05 * rng.standard_normal((1500, 384))
    reduced = pca_reduce(x, 3)
    centred = x - x.mean(0)
    _, vecs = np.linalg.eigh(centred.T @ centred / len(x))
    exact = centred @ vecs[:, ::-1][:, :3]
    for j in range(3):  # same axes up to sign
        assert abs(np.corrcoef(reduced[:, j], exact[:, j])[0, 1]) > 0.999
    np.testing.assert_array_equal(reduced, pca_reduce(x, 3))  # deterministic


def test_farthest_points_start_at_an_extremity_and_spread_out():
    line = np.stack([np.linspace(0.0, 1.0, 11), np.zeros(11), np.zeros(11)], axis=1)
    idx = farthest_points(line, 3, start=line.mean(0))
    assert idx[0] in (0, 10) and set(idx[:2].tolist()) == {0, 10}
    assert idx[2] in (2, 3, 7, 8)  # the start point counts as chosen
    assert farthest_points(line, 0, start=line.mean(0)).tolist() == []
    same = np.zeros((4, 3))
    assert len(farthest_points(same, 3, start=np.zeros(3))) == 1  # no duplicates
    with pytest.raises(KeypointError):
        farthest_points(line, 2, start=[0.0, np.nan, 0.0])
    with pytest.raises(KeypointError):
        farthest_points(line, -1, start=np.zeros(3))
