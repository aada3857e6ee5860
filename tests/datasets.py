"""Small face-expression data sets in each layout people download, written to a given folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np

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
