"""The installs: serving on any maintained Python from 3.11; training and tests on 3.11 and 3.12,
and on a newer Python one sentence that says which to install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def newer_python() -> str | None:
    """A Python 3.13 or newer that runs here: on the PATH, or among pyenv's versions."""
    found = [shutil.which(name) for name in ("python3.14", "python3.13")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
        found += sorted(str(path) for path in root.glob("versions/3.1[3-9]*/bin/python3"))
    return next((path for path in found if path and subprocess.run([path, "-V"], capture_output=True).returncode == 0), None)


NEWER = newer_python()


@pytest.mark.skipif(NEWER is None, reason="no Python 3.13 or newer on this machine")
def test_on_python_3_13_the_server_installs_and_training_says_which_python_it_needs(tmp_path):
    venv = tmp_path / "venv"
    served = subprocess.run(["make", "-s", f"VENV={venv}", f"PYTHON={NEWER}", f"{venv}/.installed"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert served.returncode == 0, served.stderr
    answer = subprocess.run([venv / "bin" / "python", "-m", "web", "--help"], cwd=REPO, capture_output=True, text=True)
    assert answer.returncode == 0 and "Serve the Mien page" in answer.stdout
    refused = subprocess.run(["make", "-s", f"VENV={venv}", f"PYTHON={NEWER}", f"{venv}/.installed-dev"], cwd=REPO,
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0
    (sentence,) = [line for line in refused.stderr.splitlines() if not line.startswith("make")]
    assert sentence.startswith("Training, export and the tests need Python 3.11 or 3.12 (TensorFlow 2.19 has no "
                               "wheels for Python 3.13")
    assert sentence.endswith("install python3.12 and run: make clean && make test PYTHON=python3.12")
