"""The pictures the benchmarks (and the tests) compose their frames from: scikit-image's
astronaut, one smiling face, and its photos without a face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

ASTRONAUT_FACE = (177, 66, 95, 95)  # the face in scikit-image's astronaut (OpenCV's Haar box)
ASTRONAUT_HEAD = (120, 10, 210, 220)  # her head with some hair and neck around it
# scikit-image photos without a face in them: the backgrounds, and the pictures with no face.
BACKGROUNDS = ("coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "coins", "brick", "grass",
               "gravel", "stereo_motorcycle", "colorwheel", "moon", "clock")


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut, 512x512 BGR."""
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def astronaut_frame() -> np.ndarray:
    """The astronaut (one smiling face, about 90 px wide) in a 640x480 BGR webcam frame."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut_bgr(), (512, 480))
    return frame


def face_frame(face_width: int) -> np.ndarray:
    """The astronaut's head scaled so that her face is ``face_width`` px wide, in the middle of a
    640x480 BGR webcam frame of grey."""
    x, y, width, height = ASTRONAUT_HEAD
    scale = face_width / ASTRONAUT_FACE[2]
    head = cv2.resize(astronaut_bgr()[y:y + height, x:x + width], (round(width * scale), round(height * scale)),
                      interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    top, left = (480 - head.shape[0]) // 2, (640 - head.shape[1]) // 2
    frame[top:top + head.shape[0], left:left + head.shape[1]] = head
    return frame


def group_photo(size=(1600, 1200), face_width: int = 60, count: int = 8, seed: int = 3):
    """A photo of ``count`` astronaut faces ``face_width`` px wide on grey, in a loose grid;
    returns (BGR image, the faces' true boxes [x, y, width, height])."""
    width, height = size
    fx, fy, fw, fh = ASTRONAUT_FACE
    hx, hy, hw, hh = ASTRONAUT_HEAD
    scale = face_width / fw
    head = cv2.resize(astronaut_bgr()[hy:hy + hh, hx:hx + hw], (round(hw * scale), round(hh * scale)), interpolation=cv2.INTER_AREA)
    photo = np.full((height, width, 3), 150, np.uint8)
    rng = np.random.default_rng(seed)
    columns = 4
    boxes = []
    for index in range(count):
        cell_x, cell_y = (index % columns) * width // columns, (index // columns) * height // ((count + columns - 1) // columns)
        left = cell_x + int(rng.integers(20, width // columns - head.shape[1] - 20))
        top = cell_y + int(rng.integers(20, height // 2 - head.shape[0] - 20))
        photo[top:top + head.shape[0], left:left + head.shape[1]] = head
        boxes.append([left + (fx - hx) * scale, top + (fy - hy) * scale, face_width, fh * scale])
    return photo, boxes


def webcam(frame: np.ndarray, moving: bool = False, noise: float = 3.0, count: int = 30) -> list[np.ndarray]:
    """A second of a webcam looking at ``frame``: each frame with its own sensor noise (``noise``
    grey levels), the picture still or, ``moving``, sliding 1 px a frame sideways and back."""
    rng = np.random.default_rng(0)
    frames = []
    for index in range(count):
        shift = (index if index < count // 2 else count - index) if moving else 0
        picture = np.roll(frame, shift, axis=1).astype(np.float32)
        frames.append(np.clip(picture + rng.normal(0, noise, picture.shape), 0, 255).astype(np.uint8))
    return frames


def write_face_pictures(folder: Path) -> list[str]:
    """The head to place (head.png) and the face-free backgrounds (640x480 PNGs) into ``folder``."""
    x, y, width, height = ASTRONAUT_HEAD
    cv2.imwrite(str(folder / "head.png"), astronaut_bgr()[y:y + height, x:x + width])
    names = []
    for name in BACKGROUNDS:
        image = getattr(data, name)()
        image = image[0] if isinstance(image, tuple) else image  # a stereo pair: its left image
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA))
        names.append(f"{name}.png")
    return names
