"""The component any page can use (/mien.js): its API and semantics, from our own origin and from a
page of another site, packed for npm, bundled, and typed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import pytest

from bench.pictures import astronaut_bgr
from tests.browser import analysis_worker, other_site

REPO = Path(__file__).resolve().parents[1]


def evaluate(page, script: str, arg=None):
    """Run ``script`` (the body of an async function of ``arg``, with Mien imported) in ``page``."""
    return page.evaluate(f"async (arg) => {{ const {{ Mien, MienError, DEFAULTS }} = await import('/mien.js'); {script} }}", arg)


def test_every_option_has_a_default_and_no_global_is_needed(blank, server):
    result = evaluate(blank, """
        const before = new Set(Object.getOwnPropertyNames(window));
        const mien = await Mien.create();
        const added = Object.getOwnPropertyNames(window).filter((name) => !before.has(name));
        const answer = { defaults: DEFAULTS, classes: mien.classes, backend: mien.backend, model: mien.model, added,
                         tf: typeof tf, note: mien.backendNote };
        mien.dispose();
        return answer;""")
    assert result["defaults"] == {"model": None, "backend": "auto", "smoothing": True, "features": False, "frames": "auto"}
    assert result["classes"] == ["angry", "happy", "neutral", "sad"] and result["model"] == f"{server}/models/model/"
    assert result["backend"] == "wasm"  # SwiftShader's WebGL is passed over, and the note says why
    assert result["note"].endswith("so Mien uses WebAssembly, which is faster here.")
    assert result["added"] == [] and result["tf"] == "undefined"  # no global, and no network on this thread


@pytest.mark.parametrize("options, message", [
    # create() rejects: nothing runs, so nothing claims that faces are still found
    ({"model": "/models/nothing/"}, "The expression model at {server}/models/nothing/ could not be used (its metadata.json "
                                    "answered 404); export the model again on the server."),
    ({"backend": "gpu"}, "\"gpu\" is no backend; use 'auto' or one of webgpu, webgl, wasm, cpu."),
    ({"frames": -1}, "\"-1\" is no way of sending frames; use one of auto, track, worker, bitmap."),
])
def test_create_rejects_with_the_pages_sentence(blank, server, options, message):
    error = evaluate(blank, """try { await Mien.create(arg); return null; }
        catch (error) { return [error.message, error instanceof MienError, error.topic]; }""", options)
    assert error[0] == message.format(server=server) and error[1] and error[2] in ("model", "argument")


def test_a_model_that_fails_while_mien_runs_says_faces_are_still_found_and_they_are(blank):
    result = evaluate(blank, """
        const mien = await Mien.create();
        const error = await mien.setModel('/models/nothing/').catch((error) => [error.message, error.topic]);
        const { faces } = await mien.analyse(new ImageData(64, 64));  // still analysing: faces, without labels
        mien.dispose();
        return { error, classes: mien.classes, analysed: Array.isArray(faces) };""")
    assert result["error"][0].endswith("could not be used (its metadata.json answered 404); export the model again on the server. "
                                       "Faces are still found.")
    assert result["error"][1] == "model" and result["classes"] is None and result["analysed"]


def test_a_model_whose_class_names_do_not_match_its_outputs_is_refused(browser, server, tmp_path):
    """A page of another site, with a model folder of its own whose metadata names 5 classes for 4 outputs."""
    shutil.copytree(REPO / "component" / "models" / "model", tmp_path / "model")
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    (tmp_path / "model" / "metadata.json").write_text(json.dumps({**metadata, "classes": [*metadata["classes"], "extra"]}))
    (tmp_path / "blank.html").write_text("<!doctype html><title>blank</title>")
    with other_site(tmp_path) as site:
        page = browser.new_page()
        page.goto(f"{site}/blank.html")
        error = page.evaluate("""async ([mien, model]) => {
            const { Mien } = await import(mien);
            try { await Mien.create({ model }); return null; } catch (error) { return [error.message, error.topic]; }
        }""", [f"{server}/mien.js", f"{site}/model/"])
        page.close()
    assert error == [f"The expression model at {site}/model/ could not be used (its metadata.json names 5 classes for its 4 "
                     "outputs); export the model again on the server.", "model"]


def test_without_webassembly_create_says_so(blank):
    error = evaluate(blank, """
        delete globalThis.WebAssembly;
        try { await Mien.create(); return null; } catch (error) { return error.message; }""")
    assert error == "This browser has no WebAssembly, which Mien needs; use a current Chrome, Edge, Firefox or Safari."


def test_watching_a_stream_gives_labelled_faces_that_keep_their_id_and_never_stops_the_callers_track(blank):
    result = evaluate(blank, """
        const mien = await Mien.create();
        const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
        const results = [];
        mien.addEventListener('result', ({ detail }) => results.push(detail));
        await mien.watch(stream);
        while (results.length < 20) await new Promise((resolve) => setTimeout(resolve, 50));
        mien.stop();
        const stopped = results.length;
        await new Promise((resolve) => setTimeout(resolve, 700));
        const track = stream.getVideoTracks()[0].readyState;
        mien.dispose();
        return { results: results.slice(5, 20), after: results.length - stopped, track, frameSource: null };""")
    faces = [result["faces"] for result in result["results"]]
    assert all(len(found) == 1 for found in faces)
    assert {found[0]["id"] for found in faces} == {faces[0][0]["id"]}  # the same person, the same id
    face = faces[-1][0]
    assert set(face) == {"id", "box", "label", "scores"} and face["label"] == "happy"
    assert 200 < face["box"][0] + face["box"][2] / 2 < 380  # the source's own pixels, not mirrored
    assert {r["source"] for r in result["results"]} == {"camera"} and all(r["width"] == 640 for r in result["results"])
    assert result["after"] <= 1 and result["track"] == "live"  # stop() ends the analysis, never the caller's track


def as_base64(path_or_bytes) -> str:
    import base64

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return base64.b64encode(data).decode()


BLOB = "new Blob([Uint8Array.from(atob(arg), (c) => c.charCodeAt(0))])"  # the bytes a test passes in


def test_watch_takes_a_video_element_before_it_plays_and_a_video_file(blank, tmp_path):
    camera = evaluate(blank, """
        const mien = await Mien.create();
        const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true });
        video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
        const result = new Promise((resolve) => mien.addEventListener('result', ({ detail }) => resolve(detail), { once: true }));
        await mien.watch(video);  // not playing yet
        await video.play();
        const { source, faces } = await result;
        mien.dispose();
        return { source, faces: faces.length };""")
    assert camera == {"source": "camera", "faces": 1}
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), cv2.resize(astronaut_bgr(), (320, 320)))
    clip = tmp_path / "clip.webm"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-loop", "1", "-i", str(still), "-t", "3", "-r", "15",
                    "-c:v", "libvpx", "-b:v", "400k", str(clip)], check=True)
    file = evaluate(blank, f"""
        const mien = await Mien.create();
        const video = Object.assign(document.createElement('video'), {{ muted: true, loop: true, src: URL.createObjectURL({BLOB}) }});
        const result = new Promise((resolve) => mien.addEventListener('result', ({{ detail }}) => resolve(detail), {{ once: true }}));
        const watching = mien.watch(video);  // before the file has even loaded
        await video.play();
        await watching;
        const {{ source, faces, width }} = await result;
        mien.dispose();
        return {{ source, faces: faces.map((face) => face.label), width }};""", as_base64(clip))
    assert file == {"source": "video", "faces": ["happy"], "width": 320}


def test_watch_rejects_with_a_sentence_what_it_cannot_watch(blank):
    errors = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        stream.getTracks().forEach((track) => track.stop());
        const messages = [];
        for (const source of ['a picture', stream]) {
            try { await mien.watch(source); } catch (error) { messages.push(error.message); }
        }
        mien.dispose();
        return messages;""")
    assert errors == ["Mien can watch a MediaStream or a <video> element; give one of them.",
                      "This stream has no live video track; give the stream of a camera that runs."]


