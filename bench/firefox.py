"""python -m bench firefox: the page in Firefox ESR (headless, driven by puppeteer-core over WebDriver
BiDi: tests/firefox.mjs) against the same page in Chromium (Playwright), both with the same stand-in
camera (a looping clip of a swaying face with fresh noise every frame, given to the page through
getUserMedia): how many page loads become ready and how soon, and the camera's results per second.

Also the helpers the tests use to run the page in Firefox: the clip, the stand-in camera's script and
the driver."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from pathlib import Path

import cv2
import numpy as np

from bench.pictures import astronaut_frame
from bench.results import BENCH_DOCS, publish, summarise
from facts import REPO
from pipeline.errors import UserError

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = REPO / "tests" / "firefox.mjs"
STAND_IN_CAMERA = REPO / "tests" / "stand-in-camera.js"
CAMERA_RECORDER = REPO / "tests" / "camera-recorder.js"
READY = "() => Boolean(window.mien && window.mien.state.backend && !document.querySelector('#camera-toggle').disabled)"
CLIP = ("640x480 WebM (VP8, 2 Mbit/s) at 30 fps, 4.8 s looped: scikit-image's astronaut (a 92 px face) swaying "
        "6 px sideways and back, 1 px every frame, with fresh noise (sigma 3 grey levels) in every frame")
# Chromium composites on SwiftShader by default; a frame of a captureStream() video then lives there,
# and reading one in the page's worker took 160-420 ms (0.3 ms without): a real camera's frames never
# take that road, so the peer composites in software, as headless Firefox does.
PEER_FLAGS = ["--disable-gpu-compositing"]
STAGE_COUNTS = ("detectorPictures", "classified", "classifierViews")  # the page's stages that count, not ms
PEER_FRAMES = {"track": "camera track streamed to the worker", "bitmap": "ImageBitmap of the shown video"}


# --- the clip, the stand-in camera and the driver (the tests use these too) ---------------------------

def swaying(frame: np.ndarray, amplitude: int = 6, count: int = 144, noise: float = 3.0) -> list[np.ndarray]:
    """A camera looking at ``frame`` as it sways ``amplitude`` px sideways and back, 1 px every frame
    (``count`` frames, whole sways, so the clip loops smoothly), with fresh sensor noise each frame."""
    rng = np.random.default_rng(0)
    period = 4 * amplitude
    frames = []
    for index in range(count):
        phase = index % period  # 0 -> amplitude -> 0 -> -amplitude -> 0
        shift = phase if phase <= amplitude else 2 * amplitude - phase if phase <= 3 * amplitude else phase - period
        picture = np.roll(frame, shift, axis=1).astype(np.float32)
        frames.append(np.clip(picture + rng.normal(0, noise, picture.shape), 0, 255).astype(np.uint8))
    return frames


def write_webm_clip(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """BGR ``frames`` as a WebM (VP8) clip, which Firefox and Chromium both play. Needs ffmpeg."""
    folder = Path(tempfile.mkdtemp(dir=Path(path).parent))
    try:
        for index, frame in enumerate(frames):
            cv2.imwrite(str(folder / f"{index:04d}.png"), frame)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-framerate", str(fps), "-i", str(folder / "%04d.png"),
                        "-c:v", "libvpx", "-b:v", "2M", "-crf", "10", "-g", str(fps), "-auto-alt-ref", "0",
                        "-pix_fmt", "yuv420p", str(path)], check=True)
    finally:
        shutil.rmtree(folder)
    return Path(path)


def swaying_face_clip(path: Path) -> Path:
    """The stand-in camera's clip (CLIP says what it shows)."""
    return write_webm_clip(path, swaying(astronaut_frame()))


def stand_in_script(clip: Path) -> str:
    """The script that, run before a page's own, makes getUserMedia give the looping ``clip``."""
    return f"({STAND_IN_CAMERA.read_text().strip()})({json.dumps(b64encode(Path(clip).read_bytes()).decode())}, 'video/webm');"


def recorder_script() -> str:
    return f"({CAMERA_RECORDER.read_text().strip()})();"


def firefox_missing() -> str | None:
    """A sentence saying what Firefox needs that this machine lacks, or None."""
    if not Path(FIREFOX).exists():
        return f"Firefox ESR is not installed at {FIREFOX}; install Debian's firefox-esr package (make system-packages)."
    if not shutil.which("node") or not (REPO / "node_modules" / "puppeteer-core").exists():
        return "Node.js and the npm package puppeteer-core drive Firefox; install them with make node_modules/.installed."
    return None


