"""A corpus of hostile and odd input files, for the reliability tests and ``bench/reliability.py``.

Each entry is (file name, bytes, what the workbench must do with it). Test support: it lives beside the tests (on
their import path, as ``hostile_inputs``), never in the engine.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["HostileFile", "huge_header_png", "picture_corpus", "png_bytes", "zip_bytes"]


@dataclass(frozen=True)
class HostileFile:
    """One input of the corpus."""

    name: str
    data: bytes
    kind: str  # what it is, for the report table
    expected: str  # "problem" (left out with a reason) or "ok" (used)


def png_bytes(height: int = 32, width: int = 32, value: int = 128, channels: int = 3, dtype: type = np.uint8,
              seed: int | None = None) -> bytes:
    """A small valid PNG (textured when ``seed`` is given)."""
    shape = (height, width) if channels == 1 else (height, width, channels)
    if seed is None:
        array = np.full(shape, value, dtype)
    else:
        high = 65535 if dtype == np.uint16 else 255
        array = np.random.default_rng(seed).integers(0, high, shape, endpoint=True).astype(dtype)
    return cv2.imencode(".png", array)[1].tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_header_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid-looking PNG whose header claims ``width x height`` px (8-bit RGB) with one tiny data chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + _chunk(b"IEND", b""))


def _jpeg(height: int = 48, width: int = 48) -> bytes:
    array = np.random.default_rng(3).integers(0, 255, (height, width, 3), endpoint=True).astype(np.uint8)
    return cv2.imencode(".jpg", array)[1].tobytes()


def _cmyk_jpeg() -> bytes:
    """A frame header announcing 4 components (as CMYK JPEGs do) over a 3-component stream: OpenCV writes no CMYK,
    so this stands in for one; it must be read or refused, never crash."""
    data = bytearray(_jpeg())
    index = data.find(b"\xff\xc0")
    if index > 0:
        data[index + 9] = 4  # components
    return bytes(data)


def picture_corpus() -> list[HostileFile]:
    """Pictures a user or an attacker may drop among good ones."""
    jpeg = _jpeg()
    return [
        HostileFile("huge_header.png", huge_header_png(), "PNG header claiming 40,000 x 40,000 px", "problem"),
        HostileFile("huge_header_jpeg.jpg", _jpeg_with_size(jpeg, 60_000, 60_000),
                    "JPEG frame header claiming 60,000 x 60,000 px", "problem"),
        HostileFile("truncated.jpg", jpeg[: len(jpeg) // 3], "JPEG truncated to a third", "problem-or-ok"),
        HostileFile("zero.png", b"", "zero bytes", "problem"),
        HostileFile("text.png", b"this is not a picture\n" * 4, "text file named .png", "problem"),
        HostileFile("sixteen_bit.png", png_bytes(32, 32, seed=4, dtype=np.uint16), "16-bit PNG", "ok"),
        HostileFile("rgba.png", png_bytes(32, 32, channels=4, seed=6), "RGBA PNG", "ok"),
        HostileFile("cmyk.jpg", _cmyk_jpeg(), "JPEG with a 4-component (CMYK-like) frame", "problem-or-ok"),
        HostileFile("日本語の名前.png", png_bytes(32, 32, seed=5), "Japanese file name", "ok"),
        HostileFile("one_pixel.png", png_bytes(1, 1), "1 x 1 px PNG", "ok"),
        HostileFile("bmp_huge.bmp", _bmp_header(50_000, 50_000), "BMP header claiming 50,000 x 50,000 px", "problem"),
        HostileFile("tiff_huge.tif", _tiff_header(70_000, 70_000), "TIFF header claiming 70,000 x 70,000 px",
                    "problem"),
    ]


def _jpeg_with_size(data: bytes, height: int, width: int) -> bytes:
    out = bytearray(data)
    index = out.find(b"\xff\xc0")
    out[index + 5:index + 9] = struct.pack(">HH", height, width)
    return bytes(out)


def _bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + info + b"\x00" * 64


def _tiff_header(width: int, height: int) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16)]
    body = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\x00" * 4
    return b"II*\x00" + struct.pack("<I", 8 + 16) + b"\x00" * 16 + body


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive holding ``members`` (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
