"""The expression network (a compact VGG11) and how a trained one is saved, found and loaded.

A saved model is one ``.keras`` file. Next to Keras' own entries the file holds ``mien.json``:
the class set in output order, the input shape and pixel format, the crop geometry its faces are
cut with, and how the model was trained. Whoever loads the file knows what the model's outputs
mean, and how to cut faces for it, without any other file.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import layers

from pipeline.errors import UserError
from pipeline.expressions import INPUT_CHANNELS, INPUT_SIZE, PIXEL_FORMAT, ClassSet
from pipeline.architecture import ACTIVATIONS, NETWORK, VGG11_STAGES
from pipeline.faces.crop import FACE_CROP, CropGeometry

INFO_ENTRY = "mien.json"


def build_vgg11(
    num_classes: int,
    width: float = NETWORK.width,
    activation: str = NETWORK.activation,
    dropout: float = NETWORK.dropout,
    l2: float = NETWORK.l2,
    head_units: int = NETWORK.head_units,
) -> keras.Model:
    """Build a VGG11-style classifier for 48x48 grayscale faces given as raw 0-255 pixels.

    ``width`` multiplies VGG11's filter counts (64 ... 512): the default 0.3125 gives 20 ... 160.
    Each 3x3 convolution is followed by batch normalisation and ``activation``; stages end in
    max-pooling (the last in global average pooling), then a dense head with dropout. Returns an
    uncompiled Keras model whose output ``scores`` is a probability per class.
    """
    if activation not in ACTIVATIONS:
        raise UserError(f"Unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}.")
    if width <= 0:
        raise UserError(f"--width must be positive (got {width}); {NETWORK.width} is the default.")
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None

    pixels = keras.Input((INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS), name="pixels")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale_pixels")(pixels)
    for stage, filters in enumerate(VGG11_STAGES, start=1):
        for index, base_filters in enumerate(filters, start=1):
            x = layers.Conv2D(
                max(8, round(base_filters * width)),
                3,
                padding="same",
                use_bias=False,
                kernel_initializer="he_normal",
                kernel_regularizer=regularizer,
                name=f"stage{stage}_conv{index}",
            )(x)
            x = layers.BatchNormalization(name=f"stage{stage}_bn{index}")(x)
            x = layers.Activation(activation, name=f"stage{stage}_{activation}{index}")(x)
        if stage < len(VGG11_STAGES):
            x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = layers.Dropout(dropout, name="head_dropout1")(x)
    x = layers.Dense(
        head_units,
        kernel_initializer="he_normal",
        kernel_regularizer=regularizer,
        name="head_dense",
    )(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation(activation, name=f"head_{activation}")(x)
    x = layers.Dropout(dropout, name="head_dropout2")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    scores = layers.Softmax(name="scores", dtype="float32")(logits)
    return keras.Model(pixels, scores, name="mien_vgg11")


@keras.saving.register_keras_serializable(package="mien")
class WithMirrorImages(layers.Layer):
    """A batch of faces [N, height, width, channels] followed by their mirror images: [2N, ...]."""

    def call(self, faces):
        return keras.ops.concatenate([faces, keras.ops.flip(faces, axis=2)], axis=0)


@keras.saving.register_keras_serializable(package="mien")
class AverageHalves(layers.Layer):
    """Scores [2N, classes] of faces and their mirror images: the average of each pair, [N, classes]."""

    def call(self, scores):
        half = keras.ops.shape(scores)[0] // 2
        return (scores[:half] + scores[half:]) / 2


def with_features(network: keras.Model) -> keras.Model:
    """``network`` giving two outputs: its class scores and its penultimate features (the head's
    activations that the logits layer weighs), which a personal layer adjusts the scores with."""
    return keras.Model(network.input, [network.output, network.get_layer("logits").input], name=network.name)


def with_flip_average(model: keras.Model, features: bool = False) -> keras.Model:
    """``model`` whose scores for each face are the average of its and its mirror image's; with
    ``features``, a second output: the penultimate features averaged the same way.

    Faces are symmetric enough that the two views disagree mostly on what the network got wrong,
    so the average is more accurate; it costs a second pass per face. The network runs once, on
    the faces and their mirror images together, so an export holds its weights once. The result
    saves, loads and exports as any other Keras model.
    """
    pixels = keras.Input(model.input_shape[1:], name="pixels")
    both = WithMirrorImages(name="with_mirror_images")(pixels)
    if not features:
        return keras.Model(pixels, AverageHalves(name="flip_average")(model(both)), name=f"{model.name}_flip_average")
    scores, penultimate = with_features(model)(both)
    return keras.Model(pixels, [AverageHalves(name="flip_average")(scores), AverageHalves(name="features_average")(penultimate)],
                       name=f"{model.name}_flip_average")


def bare_network(model: keras.Model) -> keras.Model:
    """The network itself, with its scores alone: ``model``, or the one inside a
    :func:`with_flip_average` or :func:`with_features` model."""
    if any(isinstance(layer, WithMirrorImages) for layer in model.layers):
        model = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return keras.Model(model.input, model.outputs[0], name=model.name) if len(model.outputs) > 1 else model


def single_view(model: keras.Model) -> keras.Model | None:
    """The network inside a :func:`with_flip_average` model, with all its outputs (scores, and
    features where it gives them): what one view of a face gives, before the average; None for a
    model that averages no mirror images. A stream of frames takes a face's two views in turns."""
    if not any(isinstance(layer, WithMirrorImages) for layer in model.layers):
        return None
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def scores_of(outputs):
    """A model's class scores, whether it also gives its features or not."""
    return outputs[0] if isinstance(outputs, list) else outputs


