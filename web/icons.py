"""python -m web.icons: draw Mien's app icons (a face with a box round it) into page/static/icons/.

Run once; the PNGs are committed, and the web app manifest (page/manifest.webmanifest) and the
page name them. ``icon-192.png`` and ``icon-512.png`` are a rounded tile on a transparent ground;
``icon-maskable-512.png`` fills the square, its face inside the central circle (80% of the side)
that every launcher's mask keeps.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

ICONS = Path(__file__).resolve().parents[1] / "page" / "static" / "icons"
SUPERSAMPLE = 4  # drawn this much larger, then shrunk by area averaging: smooth edges
# BGRA, the page's colours (page/static/css/mien.css): the accent as the ground, the face box's green.
ACCENT = (192, 95, 26, 255)
BOX = (99, 196, 64, 255)
WHITE = (255, 255, 255, 255)
INK = (43, 35, 29, 255)


def draw(side: int, maskable: bool) -> np.ndarray:
    """The icon, ``side`` pixels square."""
    s = side * SUPERSAMPLE
    image = np.zeros((s, s, 4), np.uint8)
    if maskable:
        image[:] = ACCENT
        scale = 0.62  # the glyph within the safe circle
    else:
        radius = int(0.18 * s)
        cv2.rectangle(image, (radius, 0), (s - radius, s), ACCENT, -1)
        cv2.rectangle(image, (0, radius), (s, s - radius), ACCENT, -1)
        for cx in (radius, s - radius):
            for cy in (radius, s - radius):
                cv2.circle(image, (cx, cy), radius, ACCENT, -1, cv2.LINE_AA)
        scale = 0.8

    def at(x: float, y: float) -> tuple[int, int]:  # glyph coordinates (-0.5..0.5) to pixels
        return int(s / 2 + x * scale * s), int(s / 2 + y * scale * s)

    def length(value: float) -> int:
        return max(1, int(value * scale * s))

    # The face: a white disc, two eyes and a smile.
    cv2.circle(image, at(0, 0.02), length(0.33), WHITE, -1, cv2.LINE_AA)
    for x in (-0.12, 0.12):
        cv2.circle(image, at(x, -0.05), length(0.045), INK, -1, cv2.LINE_AA)
    cv2.ellipse(image, at(0, 0.06), (length(0.16), length(0.13)), 0, 20, 160, INK, length(0.04), cv2.LINE_AA)
    # The box the page draws round a face it found: corners only.
    corner, inset, thickness = 0.14, 0.43, length(0.045)
    for sx in (-1, 1):
        for sy in (-1, 1):
            x, y = sx * inset, sy * inset
            cv2.line(image, at(x, y), at(x - sx * corner, y), BOX, thickness, cv2.LINE_AA)
            cv2.line(image, at(x, y), at(x, y - sy * corner), BOX, thickness, cv2.LINE_AA)
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, side, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("icon-maskable-512.png", 512, True)):
        cv2.imwrite(str(ICONS / name), draw(side, maskable), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote page/static/icons/{name}")


if __name__ == "__main__":
    main()
