"""Export a trained Mien model as a TensorFlow.js graph model the page loads as it is.

    python -m exporters.to_tfjs [--model RUN_DIR_OR_.keras] [--out component/models/model] [--quantize float16]

The route that works with Keras 3: ``model.export()`` to a SavedModel, then the tensorflowjs
converter to a *graph* model. Beside ``model.json`` and its weights goes ``metadata.json``, the one
place the page learns the class names, input shape, pixel format and tensor names from.

The new model is built in a temporary folder beside the target, checked against Keras by running
it with TensorFlow.js in Node, and only then swapped in: a failed export leaves the previous model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from facts import REPO
from facts.tfjs_files import read_manifest, shard_paths
from pipeline.console import load_tensorflow, native_logs_hidden
from pipeline.data import DEFAULT_DATA
from pipeline.errors import UserError, reports_user_errors
from pipeline.expressions import INPUT_CHANNELS, INPUT_SIZE, ClassSet
from pipeline.faces.personal import SETTINGS as PERSONAL_SETTINGS
from pipeline.runs import resolve_model_path

PARITY_SCRIPT = Path(__file__).with_name("parity.mjs")
DEFAULT_OUT = Path("component/models/model")
METADATA = "metadata.json"
PARITY_FACES = 256
METADATA_FORMAT = "mien-model/1"


@dataclass(frozen=True)
class Quantization:
    """A weight quantisation and how close TF.js must stay to Keras with it."""

    dtype_map: dict | None
    max_difference: float  # largest absolute difference of a class score
    min_agreement: float  # share of faces with the same top class


# Bounds that a faithful conversion keeps and a broken one (swapped classes, wrong scaling) does
# not; 8-bit weights move scores by a few hundredths (0.085 at most on the shipped model).
QUANTIZATIONS = {
    "none": Quantization(None, 1e-3, 0.99),
    "float16": Quantization({"float16": "*"}, 1e-2, 0.99),
    "uint8": Quantization({"uint8": "*"}, 0.15, 0.95),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m exporters.to_tfjs",
        description="Convert a trained Mien model to a TensorFlow.js graph model with metadata, "
        "checked against Keras with TF.js itself.",
    )
    parser.add_argument("--model", help="run folder or .keras file (default: the newest run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--quantize", choices=list(QUANTIZATIONS), default="float16",
                        help="weight quantisation (default: float16)")
    parser.add_argument("--no-flip-average", dest="flip_average", action="store_false",
                        help="export the network alone; by default the exported model averages each face's "
                        "scores with its mirror image's (more accurate, a second pass per face)")
    parser.add_argument("--keras", type=Path, metavar="FILE",
                        help="also write the exported model as a .keras file (what pipeline.detect and "
                        "pipeline.evaluate load), so that they compute what the page computes")
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="faces for the parity check: the validation split of this data set "
                        f"(default: {DEFAULT_DATA}; synthetic faces when it is absent)")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    model_path = resolve_model_path(args.model)
    load_tensorflow(args.verbose)
    metadata = export(model_path, args.out, args.quantize, args.data, args.flip_average, args.keras)
    parity = metadata["parity"]
    print(f"Exported {model_path} to {args.out}: {metadata['quantization']}, "
          f"{metadata['size_bytes'] / 1e6:.2f} MB, converted in {metadata['conversion_seconds']:.1f} s")
    print(f"Parity with Keras on {parity['faces']} {parity['face_source']} faces, TF.js {parity['backend']}: "
          f"max score difference {parity['max_difference']:.2e}, top-1 agreement {parity['top1_agreement']:.1%}")
    if args.keras:
        print(f"Wrote the same model for Python to {args.keras}")
    return metadata


def export(model_path: Path, out: Path, quantize: str, data: str | Path, flip_average: bool = True,
           keras_out: Path | None = None) -> dict:
    """Convert ``model_path`` into ``out`` (with ``flip_average``, averaging each face with its
    mirror image inside the graph), and into ``keras_out`` too when given; returns the metadata
    written beside the model."""
    from pipeline.model import bare_network, face_crop, load_model, save_model, with_features, with_flip_average

    model, info = load_model(model_path)
    network = bare_network(model)
    expected = (None, INPUT_SIZE, INPUT_SIZE, INPUT_CHANNELS)
    if tuple(network.input_shape) != expected:
        raise UserError(f"{model_path} takes input of shape {network.input_shape}, not {expected}; "
                        "export a model trained with python -m pipeline.train.")
    model = with_flip_average(network, features=True) if flip_average else with_features(network)
    info = {**info, "flip_average": flip_average, "face_crop": face_crop(info).to_json()}
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
        staging.chmod(0o755)  # served to browsers: readable like any static folder
    except OSError as error:
        in_the_way = next((parent for parent in out.parents if parent.is_file()), None)
        reason = f"{in_the_way} is a file, not a folder" if in_the_way else error.strerror or str(error)
        raise UserError(f"Cannot write the model to {out} ({reason}); choose an --out in a folder you can write to.") from None
    try:
        started = time.monotonic()
        convert(model, staging, QUANTIZATIONS[quantize])
        seconds = time.monotonic() - started
        class_set = ClassSet.from_json(info["class_members"])
        faces, face_source = parity_faces(class_set, data)
        info = {**info, **reference_log_scores(model, class_set, data)}
        parity = check_parity(model, staging, faces, QUANTIZATIONS[quantize])
        parity["face_source"] = face_source
        metadata = describe(staging, info, model_path, quantize, seconds, parity)
        (staging / METADATA).write_text(json.dumps(metadata, indent=2))
        replace_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if keras_out:  # the same model, known by the same weights' hash (a page's profile names it)
        save_model(model, keras_out, shareable({**info, "weights_sha256": metadata["weights_sha256"]}))
    return metadata


def shareable(info: dict) -> dict:
    """``info`` with the paths its training recipe names cut to their last part (run and model
    names, the data set's folder), so that a shipped model does not carry one machine's folders."""
    config = dict(info.get("config", {}))
    for key in ("data", "init_from", "teacher"):
        if config.get(key):
            config[key] = ",".join(Path(path).name for path in str(config[key]).split(","))
    return {**info, "config": config} if config else info


def convert(model, folder: Path, quantization: Quantization) -> None:
    """Keras 3 model -> SavedModel -> TF.js graph model in ``folder``. A disk that fills up (or any
    other failure to write) is a UserError; the caller keeps the previous export."""
    import tensorflow as tf
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    try:
        with tempfile.TemporaryDirectory() as saved_model, native_logs_hidden():
            model.export(saved_model, verbose=False)
            convert_tf_saved_model(saved_model, str(folder), quantization_dtype_map=quantization.dtype_map)
    except (OSError, tf.errors.OpError) as error:
        reason = getattr(error, "strerror", None) or str(getattr(error, "message", error)).strip().splitlines()[0]
        raise UserError(f"The model could not be written ({reason}); the previous export is kept. Free some disk "
                        "space, or choose another --out, and export again.") from None


def parity_faces(class_set: ClassSet, data) -> tuple[np.ndarray, str]:
    """A fixed set of faces: spread over the validation split of ``data``, else synthetic ones."""
    from pipeline.data import load_dataset

    try:
        images = load_dataset(data, class_set, splits=("validation",))["validation"].images
        picks = np.linspace(0, len(images) - 1, min(PARITY_FACES, len(images))).astype(int)
        return images[picks], "validation"
    except UserError:
        # No data set here: smooth random images, the same every time.
        import cv2

        rng = np.random.default_rng(0)
        noise = rng.integers(0, 256, (PARITY_FACES, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
        faces = np.stack([cv2.GaussianBlur(image, (0, 0), 2) for image in noise])
        return np.clip((faces - faces.mean()) * 4 + 128, 0, 255).astype(np.uint8), "synthetic"


def reference_log_scores(model, class_set: ClassSet, data) -> dict:
    """``{"reference_log_scores": {class: mean log scores}}``: what the model gives, on average, the
    validation faces of each class of ``data``; a profile taught one expression shifts a person's
    scores by how theirs differ from it. Empty where ``data`` has no validation faces."""
    from pipeline.data import load_dataset

    try:
        split = load_dataset(data, class_set, splits=("validation",))["validation"]
    except UserError:
        return {}
    log_scores = np.log(np.maximum(model.predict(split.images[..., None].astype(np.float32), batch_size=256,
                                                 verbose=0)[0], 1e-7))
    return {"reference_log_scores": {name: [round(float(value), 4) for value in log_scores[split.labels == index].mean(axis=0)]
                                     for index, name in enumerate(class_set.names) if (split.labels == index).any()}}


def check_parity(model, folder: Path, faces: np.ndarray, quantization: Quantization) -> dict:
    """Run the TF.js model in Node on ``faces`` and compare both its outputs with Keras (the
    features relative to their largest value); the same for one view of each face, fed and read
    where :func:`single_view_tensors` says, in a model that averages mirror images. Raise when
    they differ."""
    from pipeline.model import single_view

    batch = faces[..., None].astype(np.float32)
    parity = compare_outputs(model.predict(batch, verbose=0), *run_in_tfjs(folder, batch), quantization)
    view = single_view(model)
    if view is not None:
        tensors = single_view_tensors(read_manifest(folder / "model.json"))
        single = compare_outputs(view.predict(batch, verbose=0), *run_in_tfjs(folder, batch, tensors), quantization)
        parity["single_view_max_difference"] = single["max_difference"]
    return parity


def compare_outputs(expected: list, outputs: list, backend: str, quantization: Quantization) -> dict:
    """How far TF.js's (scores, features) are from Keras's ``expected``; raise beyond ``quantization``'s bounds."""
    (expected_scores, expected_features), (scores, features) = expected, outputs
    difference = float(np.abs(scores - expected_scores).max())
    agreement = float((scores.argmax(axis=1) == expected_scores.argmax(axis=1)).mean())
    features_difference = float(np.abs(features - expected_features).max() / max(np.abs(expected_features).max(), 1e-6))
    if (difference > quantization.max_difference or agreement < quantization.min_agreement
            or features_difference > quantization.max_difference):
        raise UserError(
            f"The TF.js model does not compute what Keras computed (max score difference {difference:.2e}, "
            f"features {features_difference:.2e} of their largest, allowed {quantization.max_difference:g}; top-1 "
            f"agreement {agreement:.1%}, needed {quantization.min_agreement:.0%}); the previous export is kept."
        )
    return {"faces": len(scores), "backend": backend, "max_difference": difference, "top1_agreement": agreement,
            "features_max_difference": features_difference}


def single_view_tensors(manifest: dict) -> dict:
    """Where one view of a face enters and leaves a graph that averages each face with its mirror
    image: the tensor that joins the faces and their mirror images (fed itself, it takes the faces
    as they are) and the scores and features before their halves are averaged (found by walking
    back from each output to the slice that takes its half)."""
    nodes = {node["name"]: node for node in manifest["modelTopology"]["node"]}
    (input_spec,) = manifest["signature"]["inputs"].values()
    placeholder = input_spec["name"].split(":")[0]
    (joined,) = [name for name, node in nodes.items() if node["op"] == "ConcatV2" and placeholder in node.get("input", [])]

    def before_average(tensor: str) -> str:
        node = nodes[tensor.split(":")[0]]
        while node["op"] != "StridedSlice":
            node = nodes[node["input"][0].split(":")[0]]
        return f"{node['input'][0]}:0"

    scores, features = (before_average(spec["name"]) for _, spec in sorted(manifest["signature"]["outputs"].items()))
    return {"input": f"{joined}:0", "scores": scores, "features": features}


def run_in_tfjs(folder: Path, batch: np.ndarray, tensors: dict | None = None) -> tuple[list[np.ndarray], str]:
    """Every output of the graph model in ``folder`` for ``batch`` (in its signature's order), or,
    given ``tensors`` ({input, scores, features}), those tensors with ``batch`` fed into ``input``,
    computed by TF.js in Node; and the backend that did."""
    node = shutil.which("node")
    if node is None:
        raise UserError("Node.js is needed to check the exported model; install it (make install-dev does).")
    if not (REPO / "node_modules" / "@tensorflow" / "tfjs").exists():
        raise UserError("The npm packages are missing; run npm ci in the repository (make install-dev does).")
    with tempfile.TemporaryDirectory() as scratch:
        faces_file, scores_file = Path(scratch) / "faces.bin", Path(scratch) / "scores.json"
        batch.astype("<f4").tofile(faces_file)
        # Node ends when its stdin closes, which happens when this process ends, however it ends:
        # a killed export leaves no Node process behind.
        process = subprocess.Popen(
            [node, str(PARITY_SCRIPT), str(folder), str(faces_file), str(len(batch)), str(scores_file),
             *([json.dumps(tensors)] if tensors else [])],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        with process:
            errors = process.stderr.read()
        if process.returncode != 0:
            last_line = (errors.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"TF.js could not run the exported model ({last_line}); the previous export is kept.")
        output = json.loads(scores_file.read_text())
    return [np.array(values, dtype=np.float32) for values in output["outputs"]], output["backend"]


def describe(folder: Path, info: dict, model_path: Path, quantize: str, seconds: float, parity: dict) -> dict:
    """The metadata.json the page reads: everything about the model it must not hard-code."""
    manifest = read_manifest(folder / "model.json")
    (input_name, input_spec), = manifest["signature"]["inputs"].items()
    # Two outputs: the class scores (one per class), and the penultimate features.
    size = lambda spec: int(spec["tensorShape"]["dim"][-1]["size"])  # noqa: E731
    (output_name, output_spec), (features_name, features_spec) = sorted(
        manifest["signature"]["outputs"].items(), key=lambda item: size(item[1]) != len(info["classes"]))
    features_size = size(features_spec)
    digest = hashlib.sha256()
    for shard in shard_paths(folder, manifest):
        digest.update(shard.read_bytes())
    return {
        "format": METADATA_FORMAT,
        "classes": info["classes"],
        "class_members": info["class_members"],
        "input": {
            "name": input_name,
            "tensor": input_spec["name"],
            "shape": [None, *info["input_shape"]],
            "dtype": "float32",
            "pixel_format": info["pixel_format"],
        },
        "output": {"name": output_name, "tensor": output_spec["name"], "shape": [None, len(info["classes"])],
                   "meaning": "probability per class, in the order of classes"},
        "features": {"name": features_name, "tensor": features_spec["name"], "shape": [None, features_size],
                     "meaning": "the network's penultimate features (what its last layer weighs into the class scores)"
                                f"{', averaged over the face and its mirror image' if info['flip_average'] else ''}"},
        "face_crop": {**info["face_crop"],
                      "meaning": "square side = scale x box side; centre = box centre + shift_y x box side along the "
                                 "face's vertical axis; upright: the square turned by the roll of the line between the eyes"},
        **({"reference_log_scores": info["reference_log_scores"]} if "reference_log_scores" in info else {}),
        "personal": PERSONAL_SETTINGS,
        "quantization": quantize,
        "flip_average": info["flip_average"],
        **({"single_view": {**single_view_tensors(manifest),
                            "meaning": "one view of each face: faces fed into input (as they are, or mirrored) give their "
                                       "scores and features before the average with the other view; a stream of frames "
                                       "takes a face's two views in turns"}} if info["flip_average"] else {}),
        "source": {"model": model_path.as_posix() if not model_path.is_absolute() else model_path.name,
                   "run": info.get("run", model_path.parent.name),
                   "validation_accuracy": info.get("validation_accuracy"), "epoch": info.get("epoch")},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "weights_sha256": digest.hexdigest(),
        "size_bytes": sum(path.stat().st_size for path in folder.iterdir()),
        "conversion_seconds": round(seconds, 2),
        "parity": parity,
    }


def replace_folder(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is, keeping the old folder until the new one is in place.

    Whatever fails, ``target`` holds a whole model: the new one, or else the previous one.
    """
    if not target.exists():
        rename(new, target)
        return
    retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
    rename(target, retired)
    try:
        rename(new, target)
    except UserError:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)  # what cannot be removed now goes at the next export


def rename(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as error:
        raise UserError(f"Cannot put the model in {target} ({error.strerror or error}); the previous export is kept. "
                        "Check that the folder can be written.") from None


def remove_leftovers(out: Path) -> None:
    """Remove the staging and retired folders of exports to ``out`` whose process has ended
    (killed, or stopped by a power cut); those of an export still running are left alone."""
    for folder in out.parent.glob(f".{out.name}.*-*"):
        kind, _, rest = folder.name.removeprefix(f".{out.name}.").partition("-")
        pid = rest.split("-")[0]
        if kind in ("partial", "retired") and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


if __name__ == "__main__":
    main()
