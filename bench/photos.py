"""python -m bench photos: labelled whole photos of posed expressions, each found, cropped and read
end to end by every system in the same browser run: Mien through its component's ``analyse`` (the
page's photo path: the photo searched all over, the face cut as the model's training faces were,
the exported model), face-api and Human through their own pipelines (their detectors, crops and
expression models). Every system gets the same picture bytes; the largest face found is the
answer, and a photo without a face found counts as wrong.

The sets are evaluation only: nothing is trained or chosen on them. They are fixed here, before
any result was looked at; each names the public repository and commit its pictures come from
(fetch them yourself and give their folders with --sets).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.accuracy import restrict
from bench.browser import chromium, run_in_page
from bench.results import BENCH_DOCS, MODEL_CARD, publish
from bench.server import BenchServer
from facts import MODEL_DIR
from pipeline.evaluation.metrics import score
from pipeline.expressions import ClassSet, canonical_emotion


@dataclass(frozen=True)
class PhotoSet:
    """A public set of labelled photos: where it comes from, and how its labels are read."""

    title: str
    source: str  # repository, commit and folder
    people: str

    def photos(self, folder: Path) -> list[tuple[Path, str, str]]:
        """(file, expression, person) for every labelled photo under ``folder``."""
        raise NotImplementedError


class Jaffe(PhotoSet):
    """JAFFE: 213 photos of 10 Japanese women posing 7 expressions, in folders named by expression
    ("6 - Anger"); the person is the file name's first part (KA.AN1.39.tiff)."""

    def photos(self, folder):
        return [(path, canonical_emotion(path.parent.name.split(" - ")[-1]), path.name.split(".")[0])
                for path in sorted(Path(folder).glob("*/*.tiff"))]


class Taiwanese(PhotoSet):
    """The Taiwanese Facial Expression Image Database, front views: the file name gives the
    performer (its first two digits) and the expression posed (its fifth character: a calm/neutral,
    b happy, c sad, d angry, e disgusted, f fearful, g surprised). Files without that letter are
    left out."""

    LETTERS = {"a": "neutral", "b": "happy", "c": "sad", "d": "angry", "e": "disgust", "f": "fear", "g": "surprise"}

    def photos(self, folder):
        return [(path, self.LETTERS[path.name[4]], path.name[:2]) for path in sorted(Path(folder).glob("*.jpg"))
                if path.name[4] in self.LETTERS]


SETS = {
    "jaffe": Jaffe("JAFFE", "khyatimahajan/jaffe-tensorflow, commit 8ace1a1, Data/", "10 Japanese women"),
    "tfeid": Taiwanese("Taiwanese (TFEID), front views", "lai-wei-cheng/b12207073, commit 790c449, "
                       "Taiwanese/faces_256x256/", "29 Taiwanese performers"),
}
MODELS = {"4": MODEL_DIR, "7": MODEL_DIR.with_name("model-7")}


def add_arguments(parser, out: Path = BENCH_DOCS / "photos.json") -> None:
    parser.add_argument("--sets", nargs="+", metavar="NAME=FOLDER", required=True,
                        help=f"the sets' folders, as fetched: {', '.join(f'{name} ({s.source})' for name, s in SETS.items())}")
    parser.add_argument("--classes", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="class sets to measure, each with its model: 4 (component/models/model), 7 (component/models/model-7)")
    parser.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    parser.add_argument("--card", default=str(MODEL_CARD), help="model card to write the tables into ('' for none)")
    parser.add_argument("--out", type=Path, default=out)


def folders(specs: list[str]) -> dict[str, Path]:
    chosen = {}
    for spec in specs:
        name, _, folder = spec.partition("=")
        if name not in SETS or not folder:
            sys.exit(f"error: --sets takes NAME=FOLDER with NAME one of {', '.join(SETS)} (got {spec!r}).")
        if not Path(folder).is_dir():
            sys.exit(f"error: {folder} is not a folder; fetch {SETS[name].source} and give its folder.")
        chosen[name] = Path(folder)
    return chosen


