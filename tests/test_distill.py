"""Distillation: teachers' classes mapped onto the student's, soft targets, and a student that learns them."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from pipeline import train
from pipeline.data import load_dataset
from pipeline.errors import UserError
from pipeline.expressions import parse_classes
from pipeline.model import build_vgg11, load_model, model_info, save_model
from pipeline.training.distill import DistillationLoss, Teachers, class_mapping, soften
from pipeline.training.tables import face_key, write_table
from tests.datasets import write_image_folders

TINY = ["--width", "0.125", "--head-units", "16", "--batch-size", "16"]
FOUR = parse_classes(4)


@pytest.fixture
def data(tmp_path):
    return write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=8)


def test_a_seven_class_teacher_is_restricted_to_the_students_four():
    seven = [(name,) for name in parse_classes(7).names]
    mapping = class_mapping(seven, FOUR, "t")
    assert mapping.shape == (7, 4)
    assert [seven[row][0] for row in mapping.argmax(axis=0)] == ["angry", "happy", "neutral", "sad"]
    assert mapping.sum() == 4  # disgust, fear and surprise feed nothing


def test_a_student_class_that_merges_expressions_sums_the_teachers():
    mapping = class_mapping([(name,) for name in parse_classes(7).names], parse_classes(6), "t")
    assert mapping[:, 0].tolist() == [1, 1, 0, 0, 0, 0, 0]  # angry+disgust gathers both


def test_a_teacher_that_merges_what_the_student_separates_is_refused():
    with pytest.raises(UserError, match="has a class angry\\+disgust that the student's classes split"):
        class_mapping([tuple(group) for group in parse_classes(6).members], parse_classes(7), "t")
    with pytest.raises(UserError, match="knows nothing of the student's class angry"):
        class_mapping([("happy",), ("sad",)], FOUR, "t")


def test_soft_targets_are_the_mirror_averaged_teacher_restricted_and_renormalised(data, tmp_path):
    split = load_dataset(data, FOUR)["train"]
    teacher = build_vgg11(7, width=0.125, head_units=16)
    save_model(teacher, tmp_path / "seven.keras", model_info(parse_classes(7)))
    faces = split.images[:5, ..., None].astype("float32")
    soft = Teachers(str(tmp_path / "seven.keras"), FOUR, split).soft_targets(faces, np.arange(5), 1.0).numpy()
    scores = (teacher.predict(faces, verbose=0) + teacher.predict(faces[:, :, ::-1], verbose=0)) / 2
    restricted = scores[:, [0, 3, 4, 5]]
    np.testing.assert_allclose(soft, restricted / restricted.sum(axis=1, keepdims=True), rtol=1e-4)
    sharp = soften(restricted / restricted.sum(axis=1, keepdims=True), 0.25).numpy()
    assert (sharp.max(axis=1) > soft.max(axis=1)).all()  # below 1 the temperature sharpens


def test_a_table_teacher_must_cover_every_training_face(data, tmp_path):
    split = load_dataset(data, FOUR)["train"]
    table = tmp_path / "scores.csv"
    write_table(table, split.images[:-1], ["angry", "happy", "neutral", "sad"], np.full((len(split.images) - 1, 4), 0.25))
    with pytest.raises(UserError, match=f"has no scores for 1 of the {len(split.images)} training faces"):
        Teachers(str(table), FOUR, split)


def kl_to(teacher: np.ndarray, model, faces) -> float:
    student = model.predict(faces[..., None].astype("float32"), verbose=0)
    return float(np.mean(np.sum(teacher * np.log(teacher / np.maximum(student, 1e-8)), axis=1)))


def test_a_student_trained_on_a_fixed_teacher_moves_towards_its_outputs(data, tmp_path):
    split = load_dataset(data, FOUR)["train"]
    # A teacher with an opinion of its own: each face's scores are another class's one-hot, softened.
    rng = np.random.default_rng(0)
    teacher = np.full((len(split.labels), 4), 0.05)
    teacher[np.arange(len(teacher)), rng.integers(0, 4, len(teacher))] = 0.85
    table = tmp_path / "teacher.csv"
    write_table(table, split.images, ["angry", "happy", "neutral", "sad"], teacher)
    common = ["--data", str(data), "--epochs", "8", "--learning-rate", "3e-3", "--warmup-epochs", "0", *TINY,
              "--distill-temperature", "1", "--no-augment"]
    train.main([*common, "--out", str(tmp_path / "labels")])
    train.main([*common, "--teacher", str(table), "--distill-weight", "1", "--out", str(tmp_path / "taught")])
    labels_only, _ = load_model(tmp_path / "labels" / "best.keras")
    taught, _ = load_model(tmp_path / "taught" / "checkpoint.keras")
    assert kl_to(teacher, taught, split.images) < 0.7 * kl_to(teacher, labels_only, split.images)


def test_resume_keeps_the_teacher_settings(data, trained_run, tmp_path, interrupt_after_first_epoch, capsys):
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit):
        train.main(["--data", str(data), "--epochs", "2", *TINY, "--teacher", str(trained_run),
                    "--distill-temperature", "2.5", "--distill-weight", "0.4", "--out", str(run_dir)])
    interrupt_after_first_epoch()  # no more
    train.main(["--resume", "--out", str(run_dir)])
    assert "Resuming" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["teacher"], config["distill_temperature"], config["distill_weight"]) == (str(trained_run), 2.5, 0.4)
    loss = keras.models.load_model(run_dir / "checkpoint.keras").loss
    assert isinstance(loss, DistillationLoss) and (loss.temperature, loss.weight) == (2.5, 0.4)


@pytest.mark.parametrize("option, value, message", [
    ("--distill-temperature", "0", "--distill-temperature must be positive"),
    ("--distill-weight", "1.5", "--distill-weight is a share between 0 and 1"),
    ("--teacher", "nowhere.keras", "No teacher at nowhere.keras; give --teacher run folders"),
])
def test_impossible_distillation_settings_are_one_sentence_and_write_nothing(data, tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit):
        train.main(["--data", str(data), option, value, "--out", str(tmp_path / "run")])
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert not (tmp_path / "run").exists()


def test_face_keys_tell_faces_apart_and_ignore_how_they_are_stored():
    face = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    assert face_key(face) == face_key(face.copy(order="F")) != face_key(face[::-1])