def test_an_unplugged_camera_while_watching_is_an_ended_event(blank):
    ended = evaluate(blank, """
        const mien = await Mien.create({ model: null });
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        const ended = new Promise((resolve) => mien.addEventListener('ended', ({ detail }) => resolve(detail), { once: true }));
        await mien.watch(stream);
        stream.getVideoTracks()[0].dispatchEvent(new Event('ended'));  // as when the camera is unplugged
        const detail = await ended;
        mien.dispose();
        return detail;""")
    assert ended["source"] == "camera" and ended["message"].startswith("The camera ended")


def test_analyse_gives_every_face_of_a_picture_at_full_resolution_and_dispatches_nothing(blank, tmp_path):
    from bench.pictures import group_photo

    photo, truth = group_photo()
    ok, encoded = cv2.imencode(".png", photo)
    result = evaluate(blank, f"""
        const mien = await Mien.create();
        let events = 0;
        mien.addEventListener('result', () => {{ events += 1; }});
        const analysis = await mien.analyse({BLOB});
        mien.dispose();
        return {{ ...analysis, events }};""", as_base64(encoded.tobytes()))
    assert (result["width"], result["height"], result["events"]) == (1600, 1200, 0)
    assert len(result["faces"]) == len(truth) and result["ms"] > 0
    assert sorted(face["id"] for face in result["faces"]) == list(range(1, len(truth) + 1))


