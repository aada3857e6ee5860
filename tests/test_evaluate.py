"""python -m pipeline.evaluate: the figures, the table, the JSON and the confusion matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline import evaluate
from pipeline.evaluation.metrics import score
from pipeline.model import load_model, predict
from tests.datasets import write_image_folders


def test_scores_are_computed_from_the_confusion_matrix():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 1, 1, 1, 0])
    metrics = score(labels, predictions, ["a", "b", "c"])
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert metrics["per_class"]["a"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert metrics["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert metrics["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)


def test_flip_tta_averages_a_face_with_its_mirror_image(trained_run):
    model, _ = load_model(trained_run / "best.keras")
    faces = np.random.default_rng(1).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    expected = (predict(model, faces) + predict(model, faces[:, :, ::-1])) / 2
    np.testing.assert_allclose(predict(model, faces, flip_average=True), expected, rtol=1e-5)


def test_evaluate_prints_a_table_and_writes_json_and_a_confusion_matrix(trained_run, tmp_path, capsys):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=5)
    report = tmp_path / "metrics.json"
    evaluate.main(["--model", str(trained_run), "--data", str(data), "--json", str(report), "--tta"])
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro F1" in out
    for name in ("angry", "happy", "neutral", "sad"):
        assert name in out
    metrics = json.loads(report.read_text())
    assert set(metrics) >= {"accuracy", "macro_f1", "classes", "per_class", "confusion"}
    assert metrics["classes"] == ["angry", "happy", "neutral", "sad"] and metrics["tta"] is True
    assert (trained_run / "confusion_validation.png").read_bytes()[:4] == b"\x89PNG"


def test_data_with_more_classes_is_restricted_to_the_model_s_own(trained_run, tmp_path):
    # Seven expressions in the data; the model knows four, so only those faces are scored.
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=3)
    metrics = evaluate.main(["--model", str(trained_run / "best.keras"), "--data", str(data),
                             "--plot", str(tmp_path / "cm.png")])
    assert sum(row["support"] for row in metrics["per_class"].values()) == 12
    assert np.array(metrics["confusion"]).sum() == 12


def test_a_missing_model_is_one_clear_sentence(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        evaluate.main(["--model", str(tmp_path / "nothing.keras"), "--data", str(tmp_path)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"error: No model at {tmp_path / 'nothing.keras'}; pass --model a run folder or a .keras file.")
