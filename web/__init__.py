"""Mien's web server: the page, the exported models and the browser packages, from one origin.

    python -m web                    # production server (waitress)
    flask --app web run              # development server

Nothing the page needs comes from another host: TF.js, its wasm binaries, the face detector's
weights, Dexie and uPlot are served from vendor/, where ``python -m web.vendor`` puts the files
listed in VENDOR_FILES out of their npm packages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, request, send_from_directory

from facts import COMPONENT_DIR, MODEL_DIR, PAGE_DIR, REPO, VENDOR_DIR, VENDOR_FILES, vendored_file
from facts.tfjs_files import bytes_needed, read_manifest, shard_paths

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
EXAMPLE_PAGE = REPO / "examples" / "index.html"
INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.+?)</script>", re.S)  # a script with its code in the page
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

# The component (component/mien.js) and everything it loads, which pages of other origins may use:
# CORS and cross-origin resource policy let them, with or without cross-origin isolation.
COMPONENT_FILES = ("mien.js", "mien-camera.js", "mien.d.ts", "mien-camera.d.ts")
SHARED_PATHS = tuple(f"/{name}" for name in COMPONENT_FILES) + ("/static/", "/vendor/", "/models/")
SHARED_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
}

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("application/typescript", ".ts")  # the types (.d.ts); left alone, Python may say Qt Linguist
mimetypes.add_type("application/manifest+json", ".webmanifest")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Config keys: COMPONENT_DIR, PAGE_DIR, MODEL_DIR, VENDOR_DIR (paths). The
    component's and the page's folders are laid out as served: /static/ is their static/ folders
    (their files apart), the component's files at the root. Other rooms (the benchmarks) add their
    routes to it as blueprints."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(COMPONENT_DIR=COMPONENT_DIR, PAGE_DIR=PAGE_DIR, MODEL_DIR=MODEL_DIR, VENDOR_DIR=VENDOR_DIR)
    app.config.update(config or {})
    for key in ("COMPONENT_DIR", "PAGE_DIR", "MODEL_DIR", "VENDOR_DIR"):
        app.config[key] = Path(app.config[key]).resolve()

    offered = ModelFolders(app.config["MODEL_DIR"])

    @app.get("/")
    def index():
        return send_inside(app.config["PAGE_DIR"], "index.html")

    @app.get("/static/<path:filename>")
    def static_files(filename):
        """The component's modules and data, or the page's modules, styles and icons."""
        component = app.config["COMPONENT_DIR"] / "static"
        return send_inside(component if (component / filename).is_file() else app.config["PAGE_DIR"] / "static", filename)

    @app.get("/<any(" + ", ".join(f"'{name}'" for name in COMPONENT_FILES) + "):name>")
    def component(name):
        """The component any page can import (README: Use Mien in your page), at a stable URL."""
        return send_inside(app.config["COMPONENT_DIR"], name)

    @app.get("/examples/")
    def example():
        """examples/index.html, the README's whole page that uses the component (nothing else of examples/)."""
        return send_inside(EXAMPLE_PAGE.parent, EXAMPLE_PAGE.name)

    @app.get("/models.json")
    def models():
        """The usable models, the default first, each with its URL; then the siblings left out, each
        with the sentence that says why (the default's own problem is /healthz's)."""
        default = app.config["MODEL_DIR"]
        return jsonify([{"id": folder.name, "url": f"/models/{folder.name}/", "default": folder == default, **summary}
                        for folder, summary in offered.usable()]
                       + [{"id": folder.name, "problem": summary["problem"]}
                          for folder, summary in offered.summaries() if not summary["ok"] and folder != default])

    @app.get("/models/<name>/<path:filename>")
    def model_files(name, filename):
        folders = {folder.name: folder for folder, _ in offered.usable()}
        if name not in folders:
            abort(404)
        return send_inside(folders[name], filename)

    @app.get("/vendor/<package>/<path:filename>")
    def vendor(package, filename):
        if package not in VENDOR_FILES or filename not in VENDOR_FILES[package][1]:
            abort(404)
        return send_inside(app.config["VENDOR_DIR"] / VENDOR_FILES[package][0], filename)

    @app.get("/healthz")
    def healthz():
        health = check_health(app)
        return jsonify(health), 200 if health["ok"] else 503

    from web.offline import add_offline_routes  # (imports this module)
    add_offline_routes(app, offered)  # /sw.js and /manifest.webmanifest: the page installable, and offline

    @app.after_request
    def headers(response):
        response.headers.update(SECURITY_HEADERS)
        if request.path == "/examples/" and EXAMPLE_PAGE.is_file():  # the example's own inline script may run, by its hash
            response.headers["Content-Security-Policy"] = example_policy(EXAMPLE_PAGE)
        if request.path.startswith(SHARED_PATHS):  # the component's files, for pages of any origin
            response.headers.update(SHARED_HEADERS)
        response.headers["Cache-Control"] = "no-cache"  # always revalidate; unchanged files answer 304
        if response.location:  # redirect within this site only, whatever Host the request named
            target = urlsplit(response.location)
            response.location = target.path + (f"?{target.query}" if target.query else "")
        return response

    return app


