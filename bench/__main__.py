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
    python -m bench teachers human --out human.csv      # a peer's scores of the training faces, to distil from
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import accuracy, embed, faces, firefox, frames, personal, photos, speed, teachers
from bench.browser import CHROMIUM
from bench.server import PEER_FILES, peer_file
from facts import MODEL_DIR
from pipeline.errors import UserError, reports_user_errors

BENCHMARKS = {
    "speed": (speed, "the live page vs face-api live: ms per frame, fps, long tasks"),
    "frames": (frames, "what each way of reading a shown webcam frame costs"),
    "accuracy": (accuracy, "Mien vs Human and face-api on validation faces"),
    "faces": (faces, "detection rate by face width, Mien's finder and face-api's"),
    "photos": (photos, "labelled whole photos found and read end to end: Mien, face-api and Human"),
    "personal": (personal, "how much a person's profile helps, on people the model never saw"),
    "firefox": (firefox, "the page in Firefox ESR vs Chromium: page loads ready, a moving face's results per second"),
    "embed": (embed, "Mien bundled by Vite, webpack, esbuild and imported by another site: first result, bytes, results/s"),
    "teachers": (teachers, "a browser peer's scores of every training face: a teacher table for pipeline.train --teacher"),
}
WITH_A_MODEL = ("speed", "accuracy", "faces", "firefox")
WITH_PEERS = ("speed", "accuracy", "faces", "photos", "personal", "teachers")  # they measure against the peers' npm packages
WITH_CHROMIUM = ("speed", "frames", "accuracy", "faces", "photos", "personal", "firefox", "embed", "teachers")
# Options that count or time something: each must be more than 0 (--warmup: 0 or more).
POSITIVE = ("frames", "seconds", "budget", "loads", "load_timeout", "trials", "repeats", "faces_per_width", "sweep",
            "visits", "timeout", "photo_faces", "limit")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module, summary) in BENCHMARKS.items():
        command = commands.add_parser(name, help=summary, description=module.__doc__.split("\n\n")[0])
        module.add_arguments(command)
        if name in WITH_A_MODEL:
            command.add_argument("--model-dir", type=Path, default=MODEL_DIR,
                                 help="exported model (default: component/models/model)")
        command.set_defaults(run=module.run)
    return parser.parse_args(argv)


def check_arguments(args) -> None:
    """What every benchmark needs, before anything is measured: counts and times that can be
    measured, the peers' files and Chromium, and an --out (and --card) that can be written; a
    UserError says what is wrong."""
    for name in POSITIVE:
        value = getattr(args, name, None)
        if value is not None and not value > 0:
            raise UserError(f"--{name.replace('_', '-')} must be more than 0 (got {value}); leave it out for its default.")
    if getattr(args, "warmup", 0) is not None and not getattr(args, "warmup", 0) >= 0:
        raise UserError(f"--warmup must be 0 seconds or more (got {args.warmup}); leave it out for its default.")
    if args.command in WITH_PEERS:
        missing = [path for path in (peer_file(package, name) for package, (_, names) in PEER_FILES.items()
                                     for name in names) if not path.is_file()]
        if missing:
            raise UserError(f"{missing[0]} is missing; run npm ci (make bench does) and try again.")
    if args.command in WITH_CHROMIUM and not Path(CHROMIUM).exists():
        raise UserError(f"Chromium is not installed at {CHROMIUM}; install Debian's chromium package.")
    for option, path in (("--out", getattr(args, "out", None)), ("--card", getattr(args, "card", None) or None)):
        if path is not None:
            writable(Path(path), option)


def writable(path: Path, option: str) -> None:
    """Open ``path`` for appending, as the benchmark's results will be written there, and leave it as
    it was; a UserError where that cannot be done."""
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as error:
        raise UserError(f"Cannot write {path} ({error.strerror or error}); choose an {option} you can write to, "
                        "before anything is measured.") from None
    if not existed:
        path.unlink()


@reports_user_errors
def main(argv=None):
    args = parse_args(argv)
    check_arguments(args)
    return args.run(args)


if __name__ == "__main__":
    main()
