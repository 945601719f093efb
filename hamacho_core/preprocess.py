"""Input geometry and image batches.

The input shape is chosen once per dataset from the training images:

* ``square``: every image squashed to ``image_size`` x ``image_size`` (the old tool's behaviour).
* ``keep-aspect`` (default): the long side goes to the target size, the short side to the nearest multiple of
  the backbone stride at the dataset's median aspect ratio; never upsampled beyond the native resolution. When the
  pictures have no common aspect (10th and 90th percentile aspects more than ``MIXED_ASPECT_SPREAD`` apart), a
  square of the same pixel count instead: one shape would distort most of them either way.

With tiling (``hamacho_core.tiling``), the input shape is a larger *canvas* cut into a grid of model-sized tiles.
Anomaly maps are computed at the input shape (the canvas) and resized back to each original image for every output.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from hamacho_core.choices import MAX_SIDE, MIN_SIDE, RESIZE_MODES
from hamacho_core.errors import ConfigError
from hamacho_core.imageio import read_image
from hamacho_core.tiling import (
    AUTO_TILE_FACTOR,
    DEFAULT_MAX_TILES,
    DEFAULT_TILE_OVERLAP,
    TileGrid,
    check_tiling_options,
    choose_tile_grid,
)

__all__ = [
    "AUTO_MAX_SIDE",
    "RESIZE_MODES",
    "SHAPE_REASONS",
    "ImageSource",
    "InputShape",
    "ShapeReason",
    "batches",
    "choose_input_shape",
    "normalized_array",
]

AUTO_MAX_SIDE = 512  # automatic target for the long side
MIXED_ASPECT_SPREAD = 2.0  # keep-aspect gives way to a square when the 10th-90th percentile aspects differ more

ImageSource = str | Path | np.ndarray  # a file, or an RGB (H, W, 3) uint8 array


_TILES = ("median native size {native_h:.0f} x {native_w:.0f} px scaled to a {canvas_h} x {canvas_w} canvas (never "
          "upsampled), cut into {rows} x {cols} overlapping tiles of {tile_h} x {tile_w} (at most {max_tiles} tiles)")
_KEEP = ("median native long side {native_long:.0f} px, never upsampled), median aspect h/w {aspect:.2f}, sides "
         "rounded to multiples of {stride}")
SHAPE_REASONS: dict[str, str] = {  # reason code -> its English text (str.format of ShapeReason.values)
    "tiles_on": "tiling on; " + _TILES,
    "tiles_auto": "auto tiling: median native long side {native_long:.0f} px > {factor} x {tile_side}; " + _TILES,
    "square": "square {side} x {side}",
    "square_default": "square {side} x {side} (default)",
    "keep_aspect_auto": "long side {long_side} px (auto: up to {auto_max}, " + _KEEP,
    "keep_aspect_requested": "long side {long_side} px (requested {target}, " + _KEEP,
    "mixed_aspect": "mixed aspect ratios (h/w {low:.2f} to {high:.2f} across the middle 80% of the pictures, over "
                    "{spread:g}x apart): a square with the pixels of {height} x {width}, the shape keep-aspect would "
                    "give ({inner})",
    "given": "given",  # a shape passed in by the caller
    "exported": "exported",  # the shape an exported model was built for
    "recorded": "{text}",  # a run saved before reason codes: its English text
}


@dataclass(frozen=True)
class ShapeReason:
    """Why an input shape was chosen: a code of :data:`SHAPE_REASONS`, its numbers, and the reason it builds on.

    The CLI, the API and the run files use :meth:`text` (English); the app words the code in its own languages.
    """

    code: str
    values: dict[str, float | int | str] = field(default_factory=dict, hash=False)
    inner: ShapeReason | None = None  # mixed_aspect: the keep-aspect reason it replaces

    def text(self) -> str:
        """The reason in English, e.g. ``square 256 x 256 (default)``."""
        inner = {"inner": self.inner.text()} if self.inner else {}
        return SHAPE_REASONS[self.code].format(**self.values, **inner)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "values": dict(self.values),
                **({"inner": self.inner.to_dict()} if self.inner else {})}

    @classmethod
    def from_dict(cls, data: dict) -> ShapeReason:
        inner = data.get("inner")
        return cls(str(data["code"]), dict(data.get("values") or {}), cls.from_dict(inner) if inner else None)


@dataclass(frozen=True)
class InputShape:
    """Input size in pixels (the whole image, or the canvas cut into ``tiles``), with the reason it was chosen."""

    height: int
    width: int
    why: ShapeReason | None = None
    tiles: TileGrid | None = None  # None: the whole image is one model input

    @property
    def reason(self) -> str:
        """Why this shape, in English (empty when not known)."""
        return self.why.text() if self.why else ""

    def as_tuple(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def model_input(self) -> tuple[int, int]:
        """(height, width) of one forward pass: a tile, or the whole image."""
        return self.tiles.tile if self.tiles else self.as_tuple()

    @property
    def n_tiles(self) -> int:
        return self.tiles.count if self.tiles else 1

    def patches(self, reduction: int = 8) -> int:
        """Feature-map positions per image at ``reduction`` (all tiles together)."""
        height, width = self.model_input
        return self.n_tiles * -(-height // reduction) * -(-width // reduction)

    def describe(self) -> str:
        """Short form for logs and the UI, e.g. ``352 x 288`` or ``480 x 4000 in 9 tiles of 480 x 512``."""
        text = f"{self.height} x {self.width}"
        if self.tiles:
            text += f" in {self.tiles.count} tiles ({self.tiles.rows} x {self.tiles.cols}) of " \
                    f"{self.tiles.tile[0]} x {self.tiles.tile[1]}"
        return text


def _round_to(value: float, stride: int, *, down: bool = False) -> int:
    steps = int(value // stride) if down else int(round(value / stride))
    return max(stride, steps * stride)


def choose_input_shape(
    sizes: Sequence[tuple[int, int]], image_size: int | None = None, resize: str = "keep-aspect", stride: int = 32,
    tiling: str = "auto", max_tiles: int = DEFAULT_MAX_TILES, tile_overlap: float = DEFAULT_TILE_OVERLAP,
) -> InputShape:
    """Pick the one input shape used for a whole dataset.

    Args:
        sizes: (height, width) of the training images.
        image_size: target side (square) or long side (keep-aspect); the tile side when tiling; None = automatic.
        resize: "keep-aspect" or "square".
        stride: the backbone's largest reduction; both sides become multiples of it.
        tiling: "auto" (keep-aspect only: tile when the native long side is more than AUTO_TILE_FACTOR target
            sides), "on" (tile whenever the images are larger than one tile) or "off".
        max_tiles: most tiles per image (the cost bound).
        tile_overlap: least share of a tile's side overlapping its neighbour.

    Returns:
        The :class:`InputShape`.

    Raises:
        ConfigError: unknown mode or a size out of range.
    """
    if resize not in RESIZE_MODES:
        raise ConfigError(f"unknown resize mode {resize!r}: use one of {', '.join(RESIZE_MODES)}")
    check_tiling_options(tiling, max_tiles, tile_overlap)
    if image_size is not None and not MIN_SIDE <= image_size <= MAX_SIDE:
        raise ConfigError(f"--image-size must be between {MIN_SIDE} and {MAX_SIDE}, got {image_size}")
    if not sizes:
        raise ConfigError("no training image to choose an input size from")
    heights = np.array([h for h, _ in sizes], dtype=float)
    widths = np.array([w for _, w in sizes], dtype=float)
    native_long = float(np.median(np.maximum(heights, widths)))
    aspects = heights / widths
    aspect = float(np.median(aspects))  # height / width
    tile_side = image_size or (AUTO_MAX_SIDE if resize == "keep-aspect" else 256)
    auto_tiles = tiling == "auto" and resize == "keep-aspect" and native_long > AUTO_TILE_FACTOR * tile_side
    if tiling == "on" or auto_tiles:
        native = (native_long, native_long / aspect) if aspect > 1.0 else (native_long * aspect, native_long)
        grid = choose_tile_grid(native, tile_side, stride, max_tiles, tile_overlap)
        if grid.count > 1:
            values: dict[str, float | int | str] = {
                "native_h": float(native[0]), "native_w": float(native[1]), "canvas_h": int(grid.canvas[0]),
                "canvas_w": int(grid.canvas[1]), "rows": int(grid.rows), "cols": int(grid.cols),
                "tile_h": int(grid.tile[0]), "tile_w": int(grid.tile[1]), "max_tiles": int(max_tiles)}
            if tiling == "on":
                why = ShapeReason("tiles_on", values)
            else:
                why = ShapeReason("tiles_auto", {**values, "native_long": native_long, "factor": AUTO_TILE_FACTOR,
                                                 "tile_side": tile_side})
            return InputShape(grid.canvas[0], grid.canvas[1], why, grid)
    if resize == "square":
        side = _round_to(image_size or 256, stride)
        return InputShape(side, side, ShapeReason("square" if image_size is not None else "square_default",
                                                  {"side": side}))
    target = image_size or AUTO_MAX_SIDE
    long_side = _round_to(min(target, native_long), stride, down=True)
    if aspect <= 1.0:
        height, width = _round_to(long_side * aspect, stride), long_side
    else:
        height, width = long_side, _round_to(long_side / aspect, stride)
    kept = {"long_side": long_side, "native_long": native_long, "aspect": aspect, "stride": stride}
    why = (ShapeReason("keep_aspect_auto", {**kept, "auto_max": AUTO_MAX_SIDE}) if image_size is None else
           ShapeReason("keep_aspect_requested", {**kept, "target": target}))
    low, high = np.percentile(aspects, [10, 90])
    if high / low > MIXED_ASPECT_SPREAD:
        # No common aspect to keep: any one shape distorts most pictures, so spend the same pixels on a square.
        side = _round_to(float(np.sqrt(height * width)), stride)
        return InputShape(side, side, ShapeReason("mixed_aspect", {
            "low": float(low), "high": float(high), "spread": MIXED_ASPECT_SPREAD, "height": height, "width": width},
            why))
    return InputShape(height, width, why)


def normalized_array(image: np.ndarray, shape: InputShape, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Resize an RGB uint8 image to ``shape`` and normalize. Returns: (3, H, W) float32, C-contiguous."""
    interpolation = cv2.INTER_AREA if image.shape[0] > shape.height else cv2.INTER_LINEAR
    resized = cv2.resize(image, (shape.width, shape.height), interpolation=interpolation)
    array = (resized.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _load(source: ImageSource) -> np.ndarray:
    return source if isinstance(source, np.ndarray) else read_image(source)


def batches(
    sources: Sequence[ImageSource],
    shape: InputShape,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    n_threads: int = 2,
    decoded: list[np.ndarray] | None = None,
) -> Iterator[tuple[torch.Tensor, list[tuple[int, int]]]]:
    """Decode, resize and normalize images in a thread pool, one batch ahead of the consumer.

    Args:
        decoded: when given, each batch's decoded RGB pictures (H, W, 3) uint8 are appended to it before the batch
            is yielded, so the output writer reuses them instead of decoding the files again.

    Yields:
        (images (B, 3, H, W) float32, original (height, width) of each image).
    """
    def prepare(chunk: Sequence[ImageSource]) -> tuple[torch.Tensor, list[tuple[int, int]], list[np.ndarray]]:
        # NumPy and OpenCV only in these threads: a torch operation here (torch.stack) starts a second OpenMP team
        # that measured 2.4x slower nearest-neighbour search in the main thread on 2 cores.
        images = list(pool.map(_load, chunk))
        arrays = list(pool.map(lambda im: normalized_array(im, shape, mean, std), images))
        return torch.from_numpy(np.stack(arrays)), [im.shape[:2] for im in images], images

    chunks = [sources[i:i + batch_size] for i in range(0, len(sources), batch_size)]
    with ThreadPoolExecutor(max(1, n_threads)) as pool, ThreadPoolExecutor(1) as ahead:
        pending = ahead.submit(prepare, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            tensor, sizes, images = pending.result()
            pending = ahead.submit(prepare, chunks[index + 1]) if index + 1 < len(chunks) else None
            if decoded is not None:
                decoded += images
            del images
            yield tensor, sizes
