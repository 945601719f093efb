"""Image and mask reading/writing that works with non-ASCII (e.g. Japanese) paths.

OpenCV's ``imread``/``imwrite`` fail on non-ASCII paths on Windows, so bytes go through numpy/pathlib and
``cv2.imdecode``/``cv2.imencode``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamacho_core.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "is_image_file", "read_image", "read_mask", "to_rgb_uint8", "write_image",
           "image_size"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_file(path: str | Path) -> bool:
    """True when the file name has a supported image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _decode(path: str | Path) -> np.ndarray:
    try:
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise DataError(f"cannot decode {path}: not an image or damaged file")
    return image


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
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


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
