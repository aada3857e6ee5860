"""The compact VGG11 and the model file that carries its own classes."""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest

from pipeline.errors import UserError
from pipeline.expressions import parse_classes
from pipeline.model import build_vgg11, load_model, model_info, read_info, recalibrate_batch_norm, save_model, transfer_weights


def conv_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_follows_the_vgg11_conv_pattern_with_a_width_multiplier():
    model = build_vgg11(4, width=0.25)
    filters_by_stage = {}
    for layer in conv_layers(model):
        stage = int(layer.name.split("_")[0].removeprefix("stage"))
        filters_by_stage.setdefault(stage, []).append(layer.filters)
        assert layer.kernel_size == (3, 3)
        assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal)
    assert filters_by_stage == {1: [16], 2: [32], 3: [64, 64], 4: [128, 128], 5: [128, 128]}
    assert len([l for l in model.layers if isinstance(l, keras.layers.MaxPooling2D)]) == 4
    assert len([l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]) == 9
    assert model.output_shape == (None, 4)
    assert conv_layers(build_vgg11(4, width=0.5))[0].filters == 32


def test_activation_dropout_and_l2_are_configurable():
    model = build_vgg11(3, activation="elu", dropout=0.3, l2=1e-3)
    assert any(layer.name.endswith("elu1") for layer in model.layers)
    assert all(layer.rate == 0.3 for layer in model.layers if isinstance(layer, keras.layers.Dropout))
    assert conv_layers(model)[0].kernel_regularizer.l2 == pytest.approx(1e-3)
    with pytest.raises(UserError, match="Unknown activation 'tanh'"):
        build_vgg11(3, activation="tanh")


def test_takes_raw_pixels_and_scales_them_inside():
    model = build_vgg11(4)
    scaling = model.get_layer("scale_pixels")
    assert isinstance(scaling, keras.layers.Rescaling)
    assert model.layers.index(scaling) == 1  # right after the input
    faces = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1)).astype("float32")
    scores = model.predict(faces, verbose=0)
    assert scores.shape == (2, 4)
    np.testing.assert_allclose(scores.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(scaling(np.array([0.0, 255.0])), [-1.0, 1.0])


def test_a_saved_model_carries_its_classes_and_input_format(tmp_path):
    model = build_vgg11(6, width=0.125)
    model.compile("adam", "categorical_crossentropy")
    path = tmp_path / "model.keras"
    save_model(model, path, model_info(parse_classes(6), validation_accuracy=0.5))
    loaded, info = load_model(path)
    assert info["classes"] == ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    assert info["class_members"][0] == ["angry", "disgust"]
    assert info["input_shape"] == [48, 48, 1]
    assert "0-255" in info["pixel_format"]
    assert not loaded.compiled  # no optimizer state in a model meant for use
    faces = np.zeros((1, 48, 48, 1), "float32")
    np.testing.assert_allclose(loaded.predict(faces, verbose=0), model.predict(faces, verbose=0), rtol=1e-5)


def test_a_failed_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    model = build_vgg11(3, width=0.125)
    path = tmp_path / "model.keras"
    save_model(model, path, {"version": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(UserError, match=r"^Cannot write .*model.keras \(disk full\); the previous file is kept\."):
        save_model(model, path, {"version": 2})
    assert read_info(path) == {"version": 1}
    assert sorted(item.name for item in tmp_path.iterdir()) == ["model.keras"]  # nothing half-written left


def test_model_files_that_are_missing_broken_or_foreign_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="Model not found"):
        read_info(tmp_path / "absent.keras")
    (tmp_path / "broken.keras").write_bytes(b"nope")
    with pytest.raises(UserError, match="not a readable .keras model"):
        load_model(tmp_path / "broken.keras")
    foreign = tmp_path / "foreign.keras"
    build_vgg11(3, width=0.125).save(foreign)
    assert "mien.json" not in zipfile.ZipFile(foreign).namelist()
    with pytest.raises(UserError, match="not a Mien model"):
        load_model(foreign)


def test_a_seven_class_model_restricted_to_four_gives_its_own_scores_for_those_four():
    seven = build_vgg11(7, width=0.125, head_units=16)
    four = build_vgg11(4, width=0.125, head_units=16)
    said = transfer_weights(seven, model_info(parse_classes(7)), four, parse_classes(4))
    assert said == "all layers, the output restricted to angry, happy, neutral, sad"
    faces = np.random.default_rng(2).integers(0, 256, (5, 48, 48, 1)).astype("float32")
    logits = keras.Model(seven.input, seven.get_layer("logits").output).predict(faces, verbose=0)
    columns = [0, 3, 4, 5]  # angry, happy, neutral, sad among the seven, alphabetically
    expected = np.exp(logits[:, columns]) / np.exp(logits[:, columns]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(four.predict(faces, verbose=0), expected, rtol=1e-4, atol=1e-6)


def test_new_classes_start_with_a_fresh_output_layer():
    six = build_vgg11(6, width=0.125, head_units=16)
    other = build_vgg11(3, width=0.125, head_units=16)
    said = transfer_weights(six, model_info(parse_classes(6)), other, parse_classes("angry,happy,disgust"))
    assert said == "all layers but the output, which starts fresh for the new classes"
    np.testing.assert_array_equal(other.get_layer("stage3_conv2").get_weights()[0], six.get_layer("stage3_conv2").get_weights()[0])
    with pytest.raises(UserError, match="has another architecture"):
        transfer_weights(build_vgg11(7, width=0.25), model_info(parse_classes(7)), other, parse_classes(3))


def test_batch_norm_is_recalibrated_on_clean_faces_and_the_model_left_as_it_was():
    pixels = keras.Input((48, 48, 1))
    normalised = keras.layers.BatchNormalization(momentum=0.99)(pixels)
    dropped = keras.layers.Dropout(0.5)(keras.layers.GlobalAveragePooling2D()(normalised))
    model = keras.Model(pixels, keras.layers.Dense(2)(dropped))
    faces = np.random.default_rng(4).integers(0, 256, (600, 48, 48)).astype(np.uint8)
    recalibrate_batch_norm(model, faces, batch_size=100)
    norm = model.layers[1]
    assert float(norm.moving_mean.numpy()[0]) == pytest.approx(faces.mean(), rel=1e-3)
    assert float(norm.moving_variance.numpy()[0]) == pytest.approx(faces.astype(float).var(), rel=2e-2)
    assert norm.momentum == 0.99 and model.layers[3].rate == 0.5


def test_a_flip_averaged_model_averages_each_face_with_its_mirror_image(tmp_path):
    from pipeline.model import bare_network, with_flip_average

    model = build_vgg11(4, width=0.125, head_units=16)
    averaged = with_flip_average(model)
    faces = np.random.default_rng(5).integers(0, 256, (3, 48, 48, 1)).astype("float32")
    expected = (model.predict(faces, verbose=0) + model.predict(faces[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(averaged.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert averaged.count_params() == model.count_params()  # one network, run on both views
    save_model(averaged, tmp_path / "averaged.keras", model_info(parse_classes(4)))
    loaded, _ = load_model(tmp_path / "averaged.keras")
    np.testing.assert_allclose(loaded.predict(faces, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert bare_network(loaded).name == model.name and bare_network(model) is model
