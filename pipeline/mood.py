"""Summarise a recording's expressions per hour, as the page's mood record does.

    python -m pipeline.mood mien-record-angry-happy-neutral-sad.csv   # the page's Export CSV
    python -m pipeline.detect --camera 0 --csv today.csv               # or record from Python
    python -m pipeline.mood today.csv                                  # a table, and today.png

Reads either CSV: the page's Export CSV (a row per interval: its time, seconds, share with a face
in view, label and each class's share) or ``pipeline.detect --csv`` (a row per face per frame; the
main face of a frame is the largest, and a frame lasts until the next one). An hour's share of an
expression is the mean of that class's score over the time a face was in view, as the page
summarises its record. Times of day are grouped by clock hour (the page's in this computer's time
zone); frames of a video file by hours since its start.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from pipeline.errors import UserError, reports_user_errors
from pipeline.faces.boxes import largest
from pipeline.plots import plot_mood
from pipeline.recording import DETECT_COLUMNS, PAGE_COLUMNS, PROFILE_COLUMN, unguarded


@dataclass
class Interval:
    """A stretch of a recording: its hour, how long it lasted, how long a face was in view, and
    the main face's mean class scores over that time (None without a face)."""

    hour: str
    seconds: float
    face_seconds: float
    shares: np.ndarray | None


@dataclass
class Hour:
    """One hour of a recording: time recorded, time with a face, and the time-weighted scores."""

    label: str
    seconds: float = 0.0
    face_seconds: float = 0.0
    sums: np.ndarray | None = field(default=None, repr=False)

    @property
    def shares(self) -> np.ndarray | None:
        return self.sums / self.face_seconds if self.face_seconds else None

    @property
    def in_view(self) -> float:
        return self.face_seconds / self.seconds if self.seconds else 0.0


