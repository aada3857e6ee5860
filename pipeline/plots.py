"""Charts a training run and an evaluation write: curves, class frequencies, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402


def plot_curves(history: list[dict], path: Path) -> None:
    """Accuracy and loss per epoch, training against validation, and the learning rate."""
    epochs = [row["epoch"] for row in history]
    figure, (accuracy_axis, loss_axis, rate_axis) = plt.subplots(1, 3, figsize=(15, 4))
    for axis, metric, title in ((accuracy_axis, "accuracy", "Accuracy"), (loss_axis, "loss", "Loss")):
        axis.plot(epochs, [row[metric] for row in history], label="training")
        axis.plot(epochs, [row[f"val_{metric}"] for row in history], label="validation")
        axis.set_title(title)
        axis.legend()
    rate_axis.plot(epochs, [row["learning_rate"] for row in history], color="tab:green")
    rate_axis.set_title("Learning rate (at the end of each epoch)")
    rate_axis.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    for axis in (accuracy_axis, loss_axis, rate_axis):
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    _save(figure, path)


def plot_class_counts(counts: dict[str, list[int]], class_names: list[str], path: Path) -> None:
    """Faces per class for each split, side by side."""
    figure, axis = plt.subplots(figsize=(max(5, 1.2 * len(class_names) + 2), 4))
    bar_width = 0.8 / len(counts)
    positions = np.arange(len(class_names))
    for offset, (split, values) in enumerate(counts.items()):
        bars = axis.bar(positions + offset * bar_width, values, bar_width, label=split)
        axis.bar_label(bars, fontsize=8)
    axis.set_xticks(positions + bar_width * (len(counts) - 1) / 2, class_names)
    axis.set_ylabel("faces")
    axis.set_title("Faces per class")
    axis.legend()
    _save(figure, path)


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: Path, title: str) -> None:
    """Confusion matrix, each row normalised to the share of that true class, counts in the cells."""
    confusion = np.asarray(confusion)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = max(4.5, 0.9 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(class_names)):
        for column in range(len(class_names)):
            color = "white" if shares[row, column] > 0.5 else "black"
            axis.text(column, row, f"{shares[row, column]:.0%}\n{confusion[row, column]}",
                      ha="center", va="center", color=color, fontsize=8)
    axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axis.set_yticks(range(len(class_names)), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_mood(classes: list[str], hours: list[str], shares: list, in_view: list[float], path: Path) -> None:
    """Each hour's share of each expression as a stacked bar, and how much of it a face was in view."""
    figure, axis = plt.subplots(figsize=(max(6, 0.7 * len(hours) + 3), 4.5))
    positions = np.arange(len(hours))
    bottom = np.zeros(len(hours))
    for index, name in enumerate(classes):
        values = np.array([row[index] if row is not None else 0.0 for row in shares])
        axis.bar(positions, values, 0.7, bottom=bottom, label=name)
        bottom += values
    axis.plot(positions, in_view, "k.--", label="face in view")
    axis.set_xticks(positions, hours, rotation=45, ha="right")
    axis.set_ylim(0, 1.05)
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylabel("share of the hour")
    axis.set_title("Expressions per hour (main face)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    _save(figure, path)
