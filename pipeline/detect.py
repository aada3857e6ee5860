"""Find faces and their expressions in photos, video files and a camera, with OpenCV.

    python -m pipeline.detect photos/ interview.mp4 --csv faces.csv
    python -m pipeline.detect --camera 0 --show

Faces are found as the page finds them, by its own BlazeFace model (pipeline.faces): photos all
over, down to small faces; videos and the camera frame by frame, following the faces found. Each
face is cropped as the model's training faces were and classified by the Keras model, all faces
of a frame in one batch. Annotated copies (box, label and a bar per class) go to --out; with
--csv, one row per face per frame (an empty one for a frame without a face), which
python -m pipeline.mood summarises.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from tqdm import tqdm

from pipeline.console import load_tensorflow
from pipeline.data import IMAGE_SUFFIXES
from pipeline.errors import UserError, reports_user_errors
from pipeline.images import read_image, shown
from pipeline.recording import DETECT_COLUMNS, guarded
from pipeline.runs import resolve_model_path

if TYPE_CHECKING:  # the classifier imports TensorFlow, which main() starts once the arguments are good
    from pipeline.faces.classifier import ExpressionClassifier, Face, Timing

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
DEFAULT_OUT = Path("detections")
BOX_COLOUR = (80, 200, 80)  # BGR
# A file whose frames read fall short of this share of the count in its header is reported: some
# containers only estimate that count, so a frame or two less is no sign of damage.
COMPLETE_SHARE = 0.98
BAR_COLOUR = (230, 170, 60)


def annotate(frame: np.ndarray, faces: list[Face]) -> np.ndarray:
    """A copy of ``frame`` with each face's box, label and a bar chart of its class scores."""
    canvas = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    height, width = canvas.shape[:2]
    unit = max(1.0, min(width, height) / 480)  # text and lines grow with the picture
    font_scale, thickness = 0.5 * unit, max(1, round(unit))
    for face in faces:
        x, y, w, h = face.box
        cv2.rectangle(canvas, (x, y), (x + w, y + h), BOX_COLOUR, thickness + 1)
        title = f"{face.label} {face.confidence:.0%}"
        (text_width, text_height), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = max(0, y - text_height - int(8 * unit))
        cv2.rectangle(canvas, (x, top), (x + text_width + int(6 * unit), top + text_height + int(8 * unit)), BOX_COLOUR, -1)
        cv2.putText(canvas, title, (x + int(3 * unit), top + text_height + int(3 * unit)),
                    cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness, cv2.LINE_AA)
        _draw_bars(canvas, face, x, y, w, unit, font_scale, thickness)
    return canvas


def _draw_bars(canvas, face: Face, x, y, w, unit, font_scale, thickness) -> None:
    """A small bar per class beside the box: on the right where there is room, else on the left."""
    bar_length, row = int(60 * unit), int(16 * unit)
    label_width = max(cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, font_scale * 0.8, thickness)[0][0]
                      for name in face.scores)
    panel = label_width + bar_length + int(12 * unit)
    left = x + w + int(6 * unit) if x + w + panel < canvas.shape[1] else max(0, x - panel)
    cv2.rectangle(canvas, (left - int(3 * unit), y), (left + panel - int(6 * unit), y + row * len(face.scores)),
                  (30, 30, 30), -1)
    for index, (name, score) in enumerate(face.scores.items()):
        top = y + index * row
        cv2.putText(canvas, name, (left, top + int(11 * unit)), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale * 0.8, (255, 255, 255), thickness, cv2.LINE_AA)
        bar_left = left + label_width + int(6 * unit)
        cv2.rectangle(canvas, (bar_left, top + int(3 * unit)), (bar_left + bar_length, top + row - int(3 * unit)), (60, 60, 60), -1)
        cv2.rectangle(canvas, (bar_left, top + int(3 * unit)),
                      (bar_left + int(bar_length * score), top + row - int(3 * unit)), BAR_COLOUR, -1)


