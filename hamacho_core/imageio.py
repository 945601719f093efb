"""Image and mask reading/writing that works with non-ASCII (e.g. Japanese) paths.

OpenCV's ``imread``/``imwrite`` fail on non-ASCII paths on Windows, so bytes go through numpy/pathlib and
``cv2.imdecode``/``cv2.imencode``. Before any decode, the file's size and its header's pixel count are checked
against :class:`hamacho_core.limits.Limits` (a header claiming 40,000 x 40,000 px is refused without allocating).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamacho_core.errors import DataError
from hamacho_core.limits import Limits, PictureError, check_picture_bytes, opencv_guard

__all__ = ["IMAGE_EXTENSIONS", "decode_bytes", "is_image_file", "read_image", "read_mask", "read_raw", "to_rgb_uint8",
           "write_image", "image_size"]

opencv_guard()  # OpenCV's own pixel limit as a second guard, for formats whose header is not parsed here

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_file(path: str | Path) -> bool:
    """True when the file name has a supported image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def decode_bytes(data: bytes, path: str | Path | None = None, limits: Limits | None = None) -> np.ndarray:
    """Decode a picture's bytes (any depth and channel count) after the size and header checks.

    Raises:
        PictureError: empty, above a limit (LimitError), or not decodable.
    """
    check_picture_bytes(data, path, limits)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # OpenCV's own limits and decoder failures
        reason = str(error).strip().splitlines()[-1][:200]
        raise PictureError(f"cannot decode: {reason}", path) from None
    if image is None or image.size == 0:
        raise PictureError("cannot decode: not an image or damaged file", path)
    return image


def _decode(path: str | Path, limits: Limits | None = None) -> np.ndarray:
    limits = limits or Limits.from_env()
    try:
        limits.check_bytes(Path(path).stat().st_size, path)
        data = Path(path).read_bytes()
    except OSError as error:
        raise PictureError(f"cannot read: {error.strerror or error}", path) from error
    return decode_bytes(data, path, limits)


def read_raw(path: str | Path) -> np.ndarray:
    """Decode a picture file as stored (any depth, gray / BGR / BGRA), after the size and header checks.

    Raises:
        PictureError: unreadable, empty, above a limit, or not decodable.
    """
    return _decode(path)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257.0).round().astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        scale = 255.0 if image.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(image * scale, 0, 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """Read any supported image as RGB uint8.

    Args:
        path: image file (PNG, JPEG, BMP, TIFF, WebP; 8/16-bit; gray, RGB or RGBA).

    Returns:
        (H, W, 3) uint8 RGB array.

    Raises:
        DataError: unreadable or undecodable file.
    """
    return to_rgb_uint8(_decode(path))


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """A decoded OpenCV image (8/16-bit or float; gray, BGR or BGRA) as (H, W, 3) uint8 RGB."""
    image = _to_uint8(image)
    if image.ndim == 3 and image.shape[2] < 3:  # gray (+ alpha): keep the gray plane
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[:, :, 2::-1])  # BGR(A) -> RGB


def read_mask(path: str | Path) -> np.ndarray:
    """Read a defect mask; any non-zero pixel is defect.

    Returns:
        (H, W) bool array.
    """
    mask = _decode(path)
    if mask.ndim == 3:
        mask = mask[:, :, :3].max(axis=2) if mask.shape[2] >= 3 else mask[:, :, 0]
    return mask > 0


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file, decoding it."""
    return _decode(path).shape[:2]


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB (H, W, 3) or gray (H, W) uint8 image; the format follows the extension (default PNG)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    suffix = path.suffix.lower() if path.suffix.lower() in IMAGE_EXTENSIONS else ".png"
    ok, encoded = cv2.imencode(suffix, image)
    if not ok:
        raise DataError(f"cannot encode image for {path}")
    path.write_bytes(encoded.tobytes())
