"""Top-face candidates: centre, axis ends (edge middles) and spine of a mask's top face."""

from __future__ import annotations

import numpy as np
import pytest

from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import FeatureProposer
from keypoints.features import GeometricExtractor
from keypoints.top_face import top_face_candidates, top_face_rows


def _long_box(n_top: int = 4000, seed: int = 0, skew: bool = False) -> np.ndarray:
    """Points of a 40 x 6 x 8 cm box rotated 30 degrees: its top face (z = 0.08) sampled
    unevenly when ``skew`` (dense at one end, as a camera sees a near end), plus a side."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 1, n_top) ** (3.0 if skew else 1.0)
    top = np.stack([-0.2 + 0.4 * u, rng.uniform(-0.03, 0.03, n_top), np.full(n_top, 0.08)], 1)
    side = np.stack([rng.uniform(-0.2, 0.2, 800), np.full(800, -0.03),
                     rng.uniform(0.0, 0.08, 800)], 1)  # fmt: skip
    pts = np.concatenate([top, side])
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return pts @ R.T + np.array([0.5, 0.1, 0.0])


def _local(p: np.ndarray) -> np.ndarray:
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return (p - np.array([0.5, 0.1, 0.0])) @ R


@pytest.mark.parametrize("skew", [False, True])
def test_centre_and_edge_middles_of_a_long_top_face(skew):
    pts = _long_box(skew=skew)
    rows, kinds = top_face_candidates(pts, band=0.01, spacing=0.0)
    local = _local(pts[rows])
    assert np.all((local[:, 2] <= 0.08 + 1e-9) & (local[:, 2] >= 0.07))  # within the band
    centre = local[kinds == 0]
    assert centre.shape == (1, 3) and np.linalg.norm(centre[0, :2]) < 0.01
    ends = local[kinds == 1]
    targets = np.array([[0.2, 0.0], [-0.2, 0.0], [0.0, 0.03], [0.0, -0.03]])
    for t in targets:  # every edge middle has a candidate within 1.5 cm
        assert np.linalg.norm(ends[:, :2] - t, axis=1).min() < 0.015


def test_spine_covers_the_long_axis_at_the_spacing():
    pts = _long_box()
    rows, kinds = top_face_candidates(pts, band=0.01, spacing=0.05)
    x = np.sort(_local(pts[rows])[:, 0])
    assert np.isin(kinds, (2, 3)).sum() >= 6
    probe = np.linspace(-0.2, 0.2, 81)
    assert np.abs(probe[:, None] - x[None]).min(axis=1).max() <= 0.03  # no gap over 6 cm
    none = top_face_candidates(pts, band=0.01, spacing=0.0)[1]
    assert not np.any(np.isin(none, (2, 3)))


def test_insets_are_one_spacing_in_from_each_end():
    """The two-handed grasp points of a long box (15 cm from the centre of a 40 cm box)."""
    pts = _long_box(skew=True)
    rows, kinds = top_face_candidates(pts, band=0.01, spacing=0.05)
    x = np.sort(_local(pts[rows[kinds == 3]])[:, 0])
    assert x.shape == (2,)
    np.testing.assert_allclose(x, [-0.15, 0.15], atol=0.015)


def test_a_total_cap_keeps_the_insets_before_the_rest_of_the_spine():
    from keypoints.feature_proposer import mask_candidates

    pts = _long_box(seed=1)
    feats = np.zeros((len(pts), 4), dtype=np.float32)
    feats[:, 0] = pts[:, 2]
    cfg = FeatureProposalConfig(extractor="geometric", annotate=False)
    chosen, weights = mask_candidates(feats, pts, cfg)
    local = _local(pts[chosen])
    on_top = np.abs(local[:, 2] - 0.08) < 0.002
    inset = on_top & (np.abs(np.abs(local[:, 0]) - 0.15) < 0.015) & (np.abs(local[:, 1]) < 0.02)
    middle = on_top & (np.abs(local[:, 0]) < 0.11) & (np.abs(local[:, 0]) > 0.04) & (
        np.abs(local[:, 1]) < 0.02)
    assert inset.sum() >= 2 and middle.any()
    assert weights[inset].min() > weights[middle].max()


def test_degenerate_inputs_give_fewer_points_not_errors():
    one = np.array([[0.1, 0.2, 0.3]])
    rows, kinds = top_face_candidates(one, band=0.01, spacing=0.05)
    assert rows.tolist() == [0] and kinds.tolist() == [0]
    line = np.stack([np.linspace(0, 0.3, 50), np.zeros(50), np.zeros(50)], 1)
    rows, kinds = top_face_candidates(line, band=0.01, spacing=0.05)
    assert set(kinds.tolist()) <= {0, 1, 2, 3} and np.all((rows >= 0) & (rows < 50))
    assert top_face_rows(line, 0.0).size == 50


def test_deterministic():
    pts = _long_box(skew=True)
    a = top_face_candidates(pts, 0.01, 0.05)
    b = top_face_candidates(pts.copy(), 0.01, 0.05)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_proposer_names_the_box_top_edge_middles(oblique_scene):
    scene = oblique_scene
    cfg = FeatureProposalConfig(extractor="geometric", annotate=False, merge_radius=0.0,
                                top_face_min_extent=0.0)
    with_top = FeatureProposer(cfg, extractor=GeometricExtractor()).propose(
        scene.rgbd, scene.masks
    )
    off = FeatureProposalConfig(extractor="geometric", annotate=False, merge_radius=0.0,
                                top_face=False)  # fmt: skip
    without = FeatureProposer(off, extractor=GeometricExtractor()).propose(
        scene.rgbd, scene.masks
    )
    assert len(without) < len(with_top)
    # the box (x 0.11..0.19, y 0.02..0.08, top z 0.10): middle of its near top edge
    near_edge = np.array([0.15, 0.02, 0.10])
    mine = with_top.positions[with_top.object_ids == scene.BOX]
    assert np.linalg.norm(mine - near_edge, axis=1).min() < 0.02  # band 1.5 cm
    assert len(with_top) <= cfg.max_keypoints


def test_small_objects_get_no_top_face_candidates() -> None:
    """A top-down grasp hides a small object's top face; the default leaves it out."""
    from keypoints.feature_proposer import _horizontal_length

    rng = np.random.default_rng(0)
    block = rng.uniform([0.0, 0.0, 0.0], [0.05, 0.05, 0.05], (400, 3))
    cabinet = rng.uniform([0.0, 0.0, 0.0], [0.40, 0.30, 0.30], (400, 3))
    limit = FeatureProposalConfig().top_face_min_extent
    assert _horizontal_length(block) < limit <= _horizontal_length(cabinet)
