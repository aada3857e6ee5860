"""Turn labelled photos into training faces, cut as the page cuts a face.

    python -m pipeline.collect photos/ --out my-faces             # photos/<expression>/*.jpg
    python -m pipeline.collect images/ --labels legend.csv --out my-faces
    python -m pipeline.train --data data/face-expression --extra-data my-faces

Each photo is searched as the page searches one (pipeline.faces.finder.detect_everywhere); its
largest face is cut with the crop every model is trained with (pipeline.faces.crop.FACE_CROP:
turned upright by the eyes, FER-like framing) and written as a 48x48 grey PNG to
``OUT/train/<expression>/``, a folder ``--data`` and ``--extra-data`` read. A photo is labelled by
the folder it is in, or by a ``--labels`` CSV whose columns name the image and its expression
(``image,emotion``; other columns are ignored). Photos without a face, unreadable ones, photos
listed again and labels that are no expression are counted and left out.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import cv2
from tqdm import tqdm

from pipeline.data import IMAGE_SUFFIXES
from pipeline.errors import UserError, reports_user_errors
from pipeline.expressions import canonical_emotion

IMAGE_COLUMNS = ("image", "file", "filename", "path")
LABEL_COLUMNS = ("emotion", "expression", "label", "class")
LEFT_OUT = ("no face", "unreadable", "listed twice")  # what a photo can be counted as besides its expression


def labelled_photos(photos: Path, labels: Path | None) -> tuple[list[tuple[Path, str]], Counter]:
    """[(photo, expression)] under ``photos``, labelled by ``labels`` (a CSV) or by each photo's
    folder, and a count of the labels that are no expression."""
    if not photos.is_dir():
        raise UserError(f"{photos} is not a folder; give the folder that holds the photos.")
    unknown = Counter()
    found = []
    if labels is None:
        for path in sorted(photos.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.parent != photos:
                emotion = canonical_emotion(path.parent.name)
                if emotion:
                    found.append((path, emotion))
                else:
                    unknown[path.parent.name] += 1
        if not found:
            raise UserError(f"{photos} has no photos in folders named by expression (such as happy/, sad/); "
                            "put them in such folders or give --labels.")
        return found, unknown
    try:
        rows = list(csv.DictReader(labels.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"Cannot read {labels} ({error}); give a CSV of image names and expressions.") from None
    columns = {name.strip().lower(): name for name in (rows[0] if rows else {})}
    image_column = next((columns[name] for name in IMAGE_COLUMNS if name in columns), None)
    label_column = next((columns[name] for name in LABEL_COLUMNS if name in columns), None)
    if image_column is None or label_column is None:
        raise UserError(f"{labels} needs a column of image names ({', '.join(IMAGE_COLUMNS)}) and one of "
                        f"expressions ({', '.join(LABEL_COLUMNS)}) in its first row.")
    for row in rows:
        emotion = canonical_emotion(row[label_column] or "")
        if emotion:
            found.append((photos / (row[image_column] or "").strip(), emotion))
        else:
            unknown[(row[label_column] or "").strip()] += 1
    return found, unknown


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.collect",
        description="Find the face in each labelled photo and write it as a training face (48x48 grey PNG), "
                    "cut as the page cuts faces, into OUT/train/<expression>/.",
    )
    parser.add_argument("photos", type=Path, help="folder of photos: in folders named by expression, or named in --labels")
    parser.add_argument("--labels", type=Path, help="CSV with a column of image names (relative to PHOTOS) and one of "
                        "expressions (default: the photos' folder names)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write the faces to")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> Counter:
    args = parse_args(argv)
    photos, unknown = labelled_photos(args.photos, args.labels)
    try:
        (args.out / "train").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"Cannot write to {args.out} ({error.strerror or error}); choose an --out folder you can write to.") from None
    from pipeline.console import load_tensorflow

    load_tensorflow(args.verbose)
    from pipeline.faces.crop import FACE_CROP, crop_face
    from pipeline.faces.finder import FaceDetector, detect_everywhere, largest_face

    detector = FaceDetector()
    counts = Counter()
    seen, written = set(), set()
    for path, emotion in tqdm(photos, desc="Cutting faces", unit="photo", disable=None):
        if path in seen:
            counts["listed twice"] += 1  # the first label is kept
            continue
        seen.add(path)
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            counts["unreadable"] += 1
            continue
        faces = detect_everywhere(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), detector)
        if not faces:
            counts["no face"] += 1
            continue
        box, _, eyes = largest_face(faces)
        face = crop_face(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), box, FACE_CROP, eyes)
        target = args.out / "train" / emotion / f"{path.stem}.png"
        copies = 1
        while target in written:  # photos of one name in different folders
            copies += 1
            target = target.with_name(f"{path.stem}-{copies}.png")
        written.add(target)
        target.parent.mkdir(exist_ok=True)
        if not cv2.imwrite(str(target), face):
            raise UserError(f"Cannot write {target}; check the space and permissions of --out.")
        counts[emotion] += 1
    faces = {key: count for key, count in sorted(counts.items()) if key not in LEFT_OUT}
    print(f"Wrote {sum(faces.values())} faces to {args.out / 'train'}: "
          + ", ".join(f"{key} {count}" for key, count in faces.items()))
    left = [f"{counts[key]} {key}" for key in LEFT_OUT if counts[key]]
    left += [f"{count} labelled {label!r}, no expression" for label, count in unknown.most_common()]
    if left:
        print("Left out: " + "; ".join(left), file=sys.stderr)
    return counts


if __name__ == "__main__":
    main()
