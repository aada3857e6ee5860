"""Robustness: adversarial regularisation in training, and accuracy under FGSM and camera corruptions."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from pipeline import evaluate, train
from pipeline.evaluation import robustness
from pipeline.data import load_dataset
from pipeline.expressions import parse_classes
from pipeline.model import load_model
from tests.datasets import write_image_folders

TINY = ["--width", "0.125", "--head-units", "16", "--batch-size", "16"]


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(1)
    smooth = np.stack([cv2.GaussianBlur(rng.integers(0, 256, (48, 48)).astype(np.float32), (0, 0), 3) for _ in range(8)])
    return np.clip((smooth - smooth.mean()) * 6 + 128, 0, 255).astype(np.uint8)


def test_noise_adds_grain_of_the_stated_size(faces):
    difference = robustness.corrupt("noise", faces).astype(float) - faces
    assert difference.std() == pytest.approx(robustness.NOISE_SIGMA, rel=0.15)


def test_blur_removes_fine_detail():
    grain = np.random.default_rng(2).integers(0, 256, (4, 48, 48)).astype(np.uint8)
    detail = lambda images: np.mean([cv2.Laplacian(image.astype(np.float32), cv2.CV_32F).var() for image in images])
    assert detail(robustness.corrupt("blur", grain)) < 0.2 * detail(grain)


def test_low_light_halves_the_pixels_and_low_contrast_halves_the_spread(faces):
    assert robustness.corrupt("brightness", faces).mean() == pytest.approx(faces.mean() * 0.5, abs=0.6)
    flat = robustness.corrupt("contrast", faces).astype(float)
    assert flat.std(axis=(1, 2)) == pytest.approx(faces.std(axis=(1, 2)) * 0.5, rel=0.05)
    assert flat.mean(axis=(1, 2)) == pytest.approx(faces.mean(axis=(1, 2)), abs=1)


def test_jpeg_keeps_the_face_but_not_its_exact_pixels(faces):
    compressed = robustness.corrupt("jpeg", faces).astype(float)
    assert 0.5 < np.abs(compressed - faces).mean() < 12


def test_rotation_turns_each_face_either_way():
    bar = np.zeros((2, 48, 48), np.uint8)
    bar[:, 22:26, 4:44] = 255  # a horizontal bar
    turned = robustness.corrupt("rotation", bar)
    for image, sign in zip(turned, (1, -1)):
        rows, columns = np.nonzero(image > 128)
        slope = np.polyfit(columns, rows, 1)[0]
        assert np.degrees(np.arctan(-slope)) == pytest.approx(sign * robustness.ROTATION_DEGREES, abs=2)


def test_a_larger_fgsm_strength_never_scores_above_a_smaller_one(trained_run):
    model, _ = load_model(trained_run / "best.keras")
    data_folder = json.loads((trained_run / "config.json").read_text())["data"]
    data = load_dataset(data_folder, parse_classes(4), splits=("validation",))["validation"]
    for step in (1, 8):
        moved = robustness.fgsm_faces(model, data.images, data.labels, step)
        assert np.abs(moved - data.images).max() <= step + 1e-3 and np.abs(moved - data.images).max() > step - 1e-3
    clean = robustness.accuracy(model, data.images, data.labels, data.class_names)
    under = list(robustness.fgsm_accuracy(model, data.images, data.labels, (1, 2, 4, 8, 16, 32)).values())
    assert [clean, *under] == sorted([clean, *under], reverse=True) and under[-1] < clean


def test_evaluate_writes_the_robustness_figures_into_its_json(trained_run, tmp_path, capsys):
    data = json.loads((trained_run / "config.json").read_text())["data"]
    out = tmp_path / "metrics.json"
    evaluate.main(["--model", str(trained_run), "--data", data, "--robustness", "--json", str(out),
                   "--plot", str(tmp_path / "confusion.png")])
    measured = json.loads(out.read_text())["robustness"]
    assert set(measured) == {"clean", "fgsm", "noise", "blur", "brightness", "contrast", "jpeg", "rotation"}
    assert set(measured["fgsm"]) == {"1", "2", "4", "8"}
    assert all(0 <= value <= 1 for value in [*measured["fgsm"].values(), measured["noise"]])
    assert "FGSM, steps of up to 8 grey level(s)" in capsys.readouterr().out


def test_an_adversarial_run_trains_resumes_and_records_its_settings(tmp_path, interrupt_after_first_epoch, capsys):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=8)
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit):
        train.main(["--data", str(data), "--epochs", "2", *TINY, "--adversarial", "0.3", "--adv-step", "2",
                    "--out", str(run_dir)])
    interrupt_after_first_epoch()  # no more
    train.main(["--resume", "--out", str(run_dir)])
    assert "Resuming" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["adversarial"], config["adv_step"]) == (0.3, 2.0)
    with open(run_dir / "history.csv") as handle:
        assert len(handle.read().strip().splitlines()) == 3
    model, _ = load_model(run_dir / "best.keras")
    assert type(model).__name__ == "Functional"  # what is kept for use is the plain network


def test_the_adversarial_loss_is_added_to_the_labels_loss(tmp_path):
    import keras

    from pipeline.training.adversarial import configure
    from pipeline.training.batches import training_batches
    from pipeline.training.config import TrainConfig

    data = write_image_folders(tmp_path / "images", {"train": "train"}, per_class=8)
    split = load_dataset(data, parse_classes(4), splits=("train",))["train"]
    config = TrainConfig(epochs=1, batch_size=32, width=0.125, head_units=16, augment=False)
    model = train.new_model(config, parse_classes(4), 1)
    batch = next(iter(training_batches(split, config)))
    plain = float(model.test_on_batch(*batch, return_dict=True)["loss"])
    keras.utils.set_random_seed(0)
    configure(model, 0.3, 8.0)
    assert model.train_on_batch(*batch, return_dict=True)["loss"] > plain  # labels' loss plus 0.3 times a larger one
