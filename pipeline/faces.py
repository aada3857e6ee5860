"""Finding faces in pictures and cropping them the way the training faces were cropped.

FER2013 faces are tight, centred, grayscale squares. A detector's box is framed differently, so
each detector has a crop geometry that turns its box into a FER-like square. Each was measured by
placing validation faces into larger frames at known places and comparing the detector's box with
the face's true square (medians):

- BlazeFace, MediaPipe's short-range model that the page runs: the FER square is 1.21 box sides
  wide and centred 0.10 box sides above the box centre (`python -m web.bench accuracy` measures
  it again on every run). It finds faces of 160 px and more in a 640x480 frame; smaller, more
  distant faces are often missed.
- OpenCV's Haar frontal-face cascade: 1.04 box sides, centred on the box. It found 75% of 600
  faces of 192 px (the tight FER crops leave little context; whole photos fare better).

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
    "blazeface": CropGeometry(scale=1.21, shift_y=-0.10),
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