def read_recording(path: Path) -> tuple[list[str], list[Interval]]:
    """The class names and the intervals of a recording CSV (the page's or pipeline.detect's)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # a spreadsheet may add a byte-order mark
            rows = [[unguarded(cell) for cell in row] for row in csv.reader(handle)]
    except FileNotFoundError:
        raise UserError(f"No file at {path}; give a CSV the page exported or python -m pipeline.detect --csv wrote.") from None
    except (OSError, UnicodeDecodeError, csv.Error):
        raise UserError(f"{path} is not a readable CSV file; give one the page exported or "
                        "python -m pipeline.detect --csv wrote.") from None
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    page_columns = (*PAGE_COLUMNS, PROFILE_COLUMN) if header[len(PAGE_COLUMNS):][:1] == [PROFILE_COLUMN] else PAGE_COLUMNS
    for columns, reader in ((page_columns, _page_intervals), (DETECT_COLUMNS, _detect_intervals)):
        if tuple(header[:len(columns)]) == columns and len(header) > len(columns):
            classes = header[len(columns):]
            try:
                return classes, reader(body, len(columns), classes)
            except (ValueError, IndexError, TypeError) as error:
                raise UserError(f"{path} has a row that does not fit its header ({error}); export or record it again.") from None
    raise UserError(f"{path} is neither the page's Export CSV nor a CSV of python -m pipeline.detect --csv (its columns "
                    f"are {', '.join(header) or 'none'}); export one with the page's Export CSV button.")


def _scores(row: list[str], start: int, classes: list[str]) -> np.ndarray:
    if len(row) != start + len(classes):
        raise ValueError(f"{len(row)} cells where the header has {start + len(classes)}")
    return np.array([float(cell) for cell in row[start:]])


def _page_intervals(rows: list[list[str]], start: int, classes: list[str]) -> list[Interval]:
    intervals = []
    for row in rows:
        if not row:
            continue
        time, seconds, in_view = datetime.fromisoformat(row[0]), float(row[1]), float(row[2])
        shares = _scores(row, start, classes) if row[start] != "" else None
        intervals.append(Interval(f"{time.astimezone():%Y-%m-%d %H}:00", seconds,
                                  seconds * in_view if shares is not None else 0.0, shares))
    return intervals


def _detect_intervals(rows: list[list[str]], start: int, classes: list[str]) -> list[Interval]:
    frames: dict[tuple[str, str], list[list[str]]] = {}
    for row in rows:
        if row:
            frames.setdefault((row[0], row[1] or row[2]), []).append(row)
    intervals = []
    for source in dict.fromkeys(key[0] for key in frames):
        keyed = [faces for (name, _), faces in frames.items() if name == source]
        times = [float(faces[0][1]) if faces[0][1] else None for faces in keyed]
        steps = [b - a for a, b in zip(times, times[1:]) if a is not None and b is not None and b > a]
        length = statistics.median(steps) if steps else 1.0  # a photo, or a single frame
        for faces, time_s in zip(keyed, times):
            first = faces[0]
            hour = (f"{datetime.fromisoformat(first[2]):%Y-%m-%d %H}:00" if first[2]
                    else f"{source}, hour {int((time_s or 0) // 3600) + 1}")
            found = [face for face in faces if face[3] != ""]
            if not found:
                intervals.append(Interval(hour, length, 0.0, None))
                continue
            main = largest(found, box=lambda face: [float(value) for value in face[4:8]])
            intervals.append(Interval(hour, length, length, _scores(main, start, classes)))
    return intervals


def summarise(intervals: list[Interval]) -> list[Hour]:
    """Intervals grouped into hours, in the order they come; scores weighted by time in view."""
    hours: dict[str, Hour] = {}
    for interval in intervals:
        hour = hours.setdefault(interval.hour, Hour(interval.hour))
        hour.seconds += interval.seconds
        if interval.shares is not None and interval.face_seconds > 0:
            hour.face_seconds += interval.face_seconds
            weighted = interval.shares * interval.face_seconds
            hour.sums = weighted if hour.sums is None else hour.sums + weighted
    return list(hours.values())


def duration(seconds: float) -> str:
    """A duration in words, as the page writes it: 42 s, 3 min 5 s, 2 h 10 min."""
    hours, minutes = int(seconds // 3600), int(seconds % 3600 // 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {round(seconds % 60)} s" if minutes else f"{seconds:.1f} s" if seconds < 10 else f"{round(seconds)} s"


def format_table(classes: list[str], hours: list[Hour]) -> str:
    lines = [f"{'hour':<24}{'recorded':>12}{'face in view':>14}" + "".join(f"{name:>10}" for name in classes)]
    for hour in hours:
        shares = hour.shares
        cells = "".join(f"{share:>10.1%}" for share in shares) if shares is not None else "".join(f"{'-':>10}" for _ in classes)
        lines.append(f"{hour.label:<24}{duration(hour.seconds):>12}{hour.in_view:>14.1%}{cells}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.mood",
        description="Summarise the expressions of a recording per hour: a table and a chart. Reads the page's "
                    "Export CSV and python -m pipeline.detect --csv.",
    )
    parser.add_argument("csv", type=Path, metavar="FILE", help="the page's Export CSV, or a pipeline.detect --csv file")
    parser.add_argument("--chart", type=Path, metavar="PNG",
                        help="where to write the chart: a .png file, or a folder to put it in (default: FILE with .png)")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> list[Hour]:
    args = parse_args(argv)
    classes, intervals = read_recording(args.csv)
    if not intervals:
        raise UserError(f"{args.csv} holds no recording; record with the page's Record button or "
                        "python -m pipeline.detect --camera N --csv FILE.")
    hours = summarise(intervals)
    print(format_table(classes, hours))
    chart = args.chart or args.csv.with_suffix(".png")
    if chart.is_dir() or chart.suffix.lower() != ".png":
        chart = chart / args.csv.with_suffix(".png").name
    try:
        chart.parent.mkdir(parents=True, exist_ok=True)
        plot_mood(classes, [hour.label for hour in hours], [hour.shares for hour in hours],
                  [hour.in_view for hour in hours], chart)
    except OSError as error:
        raise UserError(f"Cannot write the chart to {chart} ({error.strerror or error}); choose a --chart you can write to.") from None
    print(f"chart: {chart}")
    return hours


if __name__ == "__main__":
    main()
