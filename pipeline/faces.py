"""Finding faces in pictures and cropping them the way the training faces were cropped.

FER2013 faces are tight, centred, grayscale squares. A detector's box is framed differently, so
each detector has a crop geometry that turns its box into a FER-like square. The geometries were
measured by placing 600 validation faces into larger frames at known places and comparing each
detector's box with the face's true square (medians):

- BlazeFace (the page's detector) found 99.7% of them; the FER square is 1.19 box sides wide and
  centred 0.10 box sides above the box centre.
- OpenCV's Haar frontal-face cascade found 75% of them (the tight FER crops leave little context;
  whole photos fare better); the FER square is 1.04 box sides wide, centred on the box.

The exporter writes the BlazeFace geometry into the model's metadata.json for the page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from pipeline.expressions import INPUT_SIZE


@dataclass(frozen=True)
class CropGeometry:
    """How a detector's box becomes a FER-like square crop."""

    scale: float  # crop side / box side (the mean of its width and height)
    shift_y: float  # (crop centre - box centre) / box side; negative is up

    def to_json(self) -> dict:
        return asdict(self)


FACE_CROPS = {
    "blazeface": CropGeometry(scale=1.19, shift_y=-0.10),
    "haar": CropGeometry(scale=1.04, shift_y=0.0),
}


def crop_square(box, geometry: CropGeometry) -> tuple[float, float, float]:
    """The crop for a detector ``box`` (x, y, width, height): its (left, top, side) in pixels."""
    x, y, width, height = box
    side = geometry.scale * (width + height) / 2
    centre_x = x + width / 2
    centre_y = y + height / 2 + geometry.shift_y * (width + height) / 2
    return centre_x - side / 2, centre_y - side / 2, side


def crop_face(gray: np.ndarray, box, geometry: CropGeometry) -> np.ndarray:
    """Cut a FER-like 48x48 uint8 face out of a grayscale frame; parts outside it are replicated."""
    left, top, side = (round(value) for value in crop_square(box, geometry))
    height, width = gray.shape[:2]
    pad = max(0, -left, -top, left + side - width, top + side - height)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    region = gray[top + pad : top + pad + side, left + pad : left + pad + side]
    interpolation = cv2.INTER_AREA if side > INPUT_SIZE else cv2.INTER_LINEAR
    return cv2.resize(region, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)


class HaarFaceDetector:
    """OpenCV's Haar frontal-face cascade, the one that ships inside opencv-python-headless."""

    geometry = FACE_CROPS["haar"]

    def __init__(self, min_size: int = 40):
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        self.min_size = min_size

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, width, height) of the faces in a grayscale frame, largest first."""
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                              minSize=(self.min_size, self.min_size))
        return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda b: -b[2] * b[3])
