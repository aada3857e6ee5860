"""Load face-expression data from the layouts people download, decoded once and cached.

Accepted with ``--data PATH``:

- the Kaggle *face-expression-recognition-dataset* folders: ``images/train/<emotion>/``,
  ``images/validation/<emotion>/``;
- the Kaggle *fer2013* folders: ``train/<emotion>/``, ``test/<emotion>/``;
- the original ``fer2013.csv`` (columns ``emotion,pixels,Usage``);
- a ``.zip`` of any of them.

Every face comes out as a 48x48 uint8 grayscale array. Decoded arrays are cached under
``$MIEN_CACHE`` (default ``~/.cache/mien``), keyed by every source file's path, size and
modification time, so a changed, added or removed file makes the next run read the source again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from tqdm import tqdm

from pipeline.errors import UserError
from pipeline.expressions import EMOTIONS, INPUT_SIZE, ClassSet, canonical_emotion

DEFAULT_DATA = Path(os.environ.get("MIEN_DATA", "data/face-expression"))
SPLITS = ("train", "validation", "test")
SPLIT_FOLDERS = {
    "train": {"train", "training"},
    "validation": {"validation", "val", "valid", "publictest"},
    "test": {"test", "testing", "privatetest"},
}
CSV_USAGE = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp", ".tif", ".tiff"}
HOLDOUT_FRACTION = 0.1  # of train, used as validation when a source has no validation split
HOLDOUT_SEED = 2013
EXPECTED_LAYOUT = (
    "expected the Kaggle face-expression folders (images/train/<emotion>/, "
    "images/validation/<emotion>/), the fer2013 folders (train/<emotion>/, test/<emotion>/), "
    "fer2013.csv, or a .zip of one of them"
)


@dataclass
class Split:
    """Faces of one split for one class set: ``images`` uint8 [N, 48, 48], ``labels`` int32 [N]."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]

    def counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(self.class_names)).tolist()


