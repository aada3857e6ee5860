"""The page in a real browser: Debian's Chromium, headless, with a fake webcam fed real faces."""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import expect

from bench.browser import camera_flags, chromium, write_camera_clip
from bench.pictures import astronaut_bgr, astronaut_frame, group_photo
from pipeline.faces.boxes import overlap
from pipeline.faces.crop import FACE_CROP, crop_face
from tests.browser import analysis_worker, message, open_page, serving, start_camera, state, wait_for_faces
from tests.datasets import photo_of_every_size

REPO = Path(__file__).resolve().parents[1]
# Where the astronaut's face is in astronaut_frame() (found by eye and by OpenCV's detector).
ASTRONAUT_FACE_CENTRE = (290, 115)


def test_on_a_software_gpu_the_page_runs_on_wasm_and_says_why(page):
    current = state(page)
    assert current["backend"] == "wasm" and current["ready"]
    expect(page.locator("#backend-name")).to_have_text(re.compile("^" + re.escape("WebAssembly · SIMD")))
    assert page.evaluate("() => crossOriginIsolated")  # so the wasm backend may use threads
    assert message(page, "backend") == ("WebGL in this browser has no graphics card behind it (it runs in software), "
                                        "so Mien uses WebAssembly, which is faster here.")


def test_the_webgl_backend_names_the_renderer_in_words(browser, server):
    page, _, _ = open_page(browser, f"{server}/?backend=webgl")
    expect(page.locator("#backend-name")).to_have_text("WebGL · software renderer, no graphics card")
    names = page.evaluate("""async () => {
        const { gpuName } = await import('/static/js/backend.js');
        return [gpuName('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)'),
                gpuName('ANGLE (Intel, Intel(R) UHD Graphics 620 (0x00005917) Direct3D11 vs_5_0 ps_5_0, D3D11)'),
                gpuName('ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)'),
                gpuName('Mali-G78')];
    }""")
    assert names == ["NVIDIA GeForce RTX 3060", "Intel(R) UHD Graphics 620", "Apple M2", "Mali-G78"]
    page.close()


@pytest.mark.parametrize("backend", ["webgl", "cpu"])
def test_backend_in_the_address_forces_that_backend(browser, server, backend):
    page, _, errors = open_page(browser, f"{server}/?backend={backend}")
    assert state(page)["backend"] == backend
    assert analysis_worker(page).evaluate("() => tf.getBackend()") == backend
    assert page.input_value("#backend-select") == backend
    assert errors == []
    page.close()


def test_the_visitor_can_switch_backend(page):
    page.select_option("#backend-select", "cpu")
    page.wait_for_function("() => window.mien.state.backend === 'cpu' && window.mien.state.ready")
    expect(page.locator("#backend-name")).to_have_text("JavaScript (CPU)")


def test_the_astronaut_gets_a_box_labelled_happy(page):
    start_camera(page)
    wait_for_faces(page)
    time.sleep(1)  # let the smoothing settle
    (face,) = state(page)["faces"]
    assert face["label"] == "happy"
    assert face["scores"]["happy"] == max(face["scores"].values())
    assert sum(face["scores"].values()) == pytest.approx(1, abs=1e-3)
    x, y, width, height = face["box"]
    assert abs(x + width / 2 - ASTRONAUT_FACE_CENTRE[0]) < 40 and abs(y + height / 2 - ASTRONAUT_FACE_CENTRE[1]) < 40
    assert 60 < width < 160
    expect(page.locator("#faces .label")).to_have_text("happy")
    current = state(page)
    assert current["fps"] > 0 and current["msPerFrame"] > 0
    assert "fps" in page.text_content("#speed")


def test_tensors_do_not_leak_over_hundreds_of_frames(page):
    start_camera(page)
    page.wait_for_function("() => window.mien.state.frames >= 20", timeout=60_000)
    worker = analysis_worker(page)
    before = worker.evaluate("() => tf.memory().numTensors")
    start_frame = state(page)["frames"]
    page.wait_for_function(f"() => window.mien.state.frames >= {start_frame + 300}", timeout=180_000)
    assert worker.evaluate("() => tf.memory().numTensors") == before


