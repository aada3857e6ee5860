"""Cutting a detected face the way the training faces were cut.

FER2013 faces are tight, centred, grayscale squares. The detector's box is framed differently, so
a crop geometry turns its box into a FER-like square. It was measured by placing validation faces
into larger frames at known places and comparing the detector's box with the face's true square
(medians): for the page's BlazeFace the FER square is 1.21 box sides wide and centred 0.10 box
sides above the box centre (``python -m bench accuracy`` measures it again on every run).

A head tilted to one side is cut turned upright (``upright``): the square is turned by the roll
of the line between the detector's two eye points, so the face in the crop is level, as FER2013's
faces are. Faces turned 20 degrees in their frames are read as well as upright ones this way, 3.4
points better than unturned crops (the model card has the measurement).

FACE_CROP is the one definition. Training writes it into every model it saves, the exporter
copies it from there into the model's ``metadata.json`` for the page, and pipeline.detect reads
it from the model it loads: the page and Python crop a model's faces alike, always.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from pipeline.expressions import INPUT_SIZE


@dataclass(frozen=True)
class CropGeometry:
    """How a detector's box becomes a FER-like square crop."""

    scale: float  # crop side / box side (the mean of its width and height)
    shift_y: float  # (crop centre - box centre) / box side, along the face's vertical axis; negative is up
    upright: bool = True  # turned by the roll of the eyes' line, so the face is level (as FER2013's faces are)

    def to_json(self) -> dict:
        return asdict(self)


FACE_CROP = CropGeometry(scale=1.21, shift_y=-0.10)


def round_half_up(value: float) -> int:
    """``value`` rounded as JavaScript's Math.round rounds it (Python's round takes halves to even)."""
    return math.floor(value + 0.5)


def face_roll(eyes) -> float:
    """The roll of a face (radians, clockwise as seen): the angle of the line from the eye on the
    picture's left to the other, ``eyes`` being the detector's ((x, y), (x, y)); 0 without eyes."""
    if eyes is None:
        return 0.0
    (left_x, left_y), (right_x, right_y) = eyes
    return math.atan2(right_y - left_y, right_x - left_x)


def crop_square(box, geometry: CropGeometry, roll: float = 0.0) -> tuple[float, float, float]:
    """The crop for a detector ``box`` (x, y, width, height) of a face rolled by ``roll``: its
    (left, top, side) in pixels, before turning (its centre is the turned square's centre)."""
    x, y, width, height = box
    mean = (width + height) / 2
    side = geometry.scale * mean
    centre_x = x + width / 2 - math.sin(roll) * geometry.shift_y * mean
    centre_y = y + height / 2 + math.cos(roll) * geometry.shift_y * mean
    return centre_x - side / 2, centre_y - side / 2, side


def cut(gray: np.ndarray, left: int, top: int, side: int) -> np.ndarray:
    """The square of whole pixels at (left, top); parts outside the picture repeat its edge pixels."""
    height, width = gray.shape[:2]
    pad = max(0, -left, -top, left + side - width, top + side - height)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return gray[top + pad : top + pad + side, left + pad : left + pad + side]


def crop_face(gray: np.ndarray, box, geometry: CropGeometry, eyes=None) -> np.ndarray:
    """Cut a FER-like 48x48 uint8 face out of a grayscale frame, turned upright by its ``eyes``
    where the geometry says so; parts outside the frame are replicated."""
    roll = face_roll(eyes) if geometry.upright else 0.0
    left, top, side = (round_half_up(value) for value in crop_square(box, geometry, roll))
    if roll:
        return np.clip(np.round(turned_crop(gray, left, top, side, roll, INPUT_SIZE)), 0, 255).astype(np.uint8)
    interpolation = cv2.INTER_AREA if side > INPUT_SIZE else cv2.INTER_LINEAR
    return cv2.resize(cut(gray, left, top, side), (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)


def turned_crop(gray: np.ndarray, left: int, top: int, side: int, roll: float, size: int) -> np.ndarray:
    """The square (left, top, side) turned by ``roll`` about its centre, shrunk to ``size`` x ``size``
    (float grey values), as pixels.js's grayCrop turns one: the square around the turned one shrunk
    by averaging (never enlarged) to at most twice the output's resolution, sampled bilinearly at
    twice the output's resolution, and each 2x2 of samples averaged."""
    cos, sin = math.cos(roll), math.sin(roll)
    centre_x, centre_y = left + side / 2, top + side / 2
    around = round_half_up(side * (abs(cos) + abs(sin)))
    outer_left, outer_top = round_half_up(centre_x - around / 2), round_half_up(centre_y - around / 2)
    shrunk_side = min(around, round_half_up(2 * size * (abs(cos) + abs(sin))))
    region = cut(gray, outer_left, outer_top, around).astype(np.float32)
    shrunk = cv2.resize(region, (shrunk_side, shrunk_side), interpolation=cv2.INTER_AREA) if shrunk_side < around else region
    factor = shrunk_side / around
    steps = (np.arange(2 * size) + 0.5 - size) * side / (2 * size)  # sample offsets from the centre, upright, in pixels
    dx, dy = np.meshgrid(steps, steps)
    x = (centre_x - outer_left + cos * dx - sin * dy) * factor - 0.5
    y = (centre_y - outer_top + sin * dx + cos * dy) * factor - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    limit = shrunk_side - 1
    x0, y0 = x0.astype(int), y0.astype(int)
    xs = np.clip(x0, 0, limit), np.clip(x0 + 1, 0, limit)
    ys = np.clip(y0, 0, limit), np.clip(y0 + 1, 0, limit)
    samples = ((1 - fy) * ((1 - fx) * shrunk[ys[0], xs[0]] + fx * shrunk[ys[0], xs[1]])
               + fy * ((1 - fx) * shrunk[ys[1], xs[0]] + fx * shrunk[ys[1], xs[1]]))
    return samples.reshape(size, 2, size, 2).mean(axis=(1, 3))
