"""The page under test: our server on a free port, pages opened in Chromium, their state read."""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(*args: str):
    """Run ``python -m web`` on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "web", "--port", str(port), *args], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/models.json", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("python -m web did not start")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait()


@contextmanager
def other_site(folder: Path, headers: dict | None = None):
    """``folder`` served by a plain static server, reached as http://localhost:PORT: another site
    than our server at 127.0.0.1, with CORS (what any CDN sends, so that Mien's worker may fetch
    from it) and ``headers`` (a Content-Security-Policy, say), and no isolation."""
    class Quiet(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".wasm": "application/wasm"}

        def log_message(self, *args):
            pass

        def end_headers(self):
            for name, value in {"Access-Control-Allow-Origin": "*", **(headers or {})}.items():
                self.send_header(name, value)
            super().end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()


def open_page(browser, url: str):
    """A new page at ``url``, ready once the page says so; returns (page, requests, errors)."""
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function("() => window.mien && window.mien.state.backend && !document.querySelector('#camera-toggle').disabled",
                           timeout=90_000)
    return page, requests, errors


def state(page) -> dict:
    return page.evaluate("() => window.mien.state")


def start_camera(page):
    page.click("#camera-toggle")


def analysis_worker(page):
    """The page's analysis worker, where TF.js runs (its global ``tf`` can be evaluated there)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for worker in page.workers:
            if worker.url.endswith("/static/js/analysis-worker.js"):
                return worker
        time.sleep(0.1)
    raise AssertionError("the page started no analysis worker")


def wait_for_faces(page, count: int = 1, timeout: float = 60_000) -> list[dict]:
    page.wait_for_function(f"() => window.mien.state.faces.length >= {count}", timeout=timeout)
    return state(page)["faces"]


def message(page, topic: str) -> str:
    """The page's message about ``topic`` (backend, model, camera, photo), once there is one."""
    selector = f'#messages [data-topic="{topic}"]'
    page.wait_for_selector(selector, timeout=30_000)
    return page.text_content(selector)
