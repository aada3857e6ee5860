"""Photos that once stopped a run: a PNG bomb and a file name that is no UTF-8."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path


def write_png_bomb(path: Path, side: int = 30000) -> Path:
    """A real PNG of ``side`` x ``side`` white pixels (1-bit grey: about 1 MB for 30000), which
    decoded in colour takes 2.7 GB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(1)
    body = b"".join(packer.compress(row * 1000) for _ in range(side // 1000))
    body += packer.compress(row * (side % 1000)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def not_utf8(folder: Path, name: bytes = b"bad\xffname.png") -> Path:
    """The path of ``name`` (bytes that are no UTF-8) in ``folder``, as os.listdir gives it."""
    return folder / os.fsdecode(name)
