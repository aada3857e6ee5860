"""python -m exporters.to_tfjs: a TF.js graph model with metadata, checked against Keras in TF.js."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from exporters import to_tfjs
from pipeline.expressions import parse_classes
from pipeline.faces.crop import FACE_CROP
from pipeline.faces.personal import SETTINGS as PERSONAL_SETTINGS
from pipeline.model import model_info, save_model
from tests.datasets import write_image_folders

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def parity_data(tmp_path_factory):
    return write_image_folders(tmp_path_factory.mktemp("parity") / "images",
                               {"train": "train", "validation": "validation"}, per_class=10)


def export(model, out, parity_data, quantize="float16"):
    return to_tfjs.main(["--model", str(model), "--out", str(out), "--quantize", quantize, "--data", str(parity_data)])


@pytest.fixture(scope="module")
def exported(trained_run, parity_data, tmp_path_factory) -> Path:
    """One export of the tiny model, the folder alone in its own."""
    out = tmp_path_factory.mktemp("exported") / "model"
    export(trained_run, out, parity_data)
    return out


def previous_export(exported, out: Path) -> str:
    """A copy of ``exported`` at ``out``, as an earlier export would have left it; its metadata."""
    shutil.copytree(exported, out)
    return (out / "metadata.json").read_text()


def test_export_writes_a_graph_model_and_the_metadata_the_page_needs(trained_run, exported):
    out = exported
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["format"] == "graph-model"
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["classes"] == ["angry", "happy", "neutral", "sad"]
    assert metadata["input"]["shape"] == [None, 48, 48, 1]
    assert "0-255" in metadata["input"]["pixel_format"]
    assert metadata["input"]["name"] in manifest["signature"]["inputs"]
    assert metadata["output"]["name"] in manifest["signature"]["outputs"]
    assert metadata["quantization"] == "float16"
    assert metadata["face_crop"]["scale"] == FACE_CROP.scale and metadata["face_crop"]["shift_y"] == FACE_CROP.shift_y
    assert metadata["source"]["run"] == trained_run.name
    assert 0 <= metadata["source"]["validation_accuracy"] <= 1
    shards = b"".join((out / path).read_bytes() for group in manifest["weightsManifest"] for path in group["paths"])
    assert metadata["weights_sha256"] == hashlib.sha256(shards).hexdigest()
    parity = metadata["parity"]
    assert parity["faces"] == 40 and parity["face_source"] == "validation" and parity["backend"] == "wasm"
    assert parity["max_difference"] <= 1e-2 and parity["top1_agreement"] >= 0.99
    # What a profile taught one expression is fitted against: the mean log scores of each class's validation faces.
    assert set(metadata["reference_log_scores"]) == set(metadata["classes"])
    assert all(len(row) == 4 and max(row) <= 0 for row in metadata["reference_log_scores"].values())
    assert metadata["personal"] == PERSONAL_SETTINGS  # how the page fits a profile, defined in Python
    assert sorted(p.name for p in out.parent.iterdir()) == ["model"]  # no partial folder left behind


def test_each_quantisation_keeps_parity_and_shrinks_the_weights(trained_run, parity_data, tmp_path):
    sizes = {}
    for quantize in ("none", "float16", "uint8"):
        metadata = export(trained_run, tmp_path / quantize, parity_data, quantize)
        limits = to_tfjs.QUANTIZATIONS[quantize]
        assert metadata["parity"]["max_difference"] <= limits.max_difference
        sizes[quantize] = metadata["size_bytes"]
    assert sizes["none"] > sizes["float16"] > sizes["uint8"]
    assert sizes["float16"] == pytest.approx(sizes["none"] / 2, rel=0.1)


def test_a_model_tfjs_computes_differently_fails_and_keeps_the_previous_export(
        trained_run, exported, parity_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model"
    before = previous_export(exported, out)

    real_run = to_tfjs.run_in_tfjs

    def drifting(folder, batch, tensors=None):
        (scores, features), backend = real_run(folder, batch, tensors)
        return (scores[:, ::-1], features), backend  # classes swapped: what a broken conversion would give

    monkeypatch.setattr(to_tfjs, "run_in_tfjs", drifting)
    with pytest.raises(SystemExit) as stopped:
        export(trained_run, out, parity_data)
    assert stopped.value.code == 2
    assert "does not compute what Keras computed" in capsys.readouterr().err
    assert (out / "metadata.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_model_with_the_wrong_input_shape_is_one_sentence(tmp_path, capsys):
    pixels = keras.Input((64, 64, 3))
    model = keras.Model(pixels, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(pixels)))
    path = tmp_path / "wide.keras"
    save_model(model, path, model_info(parse_classes(4)))
    with pytest.raises(SystemExit):
        to_tfjs.main(["--model", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "takes input of shape (None, 64, 64, 3)" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_a_missing_model_is_one_sentence(tmp_path, capsys):
    with pytest.raises(SystemExit):
        to_tfjs.main(["--model", str(tmp_path / "none.keras"), "--out", str(tmp_path / "out")])
    assert "No model at" in capsys.readouterr().err


def test_without_data_the_parity_check_uses_fixed_synthetic_faces(tmp_path):
    faces, source = to_tfjs.parity_faces(parse_classes(4), tmp_path / "no-data-here")
    again, _ = to_tfjs.parity_faces(parse_classes(4), tmp_path / "no-data-here")
    assert source == "synthetic" and faces.shape == (256, 48, 48) and faces.dtype == np.uint8
    assert np.array_equal(faces, again) and faces.std() > 20


def test_an_out_that_cannot_be_written_is_one_sentence_and_the_previous_export_stays(
        trained_run, exported, parity_data, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        export(trained_run, blocker / "model", parity_data)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: Cannot write the model to {blocker / 'model'} ({blocker} is a file, not a folder); "
                   "choose an --out in a folder you can write to.")

    out = tmp_path / "site" / "model"
    before = previous_export(exported, out)
    real_replace = os.replace

    def refuse_the_new_folder(source, target):
        if ".partial-" in str(source):
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    import exporters.to_tfjs as module
    module.os.replace = refuse_the_new_folder
    try:
        with pytest.raises(SystemExit):
            export(trained_run, out, parity_data)
    finally:
        module.os.replace = real_replace
    assert "the previous export is kept" in capsys.readouterr().err
    assert (out / "metadata.json").read_text() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["model"]


def test_a_killed_export_leaves_no_process_and_its_folder_goes_at_the_next_export(trained_run, parity_data, tmp_path):
    out = tmp_path / "model"
    command = [sys.executable, "-m", "exporters.to_tfjs", "--model", str(trained_run), "--out", str(out),
               "--data", str(parity_data)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    node = []
    while not node and time.monotonic() < deadline:  # wait until the parity check runs in Node
        node = subprocess.run(["pgrep", "-af", f"parity.mjs {tmp_path}"], capture_output=True, text=True).stdout.split()
        time.sleep(0.05)
    assert node, "the export never reached its parity check"
    scores = Path(node[-1])  # PID node parity.mjs MODEL FACES COUNT OUT.json: where Node would write its scores
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Node ends at its next turn of the event loop, which a busy machine can hold up for a while,
    # but it ends without finishing the check.
    deadline = time.monotonic() + 60
    while node and time.monotonic() < deadline:
        time.sleep(0.2)
        node = subprocess.run(["pgrep", "-f", f"parity.mjs {tmp_path}"], capture_output=True, text=True).stdout.split()
    assert not node, "Node outlived the killed export"
    assert not scores.exists(), "Node finished the check after the export was killed"
    shutil.rmtree(scores.parent)  # the killed export's scratch folder
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == [".model.partial"]

    export(trained_run, out, parity_data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_export_averages_each_face_with_its_mirror_image_unless_told_not_to(trained_run, parity_data, tmp_path):
    from pipeline.model import bare_network, load_model

    shipped = tmp_path / "shipped.keras"
    metadata = to_tfjs.main(["--model", str(trained_run), "--out", str(tmp_path / "model"), "--data", str(parity_data),
                             "--keras", str(shipped)])
    assert metadata["flip_average"] and metadata["parity"]["top1_agreement"] >= 0.99
    alone = to_tfjs.main(["--model", str(trained_run), "--out", str(tmp_path / "alone"), "--data", str(parity_data),
                          "--no-flip-average"])
    assert not alone["flip_average"]
    weights = [sum(path.stat().st_size for path in (tmp_path / name).glob("*.bin")) for name in ("model", "alone")]
    assert abs(weights[0] - weights[1]) < 0.01 * weights[1]  # the weights once
    model, info = load_model(shipped)
    assert info["flip_average"] and info["classes"] == ["angry", "happy", "neutral", "sad"]
    assert info["config"]["data"] == "images" and str(tmp_path) not in json.dumps(info)  # no machine's folders
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    run, _ = load_model(trained_run / "best.keras")
    expected = (run.predict(faces, verbose=0) + run.predict(faces[:, :, ::-1], verbose=0)) / 2
    scores, features = model.predict(faces, verbose=0)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)
    (tfjs_scores, tfjs_features), _ = to_tfjs.run_in_tfjs(tmp_path / "model", faces)
    np.testing.assert_allclose(tfjs_scores, expected, atol=1e-2)
    assert bare_network(model).count_params() == run.count_params()
    # The second output: the penultimate features, averaged over the face and its mirror image.
    penultimate = keras.Model(run.input, run.get_layer("logits").input)
    expected_features = (penultimate.predict(faces, verbose=0) + penultimate.predict(faces[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tfjs_features, expected_features, atol=2e-2 * np.abs(expected_features).max())
    assert metadata["features"]["shape"] == [None, expected_features.shape[1]] and metadata["parity"]["features_max_difference"] < 1e-2
    # One view of each face, fed and read where the metadata says: the network's own outputs, not averaged.
    (view_scores, view_features), _ = to_tfjs.run_in_tfjs(tmp_path / "model", faces, metadata["single_view"])
    np.testing.assert_allclose(view_scores, run.predict(faces, verbose=0), atol=1e-2)
    np.testing.assert_allclose(view_features, penultimate.predict(faces, verbose=0), atol=2e-2 * np.abs(expected_features).max())
    assert metadata["parity"]["single_view_max_difference"] < 1e-2 and "single_view" not in alone


def test_the_crop_geometry_travels_in_the_model_so_page_and_python_cut_faces_alike(trained_run, parity_data, tmp_path):
    """A model carries the geometry its faces are cut with: the export's metadata.json (the page)
    and pipeline.detect (Python) both read it from the model, whatever the current definition."""
    from pipeline.faces.classifier import ExpressionClassifier
    from pipeline.model import face_crop, load_model

    model, info = load_model(trained_run / "best.keras")
    assert info["face_crop"] == FACE_CROP.to_json()  # training writes the definition into the model
    other = tmp_path / "other.keras"
    save_model(model, other, {**info, "face_crop": {"scale": 1.5, "shift_y": 0.05}})
    metadata = export(other, tmp_path / "model", parity_data)
    assert (metadata["face_crop"]["scale"], metadata["face_crop"]["shift_y"]) == (1.5, 0.05)
    assert ExpressionClassifier(other).geometry == face_crop({"face_crop": {"scale": 1.5, "shift_y": 0.05}})


def test_a_full_disk_is_one_sentence_and_the_previous_export_stays(trained_run, exported, parity_data, tmp_path):
    out = tmp_path / "model"
    before = previous_export(exported, out)
    # From the conversion on, no file may grow past 20 kB: as a disk that fills up.
    limited = "\n".join([
        "import resource, sys",
        "from exporters import to_tfjs",
        "converting = to_tfjs.convert",
        "def convert(*args):",
        "    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))",
        "    converting(*args)",
        "to_tfjs.convert = convert",
        "to_tfjs.main(sys.argv[1:])",
    ])
    result = subprocess.run([sys.executable, "-c", limited, "--model", str(trained_run), "--out", str(out),
                             "--quantize", "none", "--data", str(parity_data)], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: The model could not be written (") and line.endswith(
        "the previous export is kept. Free some disk space, or choose another --out, and export again.")
    assert (out / "metadata.json").read_text() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_a_model_whose_class_names_do_not_match_its_outputs_is_not_exported(trained_run, parity_data, tmp_path, capsys):
    from pipeline.model import load_model

    model, info = load_model(trained_run / "best.keras")
    wrong = tmp_path / "five.keras"
    save_model(model, wrong, {**info, "classes": [*info["classes"], "extra"]})
    with pytest.raises(SystemExit) as stopped:
        export(wrong, tmp_path / "model", parity_data)
    assert stopped.value.code == 2
    assert "names 5 classes for its 4 outputs" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
