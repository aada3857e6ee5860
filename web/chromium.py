"""Headless Chromium (Debian's package) for the benchmarks and the tests, driven by Playwright."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Headless as root, no background traffic, WebGL through SwiftShader (a software renderer) when
# the machine has no GPU. Playwright never downloads a browser: it drives this one.
FLAGS = [
    "--headless=new", "--no-sandbox", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
]


def write_camera_clip(path: Path, frame_bgr) -> Path:
    """A one-second y4m clip of one frame, for Chromium's fake webcam (which loops it). Needs ffmpeg."""
    import subprocess

    import cv2

    still = path.with_suffix(".png")
    cv2.imwrite(str(still), frame_bgr)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", str(still), "-t", "1", "-r", "30",
                    "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(path)], check=True)
    return path


def camera_flags(clip: Path | None, allow: bool = True) -> list[str]:
    """Flags for a fake webcam playing ``clip`` (a y4m file), and whether access is granted."""
    flags = ["--use-fake-device-for-media-stream"]
    if clip:
        flags.append(f"--use-file-for-fake-video-capture={clip}")
    if allow:
        flags.append("--use-fake-ui-for-media-stream")
    return flags


@contextmanager
def chromium(playwright, *extra_flags: str):
    """A Chromium launched by ``playwright`` (Playwright's sync API allows one instance per
    thread, so callers share theirs) with our flags and ``extra_flags``."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}; install Debian's chromium package.")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *extra_flags])
    try:
        yield browser
    finally:
        browser.close()
