"""python -m bench speed: the live page as a visitor uses it, against face-api live, on the same
fake webcam: ms per 640x480 frame, frames analysed per second, main-thread long tasks, and where
a frame's time goes in Mien's worker. ``--gpu`` runs Chromium on the machine's NVIDIA GPU."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from bench.browser import GPU_FLAGS, camera_flags, chromium, run_in_page, write_camera_clip
from bench.pictures import astronaut_frame, face_frame, group_photo, webcam
from bench.results import BENCH_DOCS, publish, summarise
from bench.server import BenchServer

# Installed in the live page before its camera starts: records each camera frame's analysis time
# from the page's own results, and the main thread's long tasks (over 50 ms).
LIVE_RECORDER = """() => {
  const record = { times: [], stages: [], longTasks: 0, faces: 0, recording: false, started: 0 };
  window.mien.events.addEventListener('result', ({ detail }) => {
    if (!record.recording || detail.source !== 'camera') return;
    record.times.push(detail.ms);
    record.stages.push(detail.stages);
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
# The clips the fake webcam plays: one face each, of these widths in a 640x480 picture, with a
# webcam's sensor noise; still, or sliding 1 px a frame (where no work can be left undone). A face
# narrower than face-finder.json's follow_below (a sixth of the height) is followed: searched
# again in an area around it.
CLIPS = {
    "92 px face, still": lambda: webcam(astronaut_frame()),
    "70 px face, still": lambda: webcam(face_frame(70)),
    "70 px face, moving": lambda: webcam(face_frame(70), moving=True),
}
PEER_BACKEND = {"webgpu": "webgl"}  # face-api's TF.js has no WebGPU backend: its GPU one is WebGL


def add_arguments(parser) -> None:
    parser.add_argument("--backends", nargs="+", default=["wasm", "webgl", "webgpu"],
                        choices=["wasm", "webgl", "webgpu", "cpu"])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS), help="what the webcam shows (default: all)")
    parser.add_argument("--gpu", action="store_true",
                        help="run Chromium on this machine's NVIDIA GPU (WebGL and WebGPU), and write speed-gpu.json")
    parser.add_argument("--frame-sources", nargs="+", default=list(FRAME_SOURCES), choices=list(FRAME_SOURCES),
                        help="how camera frames reach the page's worker (default: both)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds each live run is measured (default: 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each live run before measuring (default: 3)")
    parser.add_argument("--frames", type=int, default=50, help="frames timed per model-only run (default: 50)")
    parser.add_argument("--budget", type=float, default=30, help="at most this many seconds per model-only run (default: 30)")
    parser.add_argument("--out", type=Path, help="results file (default: docs/bench/speed.json, with --gpu speed-gpu.json)")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    flags = [*GPU_FLAGS] if args.gpu else ["--enable-unsafe-webgpu"]  # WebGPU: SwiftShader's adapter, without a GPU
    if args.gpu:
        require_gpu()
    out = args.out or BENCH_DOCS / ("speed-gpu.json" if args.gpu else "speed.json")
    results = {"frame": "640x480 fake-webcam video of one face (scikit-image's astronaut)", "seconds": args.seconds,
               "window": "1280x800", "rows": []}
    with tempfile.TemporaryDirectory() as folder, BenchServer(MODEL_DIR=args.model_dir) as server, \
            sync_playwright() as playwright:
        for clip in args.clips:
            camera = camera_flags(write_camera_clip(Path(folder) / "clip.y4m", CLIPS[clip]()))
            with chromium(playwright, *flags, *camera, gpu=args.gpu) as browser:
                results["webgl_renderer"] = run_renderer(browser, server.url)
                if args.gpu and "swiftshader" in results["webgl_renderer"].lower():
                    sys.exit("error: Chromium did not get the GPU (its WebGL renderer is SwiftShader, a software one); "
                             "check the NVIDIA driver and its Vulkan or EGL libraries.")
                for backend in args.backends:
                    results["rows"] += measure_backend(browser, server.url, args, clip, backend)
                    if clip == args.clips[0]:
                        results.setdefault("group_photo", {})[backend] = photo_times(browser, server.url, backend, folder)
    return publish("speed", results, speed_table(results), out)


def require_gpu() -> None:
    """Exit with a sentence where this machine shows no NVIDIA GPU."""
    found = shutil.which("nvidia-smi") and subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    if not found or found.returncode != 0 or "GPU" not in found.stdout:
        sys.exit("error: no NVIDIA GPU was found on this machine (nvidia-smi lists none); run make bench-gpu on a "
                 "machine with one, or make bench for the CPU.")


def measure_backend(browser, url: str, args, clip: str, backend: str) -> list[dict]:
    """face-api live, both pipelines alone, and Mien's page live by each frame source, on one
    backend (face-api, which has no WebGPU backend, on WebGL for Mien's WebGPU rows)."""
    peer_backend = PEER_BACKEND.get(backend, backend)
    print(f"{clip}: face-api live on {peer_backend} ...", file=sys.stderr)
    peer = run_in_page(browser, f"{url}/bench/face-api.html", "faceApiLive", peer_backend, args.seconds, args.warmup)
    print(f"{clip}: model only on {backend} ...", file=sys.stderr)
    budget = {"frames": args.frames, "budgetMs": args.budget * 1000}
    model_only = {
        "mien": summarise(run_in_page(browser, f"{url}/bench/mien.html", "mienSpeed", backend, model_url(args),
                                      budget)["times"]),
        "face_api": summarise(run_in_page(browser, f"{url}/bench/face-api.html", "faceApiSpeed", peer_backend,
                                          budget)["times"]),
    }
    rows = []
    for source in args.frame_sources:
        print(f"{clip}: Mien's page live on {backend}, frames by {source} ...", file=sys.stderr)
        mien = live_page(browser, url, backend, source, args.seconds, args.warmup)
        rows.append({"clip": clip, "backend": backend, "backend_used": {"mien": mien["backend"], "face_api": peer["backend"]},
                     "frame_source": source, "mien": live_summary(mien), "face_api": live_summary(peer),
                     "model_only": model_only})
    return rows


def photo_times(browser, url: str, backend: str, folder: str, runs: int = 5) -> dict:
    """A 1600x1200 photo of eight 60 px faces given to the page's photo input ``runs`` times (after
    one to warm up): the worker's ms for each, as the page shows it, and the faces found."""
    photo = Path(folder) / "group.png"
    cv2.imwrite(str(photo), group_photo()[0])
    print(f"group photo on {backend} ...", file=sys.stderr)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{url}/?backend={backend}")
        page.wait_for_function("() => window.mien?.state.ready", timeout=120_000)
        page.evaluate("""() => { window.benchPhotos = [];
            window.mien.events.addEventListener('result', ({ detail }) => {
              if (detail.source === 'photo') window.benchPhotos.push({ ms: detail.ms, faces: detail.faces.length, stages: detail.stages }); }); }""")
        for run in range(runs + 1):
            page.set_input_files("#photo-input", str(photo))
            page.wait_for_function(f"() => window.benchPhotos.length > {run}", timeout=120_000)
        measured = page.evaluate("() => window.benchPhotos")[1:]
    finally:
        page.close()
    return {"photo": "1600x1200, eight 60 px faces", "median_ms": statistics.median(m["ms"] for m in measured),
            "faces": measured[-1]["faces"], "runs": runs,
            "stages": {name: statistics.median(m["stages"][name] for m in measured) for name in measured[0]["stages"]}}


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
    if record.get("stages"):  # Mien's worker: where a frame's time goes (medians, ms)
        summary["stages"] = {name: statistics.median(stage[name] for stage in record["stages"])
                             for name in record["stages"][0] if record["stages"][0][name] is not None}
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
    lines = ["| clip | backend | frames reach the worker as | Mien median ms | Mien p90 ms | Mien fps | Mien long tasks/s "
             "| face-api median ms | face-api p90 ms | face-api fps | face-api long tasks/s | Mien faster by "
             "| model only: Mien / face-api ms |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results["rows"]:
        mien, peer, alone = row["mien"], row["face_api"], row["model_only"]
        lines.append(f"| {row['clip']} | {row['backend']} | {FRAME_SOURCES[row['frame_source']]} | {mien['median_ms']:.1f} | {mien['p90_ms']:.1f} "
                     f"| {mien['fps']:.1f} | {mien['long_tasks_per_s']:.2f} | {peer['median_ms']:.1f} | {peer['p90_ms']:.1f} "
                     f"| {peer['fps']:.1f} | {peer['long_tasks_per_s']:.2f} | {peer['median_ms'] / mien['median_ms']:.1f}x "
                     f"| {alone['mien']['median_ms']:.1f} / {alone['face_api']['median_ms']:.1f} |")
    lines.append(f"\nLive: {results['seconds']:g} s per run in a {results['window']} window, camera started with the page's "
                 f"button, video shown. Frame: {results['frame']}; WebGL renderer: {results['webgl_renderer']}.")
    if results.get("group_photo"):
        lines.append("\nA group photo through the page's photo input (1600x1200, eight 60 px faces; the worker's median ms): "
                     + ", ".join(f"{backend} {measured['median_ms']:.0f} ms ({measured['faces']} faces found)"
                                 for backend, measured in results["group_photo"].items()) + ".")
    staged = [row for row in results["rows"] if "stages" in row["mien"]]
    if staged:
        names = list(staged[0]["mien"]["stages"])
        lines += ["", "Where a Mien frame's time goes in its worker (medians, ms):", "",
                  "| clip | backend | frames as | " + " | ".join(names) + " |", "|---|---|---|" + "---:|" * len(names)]
        lines += [f"| {row['clip']} | {row['backend']} | {row['frame_source']} | "
                  + " | ".join(f"{row['mien']['stages'][name]:.1f}" for name in names) + " |" for row in staged]
        lines += [f"| group photo | {backend} | photo input | " + " | ".join(f"{measured['stages'][name]:.1f}" for name in names) + " |"
                  for backend, measured in results.get("group_photo", {}).items()]
    return "\n".join(lines)
