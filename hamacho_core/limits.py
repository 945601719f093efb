"""Input limits, read from environment variables, and the picture-header check done before any decode.

Every door (CLI loading, app uploads, ZIP and folder imports, the API) uses the same :class:`Limits`::

    from hamacho_core.limits import Limits, check_picture_bytes
    limits = Limits.from_env()                  # HAMACHO_MAX_* variables, defaults below
    check_picture_bytes(data, "a.png", limits)  # raises LimitError before anything is decoded

========================== ==================== ===============================================================
variable                   default              what it bounds
========================== ==================== ===============================================================
HAMACHO_MAX_IMAGE_PIXELS   250,000,000          width x height of one picture (read from its header)
HAMACHO_MAX_UPLOAD_BYTES   2 GiB                one uploaded file or ZIP, and one picture file
HAMACHO_MAX_ZIP_MEMBERS    20,000               files in one ZIP
HAMACHO_MAX_ZIP_BYTES      4 GiB                unpacked size of one ZIP
HAMACHO_MAX_PROJECT_IMAGES 50,000               pictures in one dataset (project or CLI dataset)
========================== ==================== ===============================================================

Values are whole numbers; ``_`` separators and the suffixes K, M, G (powers of 1000) are accepted
(``HAMACHO_MAX_IMAGE_PIXELS=400M``). The pixel header is parsed here for PNG, JPEG, BMP, TIFF and WebP in a few
lines each; OpenCV's own ``CV_IO_MAX_IMAGE_PIXELS`` is set to the same limit as a second guard for other formats.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from hamacho_core.errors import ConfigError, DataError

__all__ = [
    "ENV_PREFIX",
    "LimitError",
    "Limits",
    "PictureError",
    "check_picture_bytes",
    "env_count",
    "human_count",
    "picture_header_size",
]

ENV_PREFIX = "HAMACHO_"
_HEADER_BYTES = 1 << 18  # enough for the headers of every format parsed here, EXIF included in most JPEGs


class PictureError(DataError):
    """A picture cannot be used; ``reason`` is the message without the path (for a Problem row)."""

    def __init__(self, reason: str, path: str | Path | None = None) -> None:
        self.reason = reason
        self.path = None if path is None else str(path)
        super().__init__(reason if path is None else f"{path}: {reason}")


class LimitError(PictureError):
    """An input is above a configured limit (the message names the variable that sets it)."""


def human_count(value: float, unit: str = "") -> str:
    """``1.6 G``, ``250 M``, ``20 k`` (powers of 1000); bytes use ``unit="B"`` and powers of 1024."""
    base, prefixes = (1024.0, ["", "Ki", "Mi", "Gi", "Ti"]) if unit == "B" else (1000.0, ["", "k", "M", "G", "T"])
    for prefix in prefixes:
        if abs(value) < base or prefix == prefixes[-1]:
            text = f"{value:.1f}".removesuffix(".0") if prefix else f"{value:.0f}"
            return f"{text} {prefix}{unit}".rstrip()
        value /= base
    return str(value)  # pragma: no cover


def _parse_count(name: str, text: str) -> int:
    cleaned = text.strip().replace("_", "").replace(",", "").upper()
    factor = {"K": 1000, "M": 1000**2, "G": 1000**3}.get(cleaned[-1:], 1)
    try:
        value = int(float(cleaned[:-1] if factor > 1 else cleaned) * factor)
    except ValueError:
        value = -1
    if value < 1:
        raise ConfigError(f"{name}={text!r} is not a positive whole number: set it like 250000000 or 250M")
    return value


def env_count(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """A positive whole number from environment variable ``name`` (``K``/``M``/``G`` suffixes), else ``default``.

    Raises:
        ConfigError: a value that is not a positive whole number.
    """
    text = (os.environ if environ is None else environ).get(name, "").strip()
    return _parse_count(name, text) if text else default


@dataclass(frozen=True)
class Limits:
    """Bounds checked at every door (upload, import, CLI load, API), before decoding or unpacking."""

    max_image_pixels: int = 250_000_000  # width x height of one picture
    max_upload_bytes: int = 2 * 1024**3  # one uploaded file or ZIP, and one picture file
    max_zip_members: int = 20_000  # files in one ZIP
    max_zip_bytes: int = 4 * 1024**3  # unpacked bytes of one ZIP
    max_project_images: int = 50_000  # pictures in one dataset

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits set by ``HAMACHO_MAX_*`` variables (see the module docstring), defaults elsewhere.

        Raises:
            ConfigError: a variable that is not a positive whole number.
        """
        defaults = cls()
        return cls(**{item.name: env_count(ENV_PREFIX + item.name.upper(), getattr(defaults, item.name), environ)
                      for item in fields(cls)})

    def describe(self) -> dict[str, str]:
        """Variable name -> readable value, for documentation and error pages."""
        return {ENV_PREFIX + f.name.upper(): (human_count(getattr(self, f.name), "B") if "bytes" in f.name
                                              else f"{getattr(self, f.name):,}") for f in fields(self)}

    def check_pixels(self, height: int, width: int, path: str | Path | None = None) -> None:
        """Raises LimitError when ``height * width`` is above ``max_image_pixels`` (or a side is not positive)."""
        if height <= 0 or width <= 0:
            raise LimitError(f"the picture header gives an impossible size {width} x {height}", path)
        if height * width > self.max_image_pixels:
            raise LimitError(f"too many pixels: {human_count(height * width)} ({width} x {height}), limit "
                             f"{human_count(self.max_image_pixels)} (HAMACHO_MAX_IMAGE_PIXELS)", path)

    def check_bytes(self, size: int, path: str | Path | None = None) -> None:
        """Raises LimitError when one file is larger than ``max_upload_bytes``."""
        if size > self.max_upload_bytes:
            raise LimitError(f"file too large: {human_count(size, 'B')}, limit "
                             f"{human_count(self.max_upload_bytes, 'B')} (HAMACHO_MAX_UPLOAD_BYTES)", path)

    def check_image_count(self, count: int, where: str | Path) -> None:
        """Raises LimitError when a dataset holds more pictures than ``max_project_images``."""
        if count > self.max_project_images:
            raise LimitError(f"{where} holds {count:,} pictures, above the limit of {self.max_project_images:,} "
                             "(HAMACHO_MAX_PROJECT_IMAGES): use fewer pictures or raise the limit")


