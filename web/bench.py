"""Benchmarks against the expression models people use in browsers, in the same headless Chromium.

    python -m web.bench speed      # the live page vs face-api live: ms per 640x480 frame, fps, long tasks
    python -m web.bench frames     # what each way of reading a shown webcam frame costs
    python -m web.bench accuracy   # Mien vs Human's and face-api's models on validation faces
    python -m web.bench teacher-table human --out human.csv   # a peer's scores, to distil from

Each prints a table and writes its figures to a JSON file (docs/bench/); ``accuracy`` also writes
its table into docs/model-card.md. Peers run from their npm packages with their own preprocessing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from pipeline.blazeface import overlap
from pipeline.data import DEFAULT_DATA
from web import REPO, create_app
from web.chromium import camera_flags, chromium, write_camera_clip
from web.serving import create_server

BENCH_DOCS = REPO / "docs" / "bench"
MODEL_CARD = REPO / "docs" / "model-card.md"
CARD_START, CARD_END = "<!-- bench:accuracy:start -->", "<!-- bench:accuracy:end -->"
FACES_START, FACES_END = "<!-- bench:faces:start -->", "<!-- bench:faces:end -->"
PEER_SIZES = {  # the files each peer's expression model downloads
    "Human (mini-Xception)": ("@vladmandic/human/models", ("emotion.json", "emotion.bin")),
    "face-api (FaceExpressionNet)": ("@vladmandic/face-api/model",
                                     ("face_expression_model-weights_manifest.json", "face_expression_model.bin")),
}


def astronaut_frame():
    """The benchmark frame: scikit-image's astronaut (one smiling face) in a 640x480 BGR frame."""
    import cv2
    from skimage.data import astronaut

    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 64:576] = cv2.resize(cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR), (512, 480))
    return frame


class BenchServer:
    """The app in benchmark mode, served by waitress on a free port in a background thread."""

    def __init__(self, **config):
        self.server = create_server(create_app({"BENCHMARK": True, **config}), host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self):
        self.server.close()


def run_in_page(browser, url: str, call: str, *args, timeout_s: float = 1800):
    """Open ``url`` and await ``window.bench.<call>(*args)`` there."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(timeout_s * 1000)
    page.goto(url)
    page.wait_for_function("() => window.bench !== undefined")
    try:
        return page.evaluate(f"(args) => window.bench.{call}(...args)", list(args))
    finally:
        page.close()
        if errors:
            print(f"warning: {url}: {errors[0]}", file=sys.stderr)


def model_url(args) -> str:
    """Where the server offers the model of --model-dir: under its folder's name."""
    return f"/models/{Path(args.model_dir).name}/"


def summarise(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered), "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            "frames": len(ordered)}


# --- speed ----------------------------------------------------------------------------------------

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


def speed(args) -> dict:
    from playwright.sync_api import sync_playwright

    server = BenchServer(MODEL_DIR=args.model_dir)
    results = {"frame": "640x480 fake-webcam video of one face (scikit-image astronaut)", "seconds": args.seconds,
               "window": "1280x800", "rows": []}
    try:
        with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright, \
                chromium(playwright, *camera_flags(write_camera_clip(Path(folder) / "clip.y4m", astronaut_frame()))) as browser:
            results["webgl_renderer"] = run_renderer(browser, server.url)
            for backend in args.backends:
                print(f"face-api live on {backend} ...", file=sys.stderr)
                peer = run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiLive", backend,
                                   args.seconds, args.warmup)
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
    finally:
        server.close()
    print(speed_table(results))
    write_json(args.out, results)
    return results


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


# --- frames ---------------------------------------------------------------------------------------


