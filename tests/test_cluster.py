"""Training with tf.distribute: two logical CPU devices mirrored, and two worker processes on one machine."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.model import load_model
from tests.browser import free_port
from tests.datasets import write_image_folders

REPO = Path(__file__).resolve().parents[1]
TINY = ["--width", "0.125", "--head-units", "16", "--batch-size", "8"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_image_folders(tmp_path_factory.mktemp("cluster") / "images", {"train": "train", "validation": "validation"},
                               per_class=8)


def history_epochs(run_dir: Path) -> list[int]:
    with open(run_dir / "history.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def command(data, run_dir, *extra):
    return [sys.executable, "-m", "pipeline.train", "--data", str(data), "--out", str(run_dir), *TINY, *extra]


def start_workers(arguments: list[str], tmp_path: Path) -> list[subprocess.Popen]:
    """Two worker processes on 127.0.0.1 running the same command, each with its own TF_CONFIG."""
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    workers = []
    for index in range(2):
        environment = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                                              "task": {"type": "worker", "index": index}})}
        log = open(tmp_path / f"worker{index}.log", "a")
        workers.append(subprocess.Popen(arguments, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT))
    return workers


def finish(workers, tmp_path, timeout=600) -> list[str]:
    for worker in workers:
        worker.wait(timeout=timeout)
    logs = [(tmp_path / f"worker{index}.log").read_text() for index in range(2)]
    assert [worker.returncode for worker in workers] == [0, 0], logs
    return logs


def test_a_mirrored_run_spreads_each_batch_over_two_cpu_devices_with_every_training_option(data, trained_run, tmp_path):
    run_dir = tmp_path / "mirrored"
    result = subprocess.run(command(data, run_dir, "--strategy", "mirrored", "--epochs", "2", "--teacher", str(trained_run),
                                    "--adversarial", "0.3", "--erase", "0.5", "--mixup", "0.2"),
                            cwd=REPO, env={**os.environ, "MIEN_CPU_DEVICES": "2"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Training on 1 worker(s), 2 replica(s) (mirrored): global batch 16, peak learning rate 0.002" in result.stdout
    cluster = json.loads((run_dir / "config.json").read_text())["cluster"]
    assert cluster == {"strategy": "mirrored", "workers": 1, "replicas": 2, "global_batch": 16, "peak_learning_rate": 0.002}
    assert history_epochs(run_dir) == [1, 2]
    load_model(run_dir / "best.keras")


def test_two_workers_train_one_run_that_resumes_at_the_next_epoch_when_killed_and_only_the_chief_writes_it(data, tmp_path):
    run_dir = tmp_path / "killed"
    workers = start_workers(command(data, run_dir, "--strategy", "multi-worker", "--epochs", "3"), tmp_path)
    deadline = time.monotonic() + 300
    while not (run_dir / "history.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    done = history_epochs(run_dir)[-1]
    assert 1 <= done < 3
    logs = finish(start_workers(command(data, run_dir, "--resume"), tmp_path), tmp_path)
    assert all(f"Resuming {run_dir} at epoch {done + 1} of 3" in log for log in logs)
    assert all("Training on 2 worker(s), 2 replica(s) (multi-worker)" in log for log in logs)
    assert history_epochs(run_dir) == [1, 2, 3]
    assert sorted(path.name for path in run_dir.iterdir()) == [
        "best.keras", "checkpoint.keras", "class_frequencies.png", "config.json", "curves.png", "history.csv", "metrics.json"]
    assert json.loads((run_dir / "config.json").read_text())["cluster"]["workers"] == 2


def test_multi_worker_without_tf_config_is_one_sentence(data, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run(command(data, tmp_path / "run", "--strategy", "multi-worker"), cwd=REPO, env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --strategy multi-worker needs the TF_CONFIG")


def test_mixed_precision_trains_and_saves_a_float32_model(data, tmp_path):
    from pipeline import train

    run_dir = tmp_path / "mixed"
    train.main(["--data", str(data), "--epochs", "1", *TINY, "--mixed-precision", "--out", str(run_dir)])
    model, _ = load_model(run_dir / "best.keras")
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert json.loads((run_dir / "config.json").read_text())["mixed_precision"] is True


def test_fewer_faces_than_a_global_batch_is_one_sentence_that_says_what_to_do(data, tmp_path):
    result = subprocess.run([*command(data, tmp_path / "run", "--strategy", "mirrored"), "--batch-size", "32"],
                            cwd=REPO, env={**os.environ, "MIEN_CPU_DEVICES": "2"}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: 32 training faces do not fill one batch of 32 for each of the 2 replicas (64 faces); use "
        "--batch-size 16 or less, or more data.")
