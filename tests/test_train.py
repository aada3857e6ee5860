"""python -m pipeline.train: a run folder with everything, resumable after an interruption."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import train
from pipeline.training import batches
from pipeline.model import read_info
from tests.datasets import write_image_folders

TINY = ["--width", "0.125", "--head-units", "16", "--batch-size", "16"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def data(tmp_path):
    return write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=8)


def history_epochs(run_dir):
    with open(run_dir / "history.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_a_run_folder_holds_model_config_history_plots_and_metrics(trained_run):
    names = {path.name for path in trained_run.iterdir()}
    assert {"best.keras", "checkpoint.keras", "config.json", "history.csv", "curves.png",
            "class_frequencies.png", "metrics.json"} <= names
    for plot in ("curves.png", "class_frequencies.png"):
        assert (trained_run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((trained_run / "config.json").read_text())
    assert config["width"] == 0.125 and config["classes"] == "4"
    assert history_epochs(trained_run) == [1, 2, 3, 4, 5, 6]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["classes"] == ["angry", "happy", "neutral", "sad"]
    assert 0 <= metrics["accuracy"] <= 1 and metrics["epochs_trained"] == 6
    assert len(metrics["confusion"]) == 4 and metrics["parameters"] > 0
    info = read_info(trained_run / "best.keras")
    assert info["classes"] == ["angry", "happy", "neutral", "sad"] and info["epoch"] == metrics["best_epoch"]


def test_resume_continues_at_the_next_epoch(data, tmp_path, interrupt_after_first_epoch, capsys):
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        train.main(["--data", str(data), "--epochs", "3", "--out", str(run_dir), *TINY])
    assert stopped.value.code == 130
    assert f"--resume --out {run_dir}" in capsys.readouterr().err
    assert history_epochs(run_dir) == [1]
    interrupt_after_first_epoch()  # no more

    train.main(["--resume", "--out", str(run_dir)])
    assert "Resuming" in capsys.readouterr().out
    assert history_epochs(run_dir) == [1, 2, 3]
    state = read_info(run_dir / "checkpoint.keras")["training"]
    assert state["epoch"] == 3 and state["finished"]

    import keras

    checkpoint = keras.models.load_model(run_dir / "checkpoint.keras")
    steps_per_epoch = -(-32 // 16)
    assert int(checkpoint.optimizer.iterations) == 3 * steps_per_epoch  # optimizer state carried over

    train.main(["--resume", "--out", str(run_dir)])
    assert "nothing to resume" in capsys.readouterr().out


def test_a_killed_run_loses_at_most_the_epoch_in_progress(data, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "pipeline.train", "--data", str(data), "--out", str(run_dir), *TINY]
    process = subprocess.Popen([*command, "--epochs", "4"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (run_dir / "history.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = read_info(run_dir / "checkpoint.keras")["training"]["epoch"]
    assert 1 <= done < 4

    result = subprocess.run([*command, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"Resuming {run_dir} at epoch {done + 1} of 4" in result.stdout
    epochs = history_epochs(run_dir)
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) > done


def test_an_unknown_class_is_one_line_and_writes_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.train", "--classes", "happy,smug", "--out", str(tmp_path / "run")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Unknown expression 'smug' in --classes; use 3, 4, 6 or 7, or a comma list of expressions "
        "from: angry, disgust, fear, happy, neutral, sad, surprise."]
    assert not (tmp_path / "run").exists()


def test_resuming_a_folder_without_a_run_says_so(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.main(["--resume", "--out", str(tmp_path)])
    assert "holds no run to resume" in capsys.readouterr().err


def test_a_new_run_refuses_to_overwrite_an_existing_one(trained_run, capsys):
    with pytest.raises(SystemExit):
        train.main(["--out", str(trained_run)])
    error = capsys.readouterr().err
    assert "already holds a run (best.keras, checkpoint.keras," in error and "; add --resume to continue it" in error


def test_a_run_can_start_from_a_trained_model_with_other_classes(trained_run, data, tmp_path, capsys):
    run_dir = tmp_path / "three"
    train.main(["--classes", "happy,sad,surprise", "--init-from", str(trained_run), "--data", str(data),
                "--epochs", "1", "--width", "0.5", "--out", str(run_dir)])
    assert "Starting from" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["width"] == 0.125 and config["head_units"] == 16  # the source's architecture, not --width
    assert read_info(run_dir / "best.keras")["classes"] == ["happy", "sad", "surprise"]


SEED = [13, 0]


def test_random_erasing_blanks_one_rectangle_in_the_chosen_faces():
    import numpy as np
    import tensorflow as tf

    faces = tf.fill((200, 48, 48, 1), 100.0)
    assert np.array_equal(batches.random_erase(faces, 0.0, SEED).numpy(), faces.numpy())
    erased = batches.random_erase(faces, 1.0, SEED).numpy()[..., 0] != 100.0
    for mask in erased:
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        # one solid rectangle, each side 15-50% of the face (noise equal to 100.0 is vanishingly rare)
        assert mask[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1].mean() > 0.99
        assert 6 <= len(rows) <= 25 and 6 <= len(columns) <= 25


def test_mixup_blends_faces_targets_and_weights_with_the_same_share():
    import numpy as np
    import tensorflow as tf

    values = np.arange(32, dtype="float32") * 8  # face i is a flat image of value 8i, of class i, weight i
    faces = tf.constant(np.broadcast_to(values[:, None, None, None], (32, 48, 48, 1)))
    mixed, targets, weights = (tensor.numpy() for tensor in
                               batches.mixup(0.4, faces, tf.eye(32), tf.constant(np.arange(32, dtype="float32")), SEED))
    assert np.allclose(targets.sum(axis=1), 1.0)
    assert (targets.max(axis=1) < 0.999).any()  # some faces really are blends
    assert np.allclose(mixed[:, 0, 0, 0], targets @ values, atol=1e-3)
    assert np.allclose(weights, targets @ np.arange(32), atol=1e-4)
    assert np.allclose(mixed, mixed[:, :1, :1, :])  # blends of flat faces stay flat


def test_a_resumed_run_sees_the_batches_an_uninterrupted_run_would_have_seen(data):
    import numpy as np

    from pipeline.training.config import TrainConfig
    from pipeline.data import load_dataset
    from pipeline.expressions import parse_classes

    split = load_dataset(data, parse_classes(4))["train"]
    config = TrainConfig(epochs=3, batch_size=16, erase=0.5, mixup=0.2)  # every random step on
    steps = batches.steps_per_epoch(split, config)
    uninterrupted = [tuple(part.numpy() for part in batch) for batch in batches.training_batches(split, config)]
    resumed = [tuple(part.numpy() for part in batch) for batch in batches.training_batches(split, config, first_epoch=2)]
    assert len(uninterrupted) == 3 * steps and len(resumed) == steps
    for expected, got in zip(uninterrupted[2 * steps:], resumed):
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(uninterrupted[0][0], uninterrupted[steps][0])  # each epoch differs


def test_a_folder_holding_part_of_a_run_is_not_trained_over(trained_run, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    (run_dir / "checkpoint.keras").unlink()  # the large file people delete
    before = {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()}
    with pytest.raises(SystemExit):
        train.main(["--out", str(run_dir), "--epochs", "1"])
    assert capsys.readouterr().err.startswith(f"error: {run_dir} already holds a run (best.keras, config.json")
    assert {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()} == before


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_epochs_below_one_are_refused_before_anything_is_written(tmp_path, capsys, epochs):
    with pytest.raises(SystemExit):
        train.main(["--epochs", epochs, "--out", str(tmp_path / "run")])
    assert capsys.readouterr().err.strip() == f"error: --epochs must be at least 1 (got {epochs}); 60 is the default."
    assert not (tmp_path / "run").exists()


def test_help_says_what_each_option_does_and_no_flag_reads_as_on():
    result = subprocess.run([sys.executable, "-m", "pipeline.train", "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    text = " ".join(result.stdout.split())
    assert "(default: True)" not in text and "(default: None)" not in text
    for option in ("--activation", "--batch-size", "--warmup-epochs", "--label-smoothing", "--seed"):
        described = text.split(f"{option} ")[2] if text.count(f"{option} ") > 1 else text.split(option)[-1]
        assert len(described.split("--")[0].strip()) > 20, option  # a sentence, not just the metavar


def test_the_curves_show_accuracy_loss_and_learning_rate(trained_run, monkeypatch, tmp_path):
    import pipeline.plots

    saved = []
    monkeypatch.setattr(pipeline.plots, "_save", lambda figure, path: saved.append(figure))
    with open(trained_run / "history.csv") as handle:
        history = [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    pipeline.plots.plot_curves(history, tmp_path / "curves.png")
    titles = [axis.get_title() for axis in saved[0].axes]
    assert titles == ["Accuracy", "Loss", "Learning rate (at the end of each epoch)"]
    assert len(saved[0].axes[2].lines[0].get_ydata()) == 6


@pytest.mark.parametrize("option, value, message", [("--erase", "1.5", "--erase is a chance between 0 and 1"),
                                                    ("--mixup", "-0.2", "--mixup must be 0 (off) or positive")])
def test_an_impossible_erase_or_mixup_is_one_line_and_writes_nothing(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit):
        train.main([option, value, "--out", str(tmp_path / "run")])
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert not (tmp_path / "run").exists()


def test_erasing_and_mixup_are_recorded_in_the_run(data, tmp_path):
    run_dir = tmp_path / "run"
    train.main(["--data", str(data), "--epochs", "1", *TINY, "--erase", "0.5", "--mixup", "0.2", "--out", str(run_dir)])
    config = json.loads((run_dir / "config.json").read_text())
    assert config["erase"] == 0.5 and config["mixup"] == 0.2


@pytest.fixture
def ctrl_c_in_the_first_step(monkeypatch):
    """Press Ctrl-C (SIGINT to this process) while the first training step runs."""
    import os

    import keras

    sent = []

    def pressing(self, batch, logs=None):
        if not sent:
            sent.append(batch)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(keras.callbacks.Callback, "on_train_batch_begin", pressing, raising=False)
    return sent


def test_ctrl_c_in_the_first_step_stops_cleanly_and_resume_starts_the_run_again(data, tmp_path, capsys,
                                                                               ctrl_c_in_the_first_step):
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        train.main(["--data", str(data), "--epochs", "2", "--out", str(run_dir), *TINY])
    assert stopped.value.code == 130 and ctrl_c_in_the_first_step == [0]
    assert f"Interrupted. Continue with: python -m pipeline.train --resume --out {run_dir}" in capsys.readouterr().err
    assert (run_dir / "config.json").exists() and not (run_dir / "checkpoint.keras").exists()  # no epoch finished
    with pytest.raises(SystemExit):  # starting it anew is refused, and says what works
        train.main(["--data", str(data), "--out", str(run_dir), *TINY])
    assert "add --resume to continue it (from its first epoch if none had finished)" in capsys.readouterr().err
    train.main(["--resume", "--out", str(run_dir)])
    assert "No epoch of" in capsys.readouterr().out and history_epochs(run_dir) == [1, 2]


def test_a_second_training_into_a_folder_being_trained_is_refused(data, tmp_path, capsys):
    from pipeline.runs import RunLock

    run_dir = tmp_path / "busy"
    with RunLock(run_dir):  # another process training it, as far as the lock tells
        with pytest.raises(SystemExit) as stopped:
            train.main(["--data", str(data), "--epochs", "1", "--out", str(run_dir), *TINY])
    assert stopped.value.code == 2
    assert f"error: {run_dir} is being trained by process " in capsys.readouterr().err
    assert sorted(path.name for path in run_dir.iterdir()) == []  # nothing written, the lock gone with its holder
    train.main(["--data", str(data), "--epochs", "1", "--out", str(run_dir), *TINY])  # free again
    assert history_epochs(run_dir) == [1]