def test_camera_frames_stream_to_the_worker_and_stop_with_the_camera(page):
    start_camera(page)
    wait_for_faces(page)
    assert state(page)["frameSource"] == "track"  # the camera track itself: the page never reads a frame
    assert page.evaluate("() => typeof tf") == "undefined"  # no network runs on the page's thread
    page.wait_for_function("() => window.mien.state.frames >= 30", timeout=60_000)
    page.click("#camera-toggle")
    time.sleep(0.5)
    stopped_at = state(page)["frames"]
    # Every tensor gets the next id: if the worker made none between two probes, it ran no network.
    probe = "() => { const tensor = tf.scalar(0); tensor.dispose(); return tensor.id; }"
    worker = analysis_worker(page)
    first = worker.evaluate(probe)
    time.sleep(1.5)
    assert worker.evaluate(probe) == first + 1
    assert state(page)["frames"] == stopped_at and state(page)["faces"] == []
    expect(page.locator("#faces")).to_have_text("No face in view.")


def test_without_a_camera_stream_frames_reach_the_worker_as_bitmaps(browser, server):
    page, _, errors = open_page(browser, f"{server}/?frames=bitmap")
    start_camera(page)
    (face,) = wait_for_faces(page)
    assert state(page)["frameSource"] == "bitmap" and face["label"] == "happy"
    page.wait_for_function("() => window.mien.state.frames >= 10", timeout=60_000)
    assert errors == []
    page.close()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_the_page_fits_a_laptop_and_a_phone_screen_without_sideways_scrolling(browser, server, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(server)
    page.wait_for_function("() => window.mien && !document.querySelector('#camera-toggle').disabled", timeout=90_000)
    start_camera(page)
    wait_for_faces(page)
    assert page.evaluate("() => [document.documentElement.scrollWidth, window.scrollX]") == [width, 0]
    select = page.query_selector("#model-select").bounding_box()
    assert select["x"] + select["width"] <= width  # the model list fits its column
    page.close()


def test_switching_the_model_while_the_camera_runs_restarts_the_smoothing(page):
    start_camera(page)
    wait_for_faces(page)
    page.select_option("#model-select", "/models/model-7/")
    page.wait_for_function("() => window.mien.state.ready && Object.keys(window.mien.state.faces[0]?.scores ?? {}).length === 7")
    time.sleep(0.5)
    (face,) = state(page)["faces"]
    assert all(isinstance(value, float) for value in face["scores"].values())
    assert sum(face["scores"].values()) == pytest.approx(1, abs=1e-3)
    assert page.eval_on_selector_all("#faces meter", "meters => meters.length") == 7


def test_quick_successive_model_switches_end_on_the_last_choice_with_nothing_leaked(page):
    start_camera(page)
    wait_for_faces(page)
    worker = analysis_worker(page)
    before = worker.evaluate("() => tf.memory().numTensors")
    page.evaluate("""() => {
        const select = document.querySelector('#model-select');
        for (const url of ['/models/model-7/', '/models/model/', '/models/model-7/', '/models/model/',
                           '/models/model-7/', '/models/model/']) {
            select.value = url;
            select.dispatchEvent(new Event('change'));
        }
    }""")
    page.wait_for_function("() => window.mien.state.ready && Object.keys(window.mien.state.faces[0]?.scores ?? {}).length === 4")
    time.sleep(1)
    assert len(state(page)["faces"][0]["scores"]) == 4
    assert worker.evaluate("() => tf.memory().numTensors") == before


def test_a_missing_default_model_is_named_with_the_one_used_instead(playwright, clips, tmp_path):
    shutil.copytree(REPO / "component" / "models" / "model-7", tmp_path / "model-7")
    with serving("--model-dir", str(tmp_path / "model")) as url, chromium(playwright, *camera_flags(clips["astronaut"])) as browser:
        page, _, _ = open_page(browser, url)
        assert message(page, "default-model") == (
            "The default expression model is not available (No model in model/ (metadata.json is missing); "
            "run python -m exporters.to_tfjs to export one), so Mien uses the 7-class model (angry, disgust, fear, happy, "
            "neutral, sad, surprise) instead.")
        page.wait_for_function("() => window.mien.state.ready")


def test_after_a_photo_the_speed_line_speaks_of_the_photo(page, tmp_path):
    start_camera(page)
    wait_for_faces(page)
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function("() => document.querySelector('#speed').textContent.startsWith('photo analysed in')")
    assert "fps" not in page.text_content("#speed")


def test_a_dropped_photo_is_analysed_the_same_way(page, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function("() => window.mien.state.faces.length === 1")
    (face,) = state(page)["faces"]
    assert face["label"] == "happy"
    x, y, width, height = face["box"]
    assert 150 < x + width / 2 < 300 and 50 < y + height / 2 < 200  # in the photo's own pixels
    assert page.is_visible("#photo") and not page.is_visible("#video")


def test_a_photo_without_a_face_says_so(page, tmp_path):
    photo = tmp_path / "wall.png"
    cv2.imwrite(str(photo), np.full((300, 400, 3), 180, np.uint8))
    page.set_input_files("#photo-input", str(photo))
    assert message(page, "photo") == "No face was found in this photo. Try one where a face looks at the camera."
    expect(page.locator("#faces")).to_have_text("No face found in this photo.")


def test_a_photo_of_too_many_pixels_is_refused_from_its_header_before_it_is_decoded(page, tmp_path):
    """A small PNG of 10000x10000 pixels (400 MB decoded) is refused by its size, as Python refuses
    it. (Chromium itself refuses to open one of 30000x30000: "not an image this browser can open".)"""
    from tests.bad_images import write_png_bomb

    page.set_input_files("#photo-input", str(write_png_bomb(tmp_path / "bomb.png", side=10000)))
    expect(page.locator('#messages [data-topic="photo"]')).to_have_text(
        "bomb.png is 10000x10000 pixels, more than the 50 megapixels Mien reads; choose a smaller photo, or shrink this one.")
    assert page.is_hidden("#photo")


def test_a_file_that_is_no_image_says_so(page, tmp_path):
    photo = tmp_path / "notes.png"
    photo.write_text("not an image")
    page.set_input_files("#photo-input", str(photo))
    assert message(page, "photo") == "notes.png is not an image this browser can open; choose a JPEG, PNG or WebP photo."


def test_an_unplugged_camera_says_so_and_the_page_keeps_working(page, tmp_path):
    start_camera(page)
    wait_for_faces(page)
    page.evaluate("() => document.querySelector('video').srcObject.getVideoTracks()[0].dispatchEvent(new Event('ended'))")
    assert message(page, "camera").startswith("The camera was disconnected.")
    expect(page.locator("#camera-toggle")).to_have_text("Start camera")
    start_camera(page)  # plugged back in
    wait_for_faces(page)


def test_several_faces_are_found_at_once(playwright, clips, server):
    with chromium(playwright, *camera_flags(clips["several"])) as browser:
        page, _, errors = open_page(browser, server)
        start_camera(page)
        faces = wait_for_faces(page, count=3)
        assert len(faces) == 3 and errors == []
        centres = sorted(x + width / 2 for x, _, width, _ in (face["box"] for face in faces))
        assert centres[0] < 213 < centres[1] < 426 < centres[2]  # one in each third of the frame


def test_three_small_faces_far_from_the_camera_are_found(playwright, tmp_path, server):
    frame, truth = group_photo(size=(640, 480), face_width=50, count=3)
    with chromium(playwright, *camera_flags(write_camera_clip(tmp_path / "far.y4m", frame))) as browser:
        page, _, errors = open_page(browser, server)
        start_camera(page)
        faces = wait_for_faces(page, count=3, timeout=30_000)
        assert len(faces) == 3 and errors == []
        assert all(max(overlap(face["box"], true) for face in faces) > 0.3 for true in truth)


def test_a_denied_camera_is_a_clear_message(playwright, clips, server):
    with chromium(playwright, *camera_flags(clips["astronaut"], allow=False)) as browser:
        page, _, _ = open_page(browser, server)
        start_camera(page)
        assert message(page, "camera") == ("Camera access was denied. Allow the camera for this site in the browser's "
                                 "settings, or choose a photo instead.")
        expect(page.locator("#camera-toggle")).to_have_text("Start camera")


def test_no_camera_at_all_is_a_clear_message(playwright, server):
    with chromium(playwright, "--use-fake-ui-for-media-stream") as browser:  # access granted, but no device
        page, _, _ = open_page(browser, server)
        start_camera(page)
        assert message(page, "camera").startswith("No camera was found.")


def test_without_webgl_the_page_runs_on_wasm_and_says_why(playwright, clips, server):
    with chromium(playwright, "--disable-webgl", "--disable-3d-apis", *camera_flags(clips["astronaut"])) as browser:
        page, _, _ = open_page(browser, server)
        assert state(page)["backend"] == "wasm"
        assert message(page, "backend") == "This browser has no WebGL, so Mien runs on WebAssembly (CPU)."
        start_camera(page)
        assert wait_for_faces(page)[0]["label"] == "happy"


def test_without_a_model_the_page_says_so_and_still_finds_faces(playwright, clips, tmp_path):
    with serving("--model-dir", str(tmp_path / "model")) as url, chromium(playwright, *camera_flags(clips["astronaut"])) as browser:
        page, _, _ = open_page(browser, url)
        assert message(page, "model") == ("No expression model is installed on this server: No model in model/ "
                                 "(metadata.json is missing); run python -m exporters.to_tfjs to export one. "
                                 "Faces are still found.")
        start_camera(page)
        (face,) = wait_for_faces(page)
        assert face["label"] is None and face["scores"] == {}
        assert not state(page)["ready"]


@pytest.mark.parametrize("roll", [0.0, 0.35, -0.6])
@pytest.mark.parametrize("layout", ["RGBA (photos, canvases)", "I420 (webcam frames)"])
def test_the_page_crops_a_face_as_the_training_faces_were_cropped(page, layout, roll):
    """The page's crop of a detector box, turned upright by the roll of its eyes' line, matches
    pipeline.faces.crop.crop_face's on the same picture."""
    frame = astronaut_frame()
    box = [250.0, 70.0, 90.0, 90.0]
    eyes = [[270.0, 100.0], [270.0 + 30 * np.cos(roll), 100.0 + 30 * np.sin(roll)]]
    expected = crop_face(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), box, FACE_CROP, eyes)
    height, width = frame.shape[:2]
    if layout.startswith("RGBA"):
        planes = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGBA)]
        spec = {"kind": "rgba", "strides": [width * 4]}
    else:  # BT.601 limited range, as webcams deliver it
        yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).ravel()
        luma, chroma = width * height, width * height // 4
        planes = [yuv[:luma], yuv[luma:luma + chroma], yuv[luma + chroma:]]
        spec = {"kind": "yuv", "strides": [width, width // 2, width // 2], "chroma": 1}
    crop = page.evaluate("""async ({ spec, planes, box, eyes, geometry }) => {
        const { Pixels } = await import('/static/js/pixels.js');
        const { cropSquare, faceRoll } = await import('/static/js/classifier.js');
        const decoded = planes.map((text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
        const pixels = new Pixels({ width: 640, height: 480, planes: decoded, ...spec });
        const roll = faceRoll(eyes);
        const crop = new Float32Array(48 * 48);
        pixels.grayCrop(cropSquare(box, geometry, roll), 48, crop, 0, roll);
        return Array.from(crop);
    }""", {"spec": spec, "planes": [base64.b64encode(plane.tobytes()).decode() for plane in planes], "box": box,
           "eyes": eyes, "geometry": FACE_CROP.to_json()})
    difference = np.abs(np.array(crop).reshape(48, 48) - expected)
    # The same pixels, to within rounding (and, for webcam frames, their colour at half resolution).
    assert difference.mean() < 0.5 and difference.max() < 2


def test_the_page_takes_a_moving_faces_two_views_in_turns_each_averaged_with_the_frame_befores(page):
    """In a stream, a face classified in the frame before runs one view (its crop, or the crop's
    mirror image, in turns) and its scores average it with that frame's other view; a new face runs both."""
    # The face slides 5 px a frame; its box 4 px: its crop changes a little each frame.
    frames = [cv2.cvtColor(np.roll(astronaut_frame(), 5 * index, axis=1), cv2.COLOR_BGR2RGBA) for index in range(3)]
    result = analysis_worker(page).evaluate("""async (frames) => {
        const { ExpressionModel, cropSquare, mirrored } = await import('/static/js/classifier.js');
        const { Pixels } = await import('/static/js/pixels.js');
        const { still } = await (await fetch('/static/face-finder.json')).json();
        const model = await ExpressionModel.load(tf, '/models/model/');
        const runs = [];
        const run = model.run.bind(model);
        model.run = async (inputs, tensors) => { const results = await run(inputs, tensors); runs.push({ inputs, results }); return results; };
        const crops = [];
        const answers = [];
        let pixels;
        for (const [index, text] of frames.entries()) {
            pixels = new Pixels({ width: 640, height: 480, kind: 'rgba', strides: [640 * 4],
                                        planes: [Uint8Array.from(atob(text), (c) => c.charCodeAt(0))] });
            const box = [250 + 4 * index, 70, 90, 90];
            const crop = new Float32Array(48 * 48);
            pixels.grayCrop(cropSquare(box, model.crop), 48, crop, 0, 0);
            crops.push(crop);
            answers.push((await model.classify(pixels, [{ box }], still)).answers[0]);
        }
        await model.classify(pixels, [], still); // a frame without the face: the next one runs both views
        await model.classify(pixels, [{ box: [258, 70, 90, 90] }], still);
        const same = (a, b) => a.every((value, i) => value === b[i]);
        const scores = runs.map(({ results }) => Array.from(results.at(-1).scores));
        return {
            views: runs.map(({ inputs }) => inputs.length),
            turns: [same(runs[1].inputs[0], crops[1]), same(runs[2].inputs[0], mirrored(crops[2], 48))],
            answer: Array.from(answers[2].scores), expected: scores[2].map((value, i) => (value + scores[1][i]) / 2),
            features: answers[2].features.length,
        };
    }""", [base64.b64encode(frame.tobytes()).decode() for frame in frames])
    assert result["views"] == [2, 1, 1, 2]
    assert result["turns"] == [True, True]  # frame 1 the crop as it is (frame 0 ran both), frame 2 its mirror image
    np.testing.assert_allclose(result["answer"], result["expected"], atol=1e-6)
    assert result["features"] > 0


def test_a_still_camera_picture_runs_no_detector_once_its_tiles_are_swept(page):
    """Once the sweep has been round a still picture's tiles, the page's frames run the detector on
    nothing (the worker's stages say how many areas it searched), and the face stays found."""
    page.evaluate("""() => { window.searched = [];
        window.mien.events.addEventListener('result', ({ detail }) => {
          if (detail.source === 'camera') window.searched.push([detail.stages.detectorPictures, detail.faces.length]); }); }""")
    start_camera(page)
    page.wait_for_function("() => window.searched.length >= 30", timeout=60_000)
    assert page.evaluate("() => window.searched")[-10:] == [[0, 1]] * 10


def test_analysis_pauses_while_the_tab_is_hidden(page):
    start_camera(page)
    page.wait_for_function("() => window.mien.state.frames >= 5", timeout=60_000)
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    time.sleep(0.5)  # a frame in progress may still finish
    paused_at = state(page)["frames"]
    time.sleep(1.5)
    assert state(page)["frames"] == paused_at
    page.evaluate("""() => {
        delete document.hidden;
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_function(f"() => window.mien.state.frames > {paused_at}", timeout=30_000)


def test_a_lost_webgl_context_switches_to_wasm(browser, server):
    page, _, errors = open_page(browser, f"{server}/?backend=webgl")
    assert state(page)["backend"] == "webgl"
    analysis_worker(page).evaluate("() => tf.backend().gpgpu.gl.getExtension('WEBGL_lose_context').loseContext()")
    page.wait_for_function("() => window.mien.state.backend === 'wasm' && window.mien.state.ready", timeout=60_000)
    assert message(page, "backend") == "The GPU stopped answering (its WebGL context was lost), so Mien switched to WebAssembly."
    assert page.input_value("#backend-select") == "wasm"
    page.close()


def test_the_seven_class_model_can_be_chosen_and_the_photo_is_analysed_again(page, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function("() => window.mien.state.faces.length === 1")
    assert len(state(page)["faces"][0]["scores"]) == 4
    options = page.eval_on_selector_all("#model-select option", "options => options.map(o => [o.value, o.textContent])")
    assert options[0][0] == "/models/model/" and options[0][1].startswith("angry, happy, neutral, sad (")
    assert options[1][0] == "/models/model-7/" and options[1][1].startswith("angry, disgust, fear, happy, neutral, sad, surprise (")
    page.select_option("#model-select", "/models/model-7/")
    page.wait_for_function("() => window.mien.state.ready && Object.keys(window.mien.state.faces[0]?.scores ?? {}).length === 7")
    assert state(page)["faces"][0]["label"] == "happy"


@pytest.fixture(scope="module")
def detector():
    from pipeline.faces.finder import FaceDetector

    return FaceDetector()


def faces_from_36_px():
    return photo_of_every_size(widths=(36, 40, 44, 48))


@pytest.mark.parametrize("compose", [group_photo, photo_of_every_size, faces_from_36_px],
                         ids=["eight small faces", "faces of every size", "faces from 36 px"])
def test_a_photo_gives_every_face_where_pipeline_detect_finds_it(page, tmp_path, compose, detector):
    picture, truth = compose()
    photo = tmp_path / "group.png"
    cv2.imwrite(str(photo), picture)
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function("() => document.querySelector('#speed').textContent.startsWith('photo analysed')", timeout=60_000)
    found = [face["box"] for face in state(page)["faces"]]
    assert len(found) == len(truth), found
    assert all(max(overlap(box, true) for box in found) > 0.3 for true in truth)  # each face, at its place
    assert page.evaluate("() => [document.querySelector('#photo').width, document.querySelector('#photo').height]") == [1600, 1200]
    # The same search as Python's: the whole picture, then finer passes, each one inference of the photo's shape.
    from pipeline.faces.finder import detect_everywhere

    python = [box for box, *_ in detect_everywhere(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB), detector)]
    assert all(max(overlap(box, other) for other in python) > 0.9 for box in found)


def test_a_photo_without_a_face_gives_no_face(page, tmp_path):
    from skimage.data import coffee

    photo = tmp_path / "coffee.png"
    cv2.imwrite(str(photo), cv2.resize(cv2.cvtColor(coffee(), cv2.COLOR_RGB2BGR), (1600, 1200)))
    page.set_input_files("#photo-input", str(photo))
    assert message(page, "photo") == "No face was found in this photo. Try one where a face looks at the camera."
    assert state(page)["faces"] == []


def test_the_page_passes_axe_cores_wcag_2_a_and_aa_checks(browser, server):
    """axe-core (npm, Deque) in the page, as accessibility audits run it: no violation of WCAG 2.0
    and 2.1, levels A and AA, with the camera running and a face listed."""
    context = browser.new_context(bypass_csp=True)  # the audit's script is injected, not served
    page, _, errors = open_page(context, server)
    start_camera(page)
    wait_for_faces(page)
    page.add_script_tag(path=str(REPO / "node_modules" / "axe-core" / "axe.min.js"))
    violations = page.evaluate("""async () => (await axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })).violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)""")
    assert violations == [] and errors == []
    context.close()


def test_a_model_whose_class_names_do_not_match_its_outputs_is_refused_and_said(playwright, clips, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(REPO / "component" / "models" / "model", model)
    metadata = json.loads((model / "metadata.json").read_text())
    (model / "metadata.json").write_text(json.dumps({**metadata, "classes": ["angry", "happy", "neutral"]}))
    with serving("--model-dir", str(model)) as url, chromium(playwright, *camera_flags(clips["astronaut"])) as browser:
        page, _, _ = open_page(browser, url)
        assert message(page, "model") == (
            "No expression model is installed on this server: The model in model/ names 3 classes for its 4 outputs, "
            "so its scores would be read under the wrong names; export it again. Faces are still found.")
        start_camera(page)
        (face,) = wait_for_faces(page)
        assert face["label"] is None  # no label under a wrong name


def test_a_broken_sibling_model_is_left_out_with_a_sentence_and_the_rest_works(playwright, clips, tmp_path):
    shutil.copytree(REPO / "component" / "models" / "model", tmp_path / "model")
    odd = tmp_path / "model-odd"
    shutil.copytree(REPO / "component" / "models" / "model", odd)
    metadata = json.loads((odd / "metadata.json").read_text())
    (odd / "metadata.json").write_text(json.dumps({**metadata, "classes": "angry,happy,neutral,sad"}))
    with serving("--model-dir", str(tmp_path / "model")) as url, chromium(playwright, *camera_flags(clips["astronaut"])) as browser:
        page, _, _ = open_page(browser, url)
        assert message(page, "left-out-model-odd") == (
            "The model model-odd is left out: The metadata.json in model-odd/ gives no list of class names; export the model again.")
        start_camera(page)
        assert wait_for_faces(page)[0]["label"] == "happy"  # the default model runs


def test_a_file_that_is_no_image_after_a_photo_clears_that_photos_faces(page, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(photo), astronaut_bgr())
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function("() => window.mien.state.faces.length === 1")
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    page.set_input_files("#photo-input", str(notes))
    assert message(page, "photo").startswith("notes.png is not an image")
    assert state(page)["faces"] == [] and not page.is_visible("#photo")
    assert page.evaluate("() => document.querySelector('#overlay').getContext('2d').getImageData(0, 0, 640, 480).data.every((v) => v === 0)")


def test_webgpu_is_offered_forced_by_the_address_and_never_chosen_on_a_software_adapter(playwright, clips, server):
    """Headless Chromium here has WebGPU only on SwiftShader, a software adapter: the page takes it
    when asked (?backend=webgpu) and finds faces with it, but never chooses it by itself."""
    with chromium(playwright, "--enable-unsafe-webgpu", *camera_flags(clips["astronaut"])) as browser:
        page, _, errors = open_page(browser, f"{server}/?backend=webgpu")
        assert state(page)["backend"] == "webgpu" and analysis_worker(page).evaluate("() => tf.getBackend()") == "webgpu"
        expect(page.locator("#backend-name")).to_have_text("WebGPU · software adapter, no graphics card")
        start_camera(page)
        assert wait_for_faces(page, timeout=120_000)[0]["label"] == "happy"
        page.close()
        page, _, _ = open_page(browser, server)
        assert state(page)["backend"] == "wasm"
        assert errors == []


def test_teaching_mien_your_face_keeps_a_named_profile_that_reads_the_faces_and_is_kept_apart_by_model(page, tmp_path):
    start_camera(page)
    wait_for_faces(page)
    page.click("#teach-start")
    page.wait_for_function("() => document.querySelector('#teach-prompt').textContent.startsWith('Show an angry face')")
    page.wait_for_function("() => !document.querySelector('#teach-save').disabled", timeout=120_000)
    # One smiling face shown for every expression: no correction can read more of each expression's faces right,
    # however many frames each got, so the check refuses it: the page keeps the shipped model, says so and what to add.
    # The shipped model reads the smiling faces as happy: a quarter, each expression weighing the same. The fitted
    # correction reads them no better (a frame or two of the smile may fall to another class with it).
    check = re.fullmatch(r"Mien keeps the shipped model: ([\d.]+)% of \d+ faces it was not fitted on read right with it, "
                         r"25\.0% without; teach more of (angry|happy|neutral|sad)\.", page.text_content("#teach-prompt"))
    assert check and float(check[1]) <= 25.0 and page.text_content("#teach-check") == ""
    steps = page.text_content("#teach-steps")
    assert all(f"{name}: " in steps and " frames" in steps for name in ("angry", "happy", "neutral", "sad"))
    page.fill("#teach-name", "Ana")
    page.click("#teach-save")
    page.wait_for_function("() => window.mien.state.profile === 'Ana' && window.mien.state.faces[0]?.profile === 'Ana'")
    assert page.eval_on_selector("#profile-select", "select => select.selectedOptions[0].textContent") == "Ana"
    with page.expect_download() as download:
        page.click("#profile-export")
    exported = json.loads(open(download.value.path()).read())
    assert exported["name"] == "Ana" and set(exported["examples"]) == {"angry", "happy", "neutral", "sad"}
    # The profile keeps no correction, and holds numbers only, never a picture.
    assert exported["correction"] is None and exported["check"]["personal"] <= exported["check"]["shipped"] == 0.25
    assert set(exported) <= {"format", "model", "method", "created", "examples", "skipped", "strength", "check",
                             "verdict", "correction", "name"} and exported["verdict"]["passed"] is False
    page.click("#record-toggle")  # the record notes the profile each second was read with
    page.wait_for_function("async () => (await window.mien.record.rows()).some((row) => row.profile === 'Ana')")
    page.click("#record-toggle")
    # The resting face alone: an offset, checked first. The smiling face shown as a resting one is far from the
    # model's usual neutral face, so the check refuses it, says what to teach, and the shipped model stays in use.
    page.click("#teach-resting")
    page.wait_for_function("() => document.querySelector('#teach-prompt').textContent.startsWith('Show a neutral face')")
    expect(page.locator("#teach-prompt")).to_have_text(
        "Mien keeps the shipped model: the neutral face taught is too far from the model's usual one for one expression "
        "to correct safely; teach one of angry, happy and sad too.", timeout=60_000)
    page.wait_for_function("() => window.mien.state.profile === null")
    assert page.text_content("#teach-steps").startswith("neutral: ") and "happy" not in page.text_content("#teach-steps")
    # What the mood record makes of the resting face: the share of the frames read as angry or sad.
    assert re.fullmatch(r"Of \d+ resting frames, read as angry or sad by the shipped model: [\d.]+%\.", page.text_content("#teach-check"))
    page.click("#teach-discard")
    page.wait_for_function("() => window.mien.state.profile === 'Ana'")
    page.select_option("#model-select", "/models/model-7/")  # another model: the profile is kept, not used
    assert "it is kept, and not used with this one" in message(page, "profile")
    page.wait_for_function("() => window.mien.state.ready && Object.keys(window.mien.state.faces[0]?.scores ?? {}).length === 7")
    assert state(page)["profile"] is None and "profile" not in state(page)["faces"][0]
    assert page.eval_on_selector("#profile-select", "select => [...select.options].map((o) => [o.textContent, o.disabled])") == [
        ["none (the shipped model)", False], ["Ana (for another model)", True]]
    imported = tmp_path / "ana.json"
    imported.write_text(json.dumps({**exported, "name": "Ana, again"}))
    page.select_option("#model-select", "/models/model/")
    page.set_input_files("#profile-import", str(imported))
    page.wait_for_function("() => window.mien.state.profile === 'Ana, again'")
    # A profile made before every profile was checked carries no verdict: it is taken, and marked unchecked in the list.
    older = {key: value for key, value in exported.items() if key != "verdict"}
    imported.write_text(json.dumps({**older, "name": "Ana, older"}))
    page.set_input_files("#profile-import", str(imported))
    page.wait_for_function("() => window.mien.state.profile === 'Ana, older'")
    expect(page.locator("#profile-select option:checked")).to_have_text("Ana, older (unchecked)")
