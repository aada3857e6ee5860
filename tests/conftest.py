"""Shared fixtures: small face-expression data sets in each layout, made in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.datasets import write_image_folders


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
