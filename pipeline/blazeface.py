"""MediaPipe's BlazeFace in Python: the page's own face detectors, so that pipeline.detect finds
what the page finds.

The page runs BlazeFace as TF.js graph models (``model.json`` and its weights, which
``python -m web.vendor`` puts under ``vendor/``). A TF.js graph is a TensorFlow graph with a dozen
kinds of operation; :class:`GraphModel` runs one with TensorFlow, operation by operation (the
tools that convert such a graph back into a SavedModel do not load on TensorFlow 2.19).
:class:`BlazeFace` then shrinks a picture into the model's input, decodes its anchors and keeps
the best boxes, exactly as ``static/js/detector.js`` does; :func:`detect_everywhere` and
:class:`FaceFinder` are its photo and live strategies.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import UserError
from pipeline.faces import FACE_CROPS

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "vendor" / "@vladmandic" / "human-models" / "models"
SHORT_RANGE = MODELS / "facemesh-detection-short.json"  # 128x128, faces near the camera
FULL_RANGE = MODELS / "facemesh-detection-full.json"  # 192x192, for comparison in the benchmarks
SCORE_THRESHOLD = 0.5
NEW_FACE_SCORE = 0.75  # for a small face first seen in a tile of a camera frame
PHOTO_FACE_SCORE = 0.8  # a photo's hundred-odd tiles are searched at once: surer faces only
PHOTO_TILES = (1 / 3, 1 / 6)  # tile sides, as shares of a photo's longer side
IOU_THRESHOLD = 0.3
MAX_FACES = 10
ROW = 17  # per anchor: score logit, box centre offset (x, y) and size (w, h), six landmarks
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


class GraphModel:
    """A TF.js graph model (``model.json`` with its weight files) run by TensorFlow."""

    def __init__(self, path: Path):
        import tensorflow as tf

        try:
            manifest = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise UserError(f"The face detector is missing ({path}); run python -m web.vendor (make install does).") from None
        self.nodes = {node["name"]: node for node in manifest["modelTopology"]["node"]}
        self.weights = self._read_weights(Path(path).parent, manifest["weightsManifest"])
        self.output = next(iter(manifest["signature"]["outputs"].values()))["name"].split(":")[0]
        self.input = next(iter(manifest["signature"]["inputs"].values()))["name"].split(":")[0]
        self.input_size = int(self.nodes[self.input]["attr"]["shape"]["shape"]["dim"][1]["size"])
        self.run = tf.function(self._evaluate, reduce_retracing=True)

    @staticmethod
    def _read_weights(folder: Path, groups: list[dict]) -> dict[str, np.ndarray]:
        weights = {}
        for group in groups:
            data = b"".join((folder / shard).read_bytes() for shard in group["paths"])
            offset = 0
            for spec in group["weights"]:
                quantization = spec.get("quantization", {})
                stored = np.dtype(DTYPES[quantization.get("dtype", spec["dtype"])])
                count = math.prod(spec["shape"])
                values = np.frombuffer(data, stored, count, offset)
                offset += count * stored.itemsize
                if "scale" in quantization:  # uint8/uint16 affine quantisation
                    values = values * quantization["scale"] + quantization["min"]
                weights[spec["name"]] = values.astype(DTYPES[spec["dtype"]]).reshape(spec["shape"])
        return weights

    def _evaluate(self, images):
        import tensorflow as tf

        values = {self.input: images}

        def value(name: str):
            name = name.split(":")[0]
            if name not in values:
                values[name] = self._operation(self.nodes[name], [value(source) for source in self.nodes[name].get("input", [])
                                                                  if not source.startswith("^")])
            return values[name]

        return tf.convert_to_tensor(value(self.output))

    def _operation(self, node: dict, inputs: list):
        import tensorflow as tf

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


def _anchor_centres(size: int) -> np.ndarray:
    grids = [(4, 1)] if size == 192 else [(size // 16, 2), (size // 8, 6)]
    centres = []
    for stride, per_cell in grids:
        cells = math.ceil(size / stride)
        for row in range(cells):
            for column in range(cells):
                centres += [(stride * (column + 0.5), stride * (row + 0.5))] * per_cell
    return np.array(centres, np.float32)


def overlap(a, b) -> float:
    """Intersection over union of two boxes (x, y, width, height)."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def strongest(faces: list[tuple], max_faces: int = MAX_FACES) -> list[tuple]:
    """The best-scoring (box, score) pairs, none overlapping a better one."""
    kept = []
    for box, score in sorted(faces, key=lambda face: -face[1]):
        if len(kept) == max_faces:
            break
        if all(overlap(box, other) < IOU_THRESHOLD for other, _ in kept):
            kept.append((box, score))
    return kept


