"""python -m bench personal: how much a person's profile helps, measured on people the model never
saw. For each person of each photo set (bench.photos: JAFFE, the Taiwanese pictures), profiles
are fitted in four ways of teaching, each scored on that person's remaining pictures: one picture
per class (every choice of them, or 20 fixed random draws where there are more), two per class
(20 draws), one neutral picture alone (every choice), and the guided flow's many frames (every
picture of the person but one of each class, 5 draws, where each class has three or more);
beside them, the shipped model alone, face-api and Human on the same pictures. Every profile is
checked as the page checks it (its verdict): one the check refuses reads with the shipped model,
and the share refused is counted.
The resting face as a mood record lives with it: of each person's neutral pictures not used for
the profile, the share read as angry or sad, by the shipped model and with the neutral-only profile.

Everything goes through Mien's component in Chromium: each photo once through ``analyse`` (found,
cropped and read end to end, with its features), the profiles fitted and applied by the
component's own code (component/static/js/personal.js), at the model's own strength (metadata.personal);
given --strengths, the strength is chosen for each person among them on the set's other people,
never on the person.
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.browser import chromium, run_in_page
from bench.photos import MODELS, SETS, answers_of, folders, write_photos
from bench.photos import add_arguments as photo_arguments
from bench.results import BENCH_DOCS, publish
from bench.server import BenchServer
from pipeline.expressions import ClassSet
from pipeline.faces.personal import STRENGTH

DRAWS = 20  # draws of pictures per person for one and two per class
FLOW_DRAWS = 5  # draws of the one picture per class held out of the guided flow's frames
KINDS = ("one per class", "two per class", "neutral only", "guided flow")


def add_arguments(parser) -> None:
    photo_arguments(parser, BENCH_DOCS / "personal.json")  # the same sets, models and backend
    parser.add_argument("--strengths", type=float, nargs="+", default=[STRENGTH],
                        help=f"strengths to fit profiles with, the best for each person chosen on the others (default: the "
                             f"model's own, {STRENGTH})")


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    results = {"sets": {}, "backend": args.backend, "strengths": args.strengths, "draws": DRAWS, "flow_draws": FLOW_DRAWS}
    for name, folder in folders(args.sets).items():
        photo_set = SETS[name]
        photos = photo_set.photos(folder)
        results["sets"][name] = {"title": photo_set.title, "source": photo_set.source, "by_classes": {}}
        with tempfile.TemporaryDirectory() as data_dir:
            files = write_photos(photos, Path(data_dir))
            with BenchServer(data_dir) as server, sync_playwright() as playwright, chromium(playwright) as browser:
                peers = {"face-api": run_in_page(browser, f"{server.url}/bench/face-api.html", "faceApiPhotos", args.backend, files),
                         "Human": run_in_page(browser, f"{server.url}/bench/human.html", "humanPhotos", args.backend, files)}
                for classes in args.classes:
                    print(f"{photo_set.title}, {classes} classes: features of {len(files)} photos ...", file=sys.stderr)
                    model = f"/models/{MODELS[classes].name}/"
                    faces = run_in_page(browser, f"{server.url}/bench/mien.html", "mienPhotos", args.backend, model, files,
                                        {"features": True})
                    results["sets"][name]["by_classes"][classes] = measure(
                        browser, server.url, args.backend, model, photos, faces, peers, classes, args.strengths)
    return publish("personal", results, personal_table(results), args.out, args.card)


def teaching(by_class: list[list[int]], neutral: int, rng) -> dict[str, list[list[int]]]:
    """One person's pictures to fit profiles from, per way of teaching (by_class: their pictures of each class)."""
    sizes = [len(pictures) for pictures in by_class]
    one = ((list(itertools.product(*by_class)) if np.prod(sizes) <= DRAWS else
            [tuple(int(rng.choice(pictures)) for pictures in by_class) for _ in range(DRAWS)]) if min(sizes) else [])
    two = [[int(i) for pictures in by_class for i in rng.choice(pictures, 2, replace=False)] for _ in range(DRAWS)] if min(sizes) >= 2 else []
    flow = []
    if min(sizes) >= 3:  # all the person's pictures but one of each class: many frames of each expression
        for _ in range(FLOW_DRAWS):
            held = {int(rng.choice(pictures)) for pictures in by_class}
            flow.append([i for pictures in by_class for i in pictures if i not in held])
    return {"one per class": [list(combo) for combo in one], "two per class": two,
            "neutral only": [[n] for n in by_class[neutral]], "guided flow": flow}


