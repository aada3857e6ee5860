"""The component as an embedding page drives it: its own camera's lifecycle, calls after dispose,
videos that never play, <mien-camera> moved and removed, the ways frames reach the worker, and
pages that send a strict Content-Security-Policy, of our origin and of another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser import other_site
from tests.test_component import evaluate
from web.package import NAME


def test_a_track_the_page_stops_ends_mien_watching_within_a_frame(blank):
    """track.stop() fires no 'ended' on the track: Mien notices, stops its own clone and says so."""
    result = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        let results = 0;
        mien.addEventListener('result', () => { results += 1; });
        const ended = new Promise((resolve) => mien.addEventListener('ended', ({ detail }) => resolve(detail), { once: true }));
        await mien.watch(stream);
        while (results < 3) await new Promise((resolve) => setTimeout(resolve, 30));
        stream.getVideoTracks()[0].stop();
        const stoppedAt = performance.now();
        const detail = await ended;
        const after = results;
        await new Promise((resolve) => setTimeout(resolve, 500));
        const answer = { detail, within: performance.now() - stoppedAt, resultsAfter: results - after, frameSource: mien.frameSource };
        mien.dispose();
        return answer;""")
    assert result["detail"] == {"source": "camera", "message": "The camera ended (stopped, unplugged, or its source removed "
                                "by the page), so Mien stopped watching it."}
    assert result["resultsAfter"] == 0 and result["frameSource"] is None


def test_a_video_whose_source_the_page_removes_ends_mien_watching(blank):
    detail = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true });
        video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
        await video.play();
        const ended = new Promise((resolve) => mien.addEventListener('ended', ({ detail }) => resolve(detail), { once: true }));
        await mien.watch(video);
        video.srcObject = null;
        const detail = await ended;
        mien.dispose();
        return detail;""")
    assert detail["source"] == "camera" and "stopped watching it" in detail["message"]


def test_every_method_after_dispose_rejects_at_once_with_one_sentence(blank):
    answers = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        mien.dispose();
        const calls = {
            analyse: () => mien.analyse(document.createElement('canvas')),
            watch: () => mien.watch(stream),
            setModel: () => mien.setModel(null),
            setBackend: () => mien.setBackend('wasm'),
            useProfile: () => mien.useProfile(null),
            personalise: () => mien.personalise({ happy: [] }),
        };
        const answers = {};
        for (const [name, call] of Object.entries(calls)) {
            const started = performance.now();
            try { await call(); answers[name] = 'resolved'; }
            catch (error) { answers[name] = [error instanceof MienError, error.topic, error.message, performance.now() - started < 1000]; }
        }
        return answers;""")
    sentence = "This Mien was disposed of; create a new one with Mien.create()."
    assert answers == {name: [True, "disposed", sentence, True]
                       for name in ("analyse", "watch", "setModel", "setBackend", "useProfile", "personalise")}


def test_watch_of_a_video_that_never_plays_rejects_with_a_sentence(blank):
    answers = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const attempt = async (video) => {
            const started = performance.now();
            try { await mien.watch(video); return 'resolved'; }
            catch (error) { return [error.topic, error.message, Math.round((performance.now() - started) / 1000)]; }
        };
        const missing = Object.assign(document.createElement('video'), { src: '/nothing-here.webm' });
        const notVideo = Object.assign(document.createElement('video'), { src: '/healthz' });
        const answers = { missing: await attempt(missing), notVideo: await attempt(notVideo),
                          empty: await attempt(document.createElement('video')) };
        mien.dispose();
        return answers;""")
    for name in ("missing", "notVideo"):
        topic, message, seconds = answers[name]
        assert topic == "camera" and message.startswith("This video cannot be played (") and seconds <= 2
    topic, message, seconds = answers["empty"]
    assert message == ("This video had nothing to play within 10 s (no source, or one that never loads); give it a "
                       "source that plays, then call watch.") and 9 <= seconds <= 12


def test_mien_camera_moved_then_removed_opens_one_camera_and_leaves_none_on(blank):
    result = blank.evaluate("""async () => {
        const opened = [];
        const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = async (constraints) => {
            const stream = await getUserMedia(constraints);
            opened.push(stream);
            return stream;
        };
        await import('/mien-camera.js');
        const first = document.createElement('div');
        const second = document.createElement('div');
        document.body.append(first, second);
        const element = document.createElement('mien-camera');
        first.append(element);
        second.append(element);  // moved right after insertion
        await new Promise((resolve) => element.addEventListener('result', resolve, { once: true }));
        element.remove();
        await new Promise((resolve) => setTimeout(resolve, 500));
        return { opened: opened.length, live: opened.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length };
    }""")
    assert result == {"opened": 1, "live": 0}


@pytest.mark.parametrize("frames, expected", [("worker", {"worker", "bitmap"}), ("bitmap", {"bitmap"})])
def test_frames_reach_the_worker_each_way_the_browser_allows(blank, frames, expected):
    """'worker': the track itself is sent to the worker (Safari's way; Chromium where it can send a
    track); 'bitmap': each shown frame is posted as it comes, the worker keeping only the newest."""
    result = evaluate(blank, """
        const mien = await Mien.create({ frames: arg });
        const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
        const results = [];
        mien.addEventListener('result', ({ detail }) => results.push(detail));
        await mien.watch(stream);
        const way = mien.frameSource;
        while (results.length < 12) await new Promise((resolve) => setTimeout(resolve, 50));
        mien.dispose();
        stream.getTracks().forEach((track) => track.stop());
        return { way, labels: results.slice(-5).map((r) => r.faces[0]?.label) };""", frames)
    assert result["way"] in expected and result["labels"] == ["happy"] * 5


# --- Content-Security-Policy ----------------------------------------------------------------------

SAME_ORIGIN_POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'"


def site_with_policy(folder: Path, policy: str):
    """``folder`` served at http://localhost:PORT with exactly ``policy`` (and CORS, as a CDN sends)."""
    return other_site(folder, {"Content-Security-Policy": policy})


