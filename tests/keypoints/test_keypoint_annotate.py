"""The annotated image: markers, label placement, PNG round trip."""

from __future__ import annotations

import numpy as np
import pytest

from keypoints.annotate import annotate_image, place_labels, read_png, save_png
from rekep.errors import KeypointError

cv2 = pytest.importorskip("cv2")

GREY = np.full((480, 640, 3), 120, dtype=np.uint8)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def test_output_shape_dtype_and_input_untouched():
    rgb = GREY.copy()
    out = annotate_image(rgb, [[100, 100], [500, 300]])
    assert out.shape == rgb.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(rgb, GREY)


def test_markers_change_pixels_near_each_keypoint():
    pixels = np.array([[50, 60], [320, 240], [600, 450], [330, 245]])
    out = annotate_image(GREY, pixels)
    for u, v in pixels:
        patch = out[v - 3 : v + 4, u - 3 : u + 4]
        assert np.any(patch != 120)
        assert tuple(out[v, u]) == (255, 0, 0)  # dot centre is red in RGB order


def test_labels_are_boxes_legible_at_640x480():
    out = annotate_image(GREY, [[320, 240]], labels=["7"])
    white = np.all(out == 255, axis=-1)
    rows, cols = np.nonzero(white)
    assert rows.size > 0
    assert rows.max() - rows.min() + 1 >= 14 and cols.max() - cols.min() + 1 >= 10
    dark = np.all(out < 60, axis=-1)
    assert dark[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].sum() > 20  # text


def test_labels_default_to_indices_and_custom_labels_differ():
    pixels = [[200, 200], [400, 300]]
    default = annotate_image(GREY, pixels)
    np.testing.assert_array_equal(default, annotate_image(GREY, pixels, labels=["0", "1"]))
    assert np.any(default != annotate_image(GREY, pixels, labels=["8", "9"]))


def test_close_points_get_non_overlapping_boxes_inside_the_image():
    rng = np.random.default_rng(0)
    pixels = np.array([320, 240]) + rng.integers(-6, 7, size=(8, 2))
    pixels = np.vstack([pixels, [[2, 2], [637, 477]]])
    sizes = np.tile([22, 20], (len(pixels), 1))
    boxes = place_labels(pixels, sizes, (480, 640), dot_radius=3)
    assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= 640) and np.all(boxes[:, 3] <= 480)
    for i in range(len(boxes)):
        for j in range(i):
            assert _overlap(boxes[i], boxes[j]) == 0, (i, j)
        for u, v in pixels:
            assert _overlap(boxes[i], np.array([u - 3, v - 3, u + 4, v + 4])) == 0


def test_empty_pixels_give_a_copy():
    out = annotate_image(GREY, np.zeros((0, 2)))
    np.testing.assert_array_equal(out, GREY)
    assert out is not GREY


@pytest.mark.parametrize(
    ("rgb", "pixels", "labels", "match"),
    [
        (GREY.astype(np.float32), [[1, 1]], None, "uint8"),
        (GREY, [[1, np.nan]], None, "NaN"),
        (GREY, [[1, 1, 1]], None, r"\(K, 2\)"),
        (GREY, [[1, 1]], ["a", "b"], "one entry per keypoint"),
    ],
)
def test_bad_inputs_raise(rgb, pixels, labels, match):
    with pytest.raises(KeypointError, match=match):
        annotate_image(rgb, pixels, labels)


def test_save_png_creates_parents_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    path = save_png(tmp_path / "a" / "b" / "kp.png", image)
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(read_png(path), image)
    # independent check of channel order: OpenCV reads BGR
    np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], image)


def test_save_png_keeps_red_red(tmp_path):
    red = np.zeros((4, 4, 3), dtype=np.uint8)
    red[..., 0] = 255
    path = save_png(tmp_path / "red.png", red)
    assert tuple(cv2.imread(str(path))[0, 0]) == (0, 0, 255)


def test_save_png_rejects_bad_images(tmp_path):
    with pytest.raises(KeypointError, match="uint8"):
        save_png(tmp_path / "x.png", np.zeros((4, 4), dtype=np.uint8))
