"""python -m bench: Mien against the expression models people use in browsers, in the same
headless Chromium. Each benchmark prints a table and writes its figures to a JSON file
(docs/bench/); some also write their table into docs/model-card.md.

    python -m bench speed       # the live page vs face-api live: ms per 640x480 frame, fps, long tasks
    python -m bench frames      # what each way of reading a shown webcam frame costs
    python -m bench accuracy    # Mien vs Human's and face-api's models on validation faces
    python -m bench faces       # faces found by face width, Mien's way and face-api's
    python -m bench photos --sets jaffe=DIR tfeid=DIR     # labelled photos end to end, with the peers
    python -m bench personal --sets jaffe=DIR tfeid=DIR   # personal profiles on people never seen
    python -m bench firefox     # the page in Firefox ESR vs Chromium: loads ready, a moving face's results/s
    python -m bench embed       # the npm package bundled (Vite, webpack, esbuild) and /mien.js from another site
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import accuracy, embed, faces, firefox, frames, personal, photos, speed
from pipeline.errors import reports_user_errors
from web import REPO

BENCHMARKS = {
    "speed": (speed, "the live page vs face-api live: ms per frame, fps, long tasks"),
    "frames": (frames, "what each way of reading a shown webcam frame costs"),
    "accuracy": (accuracy, "Mien vs Human and face-api on validation faces"),
    "faces": (faces, "detection rate by face width, Mien's finder and face-api's"),
    "photos": (photos, "labelled whole photos found and read end to end: Mien, face-api and Human"),
    "personal": (personal, "how much a person's profile helps, on people the model never saw"),
    "firefox": (firefox, "the page in Firefox ESR vs Chromium: page loads ready, a moving face's results per second"),
    "embed": (embed, "Mien bundled by Vite, webpack, esbuild and imported by another site: first result, bytes, results/s"),
}
WITH_A_MODEL = ("speed", "accuracy", "faces", "firefox")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module, summary) in BENCHMARKS.items():
        command = commands.add_parser(name, help=summary, description=module.__doc__.split("\n\n")[0])
        module.add_arguments(command)
        if name in WITH_A_MODEL:
            command.add_argument("--model-dir", type=Path, default=REPO / "static" / "model",
                                 help="exported model (default: static/model)")
        command.set_defaults(run=module.run)
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None):
    args = parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    main()
