"""python -m bench teachers: teacher tables from the browser peers: a peer's expression scores for
every training face, a teacher ``python -m pipeline.train --teacher`` distils from
(pipeline.training.tables).

    python -m bench teachers human --out human.csv      # or face-api

The peers exist only as browser libraries, so they run as the benchmarks run them: in headless
Chromium, from their npm packages, with their own preprocessing (bench.peers).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.peers import PEERS, score_faces
from pipeline.data import DEFAULT_DATA, load_dataset
from pipeline.expressions import canonical_emotion, parse_classes
from pipeline.training.tables import write_table


def add_arguments(parser) -> None:
    parser.add_argument("peer", choices=list(PEERS))
    parser.add_argument("--data", default=str(DEFAULT_DATA), help=f"data set (default: {DEFAULT_DATA})")
    parser.add_argument("--backend", default="wasm", choices=["wasm", "webgl", "cpu"])
    parser.add_argument("--out", type=Path, required=True, help="the table to write (.csv)")


def run(args) -> Path:
    faces = load_dataset(args.data, parse_classes(7), splits=("train",))["train"].images
    print(f"scoring {len(faces)} training faces with {args.peer} ...", file=sys.stderr)
    classes, scores = score_faces(args.peer, faces, args.backend)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_table(args.out, faces, [canonical_emotion(name) for name in classes], scores)
    print(f"{args.peer}'s scores for {len(faces)} faces: {args.out}", file=sys.stderr)
    return args.out