def frames(args) -> dict:
    """What each way of reading a shown webcam video's pixels costs per frame."""
    from playwright.sync_api import sync_playwright

    server = BenchServer()
    results = {"frame": "640x480 fake-webcam video, shown mirrored as on the page", "rows": []}
    try:
        with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright, \
                chromium(playwright, *camera_flags(write_camera_clip(Path(folder) / "clip.y4m", astronaut_frame()))) as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{server.url}/bench/frames.html")
            page.wait_for_function("() => window.bench !== undefined")
            for way in page.evaluate("() => window.bench.ways"):
                print(f"{way} ...", file=sys.stderr)
                record = page.evaluate("([way, frames]) => window.bench.measure(way, frames)", [way, args.frames])
                results["rows"].append({"way": way, **summarise(record["times"]),
                                        "long_tasks_per_s": record["longTasks"] / record["seconds"]})
            page.close()
    finally:
        server.close()
    lines = ["| way | median ms | p90 ms | long tasks/s |", "|---|---:|---:|---:|"]
    lines += [f"| {row['way']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['long_tasks_per_s']:.2f} |"
              for row in results["rows"]]
    print("\n".join(lines))
    write_json(args.out, results)
    return results


# --- accuracy ---------------------------------------------------------------------------------------


def accuracy(args) -> dict:
    from playwright.sync_api import sync_playwright

    from pipeline.data import load_dataset
    from pipeline.evaluate import score
    from pipeline.expressions import ClassSet

    metadata = json.loads((Path(args.model_dir) / "metadata.json").read_text())
    class_set = ClassSet.from_json(metadata["class_members"])
    split = load_dataset(args.data, class_set, splits=("validation",))["validation"]
    images, labels = split.images, split.labels
    if args.limit:
        picks = np.linspace(0, len(labels) - 1, args.limit).astype(int)
        images, labels = images[picks], labels[picks]
    rng = np.random.default_rng(7)
    sizes = rng.integers(120, 321, len(labels))  # face sizes in a 640x480 webcam frame at laptop distance
    positions = [[int(rng.integers(0, 640 - size)), int(rng.integers(0, 480 - size))] for size in sizes]
    # Small faces in photos (3-8% of a 1600x1200 photo's longer side), found as the page searches a photo.
    in_photo = np.linspace(0, len(labels) - 1, min(args.photo_faces, len(labels))).astype(int)
    photo_sizes = rng.integers(48, 129, len(in_photo))
    photo_positions = [[int(rng.integers(0, 1600 - size)), int(rng.integers(0, 1200 - size))] for size in photo_sizes]

    with tempfile.TemporaryDirectory() as data_dir:
        images.astype(np.uint8).tofile(Path(data_dir) / "faces.bin")
        server = BenchServer(MODEL_DIR=args.model_dir, BENCH_DATA=data_dir)
        try:
            with sync_playwright() as playwright, chromium(playwright) as browser:
                page = f"{server.url}/bench/mien.html"
                print(f"classifying {len(labels)} faces with Mien, Human and face-api ...", file=sys.stderr)
                outputs = {
                    "Mien": run_in_page(browser, page, "mienTight", args.backend, model_url(args)),
                    "Human (mini-Xception)": run_in_page(browser, page, "humanTight", args.backend),
                    "face-api (FaceExpressionNet)": run_in_page(browser, f"{server.url}/bench/face-api.html",
                                                                "faceApiTight", args.backend),
                }
                print("finding and classifying them in 640x480 frames with the page's code ...", file=sys.stderr)
                in_frames = run_in_page(browser, page, "mienInFrames", args.backend, model_url(args),
                                        sizes.tolist(), positions)
                print(f"... and {len(in_photo)} of them in 1600x1200 photos ...", file=sys.stderr)
                in_photos = run_in_page(browser, page, "mienInFrames", args.backend, model_url(args),
                                        photo_sizes.tolist(), photo_positions,
                                        {"photo": True, "picture": [1600, 1200], "faces": in_photo.tolist()})
        finally:
            server.close()

    sizes_bytes = {"Mien": metadata["size_bytes"]}
    for name, (folder, files) in PEER_SIZES.items():
        sizes_bytes[name] = sum((REPO / "node_modules" / folder / file).stat().st_size for file in files)
    rows = []
    for name, output in outputs.items():
        predictions = restrict(np.array(output["scores"]), output["classes"], class_set).argmax(axis=1)
        metrics = score(labels, predictions, class_set.names)
        rows.append({"model": name, "accuracy": metrics["accuracy"], "macro_recall": metrics["macro_recall"],
                     "recall": {c: metrics["per_class"][c]["recall"] for c in class_set.names},
                     "size_bytes": sizes_bytes[name], "ms_per_face": statistics.median(output["times"])})
    results = {"faces": len(labels), "classes": class_set.names, "backend": args.backend,
               "model": metadata["source"], "rows": rows,
               "in_frames": score_in_frames(in_frames["results"], labels, sizes, positions, class_set),
               "in_photos": score_in_frames(in_photos["results"], labels[in_photo], photo_sizes, photo_positions,
                                            class_set)}
    table = accuracy_table(results)
    print(table)
    write_json(args.out, results)
    if args.card:
        write_into_card(Path(args.card), table)
    return results


