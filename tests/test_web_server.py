"""The web server: what it serves, with which headers, and what it refuses."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import serving
from web import SECURITY_HEADERS, create_app

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "component" / "models" / "model"


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def copy_model(target: Path, source: Path = SHIPPED) -> Path:
    shutil.copytree(source, target)
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
    "/vendor/face-api/face-api.js",  # a benchmark's peer: never the product's
    "/peers/face-api/face-api.js",
    "/bench/harness.js",
    "/models/model/../../pyproject.toml",
    "/models/other/model.json",
    "/node_modules/@tensorflow/tfjs/package.json",
    "/vendor/tfjs/LICENSE",  # beside the listed files, but not listed
    "/static/js/app.js%00.png",  # a NUL byte: no file has such a name
    "/models/model/model.json%00",
])
def test_paths_outside_the_served_folders_are_refused(client, path):
    assert client.get(path).status_code == 404


def test_the_page_is_served_from_a_few_vendored_files_not_the_npm_packages(tmp_path):
    from web.vendor import wanted_files

    vendored = create_app().test_client()
    assert vendored.get("/vendor/tfjs/tf.es2017.min.js").status_code == 200
    assert vendored.get("/healthz").get_json()["vendor"]["ok"]
    files = [path for path in (REPO / "vendor").rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 10e6
    for package, paths in wanted_files().items():
        assert all((REPO / "vendor" / package / path).is_file() for path in paths)
        assert any(path.name.upper().startswith(("LICENSE", "NOTICE")) for path in (REPO / "vendor" / package).iterdir())


def test_healthz_reports_model_and_vendor_files(client):
    response = client.get("/healthz")
    health = response.get_json()
    assert response.status_code == 200 and health["ok"]
    assert health["model"]["classes"] and health["vendor"]["missing"] == []


def test_healthz_names_a_missing_model(tmp_path):
    response = create_app({"MODEL_DIR": tmp_path / "model"}).test_client().get("/healthz")
    assert response.status_code == 503
    problem = response.get_json()["model"]["problem"]
    assert problem == "No model in model/ (metadata.json is missing); run python -m exporters.to_tfjs to export one."


def test_healthz_names_a_broken_model_and_missing_vendor_files(tmp_path):
    model = copy_model(tmp_path / "model")
    (model / "model.json").write_text("{ not json")
    health = create_app({"MODEL_DIR": model, "VENDOR_DIR": tmp_path}).test_client().get("/healthz").get_json()
    assert "is damaged" in health["model"]["problem"]
    assert not health["vendor"]["ok"] and "run python -m web.vendor" in health["vendor"]["problem"]


def test_models_json_lists_the_default_first_and_its_siblings(tmp_path):
    default = copy_model(tmp_path / "model")
    copy_model(tmp_path / "model-7", REPO / "component" / "models" / "model-7")
    copy_model(tmp_path / "model-broken")
    (tmp_path / "model-broken" / "metadata.json").unlink()
    client = create_app({"MODEL_DIR": default}).test_client()
    listed = client.get("/models.json").get_json()
    assert [model["id"] for model in listed] == ["model", "model-7", "model-broken"]
    assert listed[1]["url"] == "/models/model-7/" and len(listed[1]["classes"]) == 7
    assert listed[2]["problem"] == ("No model in model-broken/ (metadata.json is missing); run python -m "
                                  "exporters.to_tfjs to export one.")  # left out, and why, not where on the server
    assert client.get("/models/model-7/model.json").status_code == 200


def test_starting_without_a_model_says_so_on_the_console(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "web", "--port", "0", "--model-dir", str(tmp_path / "nothing")],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
    assert first_line.startswith("error: No model in nothing/ (metadata.json is missing)")
    assert "The page will say so too." in first_line


def test_others_are_answered_while_110_slow_clients_are_held(tmp_path):
    with serving("--request-timeout", "60") as url:
        port = int(url.rsplit(":", 1)[1])
        stop = threading.Event()
        clients = []
        for _ in range(110):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            clients.append(client)

        def trickle():  # one more header line every second, the request never finished
            while not stop.wait(1):
                for client in clients:
                    client.sendall(b"X-Slow: 1\r\n")

        threading.Thread(target=trickle, daemon=True).start()
        try:
            time.sleep(1.5)
            started = time.monotonic()
            with urllib.request.urlopen(f"{url}/healthz", timeout=20) as response:
                assert response.status == 200
            assert time.monotonic() - started < 5
        finally:
            stop.set()
            for client in clients:
                client.close()


def test_a_request_that_never_finishes_arriving_is_cut_off():
    with serving("--request-timeout", "2") as url:
        client = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        client.settimeout(0.5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 10 and not closed:
            try:
                client.sendall(b"X-Slow: 1\r\n")
                closed = client.recv(1024) == b""
            except socket.timeout:
                pass
            except OSError:
                closed = True
        client.close()
        assert closed and time.monotonic() - started < 8


def test_dotfiles_and_links_out_of_the_served_folders_are_refused(tmp_path):
    page = tmp_path / "page"
    static = page / "static"
    (static / "css").mkdir(parents=True)
    (page / "index.html").write_text("<!doctype html>")
    (static / "css" / "site.css").write_text("body {}")
    (static / ".env").write_text("SECRET=1")
    (static / ".git").mkdir()
    (static / ".git" / "config").write_text("[core]")
    (tmp_path / "outside.txt").write_text("not for the web")
    os.symlink(tmp_path / "outside.txt", static / "outside.txt")
    os.symlink("/etc/passwd", static / "passwd")
    os.symlink(static / "css" / "site.css", static / "same.css")  # a link that stays inside is fine
    client = create_app({"PAGE_DIR": page}).test_client()
    for path in ("/static/.env", "/static/.git/config", "/static/outside.txt", "/static/passwd"):
        assert client.get(path).status_code == 404, path
    assert client.get("/static/css/site.css").data == b"body {}"
    assert client.get("/static/same.css").data == b"body {}"


def test_a_redirect_points_within_the_site_whatever_host_was_named(client):
    response = client.get("/static//css/mien.css?v=1", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == "/static/css/mien.css?v=1"


def test_healthz_finds_a_weight_file_cut_short(tmp_path):
    model = copy_model(tmp_path / "model")
    shard = model / "group1-shard1of1.bin"
    whole = shard.stat().st_size
    shard.write_bytes(shard.read_bytes()[:-1000])
    response = create_app({"MODEL_DIR": model}).test_client().get("/healthz")
    assert response.status_code == 503
    assert f"hold {whole - 1000:,} bytes where model.json needs {whole:,} (a copy cut short?)" in response.get_json()["model"]["problem"]


def test_model_folders_are_read_once_and_again_when_they_change(tmp_path, monkeypatch):
    import web

    default = copy_model(tmp_path / "model")
    reads = []
    original = web.read_model_summary
    monkeypatch.setattr(web, "read_model_summary", lambda folder: reads.append(folder.name) or original(folder))
    client = create_app({"MODEL_DIR": default}).test_client()
    for _ in range(3):
        assert client.get("/models/model/model.json").status_code == 200
        assert client.get("/models.json").status_code == 200
    assert reads == ["model"]
    copy_model(tmp_path / "model-7")  # a new sibling
    assert [model["id"] for model in client.get("/models.json").get_json()] == ["model", "model-7"]
    os.utime(default / "metadata.json", ns=(1, 1))  # a file changed
    client.get("/models.json")
    assert reads == ["model", "model", "model-7", "model", "model-7"]


def test_a_busy_port_is_one_sentence_and_no_false_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "web", "--port", str(port)], cwd=REPO,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Mien is at" not in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (f"error: cannot listen on 127.0.0.1:{port} (Address already in use); "
                                                      "choose another --port.")


@pytest.mark.parametrize("names", [["angry", "happy", "neutral"], ["angry", "happy", "neutral", "sad", "extra"], []])
def test_a_model_whose_class_names_do_not_match_its_outputs_is_not_healthy(tmp_path, names):
    folder = copy_model(tmp_path / "model")
    metadata = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**metadata, "classes": names}))
    client = create_app({"MODEL_DIR": folder}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["model"]["problem"] == (
        f"The model in model/ names {len(names)} classes for its 4 outputs, so its scores would be read under the "
        "wrong names; export it again.")
    assert client.get("/models.json").get_json() == []


def test_one_broken_sibling_is_left_out_with_a_sentence_and_the_others_are_offered(tmp_path):
    default = copy_model(tmp_path / "model")
    broken = copy_model(tmp_path / "model-odd")
    metadata = json.loads((broken / "metadata.json").read_text())
    (broken / "metadata.json").write_text(json.dumps({**metadata, "classes": "angry,happy,neutral,sad"}))
    client = create_app({"MODEL_DIR": default}).test_client()
    listed = client.get("/models.json").get_json()
    assert [(model["id"], "url" in model) for model in listed] == [("model", True), ("model-odd", False)]
    assert listed[1]["problem"] == "The metadata.json in model-odd/ gives no list of class names; export the model again."
    assert client.get("/healthz").status_code == 200  # the default is fine
