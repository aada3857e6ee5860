"""Small face-expression data sets in each layout people download, written to a given folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np

from bench.pictures import ASTRONAUT_FACE, ASTRONAUT_HEAD, astronaut_bgr, astronaut_frame
from pipeline.expressions import EMOTIONS


def synthetic_face(emotion: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A 'face' whose expression is learnable: a bright bar whose position depends on the emotion."""
    image = rng.integers(40, 90, (size, size), dtype=np.uint8)
    row = 4 + EMOTIONS.index(emotion) * (size - 8) // len(EMOTIONS)
    image[row : row + 5, 6:-6] = 230
    return image


def write_image_folders(root: Path, splits: dict[str, str], emotions=EMOTIONS, per_class: int = 6,
                        suffix: str = ".jpg", folder_names: dict[str, str] | None = None, seed: int = 0) -> Path:
    """Write ``root/<split folder>/<emotion folder>/<n><suffix>`` images; returns root.

    ``splits`` maps a split folder name (train, validation, test) to itself or another spelling;
    ``folder_names`` maps an emotion to the folder name used (for aliases such as anger).
    """
    rng = np.random.default_rng(seed)
    for folder in splits.values():
        for emotion in emotions:
            directory = root / folder / (folder_names or {}).get(emotion, emotion)
            directory.mkdir(parents=True, exist_ok=True)
            for index in range(per_class):
                cv2.imwrite(str(directory / f"{index}{suffix}"), synthetic_face(emotion, rng))
    return root


def write_fer2013_csv(path: Path, per_class: int = 6, seed: int = 0) -> Path:
    """Write a fer2013.csv with Training, PublicTest and PrivateTest rows for every emotion."""
    rng = np.random.default_rng(seed)
    lines = ["emotion,pixels,Usage"]
    for usage in ("Training", "PublicTest", "PrivateTest"):
        for index, emotion in enumerate(EMOTIONS):
            for _ in range(per_class):
                pixels = " ".join(map(str, synthetic_face(emotion, rng).ravel()))
                lines.append(f"{index},{pixels},{usage}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                bundle.write(file, file.relative_to(folder.parent).as_posix())
    return archive


def write_face_video(path: Path, frames: int = 12, fps: int = 10) -> Path:
    """A 640x480 mp4 of the astronaut moving sideways, then a few frames without a face."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    picture = astronaut_frame()
    for index in range(frames):
        writer.write(np.roll(picture, 4 * index, axis=1))
    for _ in range(3):
        writer.write(np.full((480, 640, 3), 90, np.uint8))
    writer.release()
    return path


def several_faces_frame() -> np.ndarray:
    """Three astronaut faces of webcam size (about 130-170 px), one mirrored, across a 640x480 frame."""
    face = astronaut_bgr()[30:230, 140:310]  # her head
    frame = np.full((480, 640, 3), 70, np.uint8)
    for left, top, height, mirrored in ((5, 120, 240, False), (218, 80, 270, True), (440, 140, 230, False)):
        width = int(height * face.shape[1] / face.shape[0])
        patch = cv2.resize(face[:, ::-1] if mirrored else face, (width, height))
        frame[top : top + height, left : left + width] = patch
    return frame


def photo_of_every_size(widths=(48, 80, 130, 170, 220), size=(1600, 1200)):
    """A photo with an astronaut face of each of ``widths`` px, side by side on grey, from 3% of
    its longer side to 14%; returns (BGR image, the faces' true boxes)."""
    width, height = size
    fx, fy, fw, fh = ASTRONAUT_FACE
    hx, hy, hw, hh = ASTRONAUT_HEAD
    photo = np.full((height, width, 3), 150, np.uint8)
    heads = [cv2.resize(astronaut_bgr()[hy:hy + hh, hx:hx + hw], (round(hw * w / fw), round(hh * w / fw)),
                        interpolation=cv2.INTER_AREA) for w in widths]
    gap = (width - sum(head.shape[1] for head in heads)) // (len(heads) + 1)
    left, boxes = gap, []
    for index, (head, face_width) in enumerate(zip(heads, widths)):
        top = 100 if index % 2 == 0 else 500
        photo[top:top + head.shape[0], left:left + head.shape[1]] = head
        scale = face_width / fw
        boxes.append([left + (fx - hx) * scale, top + (fy - hy) * scale, face_width, fh * scale])
        left += head.shape[1] + gap
    return photo, boxes


def tilted(bgr, box, degrees: float):
    """The picture turned by ``degrees`` (counter-clockwise as seen) about the centre of ``box``."""
    turn = cv2.getRotationMatrix2D((box[0] + box[2] / 2, box[1] + box[3] / 2), degrees, 1)
    return cv2.warpAffine(bgr, turn, (bgr.shape[1], bgr.shape[0]), borderMode=cv2.BORDER_REPLICATE)