# --- faces: detection by face width -------------------------------------------------------------------

FACE_WIDTHS = (40, 50, 60, 80, 120, 200, 300)
DETECTORS = {"short": "facemesh-detection-short.json", "full": "facemesh-detection-full.json"}
# scikit-image photos without a face in them: the backgrounds, and the pictures with no face.
BACKGROUNDS = ("coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "coins", "brick", "grass",
               "gravel", "stereo_motorcycle", "colorwheel", "moon", "clock")
ASTRONAUT_FACE = (177, 66, 95, 95)  # the face in scikit-image's astronaut (OpenCV's Haar box)
ASTRONAUT_HEAD = (120, 10, 210, 220)  # her head with some hair and neck around it


def write_face_pictures(folder: Path) -> list[str]:
    """The head to place (head.png) and the face-free backgrounds (640x480 PNGs) into ``folder``."""
    import cv2
    from skimage import data

    x, y, width, height = ASTRONAUT_HEAD
    cv2.imwrite(str(folder / "head.png"), cv2.cvtColor(data.astronaut()[y:y + height, x:x + width], cv2.COLOR_RGB2BGR))
    names = []
    for name in BACKGROUNDS:
        image = getattr(data, name)()
        image = image[0] if isinstance(image, tuple) else image  # a stereo pair: its left image
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA))
        names.append(f"{name}.png")
    return names


def face_frames(backgrounds: list[str], widths, trials: int, seed: int = 5) -> list[dict]:
    """Frames with one face of each width, ``trials`` times, anywhere in 640x480 on a random
    background; each with its head's drawing rectangle and the face's true box."""
    rng = np.random.default_rng(seed)
    fx, fy, fw, fh = ASTRONAUT_FACE
    hx, hy, hw, hh = ASTRONAUT_HEAD
    frames = []
    for width in widths:
        scale = width / fw
        for _ in range(trials):
            left, top = int(rng.integers(0, 640 - width + 1)), int(rng.integers(0, 480 - int(fh * scale) + 1))
            head = [left - (fx - hx) * scale, top - (fy - hy) * scale, hw * scale, hh * scale]
            frames.append({"background": backgrounds[int(rng.integers(len(backgrounds)))], "heads": [head],
                           "faces": [[left, top, width, fh * scale]], "width": width})
    return frames


def detection_rates(frames: list[dict], found: list[list[list]]) -> dict:
    """Per face width: the share of frames in which the face was found, and how wide the found
    boxes are against the face. ``found`` holds, per frame, the boxes of each time it was seen."""
    rates = {}
    for width in sorted({frame["width"] for frame in frames}):
        hits, ratios = [], []
        for frame, times in zip(frames, found):
            if frame["width"] != width:
                continue
            for boxes in times:
                matched = [box for box in boxes if overlap(box, frame["faces"][0]) > 0.3]
                hits.append(bool(matched))
                ratios += [matched[0][2] / width] if matched else []
        rates[str(width)] = {"found": float(np.mean(hits)), "box_width_ratio": float(np.median(ratios)) if ratios else None}
    return rates