def test_a_picture_larger_than_the_cap_is_read_shrunk_and_its_boxes_given_in_its_own_pixels(blank):
    """An 8000x6000 canvas (the group photo drawn five times larger): the worker is sent it at
    4096 px on its longer side, and the faces come back in the canvas's pixels, where the
    1600x1200 photo's faces are, five times over."""
    from bench.pictures import group_photo

    photo, truth = group_photo()
    ok, encoded = cv2.imencode(".png", photo)
    result = evaluate(blank, f"""
        const sent = [];
        const post = Worker.prototype.postMessage;
        Worker.prototype.postMessage = function (message, transfer) {{
            if (message?.type === 'analyse') sent.push([message.bitmap.width, message.bitmap.height]);
            return post.call(this, message, transfer);
        }};
        const mien = await Mien.create();
        const photo = await createImageBitmap({BLOB});
        const canvas = Object.assign(document.createElement('canvas'), {{ width: 8000, height: 6000 }});
        canvas.getContext('2d').drawImage(photo, 0, 0, 8000, 6000);
        const small = await mien.analyse(photo);
        const large = await mien.analyse(canvas);
        mien.dispose();
        Worker.prototype.postMessage = post;
        return {{ small, large, sent }};""", as_base64(encoded.tobytes()))
    small, large = result["small"], result["large"]
    assert result["sent"] == [[1600, 1200], [4096, 3072]] and (large["width"], large["height"]) == (8000, 6000)
    assert len(large["faces"]) == len(small["faces"]) == len(truth)
    for face in small["faces"]:
        closest = min(large["faces"], key=lambda other: abs(other["box"][0] - 5 * face["box"][0]) + abs(other["box"][1] - 5 * face["box"][1]))
        assert closest["box"] == pytest.approx([5 * value for value in face["box"]], abs=0.06 * 5 * face["box"][2])


def test_a_tilted_face_is_cut_upright_and_read_as_pipeline_detect_reads_it(blank):
    """The page's detector gives the eyes, its crop turns the face level by them, and its scores
    are Python's (pipeline.detect's finder and crop, the same model in Keras) for the same picture."""
    import numpy as np

    from pipeline.faces.classifier import ExpressionClassifier
    from pipeline.runs import DEFAULT_SHIPPED_MODEL
    from tests.datasets import tilted

    picture = tilted(astronaut_bgr(), (190, 110, 86, 86), 25)  # about the face
    ok, encoded = cv2.imencode(".png", picture)
    (face,) = evaluate(blank, f"""
        const mien = await Mien.create({{ features: true }});
        const {{ faces }} = await mien.analyse({BLOB});
        mien.dispose();
        return faces;""", as_base64(encoded.tobytes()))
    classifier = ExpressionClassifier(DEFAULT_SHIPPED_MODEL)
    ((box, (scores, features)),) = classifier.answers(picture)
    assert face["box"] == pytest.approx(list(box), abs=2)
    assert list(face["frameScores"].values()) == pytest.approx(scores.tolist(), abs=0.02)
    # The features tell crops apart where the scores of a clearly happy face do not: between this
    # face cut upright and cut unturned they differ by 9%.
    assert np.linalg.norm(np.array(face["features"]) - features) < 0.03 * np.linalg.norm(features)