def example_policy(page: Path) -> str:
    """The site's Content-Security-Policy, letting ``page``'s own inline scripts run (by their SHA-256)."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
                      for script in INLINE_SCRIPT.findall(page.read_text()))
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}", 1)


def send_inside(folder: Path, filename: str):
    """Send ``folder/filename``, but never a dotfile, a name no file can have (a NUL byte) nor a file
    that a link places outside ``folder``."""
    if "\0" in filename or any(part.startswith(".") for part in PurePosixPath(filename).parts):
        abort(404)
    root = folder.resolve()
    if not (root / filename).resolve().is_relative_to(root):
        abort(404)
    return send_from_directory(root, filename)


class ModelFolders:
    """The default model folder and its siblings named like it (``model-7``), each with a summary.

    The default comes first. The folders are read once and again only when a file in them changes
    (its size or time), not on every request; a broken one is left out alone, never with the others.
    """

    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self._lock = threading.Lock()
        self._seen = None
        self._summaries: list[tuple[Path, dict]] = []

    def candidates(self) -> list[Path]:
        return [self.model_dir, *sorted(path for path in self.model_dir.parent.glob(f"{self.model_dir.name}-*")
                                        if path.is_dir())]

    def summaries(self) -> list[tuple[Path, dict]]:
        """Every candidate folder with its summary (read_model_summary)."""
        candidates = self.candidates()
        seen = [(folder, file_stamps(folder)) for folder in candidates]
        with self._lock:
            if seen != self._seen:
                self._summaries = [(folder, read_model_summary(folder)) for folder in candidates]
                self._seen = seen
            return self._summaries

    def usable(self) -> list[tuple[Path, dict]]:
        return [(folder, summary) for folder, summary in self.summaries() if summary["ok"]]


def file_stamps(folder: Path) -> list[tuple[str, int, int]] | None:
    """Name, size and modification time of each file in ``folder`` (None if it cannot be read)."""
    try:
        return sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in os.scandir(folder))
    except OSError:
        return None


def read_model_summary(folder: Path) -> dict:
    """What /healthz and /models.json say of a model folder; ``problem`` is one sentence, which names the
    folder by its name alone (the server's own paths are no visitor's business)."""
    name = f"{folder.name}/"
    try:
        metadata = json.loads((folder / "metadata.json").read_text())
        manifest = read_manifest(folder / "model.json")
        shards = shard_paths(folder, manifest)
        missing = [shard.name for shard in shards if not shard.is_file()]
        if missing:
            return {"ok": False, "problem": f"{name} lacks the weight file {missing[0]}; export the model again."}
        held, needed = sum(shard.stat().st_size for shard in shards), bytes_needed(manifest)
        if held != needed:
            return {"ok": False, "problem": f"The weight files in {name} hold {held:,} bytes where model.json "
                    f"needs {needed:,} (a copy cut short?); export the model again."}
        classes, outputs = metadata["classes"], class_outputs(manifest, metadata)
        if not isinstance(classes, list) or not all(isinstance(name, str) and name for name in classes):
            return {"ok": False, "problem": f"The metadata.json in {name} gives no list of class names; export the "
                    "model again."}
        if len(classes) != outputs:
            return {"ok": False, "problem": f"The model in {name} names {len(classes)} classes for its {outputs} "
                    "outputs, so its scores would be read under the wrong names; export it again."}
        return {"ok": True, "classes": classes, "quantization": metadata.get("quantization"),
                "validation_accuracy": metadata.get("source", {}).get("validation_accuracy")}
    except FileNotFoundError as missing:
        return {"ok": False, "problem": f"No model in {name} ({Path(missing.filename).name} is missing); "
                "run python -m exporters.to_tfjs to export one."}
    except (ValueError, KeyError, TypeError):
        return {"ok": False, "problem": f"The model in {name} is damaged (unreadable metadata.json or "
                "model.json); run python -m exporters.to_tfjs again."}


def class_outputs(manifest: dict, metadata: dict) -> int:
    """How many class scores a TF.js model gives: the last dimension of the output metadata.json names."""
    outputs = manifest["signature"]["outputs"]
    spec = outputs.get(metadata.get("output", {}).get("name")) or next(iter(outputs.values()))
    return int(spec["tensorShape"]["dim"][-1]["size"])


def check_health(app: Flask) -> dict:
    """Whether the default model and every vendor file are in place."""
    model = read_model_summary(app.config["MODEL_DIR"])
    missing = [f"{folder}/{name}" for package, (folder, names) in VENDOR_FILES.items()
               for name in names if not vendored_file(package, name, app.config["VENDOR_DIR"]).is_file()]
    vendor = {"ok": not missing, "missing": missing}
    if missing:
        vendor["problem"] = (f"{len(missing)} browser package file(s) are missing; run python -m web.vendor "
                             "(make serve does).")
    return {"ok": model["ok"] and vendor["ok"], "model": model, "vendor": vendor}