PAGE = """<!doctype html><meta charset="utf-8"><title>Embedding page</title>
<canvas id="picture" width="8" height="8"></canvas>"""


def create_on(browser, url: str, module: str) -> list:
    """Mien.create() and one analyse() on the page at ``url``, Mien imported from ``module``: what
    came back, or the rejection's [topic, message]."""
    page = browser.new_page()
    page.goto(url)
    answer = page.evaluate("""async (module) => {
        const { Mien } = await import(module);
        try {
            const mien = await Mien.create();
            const { width } = await mien.analyse(document.getElementById('picture'));
            const answer = ['ready', mien.backend, width];
            mien.dispose();
            return answer;
        } catch (error) { return [error.topic, error.message]; }
    }""", module)
    page.close()
    return answer


@pytest.fixture(scope="module")
def package_folder(packed, tmp_path_factory) -> Path:
    """The installed package's folder, copied, as a site serves it."""
    folder = tmp_path_factory.mktemp("site") / NAME
    shutil.copytree(packed / "node_modules" / NAME, folder)
    return folder


def test_the_smallest_same_origin_policy_the_readme_gives_is_enough(browser, package_folder, tmp_path):
    (package_folder / "embedding.html").write_text(PAGE)
    with site_with_policy(package_folder, SAME_ORIGIN_POLICY) as site:
        assert create_on(browser, f"{site}/embedding.html", f"{site}/mien.js") == ["ready", "wasm", 8]


@pytest.mark.parametrize("policy, topic, words", [
    ("default-src 'self'; script-src 'self'; worker-src 'self'", "csp", "add 'wasm-unsafe-eval' to the policy's script-src"),
    ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'none'", "csp", "to the policy's worker-src"),
    ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'none'", "csp",
     "to the policy's connect-src"),
])
def test_a_policy_that_blocks_mien_is_named_with_the_directive_to_add(browser, package_folder, policy, topic, words):
    (package_folder / "embedding.html").write_text(PAGE)
    with site_with_policy(package_folder, policy) as site:
        answer = create_on(browser, f"{site}/embedding.html", f"{site}/mien.js")
    assert answer[0] == topic and words in answer[1], answer


def test_from_another_origin_the_readme_policy_works_and_a_missing_host_is_named(browser, server, tmp_path):
    """Mien's worker starts from a blob that imports it (script-src); its files are fetched (connect-src)."""
    (tmp_path / "embedding.html").write_text(PAGE)
    allowed = f"default-src 'self'; script-src 'self' {server} 'wasm-unsafe-eval'; worker-src blob:; connect-src {server}"
    with site_with_policy(tmp_path, allowed) as site:
        assert create_on(browser, f"{site}/embedding.html", f"{server}/mien.js") == ["ready", "wasm", 8]
    without = f"default-src 'self'; script-src 'self' {server} 'wasm-unsafe-eval'; worker-src blob:; connect-src 'self'"
    with site_with_policy(tmp_path, without) as site:
        answer = create_on(browser, f"{site}/embedding.html", f"{server}/mien.js")
    assert answer[0] == "csp" and f"add {server} to the policy's connect-src" in answer[1], answer
    no_blob = f"default-src 'self'; script-src 'self' {server} 'wasm-unsafe-eval'; connect-src {server}"
    with site_with_policy(tmp_path, no_blob) as site:
        answer = create_on(browser, f"{site}/embedding.html", f"{server}/mien.js")
    assert answer[0] == "csp" and "add blob: to the policy's worker-src" in answer[1], answer


def test_a_worker_that_is_not_served_is_named_as_missing_not_as_cors(browser, package_folder, tmp_path):
    copy = tmp_path / "incomplete"
    copy.mkdir()
    (copy / "mien.js").write_text((package_folder / "mien.js").read_text())
    (copy / "static").mkdir()
    for name in ("js",):
        (copy / "static" / name).mkdir()
    (copy / "static" / "js" / "backend.js").write_text((package_folder / "static" / "js" / "backend.js").read_text())
    (copy / "static" / "js" / "assets.js").write_text((package_folder / "static" / "js" / "assets.js").read_text())
    (copy / "embedding.html").write_text(PAGE)
    with site_with_policy(copy, SAME_ORIGIN_POLICY) as site:
        topic, message = create_on(browser, f"{site}/embedding.html", f"{site}/mien.js")
    assert topic == "worker" and message.startswith(f"Mien's worker was not found at {site}/static/js/analysis-worker.js "
                                                    "(the server answered 404)")


def test_the_webgpu_backend_is_fetched_only_when_it_is_tried(browser, server):
    page = browser.new_page()
    fetched = []
    page.on("request", lambda request: fetched.append(request.url.rsplit("/", 1)[-1]))
    page.goto(f"{server}/healthz")
    # WebAssembly here: SwiftShader's WebGL is passed over, and there is no WebGPU adapter.
    assert page.evaluate("async () => { window.mien = await (await import('/mien.js')).Mien.create(); return mien.backend; }") == "wasm"
    at_start = list(fetched)
    page.evaluate("async () => { await mien.setBackend('webgpu'); mien.dispose(); }")  # tried, and fallen back from
    page.close()
    webgpu = "tf-backend-webgpu.es2017.min.js"
    assert "tf.es2017.min.js" in at_start and webgpu not in at_start
    assert fetched.count(webgpu) == 1
