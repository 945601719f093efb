"""Input geometry and image batches.

The input shape is chosen once per dataset from the training images:

* ``square``: every image squashed to ``image_size`` x ``image_size`` (the old tool's behaviour).
* ``keep-aspect`` (default): the long side goes to the target size, the short side to the nearest multiple of
  the backbone stride at the dataset's median aspect ratio; never upsampled beyond the native resolution.

Anomaly maps are computed at the input shape and resized back to each original image for every output.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from hamacho_core.errors import ConfigError
from hamacho_core.imageio import read_image

__all__ = [
    "AUTO_MAX_SIDE",
    "RESIZE_MODES",
    "InputShape",
    "ImageSource",
    "batches",
    "choose_input_shape",
    "to_tensor",
]

RESIZE_MODES = ("keep-aspect", "square")
AUTO_MAX_SIDE = 512  # automatic target for the long side
MIN_SIDE = 64
MAX_SIDE = 2048

ImageSource = str | Path | np.ndarray  # a file, or an RGB (H, W, 3) uint8 array


@dataclass(frozen=True)
class InputShape:
    """Model input size in pixels, with the reason it was chosen (shown to the user)."""

    height: int
    width: int
    reason: str = ""

    def as_tuple(self) -> tuple[int, int]:
        return self.height, self.width


def _round_to(value: float, stride: int, *, down: bool = False) -> int:
    steps = int(value // stride) if down else int(round(value / stride))
    return max(stride, steps * stride)


def choose_input_shape(
    sizes: Sequence[tuple[int, int]], image_size: int | None = None, resize: str = "keep-aspect", stride: int = 32
) -> InputShape:
    """Pick the one input shape used for a whole dataset.

    Args:
        sizes: (height, width) of the training images.
        image_size: target side (square) or long side (keep-aspect); None = automatic.
        resize: "keep-aspect" or "square".
        stride: the backbone's largest reduction; both sides become multiples of it.

    Returns:
        The :class:`InputShape`.

    Raises:
        ConfigError: unknown mode or a size out of range.
    """
    if resize not in RESIZE_MODES:
        raise ConfigError(f"unknown resize mode {resize!r}: use one of {', '.join(RESIZE_MODES)}")
    if image_size is not None and not MIN_SIDE <= image_size <= MAX_SIDE:
        raise ConfigError(f"--image-size must be between {MIN_SIDE} and {MAX_SIDE}, got {image_size}")
    if not sizes:
        raise ConfigError("no training image to choose an input size from")
    heights = np.array([h for h, _ in sizes], dtype=float)
    widths = np.array([w for _, w in sizes], dtype=float)
    native_long = float(np.median(np.maximum(heights, widths)))
    if resize == "square":
        side = _round_to(image_size or 256, stride)
        return InputShape(side, side, f"square {side} x {side}" + (" (default)" if image_size is None else ""))
    target = image_size or AUTO_MAX_SIDE
    long_side = _round_to(min(target, native_long), stride, down=True)
    aspect = float(np.median(heights / widths))  # height / width
    if aspect <= 1.0:
        height, width = _round_to(long_side * aspect, stride), long_side
    else:
        height, width = long_side, _round_to(long_side / aspect, stride)
    asked = f"auto: up to {AUTO_MAX_SIDE}" if image_size is None else f"requested {target}"
    why = (f"long side {long_side} px ({asked}"
           f", median native long side {native_long:.0f} px, never upsampled), median aspect h/w {aspect:.2f}, "
           f"sides rounded to multiples of {stride}")
    return InputShape(height, width, why)


def to_tensor(image: np.ndarray, shape: InputShape, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Resize an RGB uint8 image to ``shape`` and normalize.

    Returns:
        (3, H, W) float32 tensor.
    """
    interpolation = cv2.INTER_AREA if image.shape[0] > shape.height else cv2.INTER_LINEAR
    resized = cv2.resize(image, (shape.width, shape.height), interpolation=interpolation)
    array = (resized.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _load(source: ImageSource) -> np.ndarray:
    return source if isinstance(source, np.ndarray) else read_image(source)


def batches(
    sources: Sequence[ImageSource],
    shape: InputShape,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    n_threads: int = 2,
) -> Iterator[tuple[torch.Tensor, list[tuple[int, int]]]]:
    """Decode, resize and normalize images in a thread pool, one batch ahead of the consumer.

    Yields:
        (images (B, 3, H, W) float32, original (height, width) of each image).
    """
    def prepare(chunk: Sequence[ImageSource]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        images = list(pool.map(_load, chunk))
        tensors = list(pool.map(lambda im: to_tensor(im, shape, mean, std), images))
        return torch.stack(tensors), [im.shape[:2] for im in images]

    chunks = [sources[i:i + batch_size] for i in range(0, len(sources), batch_size)]
    with ThreadPoolExecutor(max(1, n_threads)) as pool, ThreadPoolExecutor(1) as ahead:
        pending = ahead.submit(prepare, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            batch = pending.result()
            pending = ahead.submit(prepare, chunks[index + 1]) if index + 1 < len(chunks) else None
            yield batch
