"""The component's TypeScript declarations (mien.d.ts, mien-camera.d.ts) say what the code does: an
app typed against the npm package compiles with tsc --strict and bundles with esbuild, a wrong
import or option fails both, and real objects from the browser have the declared shapes."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import pytest

from bench.pictures import astronaut_bgr
from web.package import NAME

REPO = Path(__file__).resolve().parents[1]
TSC = [str(REPO / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
       "--moduleResolution", "nodenext", "--lib", "es2022,dom"]
ESBUILD = str(REPO / "node_modules" / ".bin" / "esbuild")


@pytest.fixture
def app(packed):
    """A folder of the project that installed the package, for this test's own files."""
    folder = Path(tempfile.mkdtemp(dir=packed))
    yield folder
    shutil.rmtree(folder)


def typescript(folder: Path, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TSC, *files], cwd=folder, capture_output=True, text=True)


def bundle(folder: Path, file: str) -> subprocess.CompletedProcess:
    return subprocess.run([ESBUILD, file, "--bundle", "--format=esm", f"--outfile={folder / 'out' / file}.js", "--log-level=error"],
                          cwd=folder, capture_output=True, text=True)


def test_each_export_path_has_its_own_declarations(packed):
    installed = packed / "node_modules" / NAME
    manifest = json.loads((installed / "package.json").read_text())
    assert manifest["exports"]["."] == {"types": "./mien.d.ts", "default": "./mien.js"}
    assert manifest["exports"]["./camera"] == {"types": "./mien-camera.d.ts", "default": "./mien-camera.js"}
    assert (installed / "mien-camera.d.ts").read_text() == (REPO / "component" / "mien-camera.d.ts").read_text()
    assert (installed / "models" / "model" / "model.json").exists()


def test_a_realistic_app_compiles_with_tsc_strict(app):
    """Both paths imported, a MienError caught and its topic read, Mien's and the element's events
    typed (the element's 'result' also where it bubbles to), 'ended' listened to."""
    shutil.copy(REPO / "tests" / "example.ts", app / "example.ts")
    checked = typescript(app, "example.ts")
    assert checked.returncode == 0, checked.stdout


def test_the_realistic_app_bundles_with_esbuild(app):
    shutil.copy(REPO / "tests" / "example.ts", app / "example.ts")
    bundled = bundle(app, "example.ts")
    assert bundled.returncode == 0, bundled.stderr
    assert "MienError" in (app / "out" / "example.ts.js").read_text()


@pytest.mark.parametrize("source, complaint", [
    ("import { MienCamera } from 'mien-expressions';\nconsole.log(MienCamera);\n", "has no exported member 'MienCamera'"),
    ("import { Mien } from 'mien-expressions/camera';\nconsole.log(Mien);\n", "'Mien' locally, but it is not exported"),
], ids=["the element from the main path", "Mien from the camera path"])
def test_an_import_from_the_wrong_path_fails_to_compile_as_it_fails_to_bundle(app, source, complaint):
    (app / "wrong.ts").write_text(source)
    checked = typescript(app, "wrong.ts")
    assert checked.returncode != 0 and complaint in checked.stdout, checked.stdout
    bundled = bundle(app, "wrong.ts")
    assert bundled.returncode != 0 and "No matching export" in bundled.stderr


@pytest.mark.parametrize("source, complaint", [
    ("await Mien.create({ backend: 'gpu' });", '"gpu"'),
    ("await Mien.create({ base: '/mien/' });", "'base' does not exist"),
    ("(await Mien.create()).addEventListener('ended', (event) => event.detail.topic);", "'topic' does not exist on type 'EndedDetail'"),
    ("try { await Mien.create(); } catch (error) { if (error instanceof MienError) { const topic: 'gpu' = error.topic; } }",
     "is not assignable to type '\"gpu\"'"),
], ids=["a backend that is none", "the removed base option", "a field an event lacks", "a topic that is none"])
def test_a_wrong_option_or_field_fails_to_compile(app, source, complaint):
    (app / "wrong.ts").write_text(f"import {{ Mien, MienError }} from 'mien-expressions';\n{source}\n")
    checked = typescript(app, "wrong.ts")
    assert checked.returncode != 0 and complaint in checked.stdout, checked.stdout


# --- real objects from the browser against the declared shapes -------------------------------------