def detector_figures(frames: list[dict], found: list[list[list]]) -> dict:
    """Detection rates by width, and false faces per picture on the pictures without a face
    (the frames after ``frames``)."""
    empty = [box for times in found[len(frames):] for boxes in times for box in boxes]
    pictures = sum(len(times) for times in found[len(frames):])
    return {"by_width": detection_rates(frames, found[:len(frames)]), "false_faces_per_picture": len(empty) / pictures}


def faces(args) -> dict:
    """Detection rate by face width and false faces on pictures with none: Mien's detectors and face-api's."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data_dir:
        backgrounds = write_face_pictures(Path(data_dir))
        frames = face_frames(backgrounds, args.widths, args.trials)
        empty = [{"background": name, "heads": []} for name in backgrounds]
        server = BenchServer(BENCH_DATA=data_dir)
        results = {"frames": "640x480, one face (scikit-image's astronaut, scaled) anywhere on a face-free photo",
                   "trials_per_width": args.trials, "pictures_without_faces": len(empty), "live_repeats": args.repeats,
                   "detectors": {}}
        try:
            with sync_playwright() as playwright, chromium(playwright) as browser:
                page = f"{server.url}/bench/mien.html"
                detector = f"/vendor/face-detector/{DETECTORS['short']}"
                print(f"the live page's face finder, each frame seen {args.repeats} times ...", file=sys.stderr)
                found = run_in_page(browser, page, "mienLiveFaces", args.backend, detector, frames + empty, args.repeats)
                results["detectors"]["Mien, live page (short range, followed)"] = detector_figures(frames, found)
                for name, file in DETECTORS.items():
                    print(f"Mien's detector alone, {name} range ...", file=sys.stderr)
                    found = run_in_page(browser, page, "mienFaces", args.backend, f"/vendor/face-detector/{file}", frames + empty)
                    results["detectors"][f"Mien, one frame ({name} range)"] = detector_figures(frames, [[boxes] for boxes in found])
                print("face-api's TinyFaceDetector ...", file=sys.stderr)
                found = run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiFaces", args.backend, frames + empty)
                results["detectors"]["face-api (TinyFaceDetector 416)"] = detector_figures(frames, [[boxes] for boxes in found])
        finally:
            server.close()
    print("pipeline.detect's face finder (Python) ...", file=sys.stderr)
    results["detectors"]["pipeline.detect (Python, followed)"] = python_faces(frames + empty, len(frames), args.repeats)
    results["expressions_by_width"] = expressions_by_width(args)
    print(faces_table(results))
    write_json(args.out, results)
    if args.card:
        write_into_card(Path(args.card), faces_table(results), FACES_START, FACES_END)
    return results


def python_faces(frames: list[dict], faces_frames: int, repeats: int) -> dict:
    """pipeline.detect's way (pipeline.blazeface.FaceFinder) on the same frames, composed here."""
    import cv2

    from pipeline.blazeface import SHORT_RANGE, BlazeFace, FaceFinder
    from pipeline.console import load_tensorflow

    load_tensorflow()
    detector = BlazeFace(SHORT_RANGE)
    with tempfile.TemporaryDirectory() as folder:
        names = write_face_pictures(Path(folder))
        pictures = {name: cv2.cvtColor(cv2.imread(str(Path(folder) / name)), cv2.COLOR_BGR2RGB) for name in names}
        head = cv2.cvtColor(cv2.imread(str(Path(folder) / "head.png")), cv2.COLOR_BGR2RGB)
    found = []
    for frame in frames:
        picture = pictures[frame["background"]].copy()
        for x, y, width, height in frame["heads"]:
            pasted = cv2.resize(head, (round(width), round(height)), interpolation=cv2.INTER_AREA)
            left, top = round(x), round(y)
            view = picture[max(0, top):top + pasted.shape[0], max(0, left):left + pasted.shape[1]]
            view[:] = pasted[max(0, -top):max(0, -top) + view.shape[0], max(0, -left):max(0, -left) + view.shape[1]]
        finder = FaceFinder(detector)
        found.append([[list(box) for box, _ in finder.find(picture)] for _ in range(repeats)])
    return detector_figures(frames[:faces_frames], found)