# ------------------------------------------------------------------------------------------ picture headers
def _png(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return height, width
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame (SOFn: length, precision, height, width)."""
    if data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # stand-alone markers
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        if marker in _SOF and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return height, width
        if length < 2:
            return None
        position += 2 + length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return abs(height), width


def _tiff(data: bytes) -> tuple[int, int] | None:
    """First IFD's ImageWidth (256) and ImageLength (257); BigTIFF is left to OpenCV's own guard."""
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None or len(data) < 8:
        return None
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        return None
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for index in range(min(count, 512)):
        start = offset + 2 + 12 * index
        if start + 12 > len(data):
            break
        tag, kind = struct.unpack(order + "HH", data[start:start + 4])
        if tag in (256, 257):
            value_format = order + ("H" if kind == 3 else "I")
            (found[tag],) = struct.unpack(value_format, data[start + 8:start + 8 + struct.calcsize(value_format)])
    if 256 in found and 257 in found:
        return found[257], found[256]
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return height, width
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return ((bits >> 14) & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return height & 0x3FFF, width & 0x3FFF
    return None


def picture_header_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a picture's first bytes (PNG, JPEG, BMP, TIFF, WebP), or None when not recognised.

    Nothing is decoded: only the header fields are read, so a header claiming 40,000 x 40,000 px costs nothing.
    """
    for parse in (_png, _jpeg, _bmp, _tiff, _webp):
        try:
            size = parse(data)
        except struct.error:
            size = None
        if size is not None:
            return size
    return None


def check_picture_bytes(data: bytes, path: str | Path | None = None, limits: Limits | None = None) -> None:
    """Check a picture's size in bytes and, from its header, in pixels; decodes nothing.

    A header this module does not know passes (OpenCV's own limit guards the decode then).

    Raises:
        LimitError: empty, too large, or too many pixels.
    """
    limits = limits or Limits.from_env()
    if not data:
        raise LimitError("empty file (0 bytes)", path)
    limits.check_bytes(len(data), path)
    size = picture_header_size(data[:_HEADER_BYTES])
    if size is not None:
        limits.check_pixels(*size, path)


def opencv_guard(limits: Limits | None = None) -> None:
    """Set OpenCV's ``CV_IO_MAX_IMAGE_PIXELS`` to the pixel limit (second guard; only when not set by the user)."""
    limits = limits or Limits.from_env()
    os.environ.setdefault("CV_IO_MAX_IMAGE_PIXELS", str(limits.max_image_pixels))
