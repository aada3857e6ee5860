"""python -m bench frames: what each way of reading a shown webcam video's pixels costs per frame."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.browser import camera_flags, chromium, write_camera_clip
from bench.pictures import astronaut_frame
from bench.results import BENCH_DOCS, publish, summarise
from bench.server import BenchServer


def add_arguments(parser) -> None:
    parser.add_argument("--frames", type=int, default=60, help="frames timed per way (default: 60)")
    parser.add_argument("--out", type=Path, default=BENCH_DOCS / "frames.json")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    results = {"frame": "640x480 fake-webcam video, shown mirrored as on the page", "rows": []}
    with tempfile.TemporaryDirectory() as folder, BenchServer() as server, sync_playwright() as playwright, \
            chromium(playwright, *camera_flags(write_camera_clip(Path(folder) / "clip.y4m", astronaut_frame()))) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{server.url}/bench/frames.html")
        page.wait_for_function("() => window.bench !== undefined")
        for way in page.evaluate("() => window.bench.ways"):
            print(f"{way} ...", file=sys.stderr)
            record = page.evaluate("([way, frames]) => window.bench.measure(way, frames)", [way, args.frames])
            results["rows"].append({"way": way, **summarise(record["times"]),
                                    "long_tasks_per_s": record["longTasks"] / record["seconds"]})
        page.close()
    lines = ["| way | median ms | p90 ms | long tasks/s |", "|---|---:|---:|---:|"]
    lines += [f"| {row['way']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['long_tasks_per_s']:.2f} |"
              for row in results["rows"]]
    return publish("frames", results, "\n".join(lines), args.out)