def measure(browser, url: str, backend: str, model: str, photos, faces: dict, peers: dict, classes: str,
            strengths: list[float]) -> dict:
    """Per person, the shipped model, the peers and the profiles (per strength) on the same pictures."""
    class_set = ClassSet.from_json(json.loads((MODELS[classes] / "metadata.json").read_text())["class_members"])
    names = class_set.names
    kept = [index for index, (_, expression, _) in enumerate(photos) if expression in names]
    labels = np.full(len(photos), -1)
    labels[kept] = [names.index(photos[index][1]) for index in kept]
    found = [index for index in kept if faces["photos"][index]]
    people = sorted({photos[index][2] for index in kept})
    rng = np.random.default_rng(13)
    tasks, owners = [], []
    for person in people:
        own = [index for index in found if photos[index][2] == person]
        by_class = [[index for index in own if labels[index] == c] for c in range(len(names))]
        for kind, picks in teaching(by_class, names.index("neutral"), rng).items():
            for pick in picks:
                examples = {}
                for i in pick:
                    examples.setdefault(names[labels[i]], []).append(i)
                tasks.append({"examples": examples, "held": [i for i in own if i not in pick]})
                owners.append((person, kind))
    print(f"{len(tasks)} profiles x {len(strengths)} strength(s) ...", file=sys.stderr)
    fitted = run_in_page(browser, f"{url}/bench/mien.html", "mienProfiles", backend, model, faces, tasks, strengths)
    # Each photo's answer: with a profile (per task and strength), alone, and by the peers.
    shipped = answers_of(faces, list(range(len(photos))), class_set)
    peer_answers = {peer: answers_of(output, list(range(len(photos))), class_set) for peer, output in peers.items()}
    gloomy = [names.index("angry"), names.index("sad")]
    rows = {}
    for (person, kind), task, answers, used in zip(owners, tasks, fitted["answers"], fitted["used"]):
        held = np.array([i for i in task["held"]])
        if len(held) == 0:
            continue
        truth = labels[held]
        row = rows.setdefault((person, kind), {"shipped": [], "personal": {s: [] for s in strengths}, "used": {s: [] for s in strengths},
                                               "resting_shipped": [], "resting": {s: [] for s in strengths}})
        row["shipped"].append(float((shipped[held] == truth).mean()))
        resting = truth == names.index("neutral")  # the held neutral pictures: how often a calm face reads angry or sad
        if resting.any():
            row["resting_shipped"].append(float(np.isin(shipped[held][resting], gloomy).mean()))
        for strength, predicted, passed in zip(strengths, answers, used):
            row["personal"][strength].append(float((np.array(predicted) == truth).mean()))
            row["used"][strength].append(float(passed))
            if resting.any():
                row["resting"][strength].append(float(np.isin(np.array(predicted)[resting], gloomy).mean()))
    by_kind = {}
    for kind in KINDS:
        persons = {person: row for (person, k), row in rows.items() if k == kind}
        if not persons:
            continue
        means = {person: {s: statistics.mean(row["personal"][s]) for s in strengths} for person, row in persons.items()}
        outcome = {}
        for person, row in persons.items():
            others = [p for p in persons if p != person]
            # The strength is chosen on the other people: the best mean gain over the shipped model there.
            strength = max(strengths, key=lambda s: statistics.mean(
                means[p][s] - statistics.mean(persons[p]["shipped"]) for p in others)) if others else strengths[0]
            outcome[person] = {"strength": strength, "shipped": statistics.mean(row["shipped"]),
                               "personal": means[person][strength], "used": statistics.mean(row["used"][strength]),
                               "draws": len(row["shipped"])}
            if row["resting_shipped"]:
                outcome[person]["resting"] = {"shipped": statistics.mean(row["resting_shipped"]),
                                              "personal": statistics.mean(row["resting"][strength])}
        gains = [o["personal"] - o["shipped"] for o in outcome.values()]
        by_kind[kind] = {
            "people": len(outcome), "shipped": statistics.mean(o["shipped"] for o in outcome.values()),
            "personal": statistics.mean(o["personal"] for o in outcome.values()),
            "worst_person": min(o["personal"] for o in outcome.values()),
            "worse": sum(gain < -1e-9 for gain in gains), "used": statistics.mean(o["used"] for o in outcome.values()),
            "by_person": outcome,
        }
        calm = [o["resting"] for o in outcome.values() if "resting" in o]
        if calm:  # the mean over people of the share of their held neutral pictures read as angry or sad
            by_kind[kind]["resting_angry_or_sad"] = {"people": len(calm), "shipped": statistics.mean(c["shipped"] for c in calm),
                                                     "personal": statistics.mean(c["personal"] for c in calm)}
    peers_accuracy = {peer: statistics.mean(float((answers[[i for i in kept if photos[i][2] == person]]
                                                   == labels[[i for i in kept if photos[i][2] == person]]).mean())
                                            for person in people) for peer, answers in peer_answers.items()}
    return {"classes": names, "photos": len(kept), "with_a_face": len(found), "people": len(people),
            "fit_ms": fitted["fit_ms"], "profiles": by_kind, "peers": peers_accuracy}