class Report:
    """Console lines, CSV rows and the final summary of a detect run."""

    def __init__(self, class_names: list[str], csv_path: Path | None):
        self.class_names = class_names
        self.faces_by_label: dict[str, int] = {}
        self.sources = 0
        self.failures: list[str] = []
        self.outputs: list[Path] = []
        self.partial: list[str] = []  # inputs read only in part
        self.csv_path = csv_path
        self.csv_file = open_for_writing(csv_path, "--csv") if csv_path else None
        self.row_text = io.StringIO()  # a row is formatted here, then written to the file at once
        self.csv = csv.writer(self.row_text) if self.csv_file else None
        self.csv_bytes = 0  # the file's length up to its last whole row
        try:
            self.write_row([*DETECT_COLUMNS, *self.class_names])
        except UserError:
            raise UserError(f"Cannot write {csv_path} (no space left on its disk?); choose a --csv path where there is "
                            "room.") from None

    def write_row(self, row: list) -> None:
        """One formula-safe CSV row; a CSV that cannot be written any more (a full disk) ends the
        CSV there, with a sentence, and fails the input at hand."""
        if not self.csv:
            return
        self.csv.writerow([guarded(cell) for cell in row])
        data = self.row_text.getvalue().encode()
        self.row_text.seek(0)
        self.row_text.truncate()
        try:
            rest = memoryview(data)
            while rest:  # a disk that takes part of a row says why at the next write
                written = self.csv_file.write(rest)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                rest = rest[written:]
            self.csv_bytes += len(data)
        except OSError as error:
            self.csv = None
            with contextlib.suppress(OSError):  # no half row at its end
                os.ftruncate(self.csv_file.fileno(), self.csv_bytes)
            raise UserError(f"{self.csv_path} could not be written any further ({error.strerror or error}); it holds "
                            "the rows up to there. Free some space and run again.") from None

    def faces(self, source: str, faces: list[Face], seconds: float | None = None, clock: datetime | None = None) -> None:
        """One picture's faces: a console line each, and a CSV row each (one empty row if none)."""
        where = source if seconds is None else f"{source} {format_time(seconds)}"
        if not faces and seconds is None:
            tqdm.write(f"{where}  no face found")
        time_s = "" if seconds is None else f"{seconds:.3f}"
        when = clock.isoformat(timespec="milliseconds") if clock else ""
        if not faces:
            self.write_row([source, time_s, when, *[""] * (len(DETECT_COLUMNS) - 3 + len(self.class_names))])
        for index, face in enumerate(faces):
            self.faces_by_label[face.label] = self.faces_by_label.get(face.label, 0) + 1
            x, y, w, h = face.box
            tqdm.write(f"{where}  face {index}  box {x},{y},{w},{h}  {face.label} {face.confidence:.2f}")
            self.write_row([source, time_s, when, index, x, y, w, h, face.label,
                            *(f"{face.scores[name]:.4f}" for name in self.class_names)])

    def failed(self, source: str, reason: str) -> None:
        self.failures.append(f"{source}: {reason}")
        tqdm.write(f"{source}  skipped: {reason}", file=sys.stderr)

    def read_in_part(self, source: str, reason: str) -> None:
        self.partial.append(f"{source}: {reason}")
        tqdm.write(f"{source}  warning: {reason}", file=sys.stderr)

    def close(self, timing: Timing) -> None:
        if self.csv_file:
            try:
                self.csv_file.close()
            except OSError as error:
                print(f"{self.csv_path}: its last rows could not be written ({error.strerror or error}); free some space "
                      "and run again.", file=sys.stderr)
        total = sum(self.faces_by_label.values())
        counts = ", ".join(f"{label} {count}" for label, count in sorted(self.faces_by_label.items(), key=lambda kv: -kv[1]))
        print(f"\n{self.sources} input(s), {total} face(s){': ' + counts if counts else ''}")
        if timing.frames:
            print(f"Speed over {timing.describe()}")
        for output in self.outputs:
            print(f"wrote {output}")
        for lines, title in ((self.partial, "were read only in part"), (self.failures, "failed")):
            if lines:
                print(f"{len(lines)} input(s) {title}:", file=sys.stderr)
                for line in lines:
                    print(f"  {line}", file=sys.stderr)