@dataclass
class DecodedSource:
    """Every face of a source by split, labelled with FER2013 emotion indices."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    skipped: list[str] = field(default_factory=list)  # unreadable files or rows
    ignored_folders: list[str] = field(default_factory=list)  # names that are no expression


def load_dataset(
    data: str | Path,
    class_set: ClassSet,
    splits: tuple[str, ...] = ("train", "validation"),
    cache_dir: str | Path | None = None,
) -> dict[str, Split]:
    """Load the given splits of a data source, keeping only the faces of ``class_set``.

    Returns {split: Split}, each labelled with ``class_set``'s class indices.
    """
    unknown = [split for split in splits if split not in SPLITS]
    if unknown:
        raise UserError(f"Unknown split {unknown[0]!r}; use one of {', '.join(SPLITS)}.")
    source = decode_source(data, cache_dir)
    return {split: _select(source, split, class_set, data) for split in splits}


def _select(source: "DecodedSource", split: str, class_set: ClassSet, data) -> Split:
    if split not in source.splits:
        available = ", ".join(sorted(source.splits))
        raise UserError(f"{data} has no {split} split (it has: {available}); choose one of those.")
    found = _of_classes(*source.splits[split], class_set)
    if len(found.labels) == 0:
        raise UserError(
            f"The {split} split of {data} holds no faces of the classes "
            f"{', '.join(class_set.names)}; check --classes against the data's folders."
        )
    return found


def _of_classes(images: np.ndarray, emotions: np.ndarray, class_set: ClassSet) -> Split:
    label_of = class_set.label_of()
    keep = np.isin(emotions, list(label_of))
    return Split(images[keep], np.array([label_of[e] for e in emotions[keep]], dtype=np.int32), class_set.names)


def with_extra_faces(split: Split, sources: list[str], class_set: ClassSet, validation: Split | None = None) -> Split:
    """``split`` and, after its faces, every face of ``class_set`` in each of ``sources`` (any layout
    ``--data`` reads, all its splits): more training faces, never used to choose an epoch. A source
    that holds any face of ``validation`` (a copy of --data, say) is refused: the epoch would be
    chosen on faces trained on."""
    images, labels = [split.images], [split.labels]
    held_out = {face.tobytes() for face in validation.images} if validation is not None else set()
    for data in sources:
        source = decode_source(data)
        found = _of_classes(*(np.concatenate(arrays) for arrays in zip(*source.splits.values())), class_set)
        if len(found.labels) == 0:
            raise UserError(f"{data} holds no faces of the classes {', '.join(class_set.names)}; "
                            "check --extra-data against --classes.")
        shared = sum(face.tobytes() in held_out for face in found.images)
        if shared:
            raise UserError(f"{data} holds {shared} of the {len(validation.labels)} validation faces of --data, which would "
                            "be trained on and the epoch then chosen on them; leave them out of --extra-data.")
        images.append(found.images)
        labels.append(found.labels)
    return Split(np.concatenate(images), np.concatenate(labels), split.class_names)


def decode_source(data: str | Path, cache_dir: str | Path | None = None) -> DecodedSource:
    """Decode every face in ``data``, from the cache when the source has not changed."""
    source = _open_source(Path(data))
    cache_dir = Path(cache_dir or os.environ.get("MIEN_CACHE", Path.home() / ".cache" / "mien"))
    cache_file = cache_dir / f"faces-{source.fingerprint()}.npz"
    if cache_file.exists():
        try:
            decoded = _read_cache(cache_file)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            decoded = None  # a damaged cache is rebuilt
        if decoded is not None:
            _report(data, decoded)
            return decoded
    decoded = _decode(source, data)
    _write_cache(cache_file, decoded)
    _report(data, decoded)
    return decoded


# --- sources: a folder, a zip, or a CSV file, seen as a list of relative paths -------------------


class _Source:
    def files(self) -> list[str]:
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        raise NotImplementedError

    def fingerprint(self) -> str:
        raise NotImplementedError


class _FolderSource(_Source):
    def __init__(self, root: Path):
        self.root = root
        self._stats = {}
        for folder, _, names in os.walk(root):
            relative = os.path.relpath(folder, root).replace(os.sep, "/")
            prefix = "" if relative == "." else relative + "/"
            for name in names:
                self._stats[prefix + name] = os.stat(os.path.join(folder, name))

    def files(self):
        return sorted(self._stats)

    def read(self, name):
        return (self.root / name).read_bytes()

    def fingerprint(self):
        digest = hashlib.blake2b(digest_size=12)
        for name in self.files():
            stat = self._stats[name]
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()


class _FileSource(_Source):
    """A single file (a CSV or a zip), fingerprinted by its size and modification time."""

    def __init__(self, path: Path):
        self.path = path

    def fingerprint(self):
        stat = self.path.stat()
        key = f"{self.path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
        return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


class _CsvSource(_FileSource):
    def files(self):
        return [self.path.name]

    def read(self, name):
        return self.path.read_bytes()


class _ZipSource(_FileSource):
    def __init__(self, path: Path):
        super().__init__(path)
        try:
            self.archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise UserError(f"{path} is not a readable zip file; download it again.") from None

    def files(self):
        return sorted(info.filename for info in self.archive.infolist() if not info.is_dir())

    def read(self, name):
        return self.archive.read(name)


def _open_source(path: Path) -> _Source:
    if not path.exists():
        raise UserError(f"Data not found at {path}; pass --data with the folder, zip or CSV ({EXPECTED_LAYOUT}).")
    if path.is_dir():
        return _FolderSource(path)
    if path.suffix.lower() == ".zip":
        return _ZipSource(path)
    if path.suffix.lower() == ".csv":
        return _CsvSource(path)
    raise UserError(f"{path} is neither a folder, a .zip nor a .csv; {EXPECTED_LAYOUT}.")


# --- decoding ------------------------------------------------------------------------------------


def _decode(source: _Source, data) -> DecodedSource:
    files = source.files()
    images_by_split = _find_image_folders(files)
    if images_by_split:
        decoded = _decode_images(source, images_by_split)
        if not decoded.splits and decoded.skipped:
            raise UserError(
                f"Every one of the {len(decoded.skipped)} images in {data} was unreadable "
                f"({', '.join(decoded.skipped[:3])}{' ...' if len(decoded.skipped) > 3 else ''}); "
                "check that they are image files (JPEG, PNG) and not damaged."
            )
    else:
        csv_name = _find_csv(files)
        if csv_name is None:
            raise UserError(_explain_wrong_layout(data, files))
        decoded = _decode_csv(source.read(csv_name), csv_name)
    _hold_out_validation(decoded)
    return decoded


def _find_image_folders(files: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Find ``<prefix>/<split>/<emotion>/<image>`` paths and pick the prefix that has the most.

    Returns {split: [(path, emotion index), ...]}. Some Kaggle zips hold the data twice
    (``images/`` and ``images/images/``); picking one prefix reads it once.
    """
    by_prefix: dict[str, dict[str, list]] = {}
    for name in files:
        path = PurePosixPath(name)
        if path.suffix.lower() not in IMAGE_SUFFIXES or len(path.parts) < 3:
            continue
        split = _split_of(path.parts[-3])
        if split is None:
            continue
        prefix = "/".join(path.parts[:-3])
        emotion = canonical_emotion(path.parts[-2])
        label = EMOTIONS.index(emotion) if emotion else -1  # -1: a folder that is no expression
        by_prefix.setdefault(prefix, {}).setdefault(split, []).append((name, label))
    if not by_prefix:
        return {}
    return max(by_prefix.values(), key=lambda splits: sum(map(len, splits.values())))


