"""The page installable and usable offline: its web app manifest and its service worker.

/sw.js is web/service-worker.js with, before it, what it keeps (every URL the page fetches to start
and run) and a hash of their content, which names the browser's cache. A change to any of those
files changes the script, so the browser installs the new version in the background (README:
Install it, use it offline). The list is derived from what is served, never kept by hand: the
files of page/ and component/ (the page, its modules, styles and icons; the component and its
modules), each at its path in its folder, which is laid out as served; the vendored files
(VENDOR_FILES), every usable model folder under /models/, and the two answers the page reads at
start. The page registers the worker (page/static/js/offline.js); the component never does.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from flask import Flask, Response, request

from facts import VENDOR_FILES, vendored_file
from web import ModelFolders, send_inside

SERVICE_WORKER = Path(__file__).with_name("service-worker.js")
MANIFEST = "manifest.webmanifest"  # in page/, served at /manifest.webmanifest
# The page's start reads the model list and the server's health; kept as the server answered them.
ANSWERS = ("/models.json", "/healthz")


def page_files(app: Flask, models: ModelFolders) -> dict[str, Path]:
    """Every file the page fetches to start and run, by its URL, sorted."""
    files = {}
    for root in (app.config["COMPONENT_DIR"], app.config["PAGE_DIR"]):
        for folder, subfolders, names in os.walk(root):
            # Dotfolders are never served; models are served by what is usable (below), not as files.
            subfolders[:] = [name for name in subfolders if not name.startswith(".")
                             and Path(folder, name) != root / "models"]
            for name in names:
                path = Path(folder) / name
                relative = path.relative_to(root).as_posix()
                # Types (.d.ts) and notes (.md) are for people and editors, never fetched by a browser; a
                # link out of the folder is not served.
                if name.startswith(".") or name.endswith((".d.ts", ".md")) or not path.resolve().is_relative_to(root):
                    continue
                files["/" if relative == "index.html" else f"/{relative}"] = path
    for package, (_, names) in VENDOR_FILES.items():
        for name in names:
            path = vendored_file(package, name, app.config["VENDOR_DIR"])
            if path.is_file():  # a missing one is /healthz's to report
                files[f"/vendor/{package}/{name}"] = path
    for folder, _ in models.usable():
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                files[f"/models/{folder.name}/{path.name}"] = path
    return dict(sorted(files.items()))


class OfflineCopy:
    """What the service worker keeps: the URLs and the hash of their content (and of the worker's
    own code), computed again only when a file's size or time changes, not on every request."""

    def __init__(self, app: Flask, models: ModelFolders):
        self.app, self.models = app, models
        self._lock = threading.Lock()
        self._seen = None
        self._current: dict = {}

    def current(self) -> dict:
        """``{"version": the hash, "urls": [...]}``."""
        files = {**page_files(self.app, self.models), "/sw.js": SERVICE_WORKER}
        seen = [(url, str(path), path.stat().st_size, path.stat().st_mtime_ns) for url, path in files.items()]
        with self._lock:
            if seen != self._seen:
                digest = hashlib.sha256()
                for url, path in files.items():
                    digest.update(f"{url}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\0".encode())
                digest.update("\0".join(ANSWERS).encode())
                urls = [url for url in files if url != "/sw.js"] + list(ANSWERS)
                self._current = {"version": digest.hexdigest()[:16], "urls": urls}
                self._seen = seen
            return self._current


def add_offline_routes(app: Flask, models: ModelFolders) -> OfflineCopy:
    """/sw.js and /manifest.webmanifest on ``app``."""
    copy = OfflineCopy(app, models)

    @app.get("/sw.js")
    def service_worker():
        """The service worker, at the root so that its scope is the whole site."""
        script = f"const OFFLINE = {json.dumps(copy.current())};\n\n{SERVICE_WORKER.read_text()}"
        response = Response(script, mimetype="text/javascript")
        response.add_etag()
        return response.make_conditional(request)

    @app.get(f"/{MANIFEST}")
    def manifest():
        """The web app manifest: name, icons, start URL, standalone display."""
        return send_inside(app.config["PAGE_DIR"], MANIFEST)

    return copy
