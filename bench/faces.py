"""python -m bench faces: how many faces of each width are found, by the live page's way of
finding them, by its detector alone on one frame, by pipeline.detect's finder and by face-api's;
false faces on pictures with none; and expressions read end to end by face width."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from bench.accuracy import score_in_frames
from bench.browser import chromium, run_in_page
from bench.peers import write_faces
from bench.pictures import ASTRONAUT_FACE, ASTRONAUT_HEAD, write_face_pictures
from bench.results import BENCH_DOCS, MODEL_CARD, publish
from bench.server import BenchServer
from bench.speed import model_url
from pipeline.data import DEFAULT_DATA, load_dataset
from pipeline.expressions import ClassSet
from pipeline.faces.boxes import overlap

FACE_WIDTHS = (40, 50, 60, 80, 120, 200, 300)
# MediaPipe's full-range BlazeFace (192x192, 48x48 anchors), compared with the page's detector.
FULL_RANGE = {"file": "/peers/full-range-detector/facemesh-detection-full.json", "input_range": [-1, 1],
              "anchors": [{"stride": 4, "per_cell": 1}], "values_per_anchor": 17, "eyes": [5, 7]}


def add_arguments(parser) -> None:
    parser.add_argument("--widths", type=int, nargs="+", default=list(FACE_WIDTHS), help="face widths in px")
    parser.add_argument("--trials", type=int, default=40, help="frames per width (default: 40)")
    parser.add_argument("--repeats", type=int, default=60,
                        help="times the live page sees each frame: 60 is 2 s of a 30 fps camera (default: 60)")
    parser.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set for the expressions (default: {DEFAULT_DATA})")
    parser.add_argument("--faces-per-width", type=int, default=300, help="validation faces per width (default: 300)")
    parser.add_argument("--sweep", type=int, default=12,
                        help="frames each validation face is seen before it is classified: a sweep of the tiles (default: 12)")
    parser.add_argument("--card", default=str(MODEL_CARD), help="model card to write the tables into ('' for none)")
    parser.add_argument("--out", type=Path, default=BENCH_DOCS / "faces.json")


def run(args) -> dict:
    """Detection rate by face width and false faces on pictures with none: Mien's detectors and face-api's."""
    from playwright.sync_api import sync_playwright

    faces_to_read = validation_faces(args)  # read first: a wrong --data stops the run before its long work
    with tempfile.TemporaryDirectory() as data_dir:
        backgrounds = write_face_pictures(Path(data_dir))
        frames = face_frames(backgrounds, args.widths, args.trials)
        empty = [{"background": name, "heads": []} for name in backgrounds]
        results = {"frames": "640x480, one face (scikit-image's astronaut, scaled) anywhere on a face-free photo",
                   "trials_per_width": args.trials, "pictures_without_faces": len(empty), "live_repeats": args.repeats,
                   "detectors": {}}
        with BenchServer(data_dir) as server, sync_playwright() as playwright, chromium(playwright) as browser:
            page = f"{server.url}/bench/mien.html"
            print(f"the live page's face finder, each frame seen {args.repeats} times ...", file=sys.stderr)
            found = run_in_page(browser, page, "mienLiveFaces", args.backend, frames + empty, args.repeats)
            results["detectors"]["Mien, live page (short range, followed)"] = detector_figures(frames, found)
            for name, spec in (("short", None), ("full", FULL_RANGE)):
                print(f"Mien's detector alone, {name} range ...", file=sys.stderr)
                found = run_in_page(browser, page, "mienFaces", args.backend, spec, frames + empty)
                results["detectors"][f"Mien, one frame ({name} range)"] = detector_figures(frames, [[boxes] for boxes in found])
            print("face-api's TinyFaceDetector ...", file=sys.stderr)
            found = run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiFaces", args.backend, frames + empty)
            results["detectors"]["face-api (TinyFaceDetector 416)"] = detector_figures(frames, [[boxes] for boxes in found])
        print("pipeline.detect's face finder (Python) ...", file=sys.stderr)
        results["detectors"]["pipeline.detect (Python, followed)"] = python_faces(Path(data_dir), frames + empty,
                                                                                   len(frames), args.repeats)
    results["expressions_by_width"] = expressions_by_width(args, *faces_to_read)
    return publish("faces", results, faces_table(results), args.out, args.card)


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


def python_faces(folder: Path, frames: list[dict], faces_frames: int, repeats: int) -> dict:
    """pipeline.detect's way (pipeline.faces.finder.FaceFinder) on the same frames, composed from
    the same pictures in ``folder``."""
    from pipeline.console import load_tensorflow

    load_tensorflow()
    from pipeline.faces.finder import FaceDetector, FaceFinder

    def read(name: str) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(folder / name)), cv2.COLOR_BGR2RGB)

    finder = FaceFinder(FaceDetector())
    head = read("head.png")
    found = []
    for frame in frames:
        picture = read(frame["background"])
        for x, y, width, height in frame["heads"]:
            pasted = cv2.resize(head, (round(width), round(height)), interpolation=cv2.INTER_AREA)
            left, top = round(x), round(y)
            view = picture[max(0, top):top + pasted.shape[0], max(0, left):left + pasted.shape[1]]
            view[:] = pasted[max(0, -top):max(0, -top) + view.shape[0], max(0, -left):max(0, -left) + view.shape[1]]
        finder.reset()
        found.append([[list(box) for box, *_ in finder.find(picture)] for _ in range(repeats)])
    return detector_figures(frames[:faces_frames], found)


def validation_faces(args) -> tuple[np.ndarray, np.ndarray, ClassSet]:
    """The validation faces read by width: ``--faces-per-width`` of them (images, labels), in the model's classes."""
    metadata = json.loads((Path(args.model_dir) / "metadata.json").read_text())
    class_set = ClassSet.from_json(metadata["class_members"])
    split = load_dataset(args.data, class_set, splits=("validation",))["validation"]
    picks = np.linspace(0, len(split.labels) - 1, min(args.faces_per_width, len(split.labels))).astype(int)
    return split.images[picks], split.labels[picks], class_set


def expressions_by_width(args, images: np.ndarray, labels: np.ndarray, class_set: ClassSet) -> dict:
    """End to end, by face width: validation ``images`` shrunk or enlarged to that width, placed
    anywhere in a 640x480 frame, found and cropped by the page's own code and classified by its model."""
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(11)
    by_width = {}
    with tempfile.TemporaryDirectory() as data_dir:
        write_faces(Path(data_dir), images)
        with BenchServer(data_dir, MODEL_DIR=args.model_dir) as server, sync_playwright() as playwright, \
                chromium(playwright) as browser:
            for width in args.widths:
                print(f"expressions of {len(labels)} faces {width} px wide ...", file=sys.stderr)
                sizes = np.full(len(labels), width)
                positions = [[int(rng.integers(0, 641 - width)), int(rng.integers(0, 481 - width))] for _ in labels]
                found = run_in_page(browser, f"{server.url}/bench/mien.html", "mienInFrames", args.backend,
                                    model_url(args), sizes.tolist(), positions, {"frames": args.sweep})
                by_width[str(width)] = score_in_frames(found["results"], labels, sizes, positions, class_set)
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
