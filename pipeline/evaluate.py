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
from pipeline.data import DEFAULT_DATA, Split, load_dataset
from pipeline.errors import reports_user_errors
from pipeline.expressions import ClassSet
from pipeline.plots import plot_confusion
from pipeline.runs import resolve_model_path


def predict(model, images: np.ndarray, tta: bool = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for uint8 faces [N, 48, 48]; with ``tta``, averaged with the mirror image."""
    batch = images[..., None].astype(np.float32)
    scores = model.predict(batch, batch_size=batch_size, verbose=0)
    if tta:
        scores = (scores + model.predict(batch[:, :, ::-1], batch_size=batch_size, verbose=0)) / 2
    return scores


def score(labels: np.ndarray, predictions: np.ndarray, class_names: list[str]) -> dict:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix."""
    count = len(class_names)
    confusion = np.zeros((count, count), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    true_positives = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(true_positives, predicted, out=np.zeros(count), where=predicted > 0)
    recall = np.divide(true_positives, support, out=np.zeros(count), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(count), where=denominator > 0)
    return {
        "accuracy": float(true_positives.sum() / max(confusion.sum(), 1)),
        "macro_f1": float(f1.mean()),
        "macro_recall": float(recall.mean()),
        "classes": class_names,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion": confusion.tolist(),
    }


def evaluate_split(model, split: Split, tta: bool = False) -> dict:
    """Score ``model`` on ``split``; returns the dict of :func:`score`."""
    predictions = predict(model, split.images, tta).argmax(axis=1)
    return score(split.labels, predictions, split.class_names)


def format_report(metrics: dict) -> str:
    """The per-class table and the headline figures, as printed on the console."""
    width = max(len(name) for name in metrics["classes"]) + 2
    lines = [f"{'class':<{width}}precision  recall     f1  support"]
    for name in metrics["classes"]:
        row = metrics["per_class"][name]
        lines.append(
            f"{name:<{width}}{row['precision']:9.3f}{row['recall']:8.3f}{row['f1']:7.3f}{row['support']:9d}"
        )
    lines.append("")
    lines.append(f"accuracy      {metrics['accuracy']:.4f}")
    lines.append(f"macro F1      {metrics['macro_f1']:.4f}")
    lines.append(f"macro recall  {metrics['macro_recall']:.4f}")
    return "\n".join(lines)


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
    from pipeline.model import load_model  # TensorFlow, once the arguments are known to be good

    model_path = resolve_model_path(args.model)
    model, info = load_model(model_path)
    class_set = ClassSet.from_json(info["class_members"])
    split = load_dataset(args.data, class_set, splits=(args.split,))[args.split]
    metrics = evaluate_split(model, split, tta=args.tta)
    metrics.update(model=str(model_path), data=str(args.data), split=args.split, tta=args.tta)

    print(f"{model_path} on the {args.split} split of {args.data} ({len(split.labels)} faces{', flip TTA' if args.tta else ''})")
    print(format_report(metrics))
    plot_path = Path(args.plot) if args.plot else model_path.with_name(f"confusion_{args.split}.png")
    plot_confusion(np.array(metrics["confusion"]), metrics["classes"], plot_path,
                   f"{args.split}: accuracy {metrics['accuracy']:.1%}")
    print(f"confusion matrix: {plot_path}")
    if args.robustness:
        from pipeline.robustness import format_table, measure

        metrics["robustness"] = measure(model, split.images, split.labels, split.class_names)
        print(format_table(metrics["robustness"]))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2))
        print(f"metrics: {args.json}")
    return metrics


if __name__ == "__main__":
    main()