def _split_of(folder: str) -> str | None:
    folder = folder.lower()
    return next((split for split, names in SPLIT_FOLDERS.items() if folder in names), None)


def _decode_images(source: _Source, images_by_split) -> DecodedSource:
    decoded = DecodedSource(splits={})
    ignored = set()
    total = sum(len(items) for items in images_by_split.values())
    progress = tqdm(total=total, desc="Decoding faces", unit="img", disable=None)
    for split, items in images_by_split.items():
        images, emotions = [], []
        for name, label in items:
            progress.update()
            if label < 0:
                ignored.add(PurePosixPath(name).parent.name)
                continue
            face = decode_face(source.read(name))
            if face is None:
                decoded.skipped.append(name)
                continue
            images.append(face)
            emotions.append(label)
        if images:
            decoded.splits[split] = (np.stack(images), np.array(emotions, dtype=np.int8))
    progress.close()
    decoded.ignored_folders = sorted(ignored)
    return decoded


def decode_face(encoded: bytes) -> np.ndarray | None:
    """Decode an image file's bytes to a 48x48 uint8 grayscale face, or None if unreadable.

    Images of another size are centre-cropped to a square and resized.
    """
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        return None
    return to_model_input_size(image)


def to_model_input_size(gray: np.ndarray) -> np.ndarray:
    """Centre-crop a grayscale image to a square and resize it to the model's input size."""
    height, width = gray.shape[:2]
    if (height, width) == (INPUT_SIZE, INPUT_SIZE):
        return gray
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = gray[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > INPUT_SIZE else cv2.INTER_LINEAR
    return cv2.resize(square, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)


def _find_csv(files: list[str]) -> str | None:
    candidates = [name for name in files if name.lower().endswith(".csv")]
    # Prefer fer2013.csv, then the shallowest CSV.
    candidates.sort(key=lambda name: (PurePosixPath(name).name.lower() != "fer2013.csv", name.count("/")))
    return candidates[0] if candidates else None


def _decode_csv(content: bytes, name: str) -> DecodedSource:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8", errors="replace")))
    missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
    if missing:
        raise UserError(
            f"{name} lacks the column(s) {', '.join(sorted(missing))}; "
            "expected the fer2013.csv columns emotion,pixels,Usage."
        )
    decoded = DecodedSource(splits={})
    rows: dict[str, tuple[list, list]] = {}
    pixel_count = INPUT_SIZE * INPUT_SIZE
    for row_number, row in enumerate(tqdm(reader, desc="Decoding faces", unit="row", disable=None), start=2):
        split = CSV_USAGE.get((row.get("Usage") or "Training").strip())
        try:
            emotion = int(row["emotion"])
            pixels = np.array(row["pixels"].split(), dtype=np.int32)
        except (ValueError, AttributeError):
            pixels, emotion = None, -1
        if split is None or pixels is None or pixels.size != pixel_count or not 0 <= emotion < len(EMOTIONS) or pixels.min() < 0 or pixels.max() > 255:
            decoded.skipped.append(f"{name} row {row_number}")
            continue
        images, emotions = rows.setdefault(split, ([], []))
        images.append(pixels.astype(np.uint8).reshape(INPUT_SIZE, INPUT_SIZE))
        emotions.append(emotion)
    for split, (images, emotions) in rows.items():
        decoded.splits[split] = (np.stack(images), np.array(emotions, dtype=np.int8))
    return decoded


def _hold_out_validation(decoded: DecodedSource) -> None:
    """Give a source without a validation split one: a fixed, stratified tenth of train."""
    if "validation" in decoded.splits or "train" not in decoded.splits:
        return
    images, emotions = decoded.splits["train"]
    rng = np.random.default_rng(HOLDOUT_SEED)
    held = np.zeros(len(emotions), dtype=bool)
    for emotion in np.unique(emotions):
        members = np.flatnonzero(emotions == emotion)
        count = int(round(len(members) * HOLDOUT_FRACTION))
        held[rng.choice(members, size=count, replace=False)] = True
    decoded.splits["validation"] = (images[held], emotions[held])
    decoded.splits["train"] = (images[~held], emotions[~held])


def _explain_wrong_layout(data, files: list[str]) -> str:
    images = [PurePosixPath(name) for name in files if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        return f"No face images or CSV found in {data}; {EXPECTED_LAYOUT}."
    if any(len(path.parts) >= 2 and canonical_emotion(path.parts[-2]) for path in images):
        return (
            f"{data} holds expression folders but no train/ and validation/ (or test/) folders "
            f"above them; point --data at the folder that holds the splits ({EXPECTED_LAYOUT})."
        )
    return f"{data} holds images, but not in expression folders; {EXPECTED_LAYOUT}."


# --- cache ---------------------------------------------------------------------------------------


def _write_cache(cache_file: Path, decoded: DecodedSource) -> None:
    arrays = {}
    for split, (images, emotions) in decoded.splits.items():
        arrays[f"{split}_images"] = images
        arrays[f"{split}_emotions"] = emotions
    info = {"skipped": decoded.skipped, "ignored_folders": decoded.ignored_folders}
    arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    temporary = cache_file.with_suffix(".tmp.npz")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(temporary, **arrays)
        os.replace(temporary, cache_file)
    except OSError as error:  # a cache is an optimisation: go on without one
        print(f"Could not write the face cache ({error}); set MIEN_CACHE to a writable folder.", file=sys.stderr)


def _read_cache(cache_file: Path) -> DecodedSource:
    with np.load(cache_file) as arrays:
        info = json.loads(arrays["info"].tobytes())
        splits = {
            split: (arrays[f"{split}_images"], arrays[f"{split}_emotions"])
            for split in SPLITS
            if f"{split}_images" in arrays
        }
    return DecodedSource(splits, info["skipped"], info["ignored_folders"])


def _report(data, decoded: DecodedSource) -> None:
    sizes = ", ".join(f"{split} {len(decoded.splits[split][1])}" for split in SPLITS if split in decoded.splits)
    print(f"Faces in {data}: {sizes}", file=sys.stderr)
    if decoded.skipped:
        first = ", ".join(decoded.skipped[:3])
        more = " ..." if len(decoded.skipped) > 3 else ""
        print(f"Skipped {len(decoded.skipped)} unreadable image(s) or row(s): {first}{more}", file=sys.stderr)
    if decoded.ignored_folders:
        print(
            f"Ignored folder(s) that name no expression: {', '.join(decoded.ignored_folders)}",
            file=sys.stderr,
        )