def test_smoothing_is_an_option(blank):
    """A face that jumps 40 px: smoothed (the default), its box goes half the way in the next frame;
    unsmoothed, all of it. (Boxes jitter by a few pixels from frame to frame: moves under 12 px are
    not counted.)"""
    ok, png = cv2.imencode(".png", astronaut_bgr())
    moves = evaluate(blank, f"""
        const face = await createImageBitmap({BLOB});
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        const moves = {{}};
        for (const smoothing of [true, false]) {{
            const canvas = Object.assign(document.createElement('canvas'), {{ width: 640, height: 480 }});
            const context = canvas.getContext('2d');
            let x = 80;
            const paint = setInterval(() => {{
                context.fillStyle = '#5a5a5a';
                context.fillRect(0, 0, 640, 480);
                context.drawImage(face, x, 0, 480, 480);
            }}, 20);
            const mien = await Mien.create({{ model: null, smoothing }});
            const boxes = [];
            mien.addEventListener('result', ({{ detail }}) => {{ if (detail.faces.length) boxes.push(detail.faces[0].box[0]); }});
            await mien.watch(canvas.captureStream(30));
            while (boxes.length < 15) await sleep(20);
            const before = boxes.at(-1);
            const seen = boxes.length;
            x += 40;
            while (!boxes.slice(seen).some((left) => Math.abs(left - before) > 12)) await sleep(10);
            moves[smoothing] = (boxes.slice(seen).find((left) => Math.abs(left - before) > 12) - before) / 40;
            clearInterval(paint);
            mien.dispose();
        }}
        return moves;""", as_base64(png.tobytes()))
    assert 0.3 <= moves["true"] <= 0.7 and 0.8 <= moves["false"] <= 1.2


def test_an_example_page_on_another_site_watches_and_analyses_with_mien_from_ours(playwright, clips, server, tmp_path):
    """examples/index.html, served by another site with its import pointed at our server's /mien.js;
    a photo chosen with its file input is analysed too."""
    from bench.browser import camera_flags, chromium

    page_text = (REPO / "examples" / "index.html").read_text()
    assert "import { Mien } from '/mien.js';" in page_text
    (tmp_path / "index.html").write_text(page_text.replace("'/mien.js'", f"'{server}/mien.js'"))
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    with other_site(tmp_path) as site, chromium(playwright, *camera_flags(clips["astronaut"])) as browser:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/index.html")
        assert not page.evaluate("crossOriginIsolated")  # a page without any special header
        page.wait_for_function("() => document.querySelector('#faces li')?.textContent.includes('happy')", timeout=90_000)
        page.set_input_files("#photo-input", str(photo))
        page.wait_for_function("() => document.querySelector('#photo-faces li')", timeout=60_000)
        assert page.text_content("#photo-faces li").startswith("face 1: happy at ")
        assert page.evaluate("() => document.getElementById('photo').src.startsWith('blob:')")
        assert errors == []


def test_the_example_page_is_served_at_examples_under_the_sites_policy(browser, server):
    """/examples/ is examples/index.html, same origin: the site's headers, its inline script allowed by its hash."""
    page = browser.new_page()
    errors, refused = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    response = page.goto(f"{server}/examples/")
    policy = response.headers["content-security-policy"]
    assert "'sha256-" in policy and "'unsafe-inline'" not in policy and response.headers["cross-origin-opener-policy"] == "same-origin"
    page.wait_for_function("() => document.querySelector('#faces li')?.textContent.includes('happy')", timeout=90_000)
    assert errors == [] and refused == []
    page.close()
    from urllib.error import HTTPError
    from urllib.request import urlopen

    for path in ("/examples/index.html", "/examples/vite/main.js"):  # nothing else of examples/
        with pytest.raises(HTTPError) as answer:
            urlopen(f"{server}{path}", timeout=5)
        assert answer.value.code == 404


