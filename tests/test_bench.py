"""python -m bench: the benchmarks run end to end and record what they measured."""

from __future__ import annotations

import json
import time

import pytest

from bench.__main__ import main
from bench.results import card_markers
from bench.server import BenchServer
from tests.datasets import write_image_folders


def test_the_benchmark_server_adds_its_pages_and_the_peers_to_the_products_app():
    import urllib.request

    with BenchServer() as server:
        for path in ("/bench/harness.js", "/peers/face-api/face-api.js", "/static/js/app.js"):
            assert urllib.request.urlopen(f"{server.url}{path}").status == 200


def test_speed_measures_the_live_page_and_face_api_live_on_the_same_webcam(tmp_path, capsys):
    out = tmp_path / "speed.json"
    main(["speed", "--backends", "wasm", "--clips", "70 px face, moving", "--seconds", "2", "--warmup", "1", "--frames", "3",
          "--budget", "2", "--out", str(out)])
    results = json.loads(out.read_text())
    rows = results["rows"]
    photo = results["group_photo"]["wasm"]
    assert photo["faces"] == 8 and photo["median_ms"] > 0
    assert photo["stages"]["classified"] == 8 and photo["stages"]["detectorPictures"] > 1  # where a photo's time goes
    assert photo["stages"]["classifierViews"] == 16  # each face and its mirror image
    assert [(row["clip"], row["backend"], row["frame_source"]) for row in rows] == [
        ("70 px face, moving", "wasm", "track"), ("70 px face, moving", "wasm", "bitmap")]
    for row in rows:
        stages = row["mien"]["stages"]  # where the worker's time went
        assert set(stages) == {"read", "detectorInput", "detector", "crops", "classifier", "rest", "detectorPictures",
                               "classified", "classifierViews"}
        assert stages["detector"] > 0 and stages["classifier"] > 0
        assert stages["classified"] == 1 and stages["classifierViews"] == 1  # the moving face's two views in turns
        for peer in ("mien", "face_api"):
            live = row[peer]
            # frames counted in 2 s: on a loaded machine face-api may finish only one or two
            assert live["faces"] == 1 and live["frames"] >= 1 and live["median_ms"] > 0 and live["fps"] > 0
            assert live["long_tasks_per_s"] >= 0
        assert row["mien"]["meter"]["msPerFrame"] > 0  # the page's own meter was read
        assert row["model_only"]["mien"]["median_ms"] > 0 and row["model_only"]["face_api"]["median_ms"] > 0
    printed = capsys.readouterr().out
    assert "| 70 px face, moving | wasm | camera track streamed to the worker |" in printed and "Where a Mien frame's time goes" in printed
    assert "A group photo through the page's photo input" in printed and "| group photo | wasm | photo input |" in printed


def test_frames_times_each_way_of_reading_a_shown_webcam_frame(tmp_path):
    out = tmp_path / "frames.json"
    main(["frames", "--frames", "3", "--out", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert "MediaStreamTrackProcessor in a worker" in [row["way"] for row in rows] and len(rows) == 7
    assert all(row["frames"] == 3 and row["median_ms"] >= 0 for row in rows)


def test_accuracy_compares_mien_with_both_peers_and_writes_the_model_card(tmp_path):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=3)
    card = tmp_path / "card.md"
    start, end = card_markers("accuracy")
    card.write_text(f"# Card\n\n{start}\nold table\n{end}\n\nThe rest.\n")
    out = tmp_path / "accuracy.json"
    main(["accuracy", "--data", str(data), "--out", str(out), "--card", str(card)])
    results = json.loads(out.read_text())
    assert results["faces"] == 12 and results["classes"] == ["angry", "happy", "neutral", "sad"]
    assert [row["model"] for row in results["rows"]] == ["Mien", "Human (mini-Xception)", "face-api (FaceExpressionNet)"]
    assert 0 <= results["in_frames"]["detection_rate"] <= 1 and 0 <= results["in_photos"]["detection_rate"] <= 1
    text = card.read_text()
    assert "old table" not in text and "| Mien |" in text and "In photos: " in text and text.endswith("The rest.\n")


def test_faces_measures_detection_by_face_width_and_expressions_found_there(tmp_path, capsys):
    data = write_image_folders(tmp_path / "images", {"train": "train", "validation": "validation"}, per_class=3)
    card = tmp_path / "card.md"
    start, end = card_markers("faces")
    card.write_text(f"# Card\n\n{start}\nold\n{end}\n")
    out = tmp_path / "faces.json"
    main(["faces", "--widths", "40", "200", "--trials", "3", "--repeats", "4", "--faces-per-width", "4",
          "--data", str(data), "--out", str(out), "--card", str(card)])
    results = json.loads(out.read_text())
    assert set(results["detectors"]) == {"Mien, live page (short range, followed)", "Mien, one frame (short range)",
                                         "Mien, one frame (full range)", "face-api (TinyFaceDetector 416)",
                                         "pipeline.detect (Python, followed)"}
    for measured in results["detectors"].values():
        assert set(measured["by_width"]) == {"40", "200"} and measured["false_faces_per_picture"] >= 0
    for name in ("Mien, live page (short range, followed)", "Mien, one frame (short range)",
                 "pipeline.detect (Python, followed)"):
        assert results["detectors"][name]["by_width"]["200"]["found"] == 1  # a large face is always found
    assert set(results["expressions_by_width"]) == {"40", "200"}
    assert "| face-api (TinyFaceDetector 416) |" in capsys.readouterr().out and "old" not in card.read_text()


def test_a_missing_data_folder_stops_the_faces_benchmark_at_once_in_one_sentence(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["faces", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "faces.json")])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.startswith(f"error: Data not found at {tmp_path / 'nowhere'}")
    assert "Traceback" not in err and "face finder" not in err  # before any detector ran
    assert not (tmp_path / "faces.json").exists()


