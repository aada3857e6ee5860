"""The page installable and offline: the manifest, the service worker's list of files and its
version, the page opened, the camera started and a second recorded with the server gone, a new
version announced rather than mixed in, and no service worker where the component is embedded."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import other_site, serving, start_camera, wait_for_faces
from tests.test_record import wait_for_rows
from web import create_app
from web.package import runtime_files

REPO = Path(__file__).resolve().parents[1]
READY = "() => window.mien && window.mien.state.ready && !document.querySelector('#camera-toggle').disabled"
CONTROLLED = "() => navigator.serviceWorker.controller !== null"  # installed, every file kept, and in charge
KEPT = """async () => Promise.all((await caches.keys()).map(async (name) =>
    [name, (await (await caches.open(name)).keys()).map((request) => new URL(request.url).pathname).sort()]))"""


def offline(script: str) -> dict:
    """What /sw.js keeps, as the server wrote it above the worker's code: {version, urls}."""
    first_line = script.split("\n", 1)[0]
    return json.loads(re.fullmatch(r"const OFFLINE = (.*);", first_line).group(1))


def served_offline(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/sw.js") as response:
        return offline(response.read().decode())


# --- the server -------------------------------------------------------------------------------------

def test_every_kept_url_answers_and_nothing_the_page_needs_is_left_out():
    client = create_app({"TESTING": True}).test_client()
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # the browser looks for a new version at each visit
    assert client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    kept = offline(response.get_data(as_text=True))
    assert re.fullmatch(r"[0-9a-f]{16}", kept["version"])
    for url in kept["urls"]:
        assert client.get(url).status_code == 200, url
    urls = set(kept["urls"])
    assert {"/", "/mien.js", "/mien-camera.js", "/static/js/app.js", "/static/js/offline.js", "/static/js/analysis-worker.js",
            "/static/face-finder.json", "/manifest.webmanifest", "/models.json", "/healthz",
            "/vendor/tfjs-backend-wasm/tfjs-backend-wasm-threaded-simd.wasm", "/vendor/dexie/dexie.min.mjs",
            "/vendor/uplot/uPlot.esm.js", "/models/model/model.json", "/models/model-7/model.json"} <= urls
    # Every file of the component's package is kept: the package is laid out as the server serves it.
    assert {f"/{name}" for name in runtime_files()} <= urls
    assert not any(url.startswith("/static/model") or url.endswith(".d.ts") for url in urls)


def test_the_version_is_a_hash_of_the_content_and_changes_with_any_file(tmp_path):
    page = tmp_path / "page"
    shutil.copytree(REPO / "page", page)
    static = page / "static"
    client = create_app({"TESTING": True, "PAGE_DIR": page}).test_client()
    first = offline(client.get("/sw.js").get_data(as_text=True))
    assert offline(client.get("/sw.js").get_data(as_text=True)) == first
    # Touched but unchanged: the same content, the same version.
    (static / "js" / "app.js").write_text((static / "js" / "app.js").read_text())
    assert offline(client.get("/sw.js").get_data(as_text=True)) == first
    (static / "js" / "app.js").write_text((static / "js" / "app.js").read_text() + "\n// changed\n")
    changed = offline(client.get("/sw.js").get_data(as_text=True))
    assert changed["version"] != first["version"] and changed["urls"] == first["urls"]
    (static / "js" / "new.js").write_text("export const added = true;\n")
    added = offline(client.get("/sw.js").get_data(as_text=True))
    assert added["version"] != changed["version"] and "/static/js/new.js" in added["urls"]


def test_the_manifest_names_the_page_and_its_icons():
    client = create_app({"TESTING": True}).test_client()
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"].startswith("Mien") and manifest["short_name"] == "Mien"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    sizes = {}
    for icon in manifest["icons"]:
        picture = client.get(icon["src"])
        assert picture.status_code == 200 and picture.mimetype == "image/png"
        height, width = cv2.imdecode(np.frombuffer(picture.data, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2]
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon["purpose"], set()).add(width)
    assert sizes == {"any": {192, 512}, "maskable": {512}}
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page and 'href="data:,"' not in page


def test_the_component_and_its_package_never_touch_a_service_worker():
    files = runtime_files()
    assert "static/js/offline.js" not in files
    assert not [name for name, path in files.items() if path.suffix == ".js" and "serviceWorker" in path.read_text()]


# --- in Chromium --------------------------------------------------------------------------------------

def test_once_visited_the_page_opens_starts_the_camera_and_records_with_the_server_gone(browser):
    context = browser.new_context()
    page = context.new_page()
    errors, online, answered = [], [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with serving() as url:
        page.on("request", lambda request: online.append(request.url))
        page.goto(url)
        page.wait_for_function(READY, timeout=90_000)
        page.wait_for_function(CONTROLLED, timeout=60_000)
        # Installable: Chrome finds nothing missing (a Playwright context is an incognito profile, where it installs nothing).
        problems = context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert [problem["errorId"] for problem in problems if problem["errorId"] != "in-incognito"] == []
        start_camera(page)
        wait_for_faces(page)
        kept = served_offline(url)
        # The cache, named by the server's hash, holds every file the page fetched (and the others).
        assert page.evaluate(KEPT) == [[f"mien-{kept['version']}", sorted(kept["urls"])]]
        fetched = {urlsplit(request).path for request in online if request.startswith(url)}
        assert fetched <= set(kept["urls"]) | {"/sw.js"}, fetched - set(kept["urls"])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/healthz", timeout=2)  # the server is gone
    page.on("response", lambda response: answered.append((response.url, response.from_service_worker)))
    page.reload()
    page.wait_for_function(READY, timeout=90_000)
    assert page.evaluate("() => crossOriginIsolated")  # the kept page came with its COOP and COEP headers
    expect(page.locator("#backend-name")).to_have_text(re.compile("^WebAssembly"))
    expect(page.locator("#model-select option")).to_have_count(2)  # the kept /models.json
    assert page.locator('#messages [data-topic="model"]').count() == 0
    start_camera(page)
    (face,) = wait_for_faces(page)
    assert face["label"] == "happy"
    page.click("#record-toggle")
    rows = wait_for_rows(page, 0, "row.faceSeconds === 1")
    assert rows[0]["classes"] == ["angry", "happy", "neutral", "sad"]
    assert answered and all(from_worker for address, from_worker in answered if address.startswith(url)), answered
    assert errors == []
    context.close()


@pytest.fixture
def changing(tmp_path):
    """Our server over a copy of the shipped models, one of whose files a test may change: (URL, that file)."""
    models = tmp_path / "models"
    for name in ("model", "model-7"):
        shutil.copytree(REPO / "component" / "models" / name, models / name)
    with serving("--model-dir", str(models / "model")) as url:
        yield url, models / "model" / "metadata.json"


def installed(context, url: str):
    """A page of ``context`` at ``url``, ready and run by the installed service worker."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(READY, timeout=90_000)
    page.wait_for_function(CONTROLLED, timeout=60_000)
    return page


def new_version(url: str, changed: Path) -> tuple[str, str]:
    """Change a file on the server; the versions before and after, and the browser told to look."""
    first = served_offline(url)["version"]
    changed.write_text(changed.read_text() + "\n")
    second = served_offline(url)["version"]
    assert second != first
    return first, second


LOOK = "async () => { await (await navigator.serviceWorker.getRegistration()).update(); }"  # as at each visit
ANNOUNCED = "A new version of Mien is ready: reload to use it."


def test_a_new_version_on_the_server_is_announced_and_taken_only_on_reload(browser, changing):
    url, changed = changing
    original = changed.read_text()
    context = browser.new_context()
    page = installed(context, url)
    first, second = new_version(url, changed)
    page.evaluate(LOOK)
    expect(page.locator('#messages [data-topic="update"]')).to_have_text(ANNOUNCED)
    # Both versions kept; this page still gets the files of the one it started with.
    assert sorted(name for name, _ in page.evaluate(KEPT)) == sorted([f"mien-{first}", f"mien-{second}"])
    assert page.evaluate("async () => (await fetch('/models/model/metadata.json')).text()") == original
    # A reload (the only tab of Mien open) starts the page again in the new version, and the old one is gone.
    page.reload()
    deadline = time.monotonic() + 60
    while True:
        try:
            if page.evaluate(f"async () => ({READY})() && (await caches.keys()).join() === 'mien-{second}'"):
                break
        except Exception:  # the page reloading itself, once the new version took over
            pass
        assert time.monotonic() < deadline, page.evaluate("async () => caches.keys()")
        time.sleep(0.2)
    assert page.evaluate("async () => (await fetch('/models/model/metadata.json')).text()") == original + "\n"
    assert page.locator('#messages [data-topic="update"]').count() == 0
    context.close()


def test_with_another_tab_open_a_reload_keeps_the_version_and_asks_to_close_it(browser, changing):
    url, changed = changing
    context = browser.new_context()
    page, other = installed(context, url), installed(context, url)
    first, second = new_version(url, changed)
    page.evaluate(LOOK)
    for tab in (page, other):
        expect(tab.locator('#messages [data-topic="update"]')).to_have_text(ANNOUNCED)
    page.reload()
    page.wait_for_function(READY, timeout=90_000)
    expect(page.locator('#messages [data-topic="update"]')).to_have_text(
        "A new version of Mien is ready: close Mien's other tabs, then reload to use it.")
    assert sorted(name for name, _ in page.evaluate(KEPT)) == sorted([f"mien-{first}", f"mien-{second}"])
    context.close()


def test_without_service_workers_the_page_works_as_before(browser, server):
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server)
    page.wait_for_function(READY, timeout=90_000)
    start_camera(page)
    assert wait_for_faces(page)[0]["label"] == "happy"
    assert errors == [] and page.locator('#messages [data-topic="update"]').count() == 0
    context.close()


def test_a_page_that_embeds_the_component_gets_no_service_worker(blank, browser, server, tmp_path):
    registrations = "async () => (await navigator.serviceWorker.getRegistrations()).length"
    # On our own origin: the component created, a picture analysed, its camera element made.
    analysed = blank.evaluate("""async () => {
        const { Mien } = await import('/mien.js');
        await import('/mien-camera.js');
        document.body.append(document.createElement('mien-camera'));
        const mien = await Mien.create();
        const { width } = await mien.analyse(Object.assign(document.createElement('canvas'), { width: 8, height: 8 }));
        mien.dispose();
        return width;
    }""")
    assert analysed == 8 and blank.evaluate(registrations) == 0
    # On another site that imports it from ours.
    (tmp_path / "embedding.html").write_text('<!doctype html><meta charset="utf-8"><title>Embedding page</title>')
    with other_site(tmp_path) as site:
        page = browser.new_page()
        page.goto(f"{site}/embedding.html")
        backend = page.evaluate("""async (module) => {
            const { Mien } = await import(module);
            const mien = await Mien.create();
            await mien.analyse(Object.assign(document.createElement('canvas'), { width: 8, height: 8 }));
            mien.dispose();
            return mien.backend;
        }""", f"{server}/mien.js")
        assert backend and page.evaluate(registrations) == 0
        page.close()