def expressions_by_width(args) -> dict:
    """End to end, by face width: validation faces shrunk or enlarged to that width, placed anywhere
    in a 640x480 frame, found and cropped by the page's own code and classified by its model."""
    from playwright.sync_api import sync_playwright

    from pipeline.data import load_dataset
    from pipeline.expressions import ClassSet

    metadata = json.loads((Path(args.model_dir) / "metadata.json").read_text())
    class_set = ClassSet.from_json(metadata["class_members"])
    split = load_dataset(args.data, class_set, splits=("validation",))["validation"]
    picks = np.linspace(0, len(split.labels) - 1, min(args.faces_per_width, len(split.labels))).astype(int)
    images, labels = split.images[picks], split.labels[picks]
    rng = np.random.default_rng(11)
    by_width = {}
    with tempfile.TemporaryDirectory() as data_dir:
        images.astype(np.uint8).tofile(Path(data_dir) / "faces.bin")
        server = BenchServer(MODEL_DIR=args.model_dir, BENCH_DATA=data_dir)
        try:
            with sync_playwright() as playwright, chromium(playwright) as browser:
                for width in args.widths:
                    print(f"expressions of {len(labels)} faces {width} px wide ...", file=sys.stderr)
                    sizes = np.full(len(labels), width)
                    positions = [[int(rng.integers(0, 641 - width)), int(rng.integers(0, 481 - width))] for _ in labels]
                    found = run_in_page(browser, f"{server.url}/bench/mien.html", "mienInFrames", args.backend,
                                        model_url(args), sizes.tolist(), positions, {"frames": args.sweep})
                    by_width[str(width)] = score_in_frames(found["results"], labels, sizes, positions, class_set)
        finally:
            server.close()
    return by_width


def faces_table(results: dict) -> str:
    widths = list(next(iter(results["detectors"].values()))["by_width"])
    lines = ["| detector | " + " | ".join(f"{width} px" for width in widths) + " | false faces per picture |",
             "|---|" + "---:|" * (len(widths) + 1)]
    for name, measured in results["detectors"].items():
        cells = " | ".join(f"{measured['by_width'][width]['found']:.0%}" for width in widths)
        lines.append(f"| {name} | {cells} | {measured['false_faces_per_picture']:.2f} |")
    lines.append(f"\nShare of frames in which the face is found (a box overlapping it by IoU > 0.3), {results['trials_per_width']} "
                 f"frames per width; {results['frames']}; false faces on {results['pictures_without_faces']} pictures with none. "
                 f"The live page sees each frame {results['live_repeats']} times in a row, as from a still camera, and "
                 "follows the faces it has found; the others look at each frame alone, as face-api's live loop does.")
    expressions = results.get("expressions_by_width")
    if expressions:
        lines += ["", "| validation faces of width | " + " | ".join(f"{width} px" for width in expressions) + " |",
                  "|---|" + "---:|" * len(expressions),
                  "| found by the page's detector | " + " | ".join(f"{row['detection_rate']:.0%}" for row in expressions.values()) + " |",
                  "| expression right, of those found | " + " | ".join(f"{row['accuracy_of_found']:.1%}" for row in expressions.values()) + " |",
                  "| expression right, of all | " + " | ".join(f"{row['accuracy_of_all']:.1%}" for row in expressions.values()) + " |",
                  "\nValidation faces placed anywhere in a grey 640x480 frame, seen for a sweep of the tiles and then found, "
                  "cropped and classified by the page's code."]
    return "\n".join(lines)


# --- teacher tables ----------------------------------------------------------------------------------

PEERS = {"human": ("mien.html", "humanTight"), "face-api": ("face-api.html", "faceApiTight")}