def test_model_and_backend_switch_while_watching_without_a_leak(blank):
    evaluate(blank, """
        window.mien = await Mien.create();
        window.seen = [];
        window.mien.addEventListener('result', ({ detail }) => window.seen.push(Object.keys(detail.faces[0]?.scores ?? {}).length));
        await window.mien.watch(await navigator.mediaDevices.getUserMedia({ video: true }));
        while (window.seen.length < 10) await new Promise((resolve) => setTimeout(resolve, 50));""")
    worker = analysis_worker(blank)
    before = worker.evaluate("() => tf.memory().numTensors")
    switched = evaluate(blank, """
        const { mien } = window;
        await mien.setBackend('cpu');
        const cpu = mien.backend;
        await mien.setModel('/models/model-7/');
        const seven = mien.classes.length;
        await mien.setBackend('wasm');
        await mien.setModel('/models/model/');
        const count = window.seen.length;
        while (window.seen.length < count + 10) await new Promise((resolve) => setTimeout(resolve, 50));
        return { cpu, seven, backend: mien.backend, last: window.seen.at(-1) };""")
    assert switched == {"cpu": "cpu", "seven": 7, "backend": "wasm", "last": 4}
    assert worker.evaluate("() => tf.memory().numTensors") == before
    blank.evaluate("() => window.mien.dispose()")


def test_the_custom_element_shows_the_camera_with_boxes_and_dispatches_results(blank):
    result = blank.evaluate("""async () => {
        await import('/mien-camera.js');
        const element = document.createElement('mien-camera');
        const result = new Promise((resolve) => document.body.addEventListener('result', ({ detail }) => {
            if (detail.faces.length) resolve(detail);
        }));
        document.body.append(element);
        const { faces } = await result;
        const canvas = element.shadowRoot.querySelector('canvas');
        const painted = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.some((value) => value > 0);
        element.remove();
        return { label: faces[0].label, painted, playing: !element.shadowRoot.querySelector('video').paused };
    }""")
    assert result == {"label": "happy", "painted": True, "playing": True}


def test_the_custom_element_refuses_a_wrong_attribute_with_the_components_sentence(blank):
    error = blank.evaluate("""async () => {
        await import('/mien-camera.js');
        const element = document.createElement('mien-camera');
        element.setAttribute('backend', 'nonsense');
        element.setAttribute('frames', '-1');
        const failed = new Promise((resolve) => element.addEventListener('error', ({ detail }) => resolve([detail.message, detail.topic])));
        document.body.append(element);
        const error = await failed;
        const shown = element.shadowRoot.textContent.includes(error[0]);
        element.remove();
        return [...error, shown];
    }""")
    assert error == ["\"nonsense\" is no backend; use 'auto' or one of webgpu, webgl, wasm, cpu.", "argument", True]


