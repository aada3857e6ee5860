"""Cropping a detected face the way the training faces were cropped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.faces import FACE_CROPS, CropGeometry, HaarFaceDetector, crop_face, crop_square
from tests.datasets import astronaut_bgr


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
    crop = crop_face(frame, (-40, 10, 80, 80), FACE_CROPS["haar"])
    assert crop.shape == (48, 48)
    assert crop[:, :10].min() == 200  # left of the frame: the edge column repeated, not black


def test_the_haar_detector_finds_the_astronaut():
    gray = cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY)
    boxes = HaarFaceDetector().detect(gray)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200  # her face, top centre-left
