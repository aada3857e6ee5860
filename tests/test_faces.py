"""The page's way with faces, in Python: its detector and face finder, and the crop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.pictures import astronaut_frame, group_photo
from pipeline.faces.boxes import overlap
from pipeline.faces.crop import FACE_CROP, CropGeometry, crop_face, crop_square, face_roll
from pipeline.faces.finder import FINDER, FaceDetector, FaceFinder, detect_everywhere
from tests.datasets import photo_of_every_size, tilted

REPO = Path(__file__).resolve().parents[1]


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
def detector():
    return FaceDetector()


def rgb(bgr):
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("degrees", [-25, 25])
def test_a_tilted_head_is_cut_upright_by_the_line_between_its_eyes(detector, degrees):
    """The detector gives each face its eyes; the crop turns the face level by them, so a head
    tilted 25 degrees is cut much as the upright head is, where the unturned crop is not."""
    frame = astronaut_frame()
    (box, _, eyes), = detector.detect(rgb(frame))
    assert eyes[0][0] < box[0] + box[2] / 2 < eyes[1][0] and all(box[1] < y < box[1] + box[3] / 2 for _, y in eyes)
    upright = crop_face(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), box, FACE_CROP, eyes)
    turned = tilted(frame, box, degrees)
    (box, _, eyes), = detector.detect(rgb(turned))
    assert np.degrees(face_roll(eyes)) == pytest.approx(-degrees, abs=12)
    gray = cv2.cvtColor(turned, cv2.COLOR_BGR2GRAY)
    similarity = lambda crop: np.corrcoef(crop.ravel(), upright.ravel())[0, 1]  # noqa: E731
    unturned = CropGeometry(FACE_CROP.scale, FACE_CROP.shift_y, upright=False)
    assert similarity(crop_face(gray, box, FACE_CROP, eyes)) > similarity(crop_face(gray, box, unturned, eyes)) + 0.2


def test_the_pages_blazeface_finds_the_astronaut_where_the_page_does(detector):
    (box, score, eyes), = detector.detect(rgb(astronaut_frame()))
    # The page's box for this frame (tests/test_page.py) is [247, 69, 92, 92].
    assert box == pytest.approx((247, 69, 92, 92), abs=2) and score > 0.8


def test_a_group_photo_gives_every_small_face_and_nothing_else(detector):
    photo, truth = group_photo()
    found = [box for box, *_ in detect_everywhere(rgb(photo), detector)]
    assert len(found) == 8 and all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_a_photo_gives_faces_of_every_size(detector):
    photo, truth = photo_of_every_size()
    found = [box for box, *_ in detect_everywhere(rgb(photo), detector)]
    assert len(found) == len(truth) and all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_a_photo_gives_faces_down_to_a_fortieth_of_its_longer_side(detector):
    photo, truth = photo_of_every_size(widths=(36, 40, 44, 48))
    found = [box for box, *_ in detect_everywhere(rgb(photo), detector)]
    assert len(found) == len(truth) and all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_the_detector_reads_a_picture_of_any_shape_whole(detector):
    """BlazeFace is fully convolutional: the 640x480 frame in one input of that shape finds the
    astronaut where the square input of the frame shrunk does."""
    frame = rgb(astronaut_frame())
    (box, score, eyes), = detector.detect_scaled(frame, 640, max_faces=1)
    (square_box, *_), = detector.detect(frame)
    assert overlap(box, square_box) > 0.8 and score > 0.8 and box[0] < eyes[0][0] < eyes[1][0] < box[0] + box[2]


def test_three_small_faces_in_a_camera_frame_are_found_and_followed(detector):
    frame, truth = group_photo(size=(640, 480), face_width=50, count=3)
    finder = FaceFinder(detector)
    counts = [len(finder.find(rgb(frame))) for _ in range(20)]
    assert counts[-10:] == [3] * 10  # found within a sweep of the tiles, then in every frame
    found = [box for box, *_ in finder.find(rgb(frame))]
    assert all(max(overlap(box, true) for box in found) > 0.3 for true in truth)


def test_pictures_without_a_face_give_none(detector):
    from skimage import data

    for picture in (data.coffee(), data.rocket(), np.full((480, 640, 3), 128, np.uint8)):
        assert detect_everywhere(picture, detector) == []
        finder = FaceFinder(detector)
        assert all(finder.find(cv2.resize(picture, (640, 480))) == [] for _ in range(12))


def test_the_detectors_graph_computes_what_tfjs_computes(detector, tmp_path):
    """The Python run of the page's graph against TF.js itself (in Node), on the same inputs."""
    import shutil

    from exporters.to_tfjs import run_in_tfjs
    from facts import vendored_file

    source = vendored_file("face-detector", FINDER["detector"]["file"])
    shutil.copy(source, tmp_path / "model.json")
    shutil.copy(source.with_suffix(".bin"), tmp_path / source.with_suffix(".bin").name)
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, detector.input_size, detector.input_size, 3)).astype(np.float32)
    (expected,), _ = run_in_tfjs(tmp_path, inputs)
    np.testing.assert_allclose(np.asarray(detector.model.run(inputs)), expected, atol=2e-3)