def teacher_table(args) -> Path:
    """A peer's scores for every training face, as a table pipeline.train --teacher takes."""
    from playwright.sync_api import sync_playwright

    from pipeline.console import load_tensorflow
    from pipeline.data import load_dataset
    from pipeline.expressions import canonical_emotion, parse_classes

    load_tensorflow()
    from pipeline.distill import write_table

    faces = load_dataset(args.data, parse_classes(7), splits=("train",))["train"].images
    page, call = PEERS[args.peer]
    with tempfile.TemporaryDirectory() as data_dir:
        faces.astype(np.uint8).tofile(Path(data_dir) / "faces.bin")
        server = BenchServer(BENCH_DATA=data_dir)
        try:
            with sync_playwright() as playwright, chromium(playwright) as browser:
                print(f"scoring {len(faces)} training faces with {args.peer} ...", file=sys.stderr)
                output = run_in_page(browser, f"{server.url}/bench/{page}", call, args.backend)
        finally:
            server.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_table(args.out, faces, [canonical_emotion(name) for name in output["classes"]], np.array(output["scores"]))
    print(f"{args.peer}'s scores for {len(faces)} faces: {args.out}", file=sys.stderr)
    return args.out


def restrict(scores: np.ndarray, names: list[str], class_set) -> np.ndarray:
    """A model's scores for ``class_set``: each class sums the scores of the expressions it holds."""
    from pipeline.expressions import canonical_emotion

    column_of = {canonical_emotion(name): index for index, name in enumerate(names)}
    return np.stack([scores[:, [column_of[e] for e in group]].sum(axis=1) for group in class_set.members], axis=1)


def score_in_frames(results, labels, sizes, positions, class_set) -> dict:
    """Detection rate and accuracy when faces must first be found in a picture, as on the page; and
    how the detector's boxes sit on the faces' true squares: the crop geometry (medians)."""
    from pipeline.evaluate import score

    found, predictions, scales, shifts = [], [], [], []
    for detections, size, (left, top) in zip(results, sizes, positions):
        truth = (left, top, int(size), int(size))
        hits = [d for d in detections if overlap(d["box"], truth) > 0.3]
        found.append(bool(hits))
        predictions.append(int(np.argmax(hits[0]["scores"])) if hits else -1)
        if hits:
            x, y, width, height = hits[0]["box"]
            side = (width + height) / 2
            scales.append(size / side)
            shifts.append((top + size / 2 - (y + height / 2)) / side)
    found, predictions = np.array(found), np.array(predictions)
    metrics = score(labels[found], predictions[found], class_set.names)
    return {"detection_rate": float(found.mean()), "accuracy_of_found": metrics["accuracy"],
            "macro_recall_of_found": metrics["macro_recall"],
            "accuracy_of_all": float((predictions == labels).mean()),
            "face_sizes_px": [int(sizes.min()), int(sizes.max())],
            "measured_crop_geometry": {"scale": float(np.median(scales)), "shift_y": float(np.median(shifts))}
            if scales else None}


def accuracy_table(results: dict) -> str:
    classes = results["classes"]
    lines = [f"| model | accuracy | macro recall | {' | '.join(f'{c} recall' for c in classes)} | size | ms per face |",
             "|---|---:|---:|" + "---:|" * len(classes) + "---:|---:|"]
    for row in results["rows"]:
        recalls = " | ".join(f"{row['recall'][c]:.1%}" for c in classes)
        lines.append(f"| {row['model']} | {row['accuracy']:.1%} | {row['macro_recall']:.1%} | {recalls} "
                     f"| {row['size_bytes'] / 1e6:.2f} MB | {row['ms_per_face']:.2f} |")
    frames, photos = results["in_frames"], results["in_photos"]
    lines.append("")
    lines.append(f"{results['faces']} validation faces ({', '.join(classes)}), TF.js {results['backend']} in headless "
                 "Chromium; peers' scores restricted to these classes (argmax over them).")
    for name, where, measured in [("camera frames", "640x480 frames", frames), ("photos", "1600x1200 photos", photos)]:
        low, high = measured["face_sizes_px"]
        lines.append(f"In {name}: placed into {where} ({low}-{high} px faces), found by the page's detector and "
                     f"cropped by the page's code: detection rate {measured['detection_rate']:.1%}, accuracy "
                     f"{measured['accuracy_of_found']:.1%} of the faces found ({measured['accuracy_of_all']:.1%} of all, "
                     "a missed face counting as wrong).")
        geometry = measured["measured_crop_geometry"]
        if geometry:
            lines.append(f"Measured crop geometry there (true face square against the detector's box, medians): "
                         f"scale {geometry['scale']:.3f}, shift_y {geometry['shift_y']:.3f}.")
    return "\n".join(lines)