def personal_table(results: dict) -> str:
    lines = ["| set | classes | profile from | people | profiles used | shipped model | with a profile | gain | worst person "
             "| people worse | resting face angry or sad | face-api | Human |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, measured in results["sets"].items():
        for classes, part in measured["by_classes"].items():
            for kind, row in part["profiles"].items():
                calm = row.get("resting_angry_or_sad")
                resting = f"{calm['shipped']:.1%} → {calm['personal']:.1%}" if kind == "neutral only" and calm else ""
                lines.append(f"| {measured['title']} | {classes} | {kind} | {row['people']} | {row['used']:.0%} | {row['shipped']:.1%} | "
                             f"{row['personal']:.1%} | {row['personal'] - row['shipped']:+.1%} | {row['worst_person']:.1%} | "
                             f"{row['worse']} | {resting} | {part['peers']['face-api']:.1%} | {part['peers']['Human']:.1%} |")
    chosen = (f"the strength chosen for each person among {', '.join(map(str, results['strengths']))} on the set's other people"
              if len(results["strengths"]) > 1 else f"at the model's strength ({results['strengths'][0]})")
    lines.append("\nMean over people of the accuracy on each person's remaining pictures (a picture whose face is not found "
                 "counts as wrong for the peers, and is left out of Mien's draws); profiles from one picture per class (every "
                 f"choice, or {results['draws']} fixed random draws), two per class ({results['draws']} draws), one neutral picture "
                 f"(every choice), or the guided flow's frames (all the person's pictures but one of each class, "
                 f"{results['flow_draws']} draws, where each class has three), fitted, checked and applied by the component's own "
                 f"code, {chosen}. Profiles used: the share the check passed (a refused profile reads with the shipped model). "
                 "Resting face: of each person's neutral pictures not used for the profile, the share read as angry or sad, "
                 "by the shipped model and with the neutral-only profile (mean over people). Peers: the same "
                 f"person's pictures, all of them. TF.js {results['backend']} in headless Chromium.")
    return "\n".join(lines)