def run_firefox(url: str, steps: list[dict], clip: Path | None = None, timeout_s: float = 600) -> dict:
    """Run tests/firefox.mjs on ``steps`` (see that file) at ``url``: {browser, steps: [{do, result
    or error}], errors (the pages')}. Raises RuntimeError where the driver itself fails."""
    job = {"url": url.rstrip("/"), "steps": steps, "timeout_s": timeout_s, "firefox": FIREFOX,
           **({"clip": str(Path(clip).resolve())} if clip else {})}
    done = subprocess.run(["node", str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          cwd=REPO, timeout=timeout_s + 60)
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"tests/firefox.mjs gave no result (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    if "error" in answer:
        raise RuntimeError(f"tests/firefox.mjs failed: {answer['error']}")
    return answer


def step_results(answer: dict) -> list:
    """Each step's result, or a RuntimeError naming the step that failed."""
    for step in answer["steps"]:
        if "error" in step:
            raise RuntimeError(f"Firefox: the {step['do']} step failed: {step['error']}")
    return [step.get("result") for step in answer["steps"]]


# --- the benchmark ------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--loads", type=int, default=10, help="page loads in each browser (default: 10)")
    parser.add_argument("--load-timeout", type=float, default=60,
                        help="seconds a load may take to become ready before it counts as not ready (default: 60)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds the camera's results are counted (default: 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of camera after the first face, before counting (default: 3)")
    parser.add_argument("--peer-frames", nargs="+", default=list(PEER_FRAMES), choices=list(PEER_FRAMES),
                        help="how frames reach the worker in Chromium, the peer (default: both; Firefox has bitmaps only)")
    parser.add_argument("--out", type=Path, help="results file (default: docs/bench/firefox.json)")


def check_arguments(args) -> None:
    if args.loads < 1:
        raise UserError(f"--loads must be 1 or more (got {args.loads}).")
    for name in ("load_timeout", "seconds"):
        if not getattr(args, name) > 0:
            raise UserError(f"--{name.replace('_', '-')} must be a positive number of seconds (got {getattr(args, name)}).")
    if not args.warmup >= 0:
        raise UserError(f"--warmup must be 0 or more seconds (got {args.warmup}).")
    if not Path(args.model_dir, "model.json").exists():
        raise UserError(f"--model-dir {args.model_dir} holds no model.json; give an exported model's folder.")
    if args.out and not args.out.parent.is_dir():
        raise UserError(f"--out {args.out}: its folder {args.out.parent} does not exist.")
    missing = firefox_missing() or (None if Path("/usr/bin/chromium").exists() else
                                    "Chromium (the peer) is not installed at /usr/bin/chromium; install Debian's chromium package.")
    if missing:
        raise UserError(missing)


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    from bench.browser import chromium
    from bench.server import BenchServer

    check_arguments(args)
    out = args.out or BENCH_DOCS / "firefox.json"
    results = {"clip": CLIP, "seconds": args.seconds, "warmup": args.warmup, "load_timeout_s": args.load_timeout,
               "window": "1280x800", "commit": commit()}
    with tempfile.TemporaryDirectory() as folder, BenchServer(MODEL_DIR=args.model_dir) as server:
        clip = swaying_face_clip(Path(folder) / "swaying.webm")
        print(f"Firefox: {args.loads} page loads ...", file=sys.stderr)
        loaded = run_firefox(server.url, [{"do": "loads", "times": args.loads, "timeout_s": args.load_timeout}],
                             timeout_s=args.loads * (args.load_timeout + 20) + 60)
        firefox = {"browser": loaded["browser"], "loads": load_summary(step_results(loaded)[0])}
        print("Firefox: the camera ...", file=sys.stderr)
        # The camera is measured on a page that became ready: a load that hangs is tried again (the
        # loads above count them).
        live = run_firefox(server.url, [{"do": "open", "timeout_s": args.load_timeout, "attempts": 5},
                                        {"do": "camera", "warmup_s": args.warmup, "seconds": args.seconds, "timeout_s": 120}],
                           clip=clip, timeout_s=5 * (args.load_timeout + 20) + args.seconds + args.warmup + 200)
        opened, camera = step_results(live)
        firefox["live"] = {**live_summary(camera), "opened_on_attempt": opened["attempt"]}
        firefox["page_errors"] = loaded["errors"] + live["errors"]
        results["firefox"] = firefox
        with sync_playwright() as playwright, chromium(playwright, *PEER_FLAGS) as browser:
            print(f"Chromium: {args.loads} page loads ...", file=sys.stderr)
            peer = {"browser": f"chromium/{browser.version}",
                    "loads": load_summary([chromium_load(browser, server.url, args.load_timeout) for _ in range(args.loads)]),
                    "live": {}}
            for frames in args.peer_frames:
                print(f"Chromium: the camera, frames by {frames} ...", file=sys.stderr)
                peer["live"][frames] = live_summary(chromium_live(browser, server.url, clip, frames, args))
        results["chromium"] = peer
    return publish("firefox", results, firefox_table(results), out)


def commit() -> str:
    """The commit measured, with "+ changes" where the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "--", "component", "page", "web"], capture_output=True, text=True, cwd=REPO).stdout
    return f"{head}{' + uncommitted changes to component/, page/ or web/' if changed.strip() else ''}" if head else "unknown"


def chromium_load(browser, url: str, timeout_s: float) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    started = time.monotonic()
    try:
        page.goto(url)
        page.wait_for_function(READY, timeout=timeout_s * 1000, polling=100)
        ready = True
    except Exception:  # Playwright's TimeoutError: counted as a load that never became ready
        ready = False
    ms = (time.monotonic() - started) * 1000
    backend = page.evaluate("() => window.mien?.state.backend ?? null")
    page.close()
    return {"ready": ready, "ms": ms, "backend": backend}


def chromium_live(browser, url: str, clip: Path, frames: str, args) -> dict:
    """The page in Chromium with the stand-in camera: as tests/firefox.mjs's open and camera steps."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.add_init_script(stand_in_script(clip))
        page.goto(f"{url}/?frames={frames}")
        page.wait_for_function(READY, timeout=120_000, polling=100)
        page.evaluate(recorder_script())
        page.click("#camera-toggle")
        page.wait_for_function("() => window.mien.state.faces.length >= 1", timeout=120_000, polling=100)
        time.sleep(args.warmup)
        page.evaluate("window.cameraRecord.start()")
        time.sleep(args.seconds)
        return page.evaluate("window.cameraRecord.stop()")
    finally:
        page.close()


def load_summary(loads: list[dict]) -> dict:
    times = [load["ms"] for load in loads if load["ready"]]
    return {"loads": len(loads), "ready": len(times), "median_ms_to_ready": statistics.median(times) if times else None,
            "max_ms_to_ready": max(times) if times else None, "backends": sorted({load["backend"] or "none" for load in loads}),
            "each": loads}


def live_summary(record: dict) -> dict:
    """Results per second (counted, and the page's own meter at the end), ms per frame, labels."""
    return {**summarise(record["times"]), "results_per_s": len(record["times"]) / record["seconds"],
            "meter_fps": record["meter"]["fps"], "meter_ms_per_frame": record["meter"]["msPerFrame"],
            "frame_source": record["frameSource"], "backend": record["backend"], "faces": record["faces"],
            "labels": record["labels"], "seconds": record["seconds"], "stages": stage_medians(record["stages"])}


def stage_medians(stages: list[dict]) -> dict:
    """Where a frame's time went in the page's worker: each stage's median ms."""
    names = [name for name in (stages[0] if stages else {}) if all(isinstance(stage.get(name), (int, float)) for stage in stages)]
    return {name: statistics.median(stage[name] for stage in stages) for name in names}


def firefox_table(results: dict) -> str:
    firefox, peer = results["firefox"], results["chromium"]
    rows = [(f"Firefox ({firefox['browser']})", firefox["loads"], firefox["live"])]
    rows += [(f"Chromium ({peer['browser']})", peer["loads"] if index == 0 else None, live)
             for index, live in enumerate(peer["live"].values())]
    lines = ["| browser | loads ready | median / max s to ready | backend | frames reach the worker as | results/s "
             "| page's meter fps | median / p90 ms per frame | labels |",
             "|---|---:|---:|---|---|---:|---:|---:|---|"]
    for name, loads, live in rows:
        ready = f"{loads['ready']} of {loads['loads']}" if loads else "(above)"
        times = (f"{loads['median_ms_to_ready'] / 1000:.1f} / {loads['max_ms_to_ready'] / 1000:.1f}"
                 if loads and loads["ready"] else "-" if loads else "")
        labels = ", ".join(f"{label} {count}" for label, count in sorted(live["labels"].items(), key=lambda item: -item[1]))
        lines.append(f"| {name} | {ready} | {times} | {live['backend']} | {PEER_FRAMES.get(live['frame_source'], live['frame_source'])} "
                     f"| {live['results_per_s']:.1f} | {live['meter_fps']:.1f} | {live['median_ms']:.1f} / {live['p90_ms']:.1f} | {labels} |")
    names = [name for name in firefox["live"]["stages"] if name not in STAGE_COUNTS]
    lines += ["", "Where a frame's time goes in the page's worker (medians, ms):", "",
              "| browser | frames as | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    lines += [f"| {name.split(' ')[0]} | {live['frame_source']} | " + " | ".join(f"{live['stages'].get(stage, float('nan')):.1f}" for stage in names) + " |"
              for name, _, live in rows]
    lines.append(f"\nClip (the same in both browsers, through the same getUserMedia stand-in): {results['clip']}. "
                 f"Results counted for {results['seconds']:g} s after {results['warmup']:g} s of camera; a load not ready "
                 f"within {results['load_timeout_s']:g} s counts as not ready. Chromium with {' '.join(PEER_FLAGS)} (see bench/firefox.py). "
                 f"Measured at {results['commit']}.")
    return "\n".join(lines)
