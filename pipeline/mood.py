"""Summarise a recording's expressions per hour, as the page's mood record does.

    python -m pipeline.detect --camera 0 --csv today.csv     # record
    python -m pipeline.mood today.csv                          # summarise: a table and today.png

Reads the CSV that ``pipeline.detect --csv`` writes. In each frame the main face is the largest;
an hour's share of an expression is the mean of that class's score over the hour's frames with a
face in view, which is how the page summarises its record. Camera frames carry the time of day
and are grouped by clock hour; frames of a video file by hours since its start.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from pipeline.errors import UserError, reports_user_errors

FIXED_COLUMNS = ("source", "time_s", "clock", "face", "x", "y", "width", "height", "label")


@dataclass
class Hour:
    """One hour of a recording: its frames, those with a face, and the sum of the main face's scores."""

    label: str
    frames: int = 0
    with_face: int = 0
    sums: np.ndarray | None = field(default=None, repr=False)

    @property
    def shares(self) -> np.ndarray | None:
        return self.sums / self.with_face if self.with_face else None


def read_frames(path: Path) -> tuple[list[str], list[tuple[str, np.ndarray | None]]]:
    """The class names and, per frame in order, its hour label and the main face's scores (or None)."""
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise UserError(f"No file at {path}; give the CSV that python -m pipeline.detect --csv wrote.") from None
    except (OSError, UnicodeDecodeError, csv.Error):
        raise UserError(f"{path} is not a readable CSV file; give the one python -m pipeline.detect --csv wrote.") from None
    if tuple(header[: len(FIXED_COLUMNS)]) != FIXED_COLUMNS or len(header) <= len(FIXED_COLUMNS):
        raise UserError(f"{path} is not a CSV written by python -m pipeline.detect --csv (its columns are "
                        f"{', '.join(header) or 'none'}); record one with --camera N --csv FILE.")
    classes = header[len(FIXED_COLUMNS):]
    frames: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        frames.setdefault((row["source"], row["time_s"] or row["clock"]), []).append(row)
    result = []
    for faces in frames.values():
        first = faces[0]
        hour = (f"{datetime.fromisoformat(first['clock']):%Y-%m-%d %H}:00" if first["clock"]
                else f"{first['source']}, hour {int(float(first['time_s'] or 0) // 3600) + 1}")
        found = [face for face in faces if face["face"] != ""]
        if not found:
            result.append((hour, None))
            continue
        main = max(found, key=lambda face: float(face["width"]) * float(face["height"]))
        result.append((hour, np.array([float(main[name]) for name in classes])))
    return classes, result


def summarise(frames: list[tuple[str, np.ndarray | None]]) -> list[Hour]:
    """Frames grouped into hours, in the order they come."""
    hours: dict[str, Hour] = {}
    for label, scores in frames:
        hour = hours.setdefault(label, Hour(label))
        hour.frames += 1
        if scores is not None:
            hour.with_face += 1
            hour.sums = scores if hour.sums is None else hour.sums + scores
    return list(hours.values())


def format_table(classes: list[str], hours: list[Hour]) -> str:
    lines = [f"{'hour':<22}{'frames':>8}{'face in view':>14}" + "".join(f"{name:>10}" for name in classes)]
    for hour in hours:
        shares = hour.shares
        cells = "".join(f"{share:>10.1%}" for share in shares) if shares is not None else "".join(f"{'-':>10}" for _ in classes)
        lines.append(f"{hour.label:<22}{hour.frames:>8}{hour.with_face / hour.frames:>14.1%}{cells}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.mood",
        description="Summarise the expressions of a pipeline.detect --csv recording per hour: a table and a chart.",
    )
    parser.add_argument("csv", type=Path, metavar="FILE", help="the CSV that python -m pipeline.detect --csv wrote")
    parser.add_argument("--chart", type=Path, metavar="PNG", help="where to write the chart (default: FILE with .png)")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> list[Hour]:
    args = parse_args(argv)
    classes, frames = read_frames(args.csv)
    if not frames:
        raise UserError(f"{args.csv} holds no frames; record one with python -m pipeline.detect --camera N --csv FILE.")
    hours = summarise(frames)
    print(format_table(classes, hours))
    from pipeline.plots import plot_mood

    chart = args.chart or args.csv.with_suffix(".png")
    plot_mood(classes, [hour.label for hour in hours], [hour.shares for hour in hours],
              [hour.with_face / hour.frames for hour in hours], chart)
    print(f"chart: {chart}")
    return hours


if __name__ == "__main__":
    main()
