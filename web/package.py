"""python -m web.package: the component (mien.js) as an npm package, for pages and bundlers.

    python -m web.package                 # dist/mien-0.1.0.tgz, models loaded by URL
    python -m web.package --with-model    # the default model inside too (models/model/)

The package holds the folder the server offers pages of other origins, laid out as it serves it:
``mien.js``, ``mien-camera.js`` and their types (``mien.d.ts``) at the top, the modules they and
the worker import under ``static/`` (found by following their imports), and the vendored files
the worker loads (TF.js, its wasm binaries, the face detector) under ``vendor/``, with their
licences. Copied to any static host or CDN, the folder works as served from here.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from web import COMPONENT_FILES, REPO, VENDOR_DIR, VENDOR_FILES
from web.vendor import package_of

STATIC = REPO / "static"
ENTRY_POINTS = ("mien.js", "mien-camera.js", "static/js/analysis-worker.js")  # the worker is started by URL
COMPONENT_VENDOR = ("tfjs", "tfjs-backend-webgpu", "tfjs-backend-wasm", "face-detector")  # what the worker loads
DATA_FILES = ("static/face-finder.json",)  # fetched by the modules, not imported
IMPORT = re.compile(r"""(?:^|\n)\s*(?:import|export)\b[^'"]*?['"](\.{1,2}/[^'"]+)['"]""")
DIST = REPO / "dist"
NAME = "mien-expressions"  # "mien" on the npm registry is another package


def component_modules() -> list[str]:
    """Every module the entry points import, transitively, as paths under the package root."""
    found, todo = set(), list(ENTRY_POINTS)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for target in IMPORT.findall(served_path(name).read_text()):
            imported = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            if not imported.startswith("vendor/"):  # vendored files come from vendor/, below
                todo.append(imported)
    return sorted(found)


def served_path(name: str) -> Path:
    """The repository file the server serves at /``name``."""
    return STATIC / name if name in COMPONENT_FILES else REPO / name


def build(folder: Path, with_model: bool) -> Path:
    """Lay the package out in ``folder``; returns it."""
    for name in [*component_modules(), "mien.d.ts", *DATA_FILES]:
        copy(served_path(name), folder / name)
    for package in COMPONENT_VENDOR:
        source = VENDOR_DIR / VENDOR_FILES[package][0]
        for name in VENDOR_FILES[package][1]:
            copy(source / name, folder / "vendor" / package / name)
        npm_package, _ = package_of(VENDOR_FILES[package][0])
        for licence in (VENDOR_DIR / npm_package).glob("LICEN[CS]E*"):
            copy(licence, folder / "vendor" / package / licence.name)
    if with_model:
        shutil.copytree(STATIC / "model", folder / "models" / "model")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    (folder / "package.json").write_text(json.dumps({
        "name": NAME,
        "version": version,
        "description": "Facial expressions found and read in any web page, on the visitor's own device (TF.js in a worker).",
        "license": "MIT",
        "type": "module",
        "main": "./mien.js",
        "types": "./mien.d.ts",
        "exports": {
            ".": {"types": "./mien.d.ts", "default": "./mien.js"},
            "./camera": {"types": "./mien.d.ts", "default": "./mien-camera.js"},
            "./package.json": "./package.json",
        },
        "sideEffects": ["./mien-camera.js"],
    }, indent=2) + "\n")
    copy(Path(__file__).with_name("package-readme.md"), folder / "README.md")
    return folder


def copy(source: Path, target: Path) -> None:
    if not source.is_file():
        sys.exit(f"error: {source} is missing; run python -m web.vendor (make serve does) and try again.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m web.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-model", action="store_true", help="put the default model (static/model) inside too")
    parser.add_argument("--out", type=Path, default=DIST, help=f"folder for the .tgz (default: {DIST.relative_to(REPO)})")
    args = parser.parse_args(argv)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("error: npm is needed to pack the component; install Node.js and npm.")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = build(Path(scratch) / "mien", args.with_model)
        result = subprocess.run([npm, "pack", "--pack-destination", str(args.out.resolve()), "--json"], cwd=folder,
                                capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: npm pack failed ({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'no reason given'}).")
    (packed,) = json.loads(result.stdout)
    tarball = args.out / packed["filename"]
    print(f"{tarball} ({packed['size'] / 1e6:.1f} MB, {packed['entryCount']} files{', with the default model' if args.with_model else ''})")
    return tarball


if __name__ == "__main__":
    main()
