"""How well a model's answers match the labels: accuracy, macro recall and F1, per-class figures
and the confusion matrix, and the table the commands print."""

from __future__ import annotations

import numpy as np


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