def open_for_writing(path: Path, option: str):
    """``path`` opened for writing, its folder made if missing; a UserError if that cannot be done."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "wb", buffering=0)  # unbuffered: each row is on disk as it goes, or not at all
    except OSError as error:
        raise UserError(f"Cannot write {path} ({error.strerror or error}); choose a {option} path in a folder "
                        "you can write to.") from None


def format_time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:06.3f}"


def expand_inputs(inputs: list[str], report: "Report") -> list[tuple[Path, Path]]:
    """Each input file with the name of its output under --out (its suffix replaced): files as
    given; a folder's images and videos, sorted, named by their place inside it, so that same-named
    files of different subfolders keep apart. A folder with none of them is reported."""
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            if not files:
                report.sources += 1
                report.failed(str(path), "holds no image or video file this tool reads "
                              f"({', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))})")
            found += [(file, Path(shown(file.relative_to(path)))) for file in files]
        else:
            found.append((path, Path(shown(path.name))))  # outputs named in UTF-8, which OpenCV can write
    taken: set[Path] = set()
    named = []
    for path, name in found:  # two inputs of the same name from different places: the later gets -2, -3...
        unique, count = name.with_suffix(""), 1
        while unique in taken:
            count += 1
            unique = name.with_suffix("").with_name(f"{name.stem}-{count}")
        taken.add(unique)
        named.append((path, unique))
    return named


def process_image(path: Path, classifier: ExpressionClassifier, report: Report, target: Path, shrink: bool = False) -> None:
    """Annotate one picture into ``target``."""
    frame = read_image(path, shrink=shrink)
    faces = classifier.analyse(frame)
    report.faces(shown(path), faces)
    writable(target)
    if not cv2.imwrite(str(target), annotate(frame, faces)):
        raise UserError(f"{target} could not be written (is its folder writable, with space left?)")
    report.outputs.append(target)


def writable(target: Path) -> None:
    """Make ``target``'s folder; a UserError if that cannot be done."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{target.parent} cannot be made ({error.strerror or error}); choose an --out folder you can "
                        "write to") from None


def process_stream(capture, name: str, classifier: ExpressionClassifier, report: Report, target: Path,
                   viewer: "Viewer", total_frames: int = 0, live: bool = False) -> None:
    """Annotate every frame of an opened capture into ``target`` (mp4) until it ends or is stopped;
    ``live`` (a camera) stamps each frame with the time of day."""
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    fps = fps if 1 <= fps <= 240 else 30.0
    writer = None
    finder = classifier.stream()
    progress = tqdm(total=total_frames or None, desc=name, unit="frame", leave=False, disable=None)
    index = 0
    ended = False  # the stream ran out, rather than the viewer stopping it
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                ended = True
                break
            if writer is None:
                writable(target)
                writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise UserError(f"{target} could not be written (is its folder writable, with space left?)")
            faces = classifier.analyse(frame, finder)
            report.faces(name, faces, seconds=index / fps, clock=datetime.now() if live else None)
            annotated = annotate(frame, faces)
            writer.write(annotated)
            if not viewer.show(annotated):
                break
            index += 1
            progress.update()
    except KeyboardInterrupt:
        tqdm.write(f"{name}: stopped; the output so far is kept.")
    except UserError:
        if writer is not None:
            writer.release()
            target.unlink(missing_ok=True)  # no half video that looks whole
        raise
    finally:
        progress.close()
        if writer is not None:
            writer.release()  # a finished, playable file even after Ctrl-C
    if index == 0:
        raise UserError("no frame could be decoded (an unknown codec or a damaged file)")
    if ended and index < COMPLETE_SHARE * total_frames:
        report.read_in_part(name, f"only {index} of the {total_frames} frames the file claims could be read "
                            f"(it may be damaged or cut short); the output covers those {index}")
    report.outputs.append(target)


