"""Headless Chromium (Debian's package), driven by Playwright, for the benchmarks and the tests:
launching it, a fake webcam playing a clip, and calling a benchmark page's functions."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import cv2

CHROMIUM = "/usr/bin/chromium"
# Headless as root, no background traffic. Playwright never downloads a browser: it drives this one.
FLAGS = [
    "--headless=new", "--no-sandbox", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--ignore-gpu-blocklist",
]
# WebGL through SwiftShader (a software renderer), for machines without a GPU.
SOFTWARE_GPU_FLAGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
# The machine's GPU on Linux with NVIDIA's driver, headless: ANGLE over Vulkan for WebGL, and WebGPU.
GPU_FLAGS = ["--enable-gpu", "--use-angle=vulkan", "--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan",
             "--enable-unsafe-webgpu", "--disable-vulkan-surface"]


def write_camera_clip(path: Path, frames) -> Path:
    """A y4m clip for Chromium's fake webcam, which loops it: one second of one BGR frame, or the
    given list of frames at 30 per second. Needs ffmpeg."""
    if not isinstance(frames, list):
        frames = [frames] * 30
    folder = path.with_suffix("")
    folder.mkdir(exist_ok=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:04d}.png"), frame)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-framerate", "30", "-i", str(folder / "%04d.png"),
                    "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(path)], check=True)
    return path


def camera_flags(clip: Path | None, allow: bool = True) -> list[str]:
    """Flags for a fake webcam playing ``clip`` (a y4m file), and whether access is granted."""
    flags = ["--use-fake-device-for-media-stream"]
    if clip:
        flags.append(f"--use-file-for-fake-video-capture={Path(clip).resolve()}")
    if allow:
        flags.append("--use-fake-ui-for-media-stream")
    return flags


@contextmanager
def chromium(playwright, *extra_flags: str, gpu: bool = False):
    """A Chromium launched by ``playwright`` (Playwright's sync API allows one instance per
    thread, so callers share theirs) with our flags and ``extra_flags``; WebGL in software, unless
    ``gpu`` (then ``extra_flags`` bring GPU_FLAGS)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium is not installed at {CHROMIUM}; install Debian's chromium package.")
    flags = [*FLAGS, *([] if gpu else SOFTWARE_GPU_FLAGS), *extra_flags]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        yield browser
    finally:
        browser.close()


def run_in_page(browser, url: str, call: str, *args, timeout_s: float = 1800):
    """Open ``url`` and await ``window.bench.<call>(*args)`` there."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(timeout_s * 1000)
    page.goto(url)
    page.wait_for_function("() => window.bench !== undefined")
    try:
        return page.evaluate(f"(args) => window.bench.{call}(...args)", list(args))
    finally:
        page.close()
        if errors:
            print(f"warning: {url}: {errors[0]}", file=sys.stderr)
