"""Shared fixtures: small face-expression data sets in a temporary folder, a tiny trained model,
and the page served and opened in Chromium with a fake webcam."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from bench.browser import camera_flags, chromium, write_camera_clip
from bench.pictures import astronaut_frame
from pipeline.console import load_tensorflow
from tests.browser import open_page, serving
from tests.datasets import several_faces_frame, write_image_folders

load_tensorflow()  # as the commands start it
expect.set_options(timeout=30_000)  # what a page shows is waited for, also on a loaded machine


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session decodes into its own cache, never the user's."""
    monkeypatch.setenv("MIEN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def kaggle_folders(tmp_path) -> Path:
    """The Kaggle face-expression layout: images/train/<emotion>/, images/validation/<emotion>/."""
    return write_image_folders(tmp_path / "face-expression" / "images", {"train": "train", "validation": "validation"})


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A tiny 4-class model, trained until its scores are clear (exports are compared by their top
    class, which a barely trained model's near-ties would make a coin toss), shared by the tests."""
    from pipeline.train import main

    os.environ["MIEN_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    data = write_image_folders(tmp_path_factory.mktemp("data") / "images",
                               {"train": "train", "validation": "validation"}, per_class=16)
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    main(["--data", str(data), "--epochs", "6", "--learning-rate", "3e-3", "--warmup-epochs", "0",
          "--width", "0.125", "--head-units", "16", "--batch-size", "16", "--out", str(run_dir)])
    return run_dir


@pytest.fixture
def interrupt_after_first_epoch(monkeypatch):
    """Make training stop as Ctrl-C does, after its first epoch; returns a call that undoes it."""
    import pipeline.training.checkpoint

    original = pipeline.training.checkpoint.RunRecorder.on_epoch_end

    def interrupting(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.training.checkpoint.RunRecorder, "on_epoch_end", interrupting)
    return lambda: monkeypatch.setattr(pipeline.training.checkpoint.RunRecorder, "on_epoch_end", original)


# --- the page in Chromium (tests/browser.py has the helpers) ----------------------------------------

@pytest.fixture(scope="module")
def server():
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "astronaut": write_camera_clip(folder / "astronaut.y4m", astronaut_frame()),
        "several": write_camera_clip(folder / "several.y4m", several_faces_frame()),
    }


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright, clips):
    with chromium(playwright, *camera_flags(clips["astronaut"])) as launched:
        yield launched


@pytest.fixture
def blank(browser, server):
    """A page of our origin that loads nothing but what a test imports."""
    page = browser.new_page()
    page.goto(f"{server}/healthz")
    yield page
    page.close()


@pytest.fixture
def page(browser, server):
    page, requests, errors = open_page(browser, server)
    yield page
    assert errors == [], errors
    assert {urlsplit(url).netloc for url in requests if not url.startswith(("blob:", "data:"))} == {urlsplit(server).netloc}
    page.close()


@pytest.fixture(scope="session")
def packed(tmp_path_factory):
    """The npm package, with the default model, installed into a fresh project as a user would."""
    from web.package import main as package

    folder = tmp_path_factory.mktemp("project")
    tarball = package(["--out", str(folder)])
    (folder / "package.json").write_text(json.dumps({"name": "example", "private": True, "type": "module"}))
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", str(tarball)], cwd=folder, check=True)
    return folder
