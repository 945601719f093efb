"""Score pictures already in memory (decoded arrays) with a loaded run: what ``hamacho inference`` computes, no file.

``pipeline.infer`` reads files and writes the output tree; a server (``hamacho serve``) or a batch scorer receives
decoded pictures and wants the numbers only. Both go through the same steps, so the scores are the same:

1. ``Detector.predict`` on the RGB uint8 arrays (the detector accepts arrays as well as paths);
2. each anomaly map resized to its picture's original size (bilinear), then normalized with the run's
   :class:`~hamacho_core.thresholds.Normalization`;
3. the verdict at the normalized image threshold and the defect regions at the normalized pixel threshold
   (``report.defect_regions``, the rows of ``defect_regions.csv``).

Thresholds given per call follow the CLI's rule (``check_normalized_threshold``) and never change the loaded run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from hamacho_core.detectors import Detector
from hamacho_core.errors import ConfigError
from hamacho_core.imageio import decode_bytes, to_rgb_uint8
from hamacho_core.limits import Limits
from hamacho_core.report import defect_regions
from hamacho_core.thresholds import SAVED_NAMES, Normalization, check_normalized_threshold

__all__ = ["PictureScore", "decode_image", "score_arrays", "with_thresholds"]


@dataclass
class PictureScore:
    """One picture's result, as a row of ``pred_outputs.csv`` plus its defect regions."""

    name: str  # file name as given by the caller
    raw_score: float  # detector score (higher = more anomalous)
    norm_score: float  # min-max normalized score in [0, 1]; the run's threshold sits at 0.5
    is_defect: bool  # norm_score > image_norm
    image_norm: float  # normalized image threshold used
    pixel_norm: float  # normalized pixel threshold used
    regions: list[dict[str, Any]] = field(default_factory=list)  # report.REGION_COLUMNS keys, original pixels
    normalized_map: np.ndarray | None = None  # (H, W) float32 in [0, 1] at the original size, when asked

    @property
    def verdict(self) -> str:
        return "defect" if self.is_defect else "good"


def with_thresholds(
    normalization: Normalization, image_norm: float | None = None, pixel_norm: float | None = None
) -> tuple[Normalization, list[str]]:
    """A copy of ``normalization`` with the given normalized thresholds, checked as the CLI checks them.

    Values in [0, 1] but outside (0.01, 0.99) fall back to 0.5 with a warning (the old tool's rule).

    Raises:
        ConfigError: a value that is not a number in [0, 1].
    """
    changes, warnings = {}, []
    for field_name, given in (("normalized_image_threshold", image_norm), ("normalized_pixel_threshold", pixel_norm)):
        if given is None:
            continue
        name = SAVED_NAMES[field_name]  # the option's name, as the caller wrote it
        if not isinstance(given, int | float) or not np.isfinite(given) or not 0.0 <= given <= 1.0:
            raise ConfigError(f"{name} must be a number between 0 and 1 (normalized threshold; the run's is "
                              f"{getattr(normalization, field_name):.2f}), got {given!r}")
        value, warning = check_normalized_threshold(float(given), name)
        changes[field_name] = value
        warnings += [warning] if warning else []
    return replace(normalization, **changes), warnings


def decode_image(data: bytes, name: str = "picture", max_pixels: int | None = None) -> np.ndarray:
    """Decode an image file's bytes as ``imageio.read_image`` decodes a file: RGB uint8.

    The checks are the core's (``limits.check_picture_bytes`` through ``imageio.decode_bytes``): the pixel count is
    read from the header before anything is decoded.

    Args:
        data: the file's bytes (PNG, JPEG, BMP, TIFF, WebP; 8/16-bit; gray, RGB or RGBA).
        name: shown in error messages.
        max_pixels: refuse pictures with more pixels than this (default: ``HAMACHO_MAX_IMAGE_PIXELS``).

    Returns:
        (H, W, 3) uint8 RGB array.

    Raises:
        DataError: empty, not an image, damaged, or larger than ``max_pixels`` (``limits.PictureError``).
    """
    limits = Limits.from_env()
    if max_pixels is not None:
        limits = replace(limits, max_image_pixels=max_pixels)
    image = decode_bytes(data, name, limits)
    limits.check_pixels(*image.shape[:2], name)  # formats whose header is not parsed
    return to_rgb_uint8(image)


def score_arrays(
    detector: Detector,
    normalization: Normalization,
    images: Sequence[np.ndarray],
    names: Sequence[str],
    keep_maps: bool = False,
) -> list[PictureScore]:
    """Score decoded pictures with a fitted detector (torch runs in the calling thread).

    Args:
        detector: a fitted detector (``persistence.load_run(...).detector``).
        normalization: the run's normalization with the thresholds to use (see :func:`with_thresholds`).
        images: N RGB (H, W, 3) uint8 pictures, any sizes.
        names: N names, echoed back and written in the regions' ``output_name``.
        keep_maps: also return each normalized map (H, W) at the picture's size.

    Returns:
        N :class:`PictureScore`, in order.
    """
    if len(images) != len(names):
        raise ConfigError(f"{len(images)} pictures but {len(names)} names")
    if not images:
        return []
    prediction = detector.predict(list(images))
    normalized_scores = normalization.normalize_scores(prediction.scores)
    image_threshold = normalization.normalized_image_threshold
    pixel_threshold = normalization.normalized_pixel_threshold
    results = []
    for image, name, raw, score, anomaly_map in zip(images, names, prediction.scores, normalized_scores,
                                                    prediction.maps, strict=True):
        height, width = image.shape[:2]
        full_map = normalization.normalize_maps(cv2.resize(anomaly_map, (width, height),
                                                           interpolation=cv2.INTER_LINEAR))
        results.append(PictureScore(
            name, float(raw), float(score), bool(score > image_threshold), image_threshold, pixel_threshold,
            defect_regions(full_map, pixel_threshold, name),
            full_map if keep_maps else None))
    return results
