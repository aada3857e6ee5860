"""Where training runs and shipped models live, and how ``--model`` finds the file it means."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pipeline.errors import UserError

RUNS_DIR = Path("runs")
SHIPPED_MODELS_DIR = Path("models")
DEFAULT_SHIPPED_MODEL = SHIPPED_MODELS_DIR / "mien-4.keras"
BEST_MODEL = "best.keras"  # the best epoch on validation, without optimizer state
CHECKPOINT = "checkpoint.keras"  # the last epoch, with optimizer and training state
LOCK = ".lock"  # held by the process training the run


def newest_run() -> Path:
    """The run folder whose checkpoint was written last."""
    runs = sorted(RUNS_DIR.glob(f"*/{CHECKPOINT}"), key=lambda path: path.stat().st_mtime)
    if not runs:
        raise UserError("There is no run to resume under runs/; start one without --resume.")
    return runs[-1].parent


def resolve_model_path(model: str | Path | None) -> Path:
    """Find the model file meant by ``--model``.

    A ``.keras`` file is itself; a run folder means its ``best.keras``; nothing means the newest
    run's best model under ``runs/`` and, when there is none, the shipped default model.
    """
    if model is not None:
        path = Path(model)
        if path.is_dir():
            path = path / BEST_MODEL
        if not path.exists():
            raise UserError(f"No model at {path}; pass --model a run folder or a .keras file.")
        return path
    runs = sorted(RUNS_DIR.glob(f"*/{BEST_MODEL}"), key=lambda path: path.stat().st_mtime)
    if runs:
        return runs[-1]
    if DEFAULT_SHIPPED_MODEL.exists():
        return DEFAULT_SHIPPED_MODEL
    raise UserError(
        "No trained model found in runs/ or models/; train one with python -m pipeline.train or pass --model."
    )


class RunLock:
    """Holds a run folder for one training process: a second one into the same folder is refused
    with a sentence instead of both writing it. The lock (``flock`` on the folder's ``.lock``) goes
    with the process, however it ends."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.handle = None

    def __enter__(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a+")
        except OSError as error:
            raise UserError(f"Cannot write the run to {self.path.parent} ({error.strerror or error}); choose an --out "
                            "in a folder you can write to.") from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another"
            self.handle.close()
            raise UserError(f"{self.path.parent} is being trained by process {holder} right now; wait for it to end, "
                            "or choose another --out.") from None
        self.handle.truncate(0)
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        self.handle.close()
