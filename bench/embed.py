"""python -m bench embed: Mien as other sites embed it, against face-api's minimal page: its npm
package bundled by Vite (examples/vite), webpack 5 and esbuild, each served under a strict
Content-Security-Policy, and /mien.js imported from our server by a page of another site. For
each: ms from navigation to the first result, bytes downloaded, and results per second on a
moving camera-like clip.

The builds are also what tests/test_bundlers.py checks: ``build(name, folder, tarball)`` makes one,
``strict_site(folder)`` serves it."""

from __future__ import annotations

import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from facts import REPO
from pipeline.errors import UserError
from web.package import NAME

EXAMPLES = REPO / "examples"
NODE_BIN = REPO / "node_modules" / ".bin"
# What a same-origin embedder's page sends (README, "Use Mien in your page"; examples/vite/README.md):
# its own origin only, WebAssembly compiled, the camera shown from a mediastream:, photos shown from
# blob: URLs. No inline style is needed (<mien-camera> styles itself with a constructed sheet).
STRICT_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob: mediastream:",
    "style-src 'self'",
])
# The page's own script in the webpack and esbuild apps (and, importing /mien.js by its URL, in the
# page of another site): Mien watches the camera, the page lists the faces.
APP_SCRIPT = """import { Mien } from '%s';

const say = (text) => { document.getElementById('message').textContent = text; };
try {
  const mien = await Mien.create();
  mien.addEventListener('result', ({ detail }) => document.getElementById('faces').replaceChildren(
    ...detail.faces.map((face) => Object.assign(document.createElement('li'), { textContent: face.label }))));
  mien.addEventListener('error', ({ detail }) => say(detail.message));
  await mien.watch(await navigator.mediaDevices.getUserMedia({ video: true }));
} catch (error) {
  say(error.message);
}
"""
APP_BODY = '<ul id="faces"></ul><p id="message" role="status"></p>'


def app_page(title: str, script: str) -> str:
    return f'<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">\n{APP_BODY}\n{script}\n</html>\n'


def run_tool(command: list, cwd: Path) -> str:
    """Run a build step; a failure raises with what it printed."""
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def install(project: Path, tarball: Path) -> None:
    """The packed package into ``project``, as a user installs it (it depends on nothing)."""
    if not (project / "package.json").exists():
        (project / "package.json").write_text(json.dumps({"name": f"embed-{project.name}", "private": True, "type": "module"}))
    run_tool(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", tarball], project)


def build_vite(folder: Path, tarball: Path) -> Path:
    """examples/vite built by Vite (no configuration, not minified): dist/."""
    shutil.copytree(EXAMPLES / "vite", folder, ignore=shutil.ignore_patterns("node_modules", "dist"), dirs_exist_ok=True)
    install(folder, tarball)
    run_tool([NODE_BIN / "vite", "build", "--minify", "false"], folder)
    return folder / "dist"


def build_webpack(folder: Path, tarball: Path) -> Path:
    """src/index.js bundled by webpack 5 with no configuration (production, not minified): dist/."""
    install(folder, tarball)
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "index.js").write_text(APP_SCRIPT % NAME)
    run_tool([NODE_BIN / "webpack", "--mode", "production", "--no-optimization-minimize"], folder)
    (folder / "dist" / "index.html").write_text(app_page("Mien bundled by webpack", '<script src="main.js"></script>'))
    return folder / "dist"


def build_esbuild(folder: Path, tarball: Path) -> Path:
    """src/index.js bundled by esbuild, then the one copy step: the package's static/, vendor/ and
    models/ next to the bundle, where its relative URLs lead: public/."""
    install(folder, tarball)
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "index.js").write_text(APP_SCRIPT % NAME)
    public = folder / "public"
    run_tool([NODE_BIN / "esbuild", "src/index.js", "--bundle", "--format=esm", f"--outfile={public / 'app.js'}"], folder)
    for name in ("static", "vendor", "models"):
        shutil.copytree(folder / "node_modules" / NAME / name, public / name)
    (public / "index.html").write_text(app_page("Mien bundled by esbuild", '<script type="module" src="app.js"></script>'))
    return public


