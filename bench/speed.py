"""python -m bench speed: the live page as a visitor uses it, against face-api live, on the same
fake webcam: ms per 640x480 frame, frames analysed per second, main-thread long tasks."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.browser import camera_flags, chromium, run_in_page, write_camera_clip
from bench.pictures import astronaut_frame
from bench.results import BENCH_DOCS, publish, summarise
from bench.server import BenchServer

# Installed in the live page before its camera starts: records each camera frame's analysis time
# from the page's own results, and the main thread's long tasks (over 50 ms).
LIVE_RECORDER = """() => {
  const record = { times: [], longTasks: 0, faces: 0, recording: false, started: 0 };
  window.mien.events.addEventListener('result', ({ detail }) => {
    if (!record.recording || detail.source !== 'camera') return;
    record.times.push(detail.ms);
    record.faces = detail.faces.length;
  });
  new PerformanceObserver((list) => { if (record.recording) record.longTasks += list.getEntries().length; })
    .observe({ type: 'longtask' });
  window.benchRecord = {
    start() { Object.assign(record, { recording: true, started: performance.now() }); },
    stop() {
      record.recording = false;
      const { msPerFrame, fps, frameSource, backend } = window.mien.state;
      return { ...record, seconds: (performance.now() - record.started) / 1000, meter: { msPerFrame, fps }, frameSource, backend };
    },
  };
}"""
FRAME_SOURCES = {"track": "camera track streamed to the worker", "bitmap": "ImageBitmap of the shown video"}


def add_arguments(parser) -> None:
    parser.add_argument("--backends", nargs="+", default=["wasm", "webgl"], choices=["wasm", "webgl", "cpu"])
    parser.add_argument("--frame-sources", nargs="+", default=list(FRAME_SOURCES), choices=list(FRAME_SOURCES),
                        help="how camera frames reach the page's worker (default: both)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds each live run is measured (default: 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each live run before measuring (default: 3)")
    parser.add_argument("--frames", type=int, default=50, help="frames timed per model-only run (default: 50)")
    parser.add_argument("--budget", type=float, default=30, help="at most this many seconds per model-only run (default: 30)")
    parser.add_argument("--out", type=Path, default=BENCH_DOCS / "speed.json")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    results = {"frame": "640x480 fake-webcam video of one face (scikit-image astronaut)", "seconds": args.seconds,
               "window": "1280x800", "rows": []}
    with tempfile.TemporaryDirectory() as folder, BenchServer(MODEL_DIR=args.model_dir) as server, \
            sync_playwright() as playwright, \
            chromium(playwright, *camera_flags(write_camera_clip(Path(folder) / "clip.y4m", astronaut_frame()))) as browser:
        results["webgl_renderer"] = run_renderer(browser, server.url)
        for backend in args.backends:
            print(f"face-api live on {backend} ...", file=sys.stderr)
            peer = run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiLive", backend, args.seconds, args.warmup)
            print(f"model only on {backend} ...", file=sys.stderr)
            budget = {"frames": args.frames, "budgetMs": args.budget * 1000}
            model_only = {
                "mien": summarise(run_in_page(browser, f"{server.url}/bench/mien.html", "mienSpeed", backend,
                                              model_url(args), budget)["times"]),
                "face_api": summarise(run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiSpeed",
                                                  backend, budget)["times"]),
            }
            for source in args.frame_sources:
                print(f"Mien's page live on {backend}, frames by {source} ...", file=sys.stderr)
                mien = live_page(browser, server.url, backend, source, args.seconds, args.warmup)
                results["rows"].append({"backend": backend, "frame_source": source, "mien": live_summary(mien),
                                        "face_api": live_summary(peer), "model_only": model_only})
    return publish("speed", results, speed_table(results), args.out)


def model_url(args) -> str:
    """Where the server offers the model of --model-dir: under its folder's name."""
    return f"/models/{Path(args.model_dir).name}/"


def live_page(browser, url: str, backend: str, source: str, seconds: float, warmup: float) -> dict:
    """The page as a visitor uses it: camera started with its button, video shown, its own loop."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{url}/?backend={backend}&frames={source}")
        page.wait_for_function("() => window.mien && window.mien.state.backend && !document.querySelector('#camera-toggle').disabled",
                               timeout=120_000)
        page.evaluate(LIVE_RECORDER)
        page.click("#camera-toggle")
        page.wait_for_function("() => window.mien.state.frames > 0", timeout=120_000)
        time.sleep(warmup)
        page.evaluate("() => window.benchRecord.start()")
        time.sleep(seconds)
        return page.evaluate("() => window.benchRecord.stop()")
    finally:
        page.close()


def live_summary(record: dict) -> dict:
    """Median and p90 ms per frame, frames analysed and long tasks per second, of a live record."""
    seconds = record["seconds"]
    summary = {**summarise(record["times"]), "fps": len(record["times"]) / seconds,
               "long_tasks_per_s": record["longTasks"] / seconds, "faces": record["faces"]}
    if "meter" in record:
        summary["meter"] = record["meter"]
    return summary


def run_renderer(browser, url: str) -> str:
    page = browser.new_page()
    page.goto(f"{url}/bench/mien.html")
    renderer = page.evaluate("""() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
      return gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none';
    }""")
    page.close()
    return renderer


def speed_table(results: dict) -> str:
    lines = ["| backend | frames reach the worker as | Mien median ms | Mien p90 ms | Mien fps | Mien long tasks/s "
             "| face-api median ms | face-api p90 ms | face-api fps | face-api long tasks/s | Mien faster by "
             "| model only: Mien / face-api ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results["rows"]:
        mien, peer, alone = row["mien"], row["face_api"], row["model_only"]
        lines.append(f"| {row['backend']} | {FRAME_SOURCES[row['frame_source']]} | {mien['median_ms']:.1f} | {mien['p90_ms']:.1f} "
                     f"| {mien['fps']:.1f} | {mien['long_tasks_per_s']:.2f} | {peer['median_ms']:.1f} | {peer['p90_ms']:.1f} "
                     f"| {peer['fps']:.1f} | {peer['long_tasks_per_s']:.2f} | {peer['median_ms'] / mien['median_ms']:.1f}x "
                     f"| {alone['mien']['median_ms']:.1f} / {alone['face_api']['median_ms']:.1f} |")
    lines.append(f"\nLive: {results['seconds']:g} s per run in a {results['window']} window, camera started with the page's "
                 f"button, video shown. Frame: {results['frame']}; WebGL renderer: {results['webgl_renderer']}.")
    return "\n".join(lines)
