"""A TF.js graph model (``model.json`` with its weight files) run by TensorFlow, operation by
operation. The page's face detector is such a graph; the tools that convert one back into a
SavedModel do not load on TensorFlow 2.19, and a dozen kinds of operation are all it needs."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import tensorflow as tf

from facts.tfjs_files import read_manifest, stored_dtype, stored_weights
from pipeline.errors import UserError

DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}


def _attribute(value: dict):
    """A node attribute from TF.js's JSON form of a GraphDef."""
    if "list" in value:
        items = value["list"]
        if "i" in items:
            return [int(item) for item in items["i"]]
        if "s" in items:
            return [base64.b64decode(item).decode() for item in items["s"]]
        if "f" in items:
            return [float(item) for item in items["f"]]
        return []
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    return value


def _weights(folder: Path, manifest: dict) -> dict[str, np.ndarray]:
    weights = {}
    for spec, data in stored_weights(folder, manifest):
        values = np.frombuffer(data, DTYPES[stored_dtype(spec)])
        quantization = spec.get("quantization", {})
        if "scale" in quantization:  # uint8/uint16 affine quantisation
            values = values * quantization["scale"] + quantization["min"]
        weights[spec["name"]] = values.astype(DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return weights


class GraphModel:
    """A TF.js graph model run by TensorFlow: ``run(batch)`` gives its (first) output."""

    def __init__(self, path: Path):
        path = Path(path)
        try:
            manifest = read_manifest(path)
        except FileNotFoundError:
            raise UserError(f"The face detector is missing ({path}); run python -m web.vendor (make install does).") from None
        self.nodes = {node["name"]: node for node in manifest["modelTopology"]["node"]}
        self.weights = _weights(path.parent, manifest)
        self.output = next(iter(manifest["signature"]["outputs"].values()))["name"].split(":")[0]
        self.input = next(iter(manifest["signature"]["inputs"].values()))["name"].split(":")[0]
        self.input_size = int(self.nodes[self.input]["attr"]["shape"]["shape"]["dim"][1]["size"])
        self.run = tf.function(self._evaluate, reduce_retracing=True)

    def _evaluate(self, images):
        values = {self.input: images}

        def value(name: str):
            name = name.split(":")[0]
            if name not in values:
                values[name] = self._operation(self.nodes[name], [value(source) for source in self.nodes[name].get("input", [])
                                                                  if not source.startswith("^")])
            return values[name]

        return tf.convert_to_tensor(value(self.output))

    def _operation(self, node: dict, inputs: list):
        op, attributes = node["op"], {key: _attribute(value) for key, value in node.get("attr", {}).items()}
        if op == "Const":
            return tf.constant(self.weights[node["name"]])
        if op in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "Conv2D", "DepthwiseConv2dNative"):
            x, kernel, *args = inputs
            common = {"strides": attributes["strides"], "padding": attributes["padding"],
                      "dilations": attributes.get("dilations", [1, 1, 1, 1])}
            if "Depthwise" in op:
                y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel, **common)
            else:
                y = tf.raw_ops.Conv2D(input=x, filter=kernel, **common)
            for fused, arg in zip(attributes.get("fused_ops", []), [*args, None]):
                if fused == "BiasAdd":
                    y = y + arg
                elif fused == "Relu":
                    y = tf.nn.relu(y)
                elif fused == "Relu6":
                    y = tf.nn.relu6(y)
                elif fused == "Prelu":
                    y = tf.maximum(y, 0.0) + args[-1] * tf.minimum(y, 0.0)
                else:
                    raise ValueError(f"unknown fused operation {fused}")
            return y
        simple = {
            "Identity": lambda: inputs[0],
            "AddV2": lambda: inputs[0] + inputs[1],
            "Add": lambda: inputs[0] + inputs[1],
            "Relu": lambda: tf.nn.relu(inputs[0]),
            "Pad": lambda: tf.pad(inputs[0], inputs[1]),
            "MaxPool": lambda: tf.nn.max_pool2d(inputs[0], attributes["ksize"], attributes["strides"], attributes["padding"]),
            "ResizeBilinear": lambda: tf.raw_ops.ResizeBilinear(images=inputs[0], size=inputs[1],
                                                               align_corners=attributes.get("align_corners", False),
                                                               half_pixel_centers=attributes.get("half_pixel_centers", False)),
            "DepthToSpace": lambda: tf.nn.depth_to_space(inputs[0], attributes["block_size"]),
            "Shape": lambda: tf.shape(inputs[0], out_type=tf.int32),
            "StridedSlice": lambda: tf.raw_ops.StridedSlice(
                input=inputs[0], begin=inputs[1], end=inputs[2], strides=inputs[3],
                **{mask: attributes.get(mask, 0) for mask in ("begin_mask", "end_mask", "ellipsis_mask",
                                                               "new_axis_mask", "shrink_axis_mask")}),
            "Pack": lambda: tf.stack(inputs, axis=attributes.get("axis", 0)),
            "Reshape": lambda: tf.reshape(inputs[0], inputs[1]),
            "ConcatV2": lambda: tf.concat(inputs[:-1], axis=inputs[-1]),
        }
        if op not in simple:
            raise ValueError(f"the face detector's graph has an operation this code does not run: {op}")
        return simple[op]()
