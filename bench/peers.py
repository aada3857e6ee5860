"""The expression models people use in browsers, run from their npm packages in Chromium with
their own preprocessing (``pages/harness.js``): what the accuracy benchmark compares Mien with,
and what ``python -m pipeline.training.teachers`` makes teacher tables from."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.browser import chromium, run_in_page
from bench.server import BenchServer, peer_file


@dataclass(frozen=True)
class Peer:
    name: str  # as the tables name it
    page: str  # the harness page that loads it, under /bench/
    call: str  # the harness function that scores every face of /bench/data/faces.bin
    files: tuple[tuple[str, str], ...]  # what its expression model downloads: (peer folder, file)

    def size_bytes(self) -> int:
        return sum(peer_file(folder, name).stat().st_size for folder, name in self.files)

    def scores(self, browser, url: str, backend: str) -> dict:
        """{classes, scores, times} for the faces the server at ``url`` serves as its data."""
        return run_in_page(browser, f"{url}/bench/{self.page}", self.call, backend)


PEERS = {
    "human": Peer("Human (mini-Xception)", "mien.html", "humanTight",
                  (("human-emotion", "emotion.json"), ("human-emotion", "emotion.bin"))),
    "face-api": Peer("face-api (FaceExpressionNet)", "face-api.html", "faceApiTight",
                     (("face-api-models", "face_expression_model-weights_manifest.json"),
                      ("face-api-models", "face_expression_model.bin"))),
}


def write_faces(folder: Path, faces: np.ndarray) -> None:
    """Put uint8 faces [N, 48, 48] where the harness reads them (/bench/data/faces.bin)."""
    faces.astype(np.uint8).tofile(Path(folder) / "faces.bin")


def score_faces(peer: str, faces: np.ndarray, backend: str = "wasm") -> tuple[list[str], np.ndarray]:
    """A peer's class names and its scores for each of ``faces`` (uint8 [N, 48, 48])."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data_dir:
        write_faces(Path(data_dir), faces)
        with BenchServer(data_dir) as server, sync_playwright() as playwright, chromium(playwright) as browser:
            output = PEERS[peer].scores(browser, server.url, backend)
    return output["classes"], np.array(output["scores"])
