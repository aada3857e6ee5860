"""Cutting a detected face the way the training faces were cut.

FER2013 faces are tight, centred, grayscale squares. The detector's box is framed differently, so
a crop geometry turns its box into a FER-like square. It was measured by placing validation faces
into larger frames at known places and comparing the detector's box with the face's true square
(medians): for the page's BlazeFace the FER square is 1.21 box sides wide and centred 0.10 box
sides above the box centre (``python -m bench accuracy`` measures it again on every run).

FACE_CROP is the one definition. Training writes it into every model it saves, the exporter
copies it from there into the model's ``metadata.json`` for the page, and pipeline.detect reads
it from the model it loads: the page and Python crop a model's faces alike, always.
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


FACE_CROP = CropGeometry(scale=1.21, shift_y=-0.10)


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
