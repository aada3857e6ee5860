"""python -m web.bench: the benchmarks run end to end and record what they measured."""

from __future__ import annotations

import json

from tests.datasets import write_image_folders
from web import bench


def test_speed_times_mien_and_face_api_on_the_same_webcam_frames(tmp_path, capsys):
    out = tmp_path / "speed.json"
    bench.main(["speed", "--backends", "wasm", "--frames", "3", "--budget", "2", "--out", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    assert row["backend"] == "wasm"
    for peer in ("mien", "face_api"):
        assert row[peer]["faces"] == 1 and row[peer]["frames"] >= 3 and row[peer]["median_ms"] > 0
    assert "| wasm |" in capsys.readouterr().out


def test_accuracy_compares_mien_with_both_peers_and_writes_the_model_card(tmp_path):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=3)
    card = tmp_path / "card.md"
    card.write_text(f"# Card\n\n{bench.CARD_START}\nold table\n{bench.CARD_END}\n\nThe rest.\n")
    out = tmp_path / "accuracy.json"
    bench.main(["accuracy", "--data", str(data), "--out", str(out), "--card", str(card)])
    results = json.loads(out.read_text())
    assert results["faces"] == 12 and results["classes"] == ["angry", "happy", "neutral", "sad"]
    assert [row["model"] for row in results["rows"]] == ["Mien", "Human (mini-Xception)", "face-api (FaceExpressionNet)"]
    assert 0 <= results["in_frames"]["detection_rate"] <= 1
    text = card.read_text()
    assert "old table" not in text and "| Mien |" in text and text.endswith("The rest.\n")