def numbers_of(value) -> set[float]:
    """Every number in a JSON value."""
    if isinstance(value, dict):
        return set().union(*map(numbers_of, value.values()))
    if isinstance(value, list):
        return set().union(*map(numbers_of, value))
    return {float(value)} if isinstance(value, (int, float)) and not isinstance(value, bool) else set()


def code_numbers(path: Path) -> set[float]:
    """The number literals in a JS or Python source file, comments and docstrings left out."""
    text = path.read_text()
    text = re.sub(r"//[^\n]*|#[^\n]*|/\*.*?\*/|\"\"\".*?\"\"\"", "", text, flags=re.S)
    return {float(token) for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", text)}


@pytest.mark.parametrize("finder", ["component/static/js/detector.js", "pipeline/faces/finder.py"])
def test_neither_finder_holds_a_number_of_the_face_finding_definition(finder):
    """Thresholds, tiles, the follow area, the trust rule and the detector's layout live in
    component/static/face-finder.json only; the two finders read them from there. (0, 1 and 2 are counts,
    halves and the like, not settings.)"""
    definition = json.loads((REPO / "component" / "static" / "face-finder.json").read_text())
    shared = numbers_of(definition) - {0.0, 1.0, 2.0}
    assert code_numbers(REPO / finder) & shared == set()
    assert definition["detector"]["file"] not in (REPO / finder).read_text()


def test_both_finders_read_every_setting_of_the_definition_by_the_same_names():
    definition = json.loads((REPO / "component" / "static" / "face-finder.json").read_text())
    settings = {key for part in ("live", "photo", "tile_trust") for key in definition[part] if key != "about"}
    settings |= {"min_score", "iou_threshold", "max_faces", "anchors", "per_cell", "stride", "input_range",
                 "values_per_anchor", "eyes", "file"}
    for finder in ("component/static/js/detector.js", "pipeline/faces/finder.py"):
        text = (REPO / finder).read_text()
        assert {key for key in settings if key not in text} == set(), finder


def test_a_still_picture_is_searched_only_until_its_faces_are_known_and_its_tiles_swept(detector, monkeypatch):
    """After the faces of an unchanging picture are found (and a new one searched for in full once
    more) and the sweep has been round its tiles once, the detector does not run; a face moving
    inside its followed area is searched for there alone, at the smaller follow_input; a changed
    picture is searched in full again, with a tile of the sweep."""
    frame, truth = group_photo(size=(640, 480), face_width=50, count=3)
    searched, sizes = [], []
    detect_all = detector.detect_all

    def counted(rgb, searches, size):
        searched.append(len(searches))
        sizes.append(size)
        return detect_all(rgb, searches, size)

    monkeypatch.setattr(detector, "detect_all", counted)
    finder = FaceFinder(detector)

    def areas_searched(picture) -> tuple[int, int]:
        """Faces found in ``picture`` as the next frame, and how many areas the detector searched for it."""
        runs = len(searched)
        faces = len(finder.find(rgb(picture)))
        return faces, sum(searched[runs:])

    tiles = len(FaceFinder.tiles(640, 480))
    frames = [areas_searched(frame) for _ in range(tiles + 6)]
    assert [faces for faces, _ in frames[-6:]] == [3] * 6 and [areas for _, areas in frames[-6:]] == [0] * 6
    x, y, width, height = (round(value) for value in truth[0])
    changed = frame.copy()
    changed[y:y + height, x:x + width] = np.roll(frame[y:y + height, x:x + width], 3, axis=1)  # one face moves a little
    assert areas_searched(changed) == (3, 3)  # the followed faces' areas, no tile: nothing changed outside them
    assert sizes[-1] == FINDER["live"]["follow_input"] < detector.input_size
    moved = np.roll(frame, 40, axis=1)
    assert areas_searched(moved)[1] == 1 + 3 + 1  # the whole picture, the three followed faces and a tile
    assert sizes[-1] == detector.input_size


def test_a_streams_unchanged_faces_keep_their_scores_and_changed_ones_are_classified_again(monkeypatch):
    from pipeline.faces.classifier import ExpressionClassifier
    from pipeline.runs import DEFAULT_SHIPPED_MODEL

    classifier = ExpressionClassifier(DEFAULT_SHIPPED_MODEL)
    views = []  # how many views (a crop, or its mirror image) each run of the network took
    predict = classifier.single_view.predict_on_batch
    monkeypatch.setattr(classifier.single_view, "predict_on_batch", lambda batch: views.append(len(batch)) or predict(batch))
    finder = classifier.stream()
    frame = cv2.cvtColor(astronaut_frame(), cv2.COLOR_BGR2RGB)
    noisy = lambda: np.clip(frame + np.random.default_rng(len(views)).normal(0, 3, frame.shape), 0, 255).astype(np.uint8)  # noqa: E731
    labels = [classifier.analyse(cv2.cvtColor(noisy(), cv2.COLOR_RGB2BGR), finder)[0].label for _ in range(6)]
    # The first two frames search in full (a new face: both its views; then its box refined: the
    # other view of the two); then a webcam's noise is no change.
    assert labels == ["happy"] * 6 and views == [2, 1]
    darker = (frame * 0.6).astype(np.uint8)
    classifier.analyse(cv2.cvtColor(darker, cv2.COLOR_RGB2BGR), finder)
    assert views == [2, 1, 2]  # its views of frames ago are not averaged with today's


def test_a_moving_face_takes_its_two_views_in_turns_each_averaged_with_the_frame_befores(monkeypatch):
    from pipeline.faces.classifier import ExpressionClassifier
    from pipeline.runs import DEFAULT_SHIPPED_MODEL

    classifier = ExpressionClassifier(DEFAULT_SHIPPED_MODEL)
    batches = []  # what each run of the network took: crops as they are, or mirrored
    predict = classifier.single_view.predict_on_batch
    monkeypatch.setattr(classifier.single_view, "predict_on_batch", lambda batch: batches.append(batch) or predict(batch))
    finder = classifier.stream()
    frames = [np.roll(astronaut_frame(), 4 * index, axis=1) for index in range(5)]  # sliding sideways
    answers = [classifier.answers(frame, finder)[0][1] for frame in frames]
    assert [len(batch) for batch in batches] == [2, 1, 1, 1, 1]  # a new face: both views; then one a frame
    first, second, third = (batch[0, ..., 0] for batch in batches[1:4])
    for earlier, later in ((first, second), (second, third)):  # the crop, then its mirror image, in turns
        assert np.abs(later - earlier[:, ::-1]).mean() < np.abs(later - earlier).mean()
    # Each frame's scores: the view it ran, averaged with the other view of the frame before.
    scores = [predict(batch)[0][0] for batch in batches[1:4]]
    np.testing.assert_allclose(answers[3][0], (scores[2] + scores[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(answers[2][0], (scores[1] + scores[0]) / 2, atol=1e-6)
    # A frame without the face between: its views of before are not averaged with the next frame's.
    assert classifier.answers(np.full_like(frames[0], 90), finder) == []
    classifier.answers(np.roll(frames[-1], 4, axis=1), finder)
    assert len(batches[-1]) == 2
