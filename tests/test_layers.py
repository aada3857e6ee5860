"""The house the right way up: the shared facts (facts/) at the ground, then pipeline/, then the
exporter, the server and the benchmarks above it. pipeline/ and exporters/ import nothing of web/,
bench/ or Flask, read from their code and seen in the modules each command loads when it runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.pictures import astronaut_bgr
from pipeline.runs import DEFAULT_SHIPPED_MODEL
from tests.datasets import write_image_folders
from tests.test_train import TINY

REPO = Path(__file__).resolve().parents[1]
ABOVE = {"web", "bench", "flask"}  # what the pipeline and the exporter stand under
# Runs a module as `python -m` does and writes, as it exits, which of ABOVE it loaded into a file
# (a file: the commands hide native noise on standard error).
PROBE = """import atexit, json, runpy, sys
above, report, module = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
atexit.register(lambda: open(report, 'w').write(json.dumps(sorted({name.split('.')[0] for name in sys.modules} & set(above)))))
sys.argv = [module, *sys.argv[4:]]
runpy.run_module(module, run_name='__main__', alter_sys=True)
"""


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a Python file imports, wherever in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder, forbidden", [
    ("facts", {"pipeline", "exporters", "web", "bench", "flask"}),  # the ground reads nothing of the house
    ("pipeline", {"exporters", "web", "bench", "flask"}),
    ("exporters", {"web", "bench", "flask"}),
    ("web", {"pipeline", "exporters", "bench"}),  # the server stands beside the pipeline, on the ground alone
])
def test_no_module_imports_what_stands_above_it(folder, forbidden):
    wrong = {str(path.relative_to(REPO)): sorted(imported_packages(path) & forbidden)
             for path in (REPO / folder).rglob("*.py") if imported_packages(path) & forbidden}
    # The one exception: the old command name of bench teachers, which runs it when called.
    wrong.pop("pipeline/training/teachers.py", None)
    assert wrong == {}


def test_the_network_does_not_stand_on_the_training_recipe():
    """model.py takes its defaults from pipeline/architecture.py, which the recipe reads too; train --help stays light."""
    modules = {node.module for node in ast.walk(ast.parse((REPO / "pipeline" / "model.py").read_text()))
               if isinstance(node, ast.ImportFrom) and node.module}
    assert not {module for module in modules if module.startswith("pipeline.training")}
    probe = "import sys, pipeline.training.config, pipeline.train; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip() == "[]"


def loaded_above(module: str, *args, report: Path) -> list[str]:
    """Run ``python -m module args`` and return which of ABOVE it loaded; it must succeed."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(sorted(ABOVE)), str(report), module, *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(report.read_text())


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    for expression, picture in (("happy", astronaut_bgr()), ("neutral", cv2.flip(astronaut_bgr(), 1))):
        (folder / "me" / expression).mkdir(parents=True)
        cv2.imwrite(str(folder / "me" / expression / "1.png"), picture)
    cv2.imwrite(str(folder / "wall.png"), np.full((120, 160, 3), 128, np.uint8))
    write_image_folders(folder / "faces", {"train": "train", "validation": "validation"}, per_class=4)
    return folder


@pytest.mark.parametrize("command", ["detect", "collect", "personalise", "train", "export"])
def test_each_command_of_the_pipeline_runs_without_the_server_or_the_benchmarks(command, pictures, tmp_path):
    model = DEFAULT_SHIPPED_MODEL
    runs = {
        "detect": ("pipeline.detect", pictures / "me" / "happy" / "1.png", "--model", model, "--out", tmp_path / "out"),
        "collect": ("pipeline.collect", pictures / "me", "--out", tmp_path / "faces"),
        "personalise": ("pipeline.personalise", pictures / "me", "--out", tmp_path / "me.json", "--model", model),
        "train": ("pipeline.train", "--data", pictures / "faces", "--classes", "4", "--epochs", "1", *TINY,
                  "--out", tmp_path / "run"),
        "export": ("exporters.to_tfjs", "--model", model, "--out", tmp_path / "model", "--data", pictures / "faces"),
    }
    module, *args = runs[command]
    assert loaded_above(module, *args, report=tmp_path / "loaded.json") == []
