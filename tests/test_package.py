"""The npm package mien-expressions (web.package): its name, version, licences and contents, the
list of files its README gives, an import where there is no DOM, and how the server types the .d.ts."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from facts import REPO
from web import COMPONENT_FILES
from web.package import NAME, README, TYPES, licence_files, readme_text, runtime_files

APACHE = REPO / "web" / "licences" / "Apache-2.0.txt"
ASSET = re.compile(r"""new URL\(\s*['"](\.{1,2}/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)""")  # relative literals
COMMENT = re.compile(r"/\*.*?\*/|^\s*//.*$", re.S | re.M)
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
PAPERS = {"package.json", "README.md", "LICENSE", "CHANGELOG.md"}


def installed(packed: Path) -> Path:
    return packed / "node_modules" / NAME


def files_in(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_the_readme_lists_every_file_a_page_may_load():
    assert README.read_text() == readme_text(), "the list of files is stale: run python -m web.package --readme"
    listed = re.search(r"```\n(.*?)\n```", README.read_text().split("## Files", 1)[1], re.S).group(1).splitlines()
    assert listed == sorted(runtime_files()) and "mien.js" in listed and "models/model/model.json" in listed


def test_the_package_holds_the_listed_files_its_types_licences_and_papers_and_nothing_else(packed):
    folder = installed(packed)
    assert files_in(folder) == {*runtime_files(), *TYPES, *licence_files(), *PAPERS}
    assert (folder / "README.md").read_text() == README.read_text()
    for name, source in runtime_files().items():  # as they are here, byte for byte
        assert (folder / name).read_bytes() == source.read_bytes(), name
    assert (folder / "models" / "model" / "model.json").is_file()  # the default model, always


def test_the_manifest_names_the_package_its_version_entry_points_and_files(packed):
    manifest = json.loads((installed(packed) / "package.json").read_text())
    assert manifest["name"] == NAME == "mien-expressions"
    assert manifest["version"] == VERSION
    assert manifest["license"] == "MIT"
    assert manifest["type"] == "module" and manifest["main"] == "./mien.js" and manifest["types"] == "./mien.d.ts"
    assert manifest["exports"] == {
        ".": {"types": "./mien.d.ts", "default": "./mien.js"},
        "./camera": {"types": "./mien-camera.d.ts", "default": "./mien-camera.js"},
        "./package.json": "./package.json",
    }
    assert manifest["sideEffects"] == ["./mien-camera.js"]  # only the camera defines something when imported
    assert {"facial-expression", "tensorflowjs"} <= set(manifest["keywords"])
    top = {name.split("/")[0] for name in files_in(installed(packed))}
    assert {entry.rstrip("/") for entry in manifest["files"]} == top - {"package.json"}


def test_the_manifest_names_the_repository_and_homepage_that_pyproject_gives(packed):
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("urls", {})
    if not {key.lower() for key in urls} & {"repository", "source"}:
        pytest.skip("pyproject.toml has no [project.urls] Repository yet, so the package names none")
    manifest = json.loads((installed(packed) / "package.json").read_text())
    assert manifest["repository"]["url"] and manifest["homepage"]


def test_the_version_has_its_changelog_entry_in_the_package(packed):
    changelog = (REPO / "CHANGELOG.md").read_text()
    entries = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$", changelog, re.M)
    assert entries[0] == VERSION and "0.1.0" in entries
    assert (installed(packed) / "CHANGELOG.md").read_text() == changelog


def test_every_licence_is_there_in_full(packed):
    folder = installed(packed)
    mien = (folder / "LICENSE").read_text()
    assert mien.startswith("MIT License") and "Copyright (c) 2026 The Mien authors" in mien and "WITHOUT WARRANTY" in mien
    apache = APACHE.read_text()
    assert apache.lstrip().startswith("Apache License") and "END OF TERMS AND CONDITIONS" in apache and len(apache) > 11_000
    for package in ("tfjs", "tfjs-backend-wasm", "tfjs-backend-webgpu"):
        assert (folder / "vendor" / package / "LICENSE").read_text() == apache, package
    detector = folder / "vendor" / "face-detector"
    assert (detector / "LICENSE").read_text().startswith("MIT License") and "Vladimir Mandic" in (detector / "LICENSE").read_text()
    notice = (detector / "NOTICE").read_text()
    assert "BlazeFace" in notice and "MediaPipe" in notice and "Apache License, Version 2.0" in notice
    assert (detector / "LICENSE.Apache-2.0").read_text() == apache
    for path in folder.rglob("*"):  # no licence is a note naming it rather than its text
        if path.is_file() and path.name.upper().startswith(("LICENSE", "LICENCE", "NOTICE")):
            assert "as its package.json says" not in path.read_text(), path


def test_every_file_a_module_names_by_its_own_url_is_in_the_package(packed):
    """What bundlers follow (new URL('literal', import.meta.url)) and what a served folder fetches."""
    folder = installed(packed)
    modules = [name for name in runtime_files() if name.endswith(".js") and not name.startswith("vendor/")]
    for module in modules:
        for target in ASSET.findall(COMMENT.sub("", (folder / module).read_text())):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(module), target))
            assert (folder / path).is_dir() if target.endswith("/") else (folder / path).is_file(), f"{module}: {target}"


def test_the_package_imports_where_there_is_no_dom(packed):
    """Server-side rendering imports the package in Node: neither entry point may touch a browser global."""
    result = subprocess.run(["node", "--input-type=module", "-e",
                             f"await import('{NAME}'); await import('{NAME}/camera');"],
                            cwd=packed, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_types_are_served_as_typescript():
    from web import create_app

    client = create_app().test_client()
    for name in ("mien.d.ts", "mien-camera.d.ts"):
        assert name in COMPONENT_FILES
        if not (REPO / "component" / name).is_file():
            continue  # mien-camera.d.ts comes with its own change; the package build requires it
        response = client.get(f"/{name}")
        assert response.status_code == 200, name
        assert response.mimetype == "application/typescript", (name, response.content_type)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
