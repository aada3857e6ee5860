"""The one reader of photos for collect, detect and personalise.

A photo is read with Python (any file name the system gives, UTF-8 or not), its size is read from
its header before anything is decoded, and one of more than ``MAX_PIXELS`` is refused, never
decoded whole; only then does OpenCV decode it, from the bytes. Whatever goes wrong is an
``UnreadableImage`` whose message says why in a few words, so the caller names the file and goes on.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import UserError

# Pixels a photo may have: 50 megapixels (8660 x 5773), 150 MB decoded in colour; a camera's
# photos have fewer, a "decompression bomb" (a small file of 30000 x 30000) many more.
MAX_PIXELS = 50_000_000
FORMATS = "JPEG, PNG, BMP, WebP, TIFF, GIF or PGM/PPM"
JPEG_REDUCTIONS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


class UnreadableImage(UserError):
    """Why one photo cannot be read (a few words); the caller names the file and goes on."""


def shown(path: Path | str) -> str:
    """``path`` as text that can be printed or written to a CSV, whatever bytes its name holds
    (a byte that is no UTF-8 is shown as \\xff)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from the header of an encoded image; None for a format not known here."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return ("PNG", *struct.unpack(">II", data[16:24]))
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return ("GIF", *struct.unpack("<HH", data[6:10]))
        if data.startswith(b"BM"):
            if struct.unpack("<I", data[14:18])[0] == 12:  # the old OS/2 header
                return ("BMP", *struct.unpack("<HH", data[18:22]))
            width, height = struct.unpack("<ii", data[18:26])
            return ("BMP", abs(width), abs(height))
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
        if data[:1] == b"P" and data[1:2] in b"123456" and data[1:2]:
            return _pnm_size(data)
    except (struct.error, IndexError, ValueError):
        raise UnreadableImage("its header is cut short or damaged") from None
    return None


def _webp_size(data: bytes) -> tuple[str, int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return "WebP", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return "WebP", int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ValueError(chunk)


def _jpeg_size(data: bytes) -> tuple[str, int, int]:
    index = 2
    while True:
        while data[index] != 0xFF:  # bytes between segments are skipped, as decoders do
            index += 1
        while data[index] == 0xFF:
            index += 1
        marker = data[index]
        index += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            height, width = struct.unpack(">HH", data[index + 3:index + 7])
            return "JPEG", width, height
        if marker == 0xD9:
            raise ValueError("no frame")
        index += struct.unpack(">H", data[index:index + 2])[0]


def _tiff_size(data: bytes) -> tuple[str, int, int]:
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    found = {}
    for entry in range(struct.unpack(order + "H", data[offset:offset + 2])[0]):
        tag, kind, _, value = struct.unpack(order + "HHI4s", data[offset + 2 + 12 * entry:offset + 14 + 12 * entry])
        if tag in (256, 257):
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), value[:2 if kind == 3 else 4])[0]
    return "TIFF", found[256], found[257]


def _pnm_size(data: bytes) -> tuple[str, int, int]:
    numbers = []
    for line in data[2:200].split(b"\n"):
        numbers += line.split(b"#")[0].split()
        if len(numbers) >= 2:
            return "PGM/PPM", int(numbers[0]), int(numbers[1])
    raise ValueError("no size")


def read_image(path: Path | str, max_pixels: int = MAX_PIXELS, shrink: bool = False) -> np.ndarray:
    """The photo at ``path`` as a BGR array, turned as its EXIF data says; one of more than
    ``max_pixels`` is refused, or, with ``shrink`` and where it is a JPEG, decoded at a half, a
    quarter or an eighth of its size. An UnreadableImage says why a photo cannot be read."""
    try:
        if os.stat(path).st_size > 8 * max_pixels:  # more bytes than any photo of that many pixels needs
            raise UnreadableImage(f"it is larger than any photo of at most {max_pixels:,} pixels")
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise UnreadableImage(f"it cannot be read ({error.strerror or error})") from None
    size = image_size(data)
    if size is None:
        raise UnreadableImage(f"it is no image this tool reads ({FORMATS})")
    kind, width, height = size
    flag = cv2.IMREAD_COLOR
    if width * height > max_pixels:
        reduction = next((factor for factor in JPEG_REDUCTIONS if width * height <= max_pixels * factor ** 2), None)
        if not shrink or kind != "JPEG" or reduction is None:
            can = " (--shrink reads a JPEG of up to 64 times as many at an eighth of its size)" if kind == "JPEG" and not shrink else ""
            raise UnreadableImage(f"it is {width} x {height} pixels, more than the {max_pixels:,} this tool reads{can}; "
                                  "make it smaller first")
        flag = JPEG_REDUCTIONS[reduction]
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error:
        image = None
    if image is None:
        raise UnreadableImage(f"it is not a readable {kind} image (damaged, or cut short)")
    return image
