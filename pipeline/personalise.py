"""Make a person's profile from a folder of their labelled pictures, as the page's "Teach Mien your
face" does from a few seconds of each expression.

    python -m pipeline.personalise me/ --out me.json        # me/neutral/*.jpg, me/happy/*.jpg, ...
    python -m pipeline.detect photos/ --profile me.json

The folder holds a subfolder per class of the model (any of them; neutral alone already helps),
named as the classes are (angry, happy, neutral, sad...). In each picture the largest face is
used; a picture without a face is skipped and counted. The profile holds numbers only (see
pipeline.faces.personal); the page imports it as it is. Every profile is checked as the page checks
it, and one the check does not pass keeps the shipped model: the last line says which, and what to
teach it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.console import load_tensorflow
from pipeline.data import IMAGE_SUFFIXES
from pipeline.errors import UserError, reports_user_errors
from pipeline.expressions import canonical_emotion
from pipeline.images import UnreadableImage, read_image, shown
from pipeline.runs import resolve_model_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pipeline.personalise",
                                     description="Make a person's profile from a folder of their labelled pictures.")
    parser.add_argument("folder", type=Path, help="a subfolder per class (neutral/, happy/...) of the person's pictures")
    parser.add_argument("--out", type=Path, required=True, help="the profile to write (.json)")
    parser.add_argument("--model", help="run folder or .keras file (default: the newest run, else the shipped model)")
    parser.add_argument("--shrink", action="store_true", help="read a JPEG of more than 50 megapixels at a half, a "
                        "quarter or an eighth of its size rather than skip it")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


def pictures_by_class(folder: Path, classes: list[str]) -> dict[str, list[Path]]:
    """The pictures of each class's subfolder (two folders of one class, such as happy/ and
    happiness/, both); hidden folders (.ipynb_checkpoints/) are passed over; a UserError for any
    other subfolder no class is named after."""
    if not folder.is_dir():
        raise UserError(f"{shown(folder)} is not a folder; give a folder with a subfolder per class (neutral/, happy/...).")
    found = {}
    for subfolder in sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")):
        name = canonical_emotion(subfolder.name) or subfolder.name
        if name not in classes:
            raise UserError(f"{shown(subfolder)} is named after no class of the model; its classes are {', '.join(classes)}.")
        found.setdefault(name, []).extend(sorted(path for path in subfolder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES))
    if not any(found.values()):
        raise UserError(f"{shown(folder)} holds no pictures in class subfolders ({', '.join(classes)}); add some.")
    return found


@reports_user_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    model_path = resolve_model_path(args.model)
    load_tensorflow(args.verbose)
    from pipeline.faces.classifier import ExpressionClassifier  # TensorFlow, once the arguments are good
    from pipeline.faces.finder import largest_face
    from pipeline.faces.personal import fit_profile

    classifier = ExpressionClassifier(model_path)
    if not classifier.identity["sha256"]:
        raise UserError(f"{model_path} does not record the weights the page knows it by; export it with "
                        "python -m exporters.to_tfjs --keras FILE and use that file.")
    examples, skipped = {}, 0
    for name, paths in pictures_by_class(args.folder, classifier.class_names).items():
        for path in paths:
            try:
                faces = classifier.answers(read_image(path, shrink=args.shrink))
            except UnreadableImage as error:
                print(f"{shown(path)}: skipped, {error}", file=sys.stderr)
                faces = []
            if faces:
                examples.setdefault(name, []).append(largest_face(faces)[1])
            else:
                skipped += 1
    if not examples:
        raise UserError(f"No face was found in the {skipped} picture(s) of {shown(args.folder)}; give pictures where one "
                        "face looks at the camera.")
    profile = fit_profile(classifier.identity, examples, skipped=skipped, reference=classifier.reference)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(profile, indent=1))
    except OSError as error:
        raise UserError(f"Cannot write {shown(args.out)} ({error.strerror or error}); choose an --out you can write to.") from None
    counts = ", ".join(f"{name} {count}" for name, count in profile["examples"].items())
    print(f"Profile from {sum(profile['examples'].values())} face(s) ({counts}; {skipped} picture(s) without a face or unreadable): {shown(args.out)}")
    print(profile["verdict"]["sentence"])
    return profile


if __name__ == "__main__":
    main()