def write_into_card(card: Path, table: str, start: str = CARD_START, end: str = CARD_END) -> None:
    text = card.read_text() if card.exists() else f"{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    card.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))
    print(f"table written into {card}", file=sys.stderr)


def write_json(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}", file=sys.stderr)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m web.bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("speed", help="the live page vs face-api live: ms per frame, fps, long tasks")
    timing.add_argument("--backends", nargs="+", default=["wasm", "webgl"], choices=["wasm", "webgl", "cpu"])
    timing.add_argument("--frame-sources", nargs="+", default=list(FRAME_SOURCES), choices=list(FRAME_SOURCES),
                        help="how camera frames reach the page's worker (default: both)")
    timing.add_argument("--seconds", type=float, default=20, help="seconds each live run is measured (default: 20)")
    timing.add_argument("--warmup", type=float, default=3, help="seconds of each live run before measuring (default: 3)")
    timing.add_argument("--frames", type=int, default=50, help="frames timed per model-only run (default: 50)")
    timing.add_argument("--budget", type=float, default=30, help="at most this many seconds per model-only run (default: 30)")
    timing.add_argument("--out", type=Path, default=BENCH_DOCS / "speed.json")
    timing.set_defaults(run=speed)
    reading = commands.add_parser("frames", help="what each way of reading a shown webcam frame costs")
    reading.add_argument("--frames", type=int, default=60, help="frames timed per way (default: 60)")
    reading.add_argument("--out", type=Path, default=BENCH_DOCS / "frames.json")
    reading.set_defaults(run=frames)
    quality = commands.add_parser("accuracy", help="Mien vs Human and face-api on validation faces")
    quality.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set (default: {DEFAULT_DATA})")
    quality.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    quality.add_argument("--limit", type=int, help="use this many faces, spread over the split (default: all)")
    quality.add_argument("--photo-faces", type=int, default=300,
                         help="of those, how many are also found in photos, as small faces (default: 300)")
    quality.add_argument("--card", default=str(MODEL_CARD), help="model card to write the table into ('' for none)")
    quality.add_argument("--out", type=Path, default=BENCH_DOCS / "accuracy.json")
    quality.set_defaults(run=accuracy)
    finding = commands.add_parser("faces", help="detection rate by face width, Mien's detectors and face-api's")
    finding.add_argument("--widths", type=int, nargs="+", default=list(FACE_WIDTHS), help="face widths in px")
    finding.add_argument("--trials", type=int, default=40, help="frames per width (default: 40)")
    finding.add_argument("--repeats", type=int, default=60,
                         help="times the live page sees each frame: 60 is 2 s of a 30 fps camera (default: 60)")
    finding.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    finding.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set for the expressions (default: {DEFAULT_DATA})")
    finding.add_argument("--faces-per-width", type=int, default=300, help="validation faces per width (default: 300)")
    finding.add_argument("--sweep", type=int, default=12,
                         help="frames each validation face is seen before it is classified: a sweep of the tiles (default: 12)")
    finding.add_argument("--card", default=str(MODEL_CARD), help="model card to write the tables into ('' for none)")
    finding.add_argument("--out", type=Path, default=BENCH_DOCS / "faces.json")
    finding.set_defaults(run=faces)
    table = commands.add_parser("teacher-table", help="a peer's scores for every training face, a teacher for pipeline.train")
    table.add_argument("peer", choices=list(PEERS))
    table.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set (default: {DEFAULT_DATA})")
    table.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    table.add_argument("--out", type=Path, required=True, help="the table to write (.csv)")
    table.set_defaults(run=teacher_table)
    for command in (timing, quality, finding):
        command.add_argument("--model-dir", type=Path, default=REPO / "static" / "model", help="exported model (default: static/model)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    main()
