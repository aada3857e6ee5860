"""python -m bench accuracy: Mien's exported model against Human's and face-api's expression
models on the same validation faces, in the same browser; and how many of those faces the page's
own code finds and reads right when they must first be found in a camera frame or a photo."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.browser import chromium, run_in_page
from bench.peers import PEERS, write_faces
from bench.results import BENCH_DOCS, MODEL_CARD, publish
from bench.server import BenchServer
from bench.speed import model_url
from pipeline.data import DEFAULT_DATA, load_dataset
from pipeline.evaluation.metrics import score
from pipeline.expressions import ClassSet, canonical_emotion
from pipeline.faces.boxes import overlap


def add_arguments(parser) -> None:
    parser.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set (default: {DEFAULT_DATA})")
    parser.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    parser.add_argument("--limit", type=int, help="use this many faces, spread over the split (default: all)")
    parser.add_argument("--photo-faces", type=int, default=300,
                        help="of those, how many are also found in photos, as small faces (default: 300)")
    parser.add_argument("--card", default=str(MODEL_CARD), help="model card to write the table into ('' for none)")
    parser.add_argument("--out", type=Path, default=BENCH_DOCS / "accuracy.json")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

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
        write_faces(Path(data_dir), images)
        with BenchServer(data_dir, MODEL_DIR=args.model_dir) as server, sync_playwright() as playwright, \
                chromium(playwright) as browser:
            page = f"{server.url}/bench/mien.html"
            print(f"classifying {len(labels)} faces with Mien, Human and face-api ...", file=sys.stderr)
            outputs = {"Mien": run_in_page(browser, page, "mienTight", args.backend, model_url(args))}
            outputs.update({peer.name: peer.scores(browser, server.url, args.backend) for peer in PEERS.values()})
            print("finding and classifying them in 640x480 frames with the page's code ...", file=sys.stderr)
            in_frames = run_in_page(browser, page, "mienInFrames", args.backend, model_url(args), sizes.tolist(), positions)
            print(f"... and {len(in_photo)} of them in 1600x1200 photos ...", file=sys.stderr)
            in_photos = run_in_page(browser, page, "mienInFrames", args.backend, model_url(args),
                                    photo_sizes.tolist(), photo_positions,
                                    {"photo": True, "picture": [1600, 1200], "faces": in_photo.tolist()})

    sizes_bytes = {"Mien": metadata["size_bytes"], **{peer.name: peer.size_bytes() for peer in PEERS.values()}}
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
    return publish("accuracy", results, accuracy_table(results), args.out, args.card)


def restrict(scores: np.ndarray, names: list[str], class_set) -> np.ndarray:
    """A model's scores for ``class_set``: each class sums the scores of the expressions it holds."""
    column_of = {canonical_emotion(name): index for index, name in enumerate(names)}
    return np.stack([scores[:, [column_of[e] for e in group]].sum(axis=1) for group in class_set.members], axis=1)


def score_in_frames(results, labels, sizes, positions, class_set) -> dict:
    """Detection rate and accuracy when faces must first be found in a picture, as on the page; and
    how the detector's boxes sit on the faces' true squares: the crop geometry (medians)."""
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
