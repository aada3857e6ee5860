"""Cropping a detected face the way the training faces were cropped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.faces import FACE_CROPS, CropGeometry, crop_face, crop_square
from tests.datasets import group_photo, photo_of_every_size


def test_a_crop_around_the_box_recovers_the_face_square():
    rng = np.random.default_rng(3)
    face = cv2.GaussianBlur(rng.integers(0, 256, (48, 48)).astype(np.uint8), (0, 0), 1.5)
    frame = np.full((480, 640), 100, np.uint8)
    frame[100:292, 200:392] = cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC)
    geometry = CropGeometry(scale=1.25, shift_y=-0.1)
    # The box a detector with this geometry would report for that square.
    side = 192 / geometry.scale
    centre_x, centre_y = 200 + 96, 100 + 96 - geometry.shift_y * side
    box = (centre_x - side / 2, centre_y - side / 2, side, side)
    assert crop_square(box, geometry) == pytest.approx((200, 100, 192))
    crop = crop_face(frame, box, geometry)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert np.corrcoef(crop.ravel(), face.ravel())[0, 1] > 0.95


def test_a_crop_past_the_frame_edge_repeats_the_edge_pixels():
    frame = np.zeros((100, 100), np.uint8)
    frame[:, :50] = 200
    crop = crop_face(frame, (-40, 10, 80, 80), CropGeometry(scale=1.0, shift_y=0.0))
    assert crop.shape == (48, 48)
    assert crop[:, :10].min() == 200  # left of the frame: the edge column repeated, not black


@pytest.fixture(scope="module")
def detectors():
    from pipeline.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFace

    return BlazeFace(SHORT_RANGE), BlazeFace(FULL_RANGE)


def rgb(bgr):
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_the_pages_blazeface_finds_the_astronaut_where_the_page_does(detectors):
    from web.bench import astronaut_frame

    (box, score), = detectors[0].detect(rgb(astronaut_frame()))
    # The page's box for this frame (tests/test_page.py) is [247, 69, 92, 92].
    assert box == pytest.approx((247, 69, 92, 92), abs=2) and score > 0.8
    assert detectors[0].geometry == FACE_CROPS["blazeface"]


def test_a_group_photo_gives_every_small_face_and_nothing_else(detectors):
    from pipeline.blazeface import detect_everywhere, overlap

    photo, truth = group_photo()
    found = [box for box, _ in detect_everywhere(rgb(photo), detectors[0])]
    assert len(found) == 8 and all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_a_photo_gives_faces_of_every_size(detectors):
    from pipeline.blazeface import detect_everywhere, overlap

    photo, truth = photo_of_every_size()
    found = [box for box, _ in detect_everywhere(rgb(photo), detectors[0])]
    assert len(found) == len(truth) and all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_three_small_faces_in_a_camera_frame_are_found_and_followed(detectors):
    from pipeline.blazeface import FaceFinder, overlap

    frame, truth = group_photo(size=(640, 480), face_width=50, count=3)
    finder = FaceFinder(detectors[0])
    counts = [len(finder.find(rgb(frame))) for _ in range(20)]
    assert counts[-10:] == [3] * 10  # found within a sweep of the tiles, then in every frame
    found = [box for box, _ in finder.find(rgb(frame))]
    assert all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_pictures_without_a_face_give_none(detectors):
    from skimage import data

    from pipeline.blazeface import FaceFinder, detect_everywhere

    for picture in (data.coffee(), data.rocket(), np.full((480, 640, 3), 128, np.uint8)):
        assert detect_everywhere(picture, detectors[0]) == []
        finder = FaceFinder(detectors[0])
        assert all(finder.find(cv2.resize(picture, (640, 480))) == [] for _ in range(12))


@pytest.mark.parametrize("which", [0, 1])
def test_the_detectors_graph_computes_what_tfjs_computes(detectors, tmp_path, which):
    """The Python run of the page's graph against TF.js itself (in Node), on the same inputs."""
    import shutil

    from exporters.to_tfjs import run_in_tfjs
    from pipeline.blazeface import FULL_RANGE, SHORT_RANGE

    source = (SHORT_RANGE, FULL_RANGE)[which]
    shutil.copy(source, tmp_path / "model.json")
    shutil.copy(source.with_suffix(".bin"), tmp_path / source.with_suffix(".bin").name)
    detector = detectors[which]
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, detector.size, detector.size, 3)).astype(np.float32)
    expected, _ = run_in_tfjs(tmp_path, inputs)
    np.testing.assert_allclose(np.asarray(detector.model.run(inputs)), expected, atol=2e-3)
