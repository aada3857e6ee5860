"""What a training run writes after every epoch: history, curves, best model, resumable checkpoint."""

from __future__ import annotations

import csv
import io
import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np

from pipeline.model import recalibrate_batch_norm, save_model
from pipeline.plots import plot_curves
from pipeline.runs import BEST_MODEL, CHECKPOINT


class RunRecorder(keras.callbacks.Callback):
    """After every epoch: validation, history, curves, best model, and a checkpoint to resume from.

    Validation comes after batch normalisation is recalibrated on clean training faces, so the best
    epoch is chosen as the model will be used. The training state (epoch, history, best so far)
    lives inside ``checkpoint.keras``, so the weights, the optimizer and the state are replaced
    together in one rename: killing the process at any moment loses at most the epoch in progress.
    Early stopping is done here too, so that its counter survives a resume. On a cluster every
    worker validates (that is collective work) but only the chief, ``writes``, writes the run.

    Ctrl-C (SIGINT) stops training after the step in progress, never inside one (TensorFlow's native
    code can turn an interrupt there into a SystemError): the epoch it interrupts is not recorded,
    ``interrupted`` is set, and the caller raises KeyboardInterrupt. A second Ctrl-C stops at once.
    """

    def __init__(self, run_dir: Path, epochs: int, patience: int, state: dict, info: dict,
                 train_images: np.ndarray, validation: tuple[np.ndarray, np.ndarray], writes: bool = True):
        super().__init__()
        self.run_dir, self.epochs, self.patience, self.writes = run_dir, epochs, patience, writes
        self.state, self.info = state, info
        self.train_images, self.validation = train_images, validation
        self.epoch_started = 0.0
        self.interrupted = False

    @contextmanager
    def stopping_on_ctrl_c(self):
        """While training: Ctrl-C ends it after the step in progress (in the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _interrupt(self, signum, frame):
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.interrupted:
            return  # an epoch cut short: the run stays at the last whole one
        state = self.state
        recalibrate_batch_norm(self.model, self.train_images)
        faces, targets = self.validation
        scores = self.model.evaluate(faces, targets, batch_size=256, verbose=0, return_dict=True)
        row = {
            "epoch": epoch + 1,
            **{key: float(value) for key, value in (logs or {}).items()},
            **{f"val_{key}": float(value) for key, value in scores.items()},
            "learning_rate": float(self.model.optimizer.learning_rate),
            "seconds": round(time.monotonic() - self.epoch_started, 1),
        }
        state["history"].append(row)
        print(f"epoch {epoch + 1}: validation accuracy {row['val_accuracy']:.4f} (batch normalisation recalibrated)")
        state["epoch"] = epoch + 1
        best = state["best_accuracy"] is None or row["val_accuracy"] > state["best_accuracy"]
        if best:
            state["best_accuracy"], state["best_epoch"] = row["val_accuracy"], epoch + 1
        if epoch + 1 - state["best_epoch"] >= self.patience:
            print(f"No better validation accuracy for {self.patience} epochs; stopping early.")
            self.model.stop_training = True
        state["finished"] = self.model.stop_training or epoch + 1 >= self.epochs
        if not self.writes:
            return
        if best:
            save_model(self.model, self.run_dir / BEST_MODEL, {**self.info, "validation_accuracy": row["val_accuracy"],
                                                                "epoch": epoch + 1})
        save_model(self.model, self.run_dir / CHECKPOINT, {**self.info, "training": state}, include_optimizer=True)
        self._write_history()

    def _write_history(self):
        history = self.state["history"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
        temporary = self.run_dir / ".history.csv.partial"
        temporary.write_text(buffer.getvalue())
        os.replace(temporary, self.run_dir / "history.csv")
        plot_curves(history, self.run_dir / "curves.png")