class Viewer:
    """The --show window, where this OpenCV build has a GUI."""

    WINDOW = "Mien"

    def __init__(self, wanted: bool, out: Path):
        self.enabled = False
        if wanted:
            try:
                cv2.namedWindow(self.WINDOW, cv2.WINDOW_NORMAL)
                self.enabled = True
            except cv2.error:
                print(f"This OpenCV build has no GUI (opencv-python-headless), so --show opens no window; "
                      f"the annotated output is written to {out}/ instead.", file=sys.stderr)

    def show(self, frame) -> bool:
        """Show a frame; False once the viewer pressed q or Esc."""
        if not self.enabled:
            return True
        cv2.imshow(self.WINDOW, frame)
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def close(self):
        if self.enabled:
            cv2.destroyAllWindows()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.detect",
        description="Find faces and their expressions in images, folders, video files or a camera.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="image files, folders of them, or video files")
    parser.add_argument("--camera", type=int, metavar="N", help="read camera N (0 is the first) until Ctrl-C or q")
    parser.add_argument("--model", help="run folder or .keras file (default: the newest run, else the shipped model)")
    parser.add_argument("--profile", type=Path, metavar="JSON",
                        help="read faces with a person's profile, exported by the page or made by python -m pipeline.personalise")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for annotated copies (default: {DEFAULT_OUT})")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per face per frame to this CSV file")
    parser.add_argument("--shrink", action="store_true", help="read a JPEG of more than 50 megapixels at a half, a "
                        "quarter or an eighth of its size rather than skip it")
    parser.add_argument("--show", action="store_true", help="show the annotated frames in a window while working")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    args = parser.parse_args(argv)
    if not args.inputs and args.camera is None:
        parser.error("give at least one INPUT or --camera N")
    return args


@reports_user_errors
def main(argv=None) -> Report:
    args = parse_args(argv)
    model_path = resolve_model_path(args.model)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"Cannot write to {args.out} ({error.strerror or error}); choose an --out folder you can write to.") from None
    load_tensorflow(args.verbose)
    from pipeline.faces.classifier import ExpressionClassifier

    classifier = ExpressionClassifier(model_path, args.profile)
    report = Report(classifier.class_names, args.csv)
    viewer = Viewer(args.show, args.out)
    try:
        for path, name in expand_inputs(args.inputs, report):
            report.sources += 1
            try:
                if not path.exists():
                    raise UserError("no such file")
                if path.suffix.lower() in VIDEO_SUFFIXES:
                    if shown(path) != str(path):
                        raise UserError("its name is not UTF-8, which OpenCV cannot open a video by; rename it")
                    capture = cv2.VideoCapture(str(path))
                    if not capture.isOpened():
                        raise UserError("not a video OpenCV can open (an unknown codec or a damaged file)")
                    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
                    target = args.out / name.with_name(f"{name.name}.annotated.mp4")
                    process_stream(capture, shown(path), classifier, report, target, viewer, total)
                    capture.release()
                else:
                    suffix = path.suffix if path.suffix.lower() in {".jpg", ".jpeg", ".png"} else ".png"
                    process_image(path, classifier, report, args.out / name.with_name(f"{name.name}.annotated{suffix}"),
                                  args.shrink)
            except UserError as error:
                report.failed(shown(path), str(error))
        if args.camera is not None:
            report.sources += 1
            capture = cv2.VideoCapture(args.camera)
            if not capture.isOpened():
                report.failed(f"camera {args.camera}", "it could not be opened: is it connected and free, and is N right?")
            else:
                print(f"Reading camera {args.camera}; press Ctrl-C (or q in the window) to stop.", file=sys.stderr)
                try:
                    process_stream(capture, f"camera {args.camera}", classifier, report,
                                   args.out / f"camera-{args.camera}.mp4", viewer, live=True)
                except UserError as error:
                    report.failed(f"camera {args.camera}", str(error))
                capture.release()
    finally:
        viewer.close()
        report.close(classifier.timing)
    if report.failures and report.sources == len(report.failures):
        sys.exit(1)
    return report


if __name__ == "__main__":
    main()
