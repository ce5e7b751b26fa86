"""Ends of bar-shaped colour parts inside one mask (a dark handle bar on a drawer front)."""

from __future__ import annotations

import numpy as np

from keypoints.feature_config import FeatureProposalConfig
from keypoints.feature_proposer import mask_candidates
from keypoints.part_ends import bar_part_ends

WIDTH, HEIGHT, PIXEL_M = 100, 60, 0.004
BROWN, DARK_GREY = (130, 85, 45), (50, 50, 56)
BAR_ROWS, BAR_COLS = (20, 26), (10, 90)
POST_COLS = ((10, 14), (86, 90))


def _drawer(with_bar: bool = True, posts: bool = True):
    """A 40 x 24 cm brown front (z = 0) with a 32 x 2.4 cm dark bar 5 cm in front of it,
    and two dark posts under the bar's ends reaching back to the front: flat pixel
    indices, (N, 3) points (x along columns, y along rows, metres) and (N, 3) colours."""
    r, c = np.divmod(np.arange(WIDTH * HEIGHT), WIDTH)
    pts = np.stack([c * PIXEL_M, r * PIXEL_M, np.zeros(len(r))], axis=1)
    rgb = np.tile(np.array(BROWN, np.uint8), (len(r), 1))
    bar = (r >= BAR_ROWS[0]) & (r < BAR_ROWS[1]) & (c >= BAR_COLS[0]) & (c < BAR_COLS[1])
    post = np.zeros_like(bar)
    if posts:
        for lo, hi in POST_COLS:
            post |= (r >= BAR_ROWS[1]) & (r < BAR_ROWS[1] + 12) & (c >= lo) & (c < hi)
        pts[post, 2] = 0.05 * (1 - (r[post] - BAR_ROWS[1]) / 12)  # slopes back to the front
    if with_bar:
        pts[bar, 2] = 0.05
        rgb[bar | post] = DARK_GREY
    return np.arange(len(r), dtype=np.int64), pts, rgb


def _ends(pixels, pts, rgb, **kw):
    args = {"hue_step": 6.0, "min_part_px": 30, "min_elongation": 3.0} | kw
    return bar_part_ends(pts, pixels, rgb, WIDTH, **args)


def test_a_handle_bar_offers_its_two_ends_on_the_bar_not_on_its_posts():
    pixels, pts, rgb = _drawer()
    ends = _ends(pixels, pts, rgb)
    assert len(ends) == 2  # the front (40 x 24 cm) is not bar-shaped
    bar_left = np.array([BAR_COLS[0], np.mean(BAR_ROWS), 0]) * PIXEL_M + [0, 0, 0.05]
    bar_right = np.array([BAR_COLS[1] - 1, np.mean(BAR_ROWS), 0]) * PIXEL_M + [0, 0, 0.05]
    got = pts[ends][np.argsort(pts[ends][:, 0])]
    assert np.linalg.norm(got[0] - bar_left) < 0.015
    assert np.linalg.norm(got[1] - bar_right) < 0.015
    assert np.all(got[:, 2] == 0.05)  # on the bar, not down a post


def test_a_one_colour_mask_and_a_compact_part_offer_nothing():
    pixels, pts, rgb = _drawer(with_bar=False)
    assert len(_ends(pixels, pts, rgb)) == 0
    pixels, pts, rgb = _drawer(posts=False)
    assert len(_ends(pixels, pts, rgb, min_elongation=20.0)) == 0  # bar is 80 x 6 px
    assert len(_ends(pixels, pts, rgb, min_part_px=10_000)) == 0  # too small to be a part


def test_mask_candidates_include_the_bar_ends_only_when_enabled_and_given_colours():
    pixels, pts, rgb = _drawer()
    feats = np.zeros((len(pts), 3), np.float32)
    ends = set(_ends(pixels, pts, rgb, min_part_px=150).tolist())
    on = FeatureProposalConfig(extractor="geometric", top_face=False, snap_radius=0.0)
    chosen, weights = mask_candidates(feats, pts, on, (pixels, rgb, WIDTH))
    assert ends and ends <= set(chosen.tolist())
    assert np.all(weights > 0)
    without_colours, _ = mask_candidates(feats, pts, on)
    off = FeatureProposalConfig(extractor="geometric", top_face=False, part_ends=False)
    disabled, _ = mask_candidates(feats, pts, off, (pixels, rgb, WIDTH))
    assert np.array_equal(without_colours, disabled)
    assert not ends <= set(disabled.tolist())
