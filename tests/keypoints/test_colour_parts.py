"""Splitting a depth cluster into colour parts (keypoints.colour_parts) and its use in the
RGB-D segmenter: a dark handle on a brown drawer, the base strip of an object."""

from __future__ import annotations

import numpy as np
import pytest

from keypoints.colour_parts import colour_parts, hue_chroma

H, W = 40, 60
BROWN = np.array([140, 95, 60])
DARK_GREY = np.array([45, 45, 50])


def _patch(left: np.ndarray, right: np.ndarray, split: int = 30) -> np.ndarray:
    """(H, W, 3) uint8 image: columns < split take ``left``, the rest ``right``."""
    img = np.empty((H, W, 3), dtype=np.uint8)
    img[:, :split] = left
    img[:, split:] = right
    return img


def _parts(img: np.ndarray, keep: np.ndarray | None = None, **kw) -> np.ndarray:
    keep = np.ones((H, W), dtype=bool) if keep is None else keep
    pixels = np.flatnonzero(keep)
    return colour_parts(pixels, img.reshape(-1, 3)[pixels], W, kw.pop("hue_step", 6.0),
                        kw.pop("min_part_px", 200), **kw)  # fmt: skip


def test_hue_is_shading_invariant_and_grey_has_no_chroma():
    hue, chroma = hue_chroma(np.array([BROWN, (BROWN * 0.6).astype(np.uint8), DARK_GREY,
                                       [150, 150, 150]], dtype=np.uint8))  # fmt: skip
    assert abs(hue[0] - hue[1]) < 4.0 and chroma[0] > 20 and chroma[1] > 10
    assert chroma[2] < 10 and chroma[3] < 1


def test_dark_grey_handle_and_brown_wood_are_two_parts():
    labels = _parts(_patch(BROWN, DARK_GREY))
    grid = labels.reshape(H, W)
    assert set(np.unique(grid[:, :30])) == {0} and set(np.unique(grid[:, 30:])) == {1}


def test_two_hues_are_two_parts_but_shading_is_not():
    assert len(np.unique(_parts(_patch([200, 40, 40], [40, 160, 60])))) == 2
    lit, shaded = np.array([200, 40, 40]), np.array([120, 22, 22])
    assert np.all(_parts(_patch(lit, shaded)) == 0)
    assert np.all(_parts(_patch([150, 150, 150], [70, 70, 75])) == 0)  # grey faces


def test_a_one_pixel_seam_does_not_split_a_part():
    keep = np.ones((H, W), dtype=bool)
    keep[:, 20] = False  # a rendering seam through a uniformly coloured object
    assert np.all(_parts(_patch(BROWN, BROWN), keep) == 0)
    keep[:, 21] = False  # a two-pixel gap is a boundary
    assert len(np.unique(_parts(_patch(BROWN, BROWN), keep))) == 2


def test_small_components_join_their_nearest_part():
    img = _patch(BROWN, DARK_GREY)
    img[5:8, 5:8] = [40, 160, 60]  # a 9-pixel green speck inside the brown part
    grid = _parts(img).reshape(H, W)
    assert grid[6, 6] == grid[0, 0] == 0 and grid[0, -1] == 1


def test_no_split_when_a_colour_is_too_small_or_splitting_is_off():
    assert np.all(_parts(_patch(BROWN, DARK_GREY, split=55), min_part_px=400) == 0)
    assert np.all(_parts(_patch(BROWN, BROWN)) == 0)
    empty = colour_parts(np.zeros(0, dtype=np.int64), np.zeros((0, 3), np.uint8), W, 6.0, 10)
    assert empty.shape == (0,)


# --------------------------------------------------------------------- in the segmenter
pytest.importorskip("open3d")

from keypoints.segmenter import SegmenterConfig, segment_rgbd_with_reasons  # noqa: E402
from rekep.observation import RGBD  # noqa: E402
from tests.keypoints.conftest import K_CAM, look_at, render  # noqa: E402

TABLE, CABINET, HANDLE = 0, 1, 2


def _drawer_scene() -> tuple[RGBD, np.ndarray]:
    """A brown box with a dark grey bar fixed to its front face (touching), on a table."""
    slabs = [(TABLE, (-3.0, -3.0, -0.05), (3.0, 3.0, 0.0)),
             (CABINET, (-0.10, 0.0, 0.0), (0.10, 0.15, 0.12)),
             (HANDLE, (-0.08, -0.02, 0.07), (0.08, 0.0, 0.09))]  # fmt: skip
    T = look_at((0.05, -0.5, 0.45), (0.0, 0.05, 0.05))
    depth, seg = render(slabs, T)
    palette = np.array([[190, 165, 120], BROWN, DARK_GREY], dtype=np.uint8)
    rgb = palette[np.clip(seg, 0, 2)].astype(np.uint8)
    return RGBD(rgb=rgb, depth=depth, intrinsics=K_CAM, T_world_camera=T), seg


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_segmenter_splits_a_touching_handle_from_its_cabinet_by_colour():
    rgbd, seg = _drawer_scene()
    assert (seg == HANDLE).sum() > 400
    masks = segment_rgbd_with_reasons(rgbd).masks
    for part in (CABINET, HANDLE):
        assert max(_iou(m, seg == part) for m in masks.values()) > 0.8
    whole = segment_rgbd_with_reasons(rgbd, SegmenterConfig(part_hue_step=0.0)).masks
    assert max(_iou(m, (seg == CABINET) | (seg == HANDLE)) for m in whole.values()) > 0.8
    assert max(_iou(m, seg == HANDLE) for m in whole.values()) < 0.5


def test_base_strip_of_an_object_joins_its_mask(scene_factory):
    # seen diagonally, the tray's bottom few millimetres lie within plane_distance of the
    # table and differ from it in colour: without merging they are a flat object of their own
    scene = scene_factory((0.4, -0.4, 0.7), (0.0, 0.0, 0.0))
    merged = segment_rgbd_with_reasons(scene.rgbd).masks
    tray = scene.masks[scene.TRAY]
    assert len(merged) == 2 and max(_iou(m, tray) for m in merged.values()) > 0.97
    config = SegmenterConfig(base_strip_fraction=0.0)
    apart = segment_rgbd_with_reasons(scene.rgbd, config).masks
    assert len(apart) == 3 and max(_iou(m, tray) for m in apart.values()) < 0.975


@pytest.mark.parametrize(
    "kwargs",
    [
        {"part_hue_step": -1.0},
        {"part_hue_step": 200.0},
        {"base_strip_fraction": 1.5},
        {"min_part_px": 0},
    ],
)
def test_bad_part_settings(kwargs):
    from rekep.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        SegmenterConfig(**kwargs)


def test_one_coloured_objects_are_not_split(scene):
    masks = segment_rgbd_with_reasons(scene.rgbd).masks
    assert len(masks) == 2  # the box and the tray, one mask each
