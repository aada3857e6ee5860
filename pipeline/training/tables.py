"""Teacher tables: any model's scores for the training faces, to distil from. A table is a CSV
file whose header is ``face`` and the teacher's class names (expressions), one row per face,
``face`` being :func:`face_key` of its 48x48 pixels; ``python -m bench teachers``
writes them for the browser peers' expression models."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from pipeline.data import Split
from pipeline.errors import UserError
from pipeline.expressions import canonical_emotion


def face_key(face: np.ndarray) -> str:
    """The key of a 48x48 uint8 face in a teacher table: a hash of its pixels."""
    return hashlib.blake2b(np.ascontiguousarray(face, dtype=np.uint8).tobytes(), digest_size=12).hexdigest()


def read_table(path: Path, split: Split) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """A teacher table's classes and its scores, one row per face of ``split`` in its order."""
    try:
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = {row[0]: row[1:] for row in reader if row}
    except FileNotFoundError:
        raise UserError(f"No teacher table at {path}; check --teacher.") from None
    except (OSError, StopIteration, UnicodeDecodeError):
        raise UserError(f"{path} is not a readable teacher table (a CSV with a header); write it again.") from None
    emotions = [canonical_emotion(name) for name in header[1:]]
    if header[:1] != ["face"] or None in emotions or not emotions:
        raise UserError(f"{path} is not a teacher table: its header must be face and expression names "
                        f"(it is {','.join(header)}).")
    keys = [face_key(face) for face in split.images]
    missing = [key for key in keys if key not in rows]
    if missing:
        raise UserError(f"{path} has no scores for {len(missing)} of the {len(keys)} training faces; "
                        "write it for this data set.")
    try:
        table = np.array([rows[key] for key in keys], np.float32)
    except ValueError:
        raise UserError(f"{path} holds a score that is not a number; write it again.") from None
    return [(emotion,) for emotion in emotions], table


def write_table(path: Path, faces: np.ndarray, classes: list[str], scores: np.ndarray) -> None:
    """Write a teacher table: a row of ``scores`` per face, keyed by :func:`face_key`."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["face", *classes])
        for face, row in zip(faces, scores):
            writer.writerow([face_key(face), *(f"{value:.6f}" for value in row)])