def test_a_profile_fitted_in_the_browser_reads_faces_as_python_does(blank, tmp_path):
    """create({features: true}) gives each face its features; personalise fits a profile from
    pictures (numbers only); useProfile applies it; Python computes the same scores to 1e-4."""
    import numpy as np

    from pipeline.faces.personal import fit_profile, personal_scores

    ok, happy = cv2.imencode(".png", astronaut_bgr())
    ok, other = cv2.imencode(".png", cv2.flip(astronaut_bgr(), 1))
    ok, wall = cv2.imencode(".png", np.full((200, 200, 3), 128, np.uint8))
    result = evaluate(blank, f"""
        const [happy, other, wall] = arg.map((text) => new Blob([Uint8Array.from(atob(text), (c) => c.charCodeAt(0))]));
        const mien = await Mien.create({{ features: true }});
        const before = (await mien.analyse(happy)).faces[0];
        const resting = {{ face: (await mien.analyse(other)).faces[0], profile: await mien.personalise({{ neutral: [other] }}) }};
        const profile = await mien.personalise({{ neutral: [other, other], happy: [happy] }});
        await mien.useProfile(profile);
        const after = (await mien.analyse(happy)).faces[0];
        const unknown = await mien.personalise({{ smug: [happy] }}).catch((error) => error.message);
        const empty = await mien.personalise({{ happy: [wall] }}).catch((error) => error.message);
        mien.dispose();
        return {{ before, resting, profile, after, unknown, empty }};""", [as_base64(data.tobytes()) for data in (happy, other, wall)])
    before, resting, profile, after = result["before"], result["resting"], result["profile"], result["after"]
    assert len(before["features"]) == 256 and set(before["frameScores"]) == {"angry", "happy", "neutral", "sad"}
    assert profile["format"] == "mien-profile/1" and profile["examples"] == {"neutral": 2, "happy": 1}
    assert profile["model"]["classes"] == ["angry", "happy", "neutral", "sad"] and len(profile["model"]["sha256"]) == 64
    assert "picture" not in json.dumps(profile) and set(profile) >= {"method", "created", "strength", "check", "correction"}
    assert after["profile"] is True and after["frameScores"] == pytest.approx(before["frameScores"], abs=1e-5)
    names = ["angry", "happy", "neutral", "sad"]
    python = personal_scores(profile, np.array([after["frameScores"][n] for n in names]), np.array(after["features"]))
    np.testing.assert_allclose(python, [after["scores"][n] for n in names], atol=1e-4)
    # The fit is checked on faces it was not fitted on as Python checks it: each class weighing the same, so the
    # shipped model's share is the mean of its share of each class (not of all three faces).
    faces = {"neutral": [resting["face"]] * 2, "happy": [before]}
    read = lambda face: max(face["frameScores"], key=face["frameScores"].get)  # noqa: E731
    assert profile["check"]["shipped"] == pytest.approx(np.mean([np.mean([read(face) == name for face in own])
                                                                 for name, own in faces.items()]))
    checked = fit_profile(profile["model"], {name: [(np.array([face["frameScores"][n] for n in names]), np.array(face["features"]))
                                                    for face in own] for name, own in faces.items()})
    assert checked["check"] == pytest.approx(profile["check"]) and checked["verdict"] == profile["verdict"]
    assert (checked["correction"] is None) == (profile["correction"] is None) == (not profile["verdict"]["passed"])
    # Taught one expression: an offset from the model's reference scores for it, checked as Python checks it. A
    # smiling face taught as neutral is far from the model's usual neutral one, so the shipped model is kept.
    reference = json.loads((REPO / "component" / "models" / "model" / "metadata.json").read_text())["reference_log_scores"]
    alone = fit_profile(profile["model"], {"neutral": [(np.array([resting["face"]["frameScores"][n] for n in names]),
                                                        np.array(resting["face"]["features"]))]}, reference=reference)
    assert resting["profile"]["method"] == "offset" and resting["profile"]["verdict"] == alone["verdict"]
    assert resting["profile"]["verdict"]["reason"] == "offset-too-far" and resting["profile"]["correction"] is None
    assert result["unknown"] == 'The model has no class "smug"; its classes are angry, happy, neutral, sad.'
    assert result["empty"].startswith("No face was found in the 1 picture(s) given, so no profile can be made")


def test_a_profile_of_another_model_is_refused_with_a_sentence(blank):
    error = evaluate(blank, """
        const mien = await Mien.create({ features: true });
        const profile = { format: 'mien-profile/1', model: { sha256: 'another', classes: mien.classes }, correction: null };
        try { await mien.useProfile(profile); return null; } catch (error) { return error.message; } finally { mien.dispose(); }""")
    assert error == ("This profile was made for another model (angry, happy, neutral, sad); make one for this model, or "
                     "choose the model it was made for.")
