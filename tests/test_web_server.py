"""The web server: what it serves, with which headers, and what it refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from web import SECURITY_HEADERS, create_app

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "static" / "model"


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def copy_model(target: Path) -> Path:
    shutil.copytree(SHIPPED, target)
    return target


def test_the_page_comes_with_its_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200 and b'<script type="module" src="/static/js/app.js">' in response.data
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "http" not in policy  # no other host, anywhere
    assert response.headers["Permissions-Policy"].startswith("camera=(self)")
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_wasm_is_served_as_application_wasm(client):
    response = client.get("/vendor/tfjs-backend-wasm/tfjs-backend-wasm-threaded-simd.wasm")
    assert response.status_code == 200
    assert response.mimetype == "application/wasm"
    assert response.data[:4] == b"\0asm"


def test_a_returning_visitor_does_not_download_the_model_again(client):
    first = client.get("/models/model/group1-shard1of1.bin")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/models/model/group1-shard1of1.bin", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("path", [
    "/static/../pyproject.toml",
    "/static/%2e%2e/pyproject.toml",
    "/vendor/tfjs/../../package.json",
    "/vendor/tfjs/tf.min.js",  # in the package, but not on the list
    "/vendor/human/models/emotion.json",
    "/vendor/face-api/face-api.js",  # the benchmark's peer is off by default
    "/models/model/../../pyproject.toml",
    "/models/other/model.json",
    "/node_modules/@tensorflow/tfjs/package.json",
])
def test_paths_outside_the_served_folders_are_refused(client, path):
    assert client.get(path).status_code == 404


def test_the_benchmark_app_serves_the_peer(tmp_path):
    client = create_app({"BENCHMARK": True}).test_client()
    assert client.get("/vendor/face-api/face-api.js").status_code == 200


def test_healthz_reports_model_and_vendor_files(client):
    response = client.get("/healthz")
    health = response.get_json()
    assert response.status_code == 200 and health["ok"]
    assert health["model"]["classes"] and health["vendor"]["missing"] == []


def test_healthz_names_a_missing_model(tmp_path):
    response = create_app({"MODEL_DIR": tmp_path / "model"}).test_client().get("/healthz")
    assert response.status_code == 503
    problem = response.get_json()["model"]["problem"]
    assert problem == f"No model in {tmp_path / 'model'} (metadata.json is missing); run python -m exporters.to_tfjs to export one."


def test_healthz_names_a_broken_model_and_missing_vendor_files(tmp_path):
    model = copy_model(tmp_path / "model")
    (model / "model.json").write_text("{ not json")
    health = create_app({"MODEL_DIR": model, "NODE_MODULES": tmp_path}).test_client().get("/healthz").get_json()
    assert "is damaged" in health["model"]["problem"]
    assert not health["vendor"]["ok"] and "run npm ci" in health["vendor"]["problem"]


def test_models_json_lists_the_default_first_and_its_siblings(tmp_path):
    default = copy_model(tmp_path / "model")
    seven = copy_model(tmp_path / "model-7")
    metadata = json.loads((seven / "metadata.json").read_text())
    (seven / "metadata.json").write_text(json.dumps({**metadata, "classes": ["a"] * 7}))
    copy_model(tmp_path / "model-broken")
    (tmp_path / "model-broken" / "metadata.json").unlink()
    client = create_app({"MODEL_DIR": default}).test_client()
    listed = client.get("/models.json").get_json()
    assert [model["id"] for model in listed] == ["model", "model-7"]
    assert listed[1]["url"] == "/models/model-7/" and len(listed[1]["classes"]) == 7
    assert client.get("/models/model-7/model.json").status_code == 200


def test_starting_without_a_model_says_so_on_the_console(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "web", "--port", "0", "--model-dir", str(tmp_path / "nothing")],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
    assert first_line.startswith(f"error: No model in {tmp_path / 'nothing'}")
    assert "The page will say so too." in first_line