BUILDS = {"vite": build_vite, "webpack": build_webpack, "esbuild": build_esbuild}


def build(name: str, folder: Path, tarball: Path) -> Path:
    """Build the app of bundler ``name`` in ``folder`` (an empty project) from ``tarball``; returns
    the folder to serve, whose index.html is the app."""
    folder.mkdir(parents=True, exist_ok=True)
    return BUILDS[name](folder, tarball)


def cross_origin_page(folder: Path, server: str) -> Path:
    """A page of another site importing /mien.js from our server at ``server``: ``folder``/index.html."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(app_page("Mien from another site", f'<script type="module">\n{APP_SCRIPT % (server + "/mien.js")}</script>'))
    return folder


@contextmanager
def strict_site(folder: Path, csp: str | None = STRICT_CSP, host: str = "127.0.0.1", headers: dict | None = None):
    """``folder`` served by a plain static server that sends ``csp`` (None: no header of its own)
    and ``headers``; yields its URL. ``host="localhost"`` makes it another site than our server at
    127.0.0.1."""
    class Handler(SimpleHTTPRequestHandler):
        extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript",
                          ".mjs": "text/javascript", ".json": "application/json"}

        def log_message(self, *args):
            pass

        def end_headers(self):
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.send_header("Cache-Control", "no-cache")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            super().end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- the benchmark --------------------------------------------------------------------------------

# Before any script of a measured page: every `result` event dispatched by a Mien (an EventTarget
# that is no element, so <mien-camera>'s own re-dispatch is not counted twice), with when it came
# (ms since navigation started) and whether it had a face.
RECORDER = """(() => {
  const record = { times: [], faces: [] };
  window.__embedRecord = record;
  const dispatch = EventTarget.prototype.dispatchEvent;
  EventTarget.prototype.dispatchEvent = function (event) {
    if (event.type === 'result' && !(this instanceof Node) && Array.isArray(event.detail?.faces)) {
      record.times.push(performance.now());
      record.faces.push(event.detail.faces.length);
    }
    return dispatch.call(this, event);
  };
})();"""
# face-api's minimal page, as its README has it (TinyFaceDetector and FaceExpressionNet on a shown
# video, in a loop), on TF.js's WebAssembly backend like Mien here; each detection is posted as a
# `result` event so the same recorder counts it.
FACE_API_SCRIPT = """const video = document.getElementById('video');
const events = new EventTarget();
(faceapi.tf.wasm?.setWasmPaths ?? faceapi.tf.setWasmPaths)?.('wasm/');
await faceapi.tf.setBackend('wasm');
await faceapi.tf.ready();
await faceapi.nets.tinyFaceDetector.loadFromUri('model');
await faceapi.nets.faceExpressionNet.loadFromUri('model');
video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
await video.play();
const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
const loop = async () => {
  const found = await faceapi.detectAllFaces(video, options).withFaceExpressions();
  const faces = found.map(({ detection, expressions }) => ({ box: detection.box, label: expressions.asSortedArray()[0].expression }));
  document.getElementById('faces').replaceChildren(...faces.map((face) => Object.assign(document.createElement('li'), { textContent: face.label })));
  events.dispatchEvent(new CustomEvent('result', { detail: { faces } }));
  requestAnimationFrame(loop);
};
requestAnimationFrame(loop);
"""
FACE_API_FILES = {  # from node_modules: the script, its two models, and the wasm binaries its TF.js asks for
    "face-api.js": "@vladmandic/face-api/dist/face-api.js",
    **{f"model/{name}": f"@vladmandic/face-api/model/{name}" for name in (
        "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model.bin",
        "face_expression_model-weights_manifest.json", "face_expression_model.bin")},
    **{f"wasm/{name}": f"@tensorflow/tfjs-backend-wasm/dist/{name}" for name in (
        "tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm")},
}
ROWS = {
    "vite": "Vite 8, examples/vite (<mien-camera>), no config",
    "webpack": "webpack 5, no config",
    "esbuild": "esbuild, + copy static/ vendor/ models/",
    "cross-origin": "/mien.js imported by another site",
    "face-api": "face-api minimal page (peer)",
}


def face_api_page(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for target, source in FACE_API_FILES.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "node_modules" / source, folder / target)
    (folder / "app.js").write_text(FACE_API_SCRIPT)
    (folder / "index.html").write_text(
        '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>face-api</title><link rel="icon" href="data:,">\n'
        f'<video id="video" muted playsinline width="640"></video>{APP_BODY}\n'
        '<script src="face-api.js"></script><script type="module" src="app.js"></script>\n</html>\n')
    return folder


def add_arguments(parser) -> None:
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS), help="what to measure (default: all)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds results are counted, after the warm-up (default: 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds after the first result before counting (default: 2)")
    parser.add_argument("--visits", type=int, default=3, help="cold visits of each page; medians are given (default: 3)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for a page's first result (default: 180)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default: docs/bench/embed.json)")


def check_arguments(args) -> None:
    """Everything a run needs, before anything is built or measured; a UserError says what is missing."""
    # --seconds, --warmup, --timeout, --visits and --out: python -m bench checks them for every benchmark.
    if shutil.which("npm") is None:
        raise UserError("npm is needed to pack and install Mien's package; install Node.js and npm.")
    needed = [NODE_BIN / name for name in ("vite", "webpack", "esbuild") if name in args.rows]
    needed += [REPO / "node_modules" / source for source in FACE_API_FILES.values()] if "face-api" in args.rows else []
    missing = [path for path in needed if not path.exists()]
    if missing:
        raise UserError(f"{missing[0]} is missing; run npm ci (make bench does) and try again.")
    from bench.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        raise UserError(f"Chromium is not installed at {CHROMIUM}; install Debian's chromium package.")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    from bench.browser import camera_flags, chromium, write_camera_clip
    from bench.pictures import face_frame, webcam
    from bench.results import BENCH_DOCS, publish
    from bench.server import BenchServer
    from web.package import main as package

    check_arguments(args)
    out = args.out or BENCH_DOCS / "embed.json"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    uncommitted = subprocess.run(["git", "status", "--porcelain", "--", "component", "page", "web"], cwd=REPO, capture_output=True,
                                 text=True).stdout.split("\n")
    results = {"clip": "640x480 fake webcam: a 70 px face sliding 1 px a frame, fresh noise each frame (bench.pictures.webcam)",
               "seconds": args.seconds, "warmup": args.warmup, "visits": args.visits, "commit": commit,
               "uncommitted": [line[3:] for line in uncommitted if line.strip()], "csp": STRICT_CSP, "rows": []}
    with tempfile.TemporaryDirectory() as scratch, BenchServer() as server, sync_playwright() as playwright:
        scratch = Path(scratch)
        print("packing and building ...", file=sys.stderr)
        tarball = package(["--out", str(scratch)])
        sites = {}
        for name in ROWS:
            if name not in args.rows:
                continue
            if name in BUILDS:
                started = time.monotonic()
                sites[name] = (build(name, scratch / name, tarball), STRICT_CSP, "127.0.0.1", time.monotonic() - started)
            elif name == "cross-origin":
                sites[name] = (cross_origin_page(scratch / name, server.url), None, "localhost", None)
            else:
                sites[name] = (face_api_page(scratch / name), None, "127.0.0.1", None)
        clip = write_camera_clip(scratch / "moving.y4m", webcam(face_frame(70), moving=True))
        visits = {name: [] for name in sites}
        with chromium(playwright, *camera_flags(clip)) as browser:
            for round_ in range(args.visits):  # the rows in turns, so that no row is always the browser's first
                for name, (folder, csp, host, _) in sites.items():
                    print(f"{name}, visit {round_ + 1} of {args.visits} ...", file=sys.stderr)
                    with strict_site(folder, csp, host) as url:
                        visits[name].append(visit(browser, f"{url}/index.html", args))
        for name, (folder, csp, _, build_s) in sites.items():
            measured = visits[name]
            results["rows"].append({
                "name": name, "what": ROWS[name], "csp": csp, "build_s": build_s,
                "served_bytes": folder_bytes(folder) if name in BUILDS else None,
                **{key: statistics.median(v[key] for v in measured) for key in ("first_result_ms", "first_face_ms", "results_per_s")},
                "downloaded_bytes": max(v["downloaded_bytes"] for v in measured), "requests": measured[0]["requests"],
                "files": measured[0]["files"], "errors": [error for v in measured for error in v["errors"]], "visits": measured})
    return publish("embed", results, embed_table(results), out)


def visit(browser, url: str, args) -> dict:
    """One cold visit (a fresh browser context, nothing cached): ms from navigation to the first
    result and to the first with a face, bytes downloaded, results per second after the warm-up."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(RECORDER)
    page = context.new_page()
    finished, errors = [], []
    page.on("requestfinished", lambda request: finished.append(request))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(url)
        page.wait_for_function("() => window.__embedRecord.faces.some((count) => count > 0)", timeout=args.timeout * 1000)
        time.sleep(args.warmup)
        before = page.evaluate("() => [window.__embedRecord.times.length, performance.now()]")
        time.sleep(args.seconds)
        after = page.evaluate("() => [window.__embedRecord.times.length, performance.now()]")
        record = page.evaluate("() => window.__embedRecord")
        first_face = next(time_ms for time_ms, count in zip(record["times"], record["faces"]) if count > 0)
        return {"first_result_ms": record["times"][0], "first_face_ms": first_face,
                "results_per_s": (after[0] - before[0]) / (after[1] - before[1]) * 1000,
                "faces_in_last": record["faces"][-1], "downloaded_bytes": downloaded(finished),
                "requests": len({request.url for request in finished}), "files": downloaded(finished, each=True),
                "label": page.evaluate("() => document.querySelector('#faces li')?.textContent ?? null"), "errors": errors}
    finally:
        context.close()