REAL_OBJECTS = """async (picture) => {
    const main = await import('/mien.js');
    const camera = await import('/mien-camera.js');
    const { Mien } = main;
    const blob = new Blob([Uint8Array.from(atob(picture), (c) => c.charCodeAt(0))], { type: 'image/png' });
    const within = (promise, what) => Promise.race([promise, new Promise((resolve, reject) => setTimeout(() => reject(new Error(`no ${what} in 60 s`)), 60_000))]);
    const failure = (error) => ({ name: error.name, message: error.message, topic: error.topic, isMienError: error instanceof main.MienError,
                                  isError: error instanceof Error });
    const mien = await Mien.create({ features: true });
    const analysis = await mien.analyse(blob);
    const profile = await mien.personalise({ happy: [blob] });
    await mien.useProfile(profile);
    const personal = await mien.analyse(blob);
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    const watched = within(new Promise((resolve) => mien.addEventListener('result', ({ detail }) => {
        if (detail.faces.length) resolve(detail);
    })), 'result with a face');
    await mien.watch(stream);
    const result = await watched;
    const instance = {};
    for (const key of Object.keys(mien)) instance[key] = mien[key];
    for (const [key, property] of Object.entries(Object.getOwnPropertyDescriptors(Mien.prototype))) {
        if (property.get) instance[key] = mien[key];
    }
    const ending = within(new Promise((resolve) => mien.addEventListener('ended', ({ detail }) => resolve(detail), { once: true })), "'ended' event");
    stream.getVideoTracks()[0].dispatchEvent(new Event('ended'));  // as when the camera is unplugged
    const ended = await ending.catch((error) => ({ missing: error.message }));
    const errors = [await mien.setBackend('gpu').catch(failure), await mien.watch('a picture').catch(failure)];
    mien.dispose();
    return { analysis, personal, profile, result, instance, ended, errors,
             exports: { main: Object.keys(main), camera: Object.keys(camera) } };
}"""

DECLARED = """import type {{ AnalysisResult, EndedDetail, Mien, MienError, Profile, WatchResult }} from 'mien-expressions';
import type * as main from 'mien-expressions';
import type * as camera from 'mien-expressions/camera';

/** A type's data properties (its methods left out). */
type Data<T> = {{ [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: T[K] }};

export const analysis = {analysis} satisfies AnalysisResult;
export const personal = {personal} satisfies AnalysisResult;
export const profile = {profile} satisfies Profile;
export const result = {result} satisfies WatchResult;
export const ended = {ended} satisfies EndedDetail;
export const instance = {instance} satisfies Data<Mien>;
export const errors = {errors} satisfies Array<Pick<MienError, 'name' | 'message' | 'topic'>>;
export const mainExports = {main} satisfies Record<keyof typeof main, true>;
export const cameraExports = {camera} satisfies Record<keyof typeof camera, true>;
"""


def declared(objects: dict) -> str:
    """A module stating that each real object has its declared type: tsc flags a missing field
    and one the declarations do not know (object literals get excess-property checks)."""
    as_ts = {name: json.dumps(value, indent=1) for name, value in objects.items() if name != "exports"}
    names = {path: json.dumps(dict.fromkeys(keys, True)) for path, keys in objects["exports"].items()}
    return DECLARED.format(**as_ts, **names)


def test_real_results_from_the_browser_have_the_declared_shapes(blank, app):
    """A picture's analysis (before and with a profile), the profile, a watched frame's result, the
    'ended' detail, a Mien's properties, what two methods reject with and each path's exports, all
    from Chromium, compile as the declared types, with no field missing and none unknown."""
    ok, png = cv2.imencode(".png", astronaut_bgr())
    objects = blank.evaluate(REAL_OBJECTS, base64.b64encode(png.tobytes()).decode())
    kinds = [(error.pop("isMienError"), error.pop("isError")) for error in objects["errors"]]
    assert kinds == [(True, True)] * 2, objects["errors"]  # what each method rejects with: a MienError, an Error
    assert objects["personal"]["faces"][0]["profile"] is True and "features" in objects["result"]["faces"][0]
    (app / "real.ts").write_text(declared(objects))
    checked = typescript(app, "real.ts")
    assert checked.returncode == 0, checked.stdout

    # The comparison has teeth: a field the code lacks, or one the declarations lack, fails it.
    objects["analysis"]["stages"].pop("classifierViews")
    objects["result"].pop("fps")
    objects["personal"]["faces"][0]["session"] = 1
    objects["exports"]["camera"].append("Mien")
    (app / "real.ts").write_text(declared(objects))
    checked = typescript(app, "real.ts")
    assert checked.returncode != 0
    for complaint in ("Property 'classifierViews' is missing", "Property 'fps' is missing",
                      """'"session"' does not exist in type 'Face'""", """'"Mien"' does not exist"""):
        assert complaint in checked.stdout, checked.stdout
