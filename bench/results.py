"""What every benchmark does with its figures: summarise times, write the JSON file, and write a
table into the model card between its markers."""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

from facts import REPO

BENCH_DOCS = REPO / "docs" / "bench"
MODEL_CARD = REPO / "docs" / "model-card.md"


def summarise(times: list[float]) -> dict:
    """Median, 90th percentile and count of a list of milliseconds."""
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered), "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "frames": len(ordered)}


def write_json(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}", file=sys.stderr)


def card_markers(name: str) -> tuple[str, str]:
    """The model card's markers around the table of benchmark ``name``."""
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_into_card(card: Path, name: str, table: str) -> None:
    """Put ``table`` between the markers of benchmark ``name`` in ``card`` (added at its end if missing)."""
    start, end = card_markers(name)
    text = card.read_text() if card.exists() else f"{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    card.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))
    print(f"table written into {card}", file=sys.stderr)


def publish(name: str, results: dict, table: str, out: Path, card: str | None = None) -> dict:
    """Print a benchmark's table, write its figures to ``out`` and, given a ``card``, its table there."""
    print(table)
    write_json(out, results)
    if card:
        write_into_card(Path(card), name, table)
    return results