def write_photos(photos: list[tuple[Path, str, str]], folder: Path) -> list[str]:
    """Each photo as a PNG (browsers read no TIFF), the same bytes for every system: /bench/data/N.png."""
    names = []
    for index, (path, _, _) in enumerate(photos):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            sys.exit(f"error: {path} is not a readable image; fetch the set again.")
        cv2.imwrite(str(folder / f"{index}.png"), image)
        names.append(f"{index}.png")
    return names


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    results = {"sets": {}, "backend": args.backend, "rule": "the largest face found is the answer; no face found is wrong"}
    for name, folder in folders(args.sets).items():
        photo_set = SETS[name]
        photos = photo_set.photos(folder)
        with tempfile.TemporaryDirectory() as data_dir:
            files = write_photos(photos, Path(data_dir))
            with BenchServer(data_dir) as server, sync_playwright() as playwright, chromium(playwright) as browser:
                print(f"{photo_set.title}: {len(photos)} photos through Mien, face-api and Human ...", file=sys.stderr)
                found = {
                    **{f"Mien ({classes} classes)": run_in_page(browser, f"{server.url}/bench/mien.html", "mienPhotos",
                                                                args.backend, f"/models/{MODELS[classes].name}/", files)
                       for classes in args.classes},
                    "face-api": run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiPhotos", args.backend, files),
                    "Human": run_in_page(browser, f"{server.url}/bench/human.html", "humanPhotos", args.backend, files),
                }
        results["sets"][name] = {"title": photo_set.title, "source": photo_set.source, "people": photo_set.people,
                                 "photos": len(photos), "by_classes": {}}
        for classes in args.classes:
            class_set = ClassSet.from_json(json.loads((MODELS[classes] / "metadata.json").read_text())["class_members"])
            kept = [index for index, (_, expression, _) in enumerate(photos) if expression in class_set.names]
            labels = np.array([class_set.names.index(photos[index][1]) for index in kept])
            rows = {system: answers_of(output, kept, class_set)
                    for system, output in found.items() if not system.startswith("Mien") or system == f"Mien ({classes} classes)"}
            results["sets"][name]["by_classes"][classes] = {
                "classes": class_set.names, "photos": len(kept),
                "systems": {system.split(" (")[0]: figures(labels, predictions, class_set.names)
                            for system, predictions in rows.items()}}
    return publish("photos", results, photos_table(results), args.out, args.card)


def answers_of(output: dict, kept: list[int], class_set: ClassSet) -> np.ndarray:
    """Each kept photo's answer: the class of its largest face, among ``class_set``; -1 without a face."""
    answers = []
    for index in kept:
        faces = output["photos"][index]
        if not faces:
            answers.append(-1)
            continue
        largest = max(faces, key=lambda face: face["box"][2] * face["box"][3])
        names = list(largest["scores"])
        answers.append(int(restrict(np.array([[largest["scores"][n] for n in names]]), names, class_set)[0].argmax()))
    return np.array(answers)


def figures(labels: np.ndarray, predictions: np.ndarray, names: list[str]) -> dict:
    """Accuracy (a photo without a face is wrong), macro recall, recall per class, faces found, confusion."""
    found = predictions >= 0
    # A missed face is scored as a wrong answer: a class of its own, past the real ones.
    metrics = score(labels, np.where(found, predictions, len(names)), [*names, "no face"])
    return {"accuracy": float((predictions == labels).mean()), "macro_recall": float(np.mean(
        [metrics["per_class"][name]["recall"] for name in names])),
            "recall": {name: metrics["per_class"][name]["recall"] for name in names},
            "faces_found": float(found.mean()), "confusion": [row for row in metrics["confusion"][:len(names)]]}


def photos_table(results: dict) -> str:
    lines = []
    for name, measured in results["sets"].items():
        for classes, part in measured["by_classes"].items():
            names = part["classes"]
            lines += [f"**{measured['title']}** ({measured['source']}; {measured['people']}), {classes} classes, "
                      f"{part['photos']} photos:", "",
                      "| system | accuracy | macro recall | " + " | ".join(f"{c} recall" for c in names) + " | faces found |",
                      "|---|---:|---:|" + "---:|" * len(names) + "---:|"]
            for system, row in part["systems"].items():
                recalls = " | ".join(f"{row['recall'][c]:.0%}" for c in names)
                lines.append(f"| {system} | {row['accuracy']:.1%} | {row['macro_recall']:.1%} | {recalls} | {row['faces_found']:.0%} |")
            lines.append("")
    lines.append(f"Whole photos, each system finding and cropping the face itself (TF.js {results['backend']} in headless "
                 "Chromium, the same PNG bytes for each); the largest face found is the answer, a photo without one is "
                 "wrong; peers' seven scores restricted to the model's classes.")
    return "\n".join(lines)
