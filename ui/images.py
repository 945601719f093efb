"""Small pictures for the pages: thumbnails, ground-truth outlines, heat maps (drawing reuses hamacho_core.report)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamacho_core.drawing import heat_map, outline
from hamacho_core.errors import DataError
from hamacho_core.imageio import read_image, read_mask

__all__ = ["fit", "gray_to_map", "heat_overlay", "mask_outline", "thumbnail"]

TRUTH_COLOR, PREDICTED_COLOR = (40, 220, 40), (255, 40, 40)


def fit(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink so the long side is at most ``side`` (never enlarged)."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def thumbnail(path: str | Path, side: int = 192, mask_path: str | Path | None = None) -> np.ndarray:
    """An image as a small RGB picture, with its mask's outline drawn when given; a gray tile when unreadable."""
    try:
        image = read_image(path)
    except DataError:
        return np.full((side, side, 3), 200, np.uint8)
    if mask_path is not None:
        try:
            mask = read_mask(mask_path)
            if mask.shape == image.shape[:2]:
                image = outline(image, mask, TRUTH_COLOR)
        except DataError:
            pass
    return fit(image, side)


def _resize_to(array: np.ndarray, image: np.ndarray, nearest: bool = False) -> np.ndarray:
    height, width = image.shape[:2]
    if array.shape[:2] == (height, width):
        return array
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(array.astype(np.float32), (width, height), interpolation=interpolation)


def heat_overlay(image: np.ndarray, normalized_map: np.ndarray) -> np.ndarray:
    """The core's heat map of a normalized map (any size) over ``image``."""
    return heat_map(image, np.clip(_resize_to(normalized_map, image), 0, 1))


def mask_outline(image: np.ndarray, predicted: np.ndarray | None, truth: np.ndarray | None = None) -> np.ndarray:
    """Outlines of the predicted defect (red) and the ground truth (green) over ``image``."""
    out = image
    if truth is not None:
        out = outline(out, _resize_to(truth.astype(np.uint8), image, nearest=True) > 0, TRUTH_COLOR)
    if predicted is not None:
        out = outline(out, _resize_to(predicted.astype(np.uint8), image, nearest=True) > 0, PREDICTED_COLOR)
    return out


def gray_to_map(path: str | Path) -> np.ndarray:
    """A normalized map saved by the core as a grayscale picture, back to floats in [0, 1]."""
    return read_image(path)[:, :, 0].astype(np.float32) / 255.0