def downloaded(requests, each: bool = False):
    """Bytes of the bodies of the responses (each URL once: a second fetch of it came from the cache);
    ``each``: by URL path."""
    sizes = {}
    for request in requests:
        if request.url.startswith(("data:", "blob:")):
            continue
        response = request.response()
        size = request.sizes()["responseBodySize"]
        if not size and response is not None and response.status == 200:  # a worker's own script reports none
            size = int(response.headers.get("content-length") or 0)
        sizes[request.url] = max(size, sizes.get(request.url, 0))
    return {urlsplit(url).path: size for url, size in sizes.items()} if each else sum(sizes.values())


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def embed_table(results: dict) -> str:
    lines = ["| how the page gets it | first result, ms from navigation | first face, ms | downloaded MB | requests "
             "| results/s (moving clip) | build s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in results["rows"]:
        build_s = f"{row['build_s']:.1f}" if row["build_s"] is not None else "-"
        lines.append(f"| {row['what']} | {row['first_result_ms']:.0f} | {row['first_face_ms']:.0f} "
                     f"| {row['downloaded_bytes'] / 1e6:.2f} | {row['requests']} | {row['results_per_s']:.1f} | {build_s} |")
    changed = f" with uncommitted changes to {', '.join(results['uncommitted'])}" if results["uncommitted"] else ""
    lines.append(f"\nMedians of {results['visits']} cold visits each (a fresh browser context; the rows in turns), headless Chromium, commit {results['commit']}{changed}. "
                 f"Clip: {results['clip']}; results counted over {results['seconds']:g} s after {results['warmup']:g} s. "
                 f"Bundled apps served under: {results['csp']}.")
    errors = [f"{row['name']}: {row['errors'][0]}" for row in results["rows"] if row["errors"]]
    if errors:
        lines.append("\nPage errors: " + "; ".join(errors))
    return "\n".join(lines)