class BlazeFace:
    """One of the page's BlazeFace models: boxes (x, y, width, height) of faces in RGB pictures."""

    geometry = FACE_CROPS["blazeface"]

    def __init__(self, path: Path = SHORT_RANGE):
        self.model = GraphModel(path)
        self.size = self.model.input_size
        self.anchors = _anchor_centres(self.size)

    def detect(self, rgb: np.ndarray, area=None, min_score: float = SCORE_THRESHOLD,
               max_faces: int = MAX_FACES) -> list[tuple]:
        """Faces in ``rgb`` (uint8 [H, W, 3]), or in its ``area`` (left, top, width, height):
        [(box, score)] in picture pixels, best first."""
        left, top, width, height = area or (0, 0, rgb.shape[1], rgb.shape[0])
        scale = self.size / max(width, height)
        columns, rows = round(width * scale), round(height * scale)
        region = rgb[round(top):round(top + height), round(left):round(left + width)]
        shrunk = cv2.resize(region, (columns, rows), interpolation=cv2.INTER_AREA)  # as the page resamples
        square = np.zeros((self.size, self.size, 3), np.float32)  # grey (0 in -1..1) around the picture
        square[:rows, :columns] = shrunk.astype(np.float32) / 127.5 - 1
        output = np.asarray(self.model.run(square[None]))[0]
        keep = output[:, 0] >= math.log(min_score / (1 - min_score))
        faces = []
        for row, (anchor_x, anchor_y) in zip(output[keep], self.anchors[keep]):
            box_width, box_height = row[3] / scale, row[4] / scale
            centre_x, centre_y = left + (anchor_x + row[1]) / scale, top + (anchor_y + row[2]) / scale
            faces.append(((centre_x - box_width / 2, centre_y - box_height / 2, box_width, box_height),
                          float(1 / (1 + math.exp(-row[0])))))
        return strongest(faces, max_faces)


def _starts(length: int, side: int, step: float) -> list[int]:
    """Where tiles of ``side`` start along a ``length``, at most ``step`` apart, the last one at its end."""
    count = max(1, math.ceil((length - side) / step) + 1)
    return [0] if count == 1 else [round(index * (length - side) / (count - 1)) for index in range(count)]


def _trusted_in_tile(box, side: float) -> bool:
    """A tile is trusted with faces of 10-60% of its side: smaller ones are mostly false, larger
    ones another tile's or the whole picture's (and often cut by the tile's edge)."""
    return 0.1 * side <= box[2] <= 0.6 * side


def detect_everywhere(rgb: np.ndarray, detector: BlazeFace, max_faces: int = 50) -> list[tuple]:
    """Every face of a photo, from one that fills it down to about 3% of its longer side, as the
    page does with photos: the detector over the whole picture, then over two layers of
    overlapping tiles, a third and a sixth of the longer side wide."""
    height, width = rgb.shape[:2]
    longer = max(width, height)
    faces = detector.detect(rgb, max_faces=max_faces)
    for share in PHOTO_TILES:
        side = min(longer, max(detector.size, round(longer * share)))
        for top in _starts(height, side, side / 2):
            for left in _starts(width, side, side / 2):
                area = (left, top, min(side, width), min(side, height))
                faces += [(box, score) for box, score in detector.detect(rgb, area, PHOTO_FACE_SCORE, max_faces)
                          if _trusted_in_tile(box, side)]
    return strongest(faces, max_faces)


class FaceFinder:
    """The live page's way with a stream (static/js/detector.js, FaceFinder): each frame, the
    detector over the whole frame, around each small face already found, and over one tile of a
    sweep, where a new small face is seen large enough to be found."""

    def __init__(self, detector: BlazeFace, small: float = 0.17):
        self.detector, self.small = detector, small
        self.followed: list[tuple] = []
        self.sweep = 0

    @staticmethod
    def tiles(width: int, height: int) -> list[tuple]:
        short = min(width, height)
        side = round(short / 2)
        step = side - 0.2 * short
        return [(left, top, min(side, width), min(side, height))
                for top in _starts(height, side, step) for left in _starts(width, side, step)]

    def find(self, rgb: np.ndarray) -> list[tuple]:
        height, width = rgb.shape[:2]
        faces = self.detector.detect(rgb)
        for box, _ in self.followed:
            side = min(2.5 * max(box[2], box[3]), width, height)
            left = min(max(0, box[0] + box[2] / 2 - side / 2), width - side)
            top = min(max(0, box[1] + box[3] / 2 - side / 2), height - side)
            faces += self.detector.detect(rgb, (left, top, side, side), max_faces=1)
        tiles = self.tiles(width, height)
        tile = tiles[self.sweep % len(tiles)]
        self.sweep += 1
        faces += [(box, score) for box, score in self.detector.detect(rgb, tile, min_score=NEW_FACE_SCORE)
                  if _trusted_in_tile(box, tile[2])]
        kept = strongest(faces)
        self.followed = [face for face in kept if face[0][2] < self.small * height]
        return kept
