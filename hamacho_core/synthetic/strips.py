"""Synthetic line-scan photos: long knurled steel strips with punched holes, and small defects.

A line-scan camera gives pictures thousands of pixels long and a few hundred high. The defects here are a few
pixels across at the native resolution, so they vanish when the whole strip is squeezed into one model input:
the case tiling (``hamacho_core.tiling``) is for. Used by the tests and the tiling benchmark; same seed, same files.

Layout written (the "folder" format)::

    <root>/good/good_000.png
    <root>/bad/<defect type>/<defect type>_000.png
    <root>/mask/<defect type>/<defect type>_000.png     (0 = normal, 255 = defect)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hamacho_core.errors import ConfigError
from hamacho_core.synthetic.parts import DemoSample, write_sample

__all__ = ["STRIP_DEFECTS", "make_strip_dataset", "render_strip"]

STRIP_DEFECTS = ("pit", "scratch")
_HOLE_PITCH = 320  # px between punched holes along the strip


def render_strip(defect_type: str | None, index: int, seed: int = 0, size: tuple[int, int] = (384, 3840)
                 ) -> DemoSample:
    """One grey strip picture (as RGB) of ``size`` (height, width), with a defect of about 12-40 px if asked.

    Raises:
        ConfigError: unknown defect type, or a size under 128 x 640.
    """
    if defect_type is not None and defect_type not in STRIP_DEFECTS:
        raise ConfigError(f"Unknown defect type {defect_type!r}; choose one of {', '.join(STRIP_DEFECTS)}.")
    height, width = size
    if height < 128 or width < 640:
        raise ConfigError(f"strip size {size} too small: use at least 128 x 640")
    rng = np.random.default_rng([seed, 0 if defect_type is None else 1 + STRIP_DEFECTS.index(defect_type), index])
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = rng.uniform(0, 24)
    knurl = np.sin(2 * np.pi * (x + y + shift) / 24) * np.sin(2 * np.pi * (x - y + shift) / 24)
    brushed = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (61, 1), 0) * 20
    image = rng.uniform(130, 150) + 10 * knurl + brushed
    offset = rng.uniform(0, _HOLE_PITCH)
    for centre in np.arange(offset, width, _HOLE_PITCH):
        cv2.circle(image, (int(centre), height // 2), height // 8, 35.0, -1, cv2.LINE_AA)
    image += rng.normal(0, 3, image.shape)
    clean = image.copy()
    mask = np.zeros((height, width), np.uint8)
    if defect_type is not None:
        centre = _away_from_holes(rng, height, width, offset)
        if defect_type == "pit":
            axes = (int(rng.integers(5, 9)), int(rng.integers(5, 9)))
            cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
            image[mask > 0] -= 35
        else:
            angle, length = rng.uniform(0, np.pi), rng.uniform(25, 40)
            delta = np.array([np.cos(angle), np.sin(angle)]) * length / 2
            start = tuple(int(v) for v in np.array(centre) - delta)
            end = tuple(int(v) for v in np.array(centre) + delta)
            cv2.line(mask, start, end, 255, 2)
            image[mask > 0] += 35
    to_rgb = lambda picture: np.repeat(np.clip(np.rint(picture), 0, 255).astype(np.uint8)[..., None], 3, axis=2)  # noqa: E731
    return DemoSample(to_rgb(image), to_rgb(clean), mask)


def _away_from_holes(rng: np.random.Generator, height: int, width: int, offset: float) -> tuple[int, int]:
    """A defect centre at least 20 px clear of every punched hole (holes: radius height / 8 on the centre line)."""
    while True:
        x, y = int(rng.uniform(40, width - 40)), int(rng.uniform(30, height - 30))
        along = (x - offset) % _HOLE_PITCH
        if min(along, _HOLE_PITCH - along) > height // 4 + 20 or abs(y - height // 2) > height // 8 + 20:
            return x, y


def make_strip_dataset(root: str | Path, n_good: int = 24, n_bad_per_type: int = 6, seed: int = 0,
                       size: tuple[int, int] = (384, 3840)) -> Path:
    """Write good strips and defective ones with masks under ``root`` (folder format). Returns ``root``."""
    root = Path(root)
    jobs = [(None, i) for i in range(n_good)] + [(k, i) for k in STRIP_DEFECTS for i in range(n_bad_per_type)]
    for kind, index in jobs:
        write_sample(root, kind, index, render_strip(kind, index, seed, size))
    return root
