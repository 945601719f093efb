"""Tiling of images far larger than the model input (line-scan photos, 12-megapixel cameras).

Without tiling, a 4,000 x 500 px line-scan photo squeezed into a 512 px long side keeps 64 px of its short side:
small defects vanish. With tiling, each image is first scaled to a *canvas* (one size per dataset, never
upsampled), the canvas is cut into a fixed grid of overlapping tiles of the model's input size, every tile goes
through the detector on its own, and the tiles' anomaly maps are stitched back into one canvas-sized map (feathered
averages where tiles overlap). Image score = the highest tile score. The canvas map is then resized to each original
image like any other map, so every output is in full-resolution coordinates.

The grid is the one, among those of at most ``max_tiles`` tiles, that needs the least downscaling of the images'
median native size: the cost per image is bounded by ``max_tiles`` forward passes whatever the native size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hamacho_core.choices import DEFAULT_MAX_TILES, DEFAULT_TILE_OVERLAP, TILING_MODES, check_tiling_options
from hamacho_core.errors import ConfigError

__all__ = ["AUTO_TILE_FACTOR", "DEFAULT_MAX_TILES", "DEFAULT_TILE_OVERLAP", "TILING_MODES", "TileGrid",
           "check_tiling_options", "choose_tile_grid", "split_tiles", "stitch_tiles"]

AUTO_TILE_FACTOR = 4  # "auto" tiles when the native long side exceeds this many model input sides


@dataclass(frozen=True)
class TileGrid:
    """A grid of ``rows`` x ``cols`` tiles of ``tile`` (height, width) px spread evenly over ``canvas`` (h, w)."""

    canvas: tuple[int, int]
    tile: tuple[int, int]
    rows: int
    cols: int

    def __post_init__(self) -> None:
        if self.tile[0] > self.canvas[0] or self.tile[1] > self.canvas[1]:
            raise ConfigError(f"tile {self.tile} larger than canvas {self.canvas}: use a smaller --image-size or "
                              "--tiling off")
        if self.rows < 1 or self.cols < 1:
            raise ConfigError("a tile grid needs at least one row and one column: use --max-tiles 1 or more")

    @property
    def count(self) -> int:
        return self.rows * self.cols

    def origins(self) -> list[tuple[int, int]]:
        """Top-left corner (y, x) of each tile on the canvas, row by row."""
        ys = np.round(np.linspace(0, self.canvas[0] - self.tile[0], self.rows)).astype(int)
        xs = np.round(np.linspace(0, self.canvas[1] - self.tile[1], self.cols)).astype(int)
        return [(int(y), int(x)) for y in ys for x in xs]

    def weights(self) -> np.ndarray:
        """(th, tw) blending weights: 1 in the middle, ramping down towards edges shared with another tile."""
        return np.outer(self._ramp(self.tile[0], self.rows, self.canvas[0]),
                        self._ramp(self.tile[1], self.cols, self.canvas[1])).astype(np.float32)

    @staticmethod
    def _ramp(side: int, count: int, length: int) -> np.ndarray:
        if count == 1:
            return np.ones(side)
        overlap = max(1, side - (length - side) // (count - 1))  # smallest overlap between neighbours
        position = np.arange(side, dtype=float)
        edge = np.minimum(position, side - 1 - position) + 1
        return np.clip(edge / (overlap / 2 + 1), 1e-3, 1.0)

    def to_dict(self) -> dict[str, list[int] | int]:
        return {"canvas": list(self.canvas), "tile": list(self.tile), "rows": self.rows, "cols": self.cols}

    @classmethod
    def from_dict(cls, data: dict) -> TileGrid:
        return cls(tuple(data["canvas"]), tuple(data["tile"]), int(data["rows"]), int(data["cols"]))


def _floor_to(value: float, stride: int) -> int:
    return max(stride, int(value + 1e-6) // stride * stride)


def choose_tile_grid(
    native: tuple[float, float], tile_side: int, stride: int = 32, max_tiles: int = DEFAULT_MAX_TILES,
    overlap: float = DEFAULT_TILE_OVERLAP,
) -> TileGrid:
    """The grid of at most ``max_tiles`` tiles that keeps the most of the native resolution.

    Args:
        native: median native (height, width) of the training images.
        tile_side: model input side of one tile (before clipping to a short canvas side).
        stride: the backbone's largest reduction; tile and canvas sides are multiples of it.
        max_tiles: cost bound: forward passes per image.
        overlap: least share of a tile overlapping its neighbour.

    Returns:
        The :class:`TileGrid` (canvas never larger than the native size, up to rounding to the stride).
    """
    height, width = native
    side = max(stride, (int(tile_side) // stride) * stride)
    shared = int(round(side * overlap))
    best: tuple[float, int, int, int] | None = None  # (scale, -count, rows, cols)
    for rows in range(1, max_tiles + 1):
        for cols in range(1, max_tiles // rows + 1):
            cover_h = side + (rows - 1) * (side - shared)
            cover_w = side + (cols - 1) * (side - shared)
            scale = min(1.0, cover_h / height, cover_w / width)
            candidate = (round(scale, 4), -rows * cols, rows, cols)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    scale, _, rows, cols = best
    canvas_h, canvas_w = _floor_to(height * scale, stride), _floor_to(width * scale, stride)
    tile = (min(side, canvas_h), min(side, canvas_w))
    # A side that already fits in fewer tiles (the short side of a line-scan photo) drops the spare ones.
    rows = min(rows, _needed(canvas_h, tile[0], shared))
    cols = min(cols, _needed(canvas_w, tile[1], shared))
    return TileGrid((canvas_h, canvas_w), tile, rows, cols)


def _needed(length: int, side: int, shared: int) -> int:
    if length <= side:
        return 1
    return 1 + -(-(length - side) // max(1, side - shared))


def split_tiles(images: torch.Tensor, grid: TileGrid) -> torch.Tensor:
    """(B, C, H, W) canvases -> (B * count, C, th, tw) tiles, image by image, row by row."""
    th, tw = grid.tile
    tiles = [images[:, :, y:y + th, x:x + tw] for y, x in grid.origins()]
    return torch.stack(tiles, dim=1).flatten(0, 1)


def stitch_tiles(maps: torch.Tensor, grid: TileGrid) -> torch.Tensor:
    """(B * count, th, tw) tile maps -> (B, H, W) canvas maps (feathered average where tiles overlap)."""
    th, tw = grid.tile
    maps = maps.reshape(-1, grid.count, th, tw)
    weights = torch.from_numpy(grid.weights()).to(maps)
    total = torch.zeros((maps.shape[0], *grid.canvas), dtype=maps.dtype, device=maps.device)
    norm = torch.zeros(grid.canvas, dtype=maps.dtype, device=maps.device)
    for index, (y, x) in enumerate(grid.origins()):
        total[:, y:y + th, x:x + tw] += maps[:, index] * weights
        norm[y:y + th, x:x + tw] += weights
    return total / norm