def test_photos_and_personal_read_labelled_photos_end_to_end_and_profiles_on_other_people(tmp_path):
    """A set laid out as JAFFE is (folders by expression, the person first in each file name): every
    system reads every photo, and profiles are fitted on one person's photos and scored on the rest."""
    import cv2

    from bench.pictures import astronaut_bgr

    folder = tmp_path / "jaffe"
    for person, change in (("AA", 0), ("BB", 40)):
        for expression, code, count in (("6 - Anger", "AN", 1), ("1 - Happy", "HA", 1), ("7 - Neutral", "NE", 2),
                                        ("2 - Sad", "SA", 1)):
            (folder / expression).mkdir(parents=True, exist_ok=True)
            for number in range(1, count + 1):
                photo = cv2.convertScaleAbs(astronaut_bgr(), beta=change - 20 * number)
                cv2.imwrite(str(folder / expression / f"{person}.{code}{number}.{number}.tiff"), photo)
    card = tmp_path / "card.md"
    card.write_text("# Card\n")
    main(["photos", "--sets", f"jaffe={folder}", "--classes", "4", "--out", str(tmp_path / "photos.json"), "--card", str(card)])
    part = json.loads((tmp_path / "photos.json").read_text())["sets"]["jaffe"]["by_classes"]["4"]
    assert part["photos"] == 10 and set(part["systems"]) == {"Mien", "face-api", "Human"}
    mien = part["systems"]["Mien"]
    assert mien["faces_found"] == 1 and mien["recall"]["happy"] == 1 and mien["accuracy"] >= 0.2  # a smiling astronaut
    assert sum(map(sum, mien["confusion"])) == 10 and "| Mien |" in card.read_text()

    main(["personal", "--sets", f"jaffe={folder}", "--classes", "4", "--out", str(tmp_path / "personal.json"), "--card", ""])
    measured = json.loads((tmp_path / "personal.json").read_text())["sets"]["jaffe"]["by_classes"]["4"]
    profiles = measured["profiles"]
    assert profiles["one per class"]["people"] == profiles["neutral only"]["people"] == 2
    assert all(0 <= row["personal"] <= 1 and row["by_person"]["AA"]["draws"] >= 2 for row in profiles.values())
    assert measured["fit_ms"] > 0 and set(measured["peers"]) == {"face-api", "Human"}
    # The resting face: each person's other neutral picture, read as angry or sad or not, without and with the offset.
    calm = profiles["neutral only"]["resting_angry_or_sad"]
    assert calm["people"] == 2 and 0 <= calm["shipped"] <= 1 and 0 <= calm["personal"] <= 1


@pytest.mark.parametrize("argv, sentence", [
    (["frames", "--out", "/proc/x.json"], "Cannot write /proc/x.json (No such file or directory); choose an --out you "
     "can write to, before anything is measured."),
    (["frames", "--frames", "0"], "--frames must be more than 0 (got 0); leave it out for its default."),
    (["speed", "--seconds", "-1"], "--seconds must be more than 0 (got -1.0); leave it out for its default."),
    (["speed", "--warmup", "nan"], "--warmup must be 0 seconds or more (got nan); leave it out for its default."),
    (["faces", "--card", "/proc/card.md"], "Cannot write /proc/card.md (No such file or directory); choose an --card you "
     "can write to, before anything is measured."),
])
def test_bad_arguments_and_an_unwritable_out_are_one_sentence_before_anything_is_measured(argv, sentence, capsys):
    """Issue row 20: an unwritable --out was found after 21 s of measuring, and the results lost;
    --frames 0 and --seconds -1 ended in tracebacks."""
    started = time.monotonic()
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and capsys.readouterr().err == f"error: {sentence}\n"
    assert time.monotonic() - started < 2


def test_speed_before_npm_ci_says_to_run_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bench.server.NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(SystemExit) as stopped:
        main(["speed", "--out", str(tmp_path / "speed.json")])
    assert stopped.value.code == 2 and capsys.readouterr().err == (
        f"error: {tmp_path / 'node_modules' / '@vladmandic/human/models/emotion.json'} is missing; run npm ci (make "
        "bench does) and try again.\n")
    assert not (tmp_path / "speed.json").exists()


def test_checking_an_out_that_is_not_there_yet_leaves_nothing_behind(tmp_path):
    from bench.__main__ import writable

    writable(tmp_path / "new" / "results.json", "--out")
    assert not (tmp_path / "new" / "results.json").exists()
    (tmp_path / "old.json").write_text("{}")
    writable(tmp_path / "old.json", "--out")
    assert (tmp_path / "old.json").read_text() == "{}"
