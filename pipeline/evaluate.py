"""Evaluate a trained model on a data split: accuracy, macro F1, per-class table, confusion matrix.

    python -m pipeline.evaluate --model runs/RUN --data data/face-expression --split validation
    python -m pipeline.evaluate --model runs/RUN --robustness    # also under FGSM and camera corruptions

A model evaluated on data with more classes than it knows sees only the faces of its own classes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.console import load_tensorflow
from pipeline.data import DEFAULT_DATA, load_dataset
from pipeline.errors import reports_user_errors
from pipeline.evaluation.metrics import format_report, score
from pipeline.expressions import ClassSet
from pipeline.plots import plot_confusion
from pipeline.runs import resolve_model_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluate",
        description="Evaluate a trained Mien model on a split of a face-expression data set.",
    )
    parser.add_argument("--model", help="run folder or .keras file (default: the newest run, else the shipped model)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help=f"data folder, zip or fer2013.csv (default: {DEFAULT_DATA})")
    parser.add_argument("--split", default="validation", choices=["validation", "test", "train"], help="split to evaluate (default: validation)")
    parser.add_argument("--json", metavar="FILE", help="also write the metrics to this JSON file")
    parser.add_argument("--plot", metavar="FILE", help="confusion matrix PNG (default: beside the model, confusion_<split>.png)")
    parser.add_argument("--tta", action="store_true", help="average each face's scores with its mirror image")
    parser.add_argument("--robustness", action="store_true",
                        help="also measure accuracy after adversarial (FGSM) steps of 1, 2, 4 and 8 grey levels and "
                        "under camera corruptions: noise, blur, low light, low contrast, JPEG, rotation")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    load_tensorflow(args.verbose)
    # TensorFlow, once the arguments are known to be good.
    from pipeline.evaluation.robustness import format_table, measure
    from pipeline.model import load_model, predict

    model_path = resolve_model_path(args.model)
    model, info = load_model(model_path)
    class_set = ClassSet.from_json(info["class_members"])
    split = load_dataset(args.data, class_set, splits=(args.split,))[args.split]
    metrics = score(split.labels, predict(model, split.images, flip_average=args.tta).argmax(axis=1), split.class_names)
    metrics.update(model=str(model_path), data=str(args.data), split=args.split, tta=args.tta)

    print(f"{model_path} on the {args.split} split of {args.data} ({len(split.labels)} faces{', flip TTA' if args.tta else ''})")
    print(format_report(metrics))
    plot_path = Path(args.plot) if args.plot else model_path.with_name(f"confusion_{args.split}.png")
    plot_confusion(np.array(metrics["confusion"]), metrics["classes"], plot_path,
                   f"{args.split}: accuracy {metrics['accuracy']:.1%}")
    print(f"confusion matrix: {plot_path}")
    if args.robustness:
        metrics["robustness"] = measure(model, split.images, split.labels, split.class_names)
        print(format_table(metrics["robustness"]))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2))
        print(f"metrics: {args.json}")
    return metrics


if __name__ == "__main__":
    main()
