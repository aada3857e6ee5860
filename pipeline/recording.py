"""The CSV files of a recording: what the page's Export CSV and ``pipeline.detect --csv`` write
and ``pipeline.mood`` reads. Cells are formula-safe, as OWASP's CSV-injection advice asks: a cell
that a spreadsheet would run as a formula (one starting with = + - @, a tab or a carriage return)
is written with a single quote before it, which readers here take off again."""

from __future__ import annotations

DETECT_COLUMNS = ("source", "time_s", "clock", "face", "x", "y", "width", "height", "label")
PAGE_COLUMNS = ("time", "seconds", "face_in_view", "label")
PROFILE_COLUMN = "profile"  # after label in the page's CSV: the profile the faces were read with (since it has profiles)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def guarded(cell) -> str:
    """A cell as a formula-safe CSV holds it. Numbers are numbers: only text is guarded."""
    text = str(cell)
    return GUARD + text if isinstance(cell, str) and text.startswith(FORMULA_STARTS) else text


def unguarded(cell: str) -> str:
    """A cell as it was before :func:`guarded`."""
    return cell[1:] if cell.startswith(GUARD) and cell[1:].startswith(FORMULA_STARTS) else cell