def scores_only(model: keras.Model) -> keras.Model:
    """``model`` with its class scores as its one output (what losses and gradients take)."""
    return keras.Model(model.input, model.outputs[0]) if len(model.outputs) > 1 else model


def predict(model: keras.Model, images: np.ndarray, flip_average: bool = False, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for uint8 faces [N, 48, 48]; with ``flip_average``, each face's averaged
    with its mirror image's (a model that does so already is not averaged twice)."""
    if flip_average:
        model = with_flip_average(bare_network(model))
    return scores_of(model.predict(images[..., None].astype(np.float32), batch_size=batch_size, verbose=0))


ARCHITECTURE = ("width", "activation", "head_units")  # the settings that shape the weights
RECALIBRATION_FACES = 10240


def recalibrate_batch_norm(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> None:
    """Re-estimate every batch normalisation's statistics on clean faces (uint8 [N, 48, 48]).

    Training augments faces (brightness, contrast, zoom...), so the moving statistics that batch
    normalisation keeps describe augmented faces, and clean faces at inference are normalised with
    them. Averaging the statistics exactly over clean faces, with dropout off, removes that
    mismatch (worth 2 points of validation accuracy on the 7-class model). Training, which uses
    each batch's own statistics, is not affected.
    """
    norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    dropouts = [layer for layer in model.layers if isinstance(layer, layers.Dropout)]
    momenta = [layer.momentum for layer in norms]
    rates = [layer.rate for layer in dropouts]
    for layer in dropouts:
        layer.rate = 0.0
    picks = np.random.default_rng(0).permutation(len(images))[:RECALIBRATION_FACES]
    batches = [picks[start : start + batch_size] for start in range(0, len(picks), batch_size)]
    for step, batch in enumerate(batches):
        for layer in norms:
            layer.momentum = step / (step + 1)  # the running value becomes the exact mean so far
        model(images[batch][..., None].astype("float32"), training=True)
    for layer, momentum in zip(norms, momenta):
        layer.momentum = momentum
    for layer, rate in zip(dropouts, rates):
        layer.rate = rate


def transfer_weights(source: keras.Model, source_info: dict, target: keras.Model, class_set: ClassSet) -> str:
    """Start ``target`` from a trained ``source`` of the same architecture.

    Every layer is copied. The output layer is too where ``source`` knows all of ``class_set``'s
    classes (its columns are picked, so a 7-class model becomes a 4-class one exactly); otherwise
    the output layer starts fresh. Returns a sentence saying which was done.
    """
    for layer in target.layers:
        if layer.weights and layer.name != "logits":
            try:
                layer.set_weights(source.get_layer(layer.name).get_weights())
            except ValueError:
                raise UserError(
                    f"The model to start from has another architecture (layer {layer.name} differs); "
                    "start from a model trained by this version of python -m pipeline.train."
                ) from None
    known = [tuple(group) for group in source_info["class_members"]]
    if all(tuple(group) in known for group in class_set.members):
        columns = [known.index(tuple(group)) for group in class_set.members]
        kernel, bias = source.get_layer("logits").get_weights()
        target.get_layer("logits").set_weights([kernel[:, columns], bias[columns]])
        return f"all layers, the output restricted to {', '.join(class_set.names)}"
    return "all layers but the output, which starts fresh for the new classes"


def model_info(class_set: ClassSet, **extra) -> dict:
    """The facts saved inside a model file: its classes, input, pixel format and face crop, plus ``extra``."""
    return {
        "classes": class_set.names,
        "class_members": class_set.to_json(),
        "input_shape": [INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS],
        "pixel_format": PIXEL_FORMAT,
        "face_crop": FACE_CROP.to_json(),
        **extra,
    }


def face_crop(info: dict) -> CropGeometry:
    """The crop geometry a model's faces are cut with (models saved before it was recorded were
    trained on the same FER crops: the current definition)."""
    return CropGeometry(**info.get("face_crop", FACE_CROP.to_json()))


def save_model(model: keras.Model, path: Path, info: dict, include_optimizer: bool = False) -> None:
    """Write ``model`` and its ``info`` to ``path`` atomically: a crash leaves the old file whole."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.partial.keras")
    if not include_optimizer:
        model = _without_optimizer(model)
    try:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(INFO_ENTRY, json.dumps(info, indent=2))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path} ({error.strerror or error}); the previous file is kept. Free some disk "
                        "space, or write somewhere else, and try again.") from None


def _without_optimizer(model: keras.Model) -> keras.Model:
    """A plain float32 copy of ``model``: no optimizer, no training step of its own, no mixed precision."""
    copy = keras.Model.from_config(_float32(model.get_config()))  # clone_model would compile the copy too
    copy.set_weights(model.get_weights())
    return copy


def _float32(config):
    """A model config with every mixed-precision dtype policy made float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config.get("config", {}).get("name", "")).startswith("mixed"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32(value) for value in config]
    return config


def read_info(path: Path) -> dict:
    """Read the ``mien.json`` of a saved model without loading the network."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(INFO_ENTRY))
    except FileNotFoundError:
        raise UserError(f"Model not found at {path}; train one with python -m pipeline.train.") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UserError(f"{path} is not a readable .keras model; train or export it again.") from None
    except KeyError:
        raise UserError(
            f"{path} is a Keras model but not a Mien model (it carries no class names); "
            "train one with python -m pipeline.train."
        ) from None


def load_model(path: Path, compile: bool = False) -> tuple[keras.Model, dict]:
    """Load a saved model and its info. Any problem with the file, or class names that do not
    match the model's outputs, is a UserError."""
    info = read_info(path)
    try:
        model = keras.models.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise UserError(f"{path} could not be loaded as a Keras model ({type(error).__name__}); train or copy it again.") from None
    classes, outputs = info.get("classes"), model.outputs[0].shape[-1]
    if not (isinstance(classes, list) and all(isinstance(name, str) and name for name in classes)) or len(classes) != outputs:
        raise UserError(f"{path} names {len(classes) if isinstance(classes, list) else 'no list of'} classes for its "
                        f"{outputs} outputs, so its scores would be read under the wrong names; train or export it again.")
    return model, info
