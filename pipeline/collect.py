"""Turn labelled photos into training faces, cut as the page cuts a face.

    python -m pipeline.collect photos/ --out my-faces             # photos/<expression>/*.jpg
    python -m pipeline.collect images/ --labels legend.csv --out my-faces
    python -m pipeline.train --data data/face-expression --extra-data my-faces

Each photo is searched as the page searches one (pipeline.faces.finder.detect_everywhere); its
largest face is cut with the crop every model is trained with (pipeline.faces.crop.FACE_CROP:
turned upright by the eyes, FER-like framing) and written as a 48x48 grey PNG to
``OUT/train/<expression>/``, a folder ``--data`` and ``--extra-data`` read. A photo is labelled by
the folder it is in, or by a ``--labels`` CSV whose columns name the image and its expression
(``image,emotion``; other columns are ignored). Photos without a face, unreadable ones (named,
with why), photos listed again and labels that are no expression are counted and left out. Photos
are read by pipeline.images (any file name; one of more than 50 megapixels refused unless --shrink
can read it smaller). ``--out`` may not lie inside the photos' folder (nor they in it), and no file
already there is written over: a face whose name is taken gets the next free one (``name-2.png``).
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
from pipeline.images import UnreadableImage, read_image, shown
from pipeline.errors import UserError, reports_user_errors
from pipeline.expressions import canonical_emotion

IMAGE_COLUMNS = ("image", "file", "filename", "path")
LABEL_COLUMNS = ("emotion", "expression", "label", "class")
LEFT_OUT = ("no face", "not found", "unreadable", "listed twice")
NAMED = 10  # at most how many left-out photos are named, each with why  # what a photo can be counted as besides its expression


def labelled_photos(photos: Path, labels: Path | None) -> tuple[list[tuple[Path, str]], Counter]:
    """[(photo, expression)] under ``photos``, labelled by ``labels`` (a CSV) or by each photo's
    folder, and a count of the labels that are no expression."""
    if not photos.is_dir():
        raise UserError(f"{shown(photos)} is not a folder; give the folder that holds the photos.")
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
            raise UserError(f"{shown(photos)} has no photos in folders named by expression (such as happy/, sad/); "
                            "put them in such folders or give --labels.")
        return found, unknown
    try:
        reader = csv.DictReader(labels.read_text(encoding="utf-8-sig").splitlines())
        rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"Cannot read {shown(labels)} ({error}); give a CSV of image names and expressions.") from None
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    image_column = next((columns[name] for name in IMAGE_COLUMNS if name in columns), None)
    label_column = next((columns[name] for name in LABEL_COLUMNS if name in columns), None)
    if image_column is None or label_column is None:
        raise UserError(f"{shown(labels)} needs a column of image names ({', '.join(IMAGE_COLUMNS)}) and one of "
                        f"expressions ({', '.join(LABEL_COLUMNS)}) in its first row.")
    if not rows:
        raise UserError(f"{shown(labels)} lists no photos, only its header; add a row per photo.")
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
    parser.add_argument("--out", type=Path, required=True, help="the folder to write the faces to (not inside PHOTOS)")
    parser.add_argument("--shrink", action="store_true", help="read a JPEG of more than 50 megapixels at a half, a "
                        "quarter or an eighth of its size rather than leave it out")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


def separate(photos: Path, out: Path) -> None:
    """A UserError where ``out`` is, or lies inside, ``photos`` (or they inside it): faces written
    there would be read as photos by the next run, or replace the photos themselves."""
    read, written = photos.resolve(), out.resolve()
    if read == written or read in written.parents or written in read.parents:
        raise UserError(f"--out {shown(out)} {'is' if read == written else 'overlaps'} the photos' folder "
                        f"{shown(photos)}; choose an --out outside it, so that no photo is written over or read again.")


def write_new(target: Path, face) -> Path:
    """``face`` written as a PNG to ``target``, or to ``target-2.png``, ``-3``... where that name is
    taken: never over a file. The path written."""
    data = cv2.imencode(".png", face)[1].tobytes()
    copies, path = 1, target
    while True:
        try:
            with open(path, "xb") as file:
                file.write(data)
            return path
        except FileExistsError:
            copies += 1
            path = target.with_name(f"{target.stem}-{copies}.png")
        except OSError as error:
            path.unlink(missing_ok=True)
            raise UserError(f"Cannot write {shown(path)} ({error.strerror or error}); check the space and permissions "
                            "of --out.") from None


@reports_user_errors
def main(argv=None) -> Counter:
    args = parse_args(argv)
    photos, unknown = labelled_photos(args.photos, args.labels)
    separate(args.photos, args.out)
    try:
        (args.out / "train").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"Cannot write to {shown(args.out)} ({error.strerror or error}); choose an --out folder you "
                        "can write to.") from None
    from pipeline.console import load_tensorflow

    load_tensorflow(args.verbose)
    from pipeline.faces.crop import FACE_CROP, crop_face
    from pipeline.faces.finder import FaceDetector, detect_everywhere, largest_face

    detector = FaceDetector()
    counts = Counter()
    seen, written, why = set(), set(), []
    renamed = 0  # faces whose name a file already in --out had
    for path, emotion in tqdm(photos, desc="Cutting faces", unit="photo", disable=None):
        if path in seen:
            counts["listed twice"] += 1  # the first label is kept
            continue
        seen.add(path)
        if not path.is_file():
            counts["not found"] += 1
            why.append(f"{shown(path)}: not found")
            continue
        try:
            image = read_image(path, shrink=args.shrink)
        except UnreadableImage as error:
            counts["unreadable"] += 1
            why.append(f"{shown(path)}: {error}")
            continue
        faces = detect_everywhere(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), detector)
        if not faces:
            counts["no face"] += 1
            continue
        box, _, eyes = largest_face(faces)
        face = crop_face(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), box, FACE_CROP, eyes)
        target = args.out / "train" / emotion / f"{path.stem}.png"
        target.parent.mkdir(exist_ok=True)
        path_written = write_new(target, face)
        renamed += path_written.name != target.name and target not in written
        written.add(target)
        counts[emotion] += 1
    faces = {key: count for key, count in sorted(counts.items()) if key not in LEFT_OUT}
    left = [f"{counts[key]} {key}" for key in LEFT_OUT if counts[key]]
    left += [f"{count} labelled {label!r}, no expression" for label, count in unknown.most_common()]
    if left:
        print("Left out: " + "; ".join(left), file=sys.stderr)
        for line in why[:NAMED]:
            print(f"  {line}", file=sys.stderr)
        if len(why) > NAMED:
            print(f"  ... and {len(why) - NAMED} more", file=sys.stderr)
    if not faces:
        raise UserError(f"No face was written to {shown(args.out / 'train')}: none of the {len(seen)} photo(s) gave one "
                        "(see above); give photos that exist and show a face.")
    print(f"Wrote {sum(faces.values())} faces to {shown(args.out / 'train')}: "
          + ", ".join(f"{key} {count}" for key, count in faces.items()))
    if renamed:
        print(f"{renamed} of them were given a new name (name-2.png...), as --out already had a file by theirs; "
              "a photo collected twice into one --out is there twice.", file=sys.stderr)
    return counts


if __name__ == "__main__":
    main()
