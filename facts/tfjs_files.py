"""The files of a TensorFlow.js model: ``model.json``, whose weights manifest names the weight
files (shards) and every weight's name, shape and stored type, and the shards themselves.

Read here once for everyone: the exporter (which hashes the weights), the server (which checks
that the shards hold what the manifest needs) and pipeline.faces (which runs the page's face
detector in Python). Plain Python: the light serving install reads it too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

# Bytes per value of each type a weights manifest names.
DTYPE_BYTES = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "int16": 2, "uint8": 1, "int8": 1, "bool": 1}


def read_manifest(path: Path) -> dict:
    """A TF.js model's ``model.json`` (whatever its name): topology and weights manifest."""
    return json.loads(Path(path).read_text())


def shard_paths(folder: Path, manifest: dict) -> list[Path]:
    """The weight files a manifest names, in order."""
    return [Path(folder) / shard for group in manifest["weightsManifest"] for shard in group["paths"]]


def stored_dtype(spec: dict) -> str:
    """The type a weight is stored as: its quantised type where it has one."""
    return spec.get("quantization", {}).get("dtype", spec["dtype"])


def bytes_needed(manifest: dict) -> int:
    """How many bytes the weight files of a manifest must hold."""
    return sum(math.prod(spec["shape"]) * DTYPE_BYTES[stored_dtype(spec)]
               for group in manifest["weightsManifest"] for spec in group["weights"])


def stored_weights(folder: Path, manifest: dict) -> Iterator[tuple[dict, bytes]]:
    """Each weight's spec and its stored bytes, in manifest order."""
    for group in manifest["weightsManifest"]:
        data = b"".join((Path(folder) / shard).read_bytes() for shard in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = math.prod(spec["shape"]) * DTYPE_BYTES[stored_dtype(spec)]
            yield spec, data[offset:offset + size]
            offset += size
