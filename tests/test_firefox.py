"""The page in Firefox ESR, headless, driven by puppeteer-core over WebDriver BiDi (tests/firefox.mjs),
with a looping clip of a swaying face standing in for the camera (tests/stand-in-camera.js). All of
them on one test worker (pytest-xdist's loadgroup): each launches Firefox, and two at once on a
small machine would make the waits below a race with the CPU."""

from __future__ import annotations

import cv2
import pytest

from bench.firefox import firefox_missing, run_firefox, step_results, swaying_face_clip
from bench.pictures import astronaut_bgr
from tests.browser import serving

pytestmark = pytest.mark.xdist_group("firefox")

LOADS = 10
LOAD_TIMEOUT_S = 45  # a load ready takes 1-3 s here; one that hangs never becomes ready
BACKEND_MESSAGE = "() => document.querySelector('#messages [data-topic=\"backend\"]')"


@pytest.fixture(scope="module")
def firefox_server():
    assert firefox_missing() is None, firefox_missing()
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def swaying_clip(tmp_path_factory):
    return swaying_face_clip(tmp_path_factory.mktemp("firefox") / "swaying.webm")


def test_the_page_becomes_ready_on_each_of_ten_loads_in_firefox(firefox_server):
    answer = run_firefox(firefox_server, [{"do": "loads", "times": LOADS, "timeout_s": LOAD_TIMEOUT_S}],
                         timeout_s=LOADS * (LOAD_TIMEOUT_S + 20) + 60)
    [loads] = step_results(answer)
    ready = [load for load in loads if load["ready"]]
    assert len(ready) == LOADS, f"{len(ready)} of {LOADS} loads became ready within {LOAD_TIMEOUT_S} s: {loads}"
    assert {load["backend"] for load in loads} == {"wasm"}  # headless Firefox has no WebGL
    assert answer["errors"] == []


def test_the_stand_in_camera_gives_a_labelled_face_on_webassembly_in_firefox(firefox_server, swaying_clip):
    answer = run_firefox(firefox_server, [
        {"do": "open", "timeout_s": 90},
        {"do": "camera", "warmup_s": 0, "seconds": 3, "timeout_s": 90},  # waits for a face, then counts 3 s
        {"do": "wait", "until": BACKEND_MESSAGE, "timeout_s": 30},
        {"do": "evaluate", "expression": "() => ({ name: document.querySelector('#backend-name').textContent, "
                                         "message: document.querySelector('#messages [data-topic=\"backend\"]').textContent, "
                                         "face: window.mien.state.faces[0] ?? null })"},
    ], clip=swaying_clip, timeout_s=300)
    opened, camera, _, shown = step_results(answer)
    assert "Firefox/" in opened["userAgent"]
    assert camera["backend"] == "wasm" and camera["frameSource"] == "bitmap"
    assert len(camera["times"]) > 0 and camera["faces"] == 1
    assert max(camera["labels"], key=camera["labels"].get) == "happy", camera["labels"]
    assert shown["name"].startswith("WebAssembly")
    assert shown["message"] == "This browser has no WebGL, so Mien runs on WebAssembly (CPU)."
    assert answer["errors"] == []


def test_a_photo_is_analysed_in_firefox(firefox_server, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    answer = run_firefox(firefox_server, [{"do": "open", "timeout_s": 90}, {"do": "photo", "path": str(photo), "timeout_s": 90}],
                         timeout_s=240)
    _, shown = step_results(answer)
    [face] = shown["faces"]
    assert face["label"] == "happy" and face["scores"]["happy"] == max(face["scores"].values())
    x, y, width, height = face["box"]
    assert 150 < x + width / 2 < 300 and 50 < y + height / 2 < 200  # in the photo's own pixels
    assert shown["speed"].startswith("photo analysed in")
    assert answer["errors"] == []
