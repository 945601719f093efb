"""Score pictures with a loaded run: what ``hamacho inference`` computes, picture by picture, for any worker.

One core, two front-ends:

* :func:`score_arrays` - decoded pictures (RGB arrays) in, :class:`PictureScore` out (the API, ``hamacho serve``);
* :func:`score_pictures` - picture files in, :class:`ScoredPicture` rows out (``hamacho score``'s Ray actors), with
  unusable pictures as rows with a ``problem`` and, when asked, the picture tree of ``hamacho inference``.

Both go through the same steps as ``pipeline.infer``, so the scores are the same:

1. ``Detector.predict`` on the batch (the detector accepts arrays as well as paths);
2. :func:`score_map`: each anomaly map resized to its picture's original size (bilinear), then normalized with the
   run's :class:`~hamacho_core.thresholds.Normalization`;
3. the verdict at the normalized image threshold and the defect regions at the normalized pixel threshold
   (``drawing.defect_regions``, the rows of ``defect_regions.csv``).

Thresholds given per call follow the CLI's rule (``check_normalized_threshold``) and never change the loaded run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamacho_core.data import Problem, Sample, probe_samples
from hamacho_core.detectors import Detector, Prediction
from hamacho_core.drawing import REGION_COLUMNS, ImageReport, defect_regions
from hamacho_core.errors import ConfigError
from hamacho_core.imageio import decode_bytes, read_image, to_rgb_uint8
from hamacho_core.limits import Limits
from hamacho_core.persistence import LoadedRun
from hamacho_core.report import PRED_COLUMNS, write_image_report
from hamacho_core.thresholds import SAVED_NAMES, Normalization, check_normalized_threshold

__all__ = ["PRED_COLUMNS", "PictureScore", "ScoredPicture", "decode_image", "problem_row", "score_arrays", "score_map",
           "score_pictures", "with_thresholds"]



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


@dataclass
class ScoredPicture:
    """One output row: the columns of :data:`PRED_COLUMNS`, the regions (JSON list) and the problem ("" if none)."""

    filepath: str
    output_name: str
    raw_score: float
    norm_score: float
    pred: int | None  # None for a problem row
    verdict: str  # "defect" | "good" | "problem"
    image_norm: float
    pixel_norm: float
    defect_regions: str  # JSON list of {region, x, y, width, height, area_px, peak_score, peak_x, peak_y}
    problem: str

    def as_row(self) -> dict:
        return asdict(self)


def with_thresholds(normalization: Normalization, image_norm: float | None = None, pixel_norm: float | None = None,
                    strict: bool = True) -> tuple[Normalization, list[str]]:
    """A copy of ``normalization`` with the given normalized thresholds, checked as the CLI checks them.

    Values outside (0.01, 0.99) fall back to 0.5 with a warning (the old tool's rule).

    Args:
        strict: refuse what is not a number in [0, 1] (the API); off, such values fall back to 0.5 too (the CLI).

    Raises:
        ConfigError: with ``strict``, a value that is not a number in [0, 1].
    """
    changes, warnings = {}, []
    for field_name, given in (("normalized_image_threshold", image_norm), ("normalized_pixel_threshold", pixel_norm)):
        if given is None:
            continue
        name = SAVED_NAMES[field_name]  # the option's name, as the caller wrote it
        if strict and (not isinstance(given, int | float) or not np.isfinite(given) or not 0.0 <= given <= 1.0):
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


# ------------------------------------------------------------------------------------------------------ the core
def score_map(normalization: Normalization, name: str, raw_score: float, norm_score: float, anomaly_map: np.ndarray,
              size: tuple[int, int], keep_map: bool = False) -> PictureScore:
    """One picture's result from its detector output: the step both front-ends share.

    Args:
        normalization: the run's normalization with the thresholds to use.
        name: the picture's name, written in the regions' ``output_name``.
        raw_score: the detector's score; ``norm_score``: the same normalized (``normalization.normalize_scores``).
        anomaly_map: (h, w) float map at the model's input size.
        size: (H, W) of the original picture: the map is resized to it (bilinear), then normalized.
        keep_map: also return the normalized (H, W) map.
    """
    height, width = size
    full_map = normalization.normalize_maps(cv2.resize(anomaly_map, (width, height), interpolation=cv2.INTER_LINEAR))
    image_threshold = normalization.normalized_image_threshold
    pixel_threshold = normalization.normalized_pixel_threshold
    return PictureScore(name, float(raw_score), float(norm_score), bool(norm_score > image_threshold), image_threshold,
                        pixel_threshold, defect_regions(full_map, pixel_threshold, name),
                        full_map if keep_map else None)


# ------------------------------------------------------------------------------------------ arrays (the API)
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
    return [score_map(normalization, name, raw, score, anomaly_map, image.shape[:2], keep_maps)
            for image, name, raw, score, anomaly_map in zip(images, names, prediction.scores, normalized_scores,
                                                            prediction.maps, strict=True)]


# ------------------------------------------------------------------------------- files (``hamacho score``)
def problem_row(path: str, name: str, reason: str, normalization: Normalization) -> ScoredPicture:
    """The row of a picture that could not be scored."""
    image_norm, pixel_norm = normalization.normalized_image_threshold, normalization.normalized_pixel_threshold
    return ScoredPicture(path, name, float("nan"), float("nan"), None, "problem", image_norm, pixel_norm, "[]", reason)


def _predict(run: LoadedRun, paths: list[Path]) -> tuple[Prediction | None, dict[Path, str]]:
    """Predict the batch at once; if that fails, picture by picture so one bad file costs only its own row."""
    try:
        return run.detector.predict(paths), {}
    except Exception:  # noqa: BLE001 - isolate the picture that broke the batch
        pass
    scores, maps, sizes, failed = [], [], [], {}
    for path in paths:
        try:
            one = run.detector.predict([path])
        except Exception as error:  # noqa: BLE001 - a problem row, never a failed job
            failed[path] = f"cannot score: {type(error).__name__}: {error}"
            continue
        scores.append(one.scores)
        maps.append(one.maps)
        sizes += one.original_sizes
    if not scores:
        return None, failed
    return Prediction(np.concatenate(scores), np.concatenate(maps), sizes), failed


def score_pictures(run: LoadedRun, paths: Sequence[str | Path], names: Sequence[str | Path],
                   maps_dir: Path | None = None, write_csv: bool = True) -> list[ScoredPicture]:
    """Score picture files with ``run`` (thresholds as set on ``run.normalization``).

    Args:
        paths: picture files.
        names: each picture's output name (sub-folders kept), as ``hamacho inference`` names them.
        maps_dir: if given, the picture tree of ``hamacho inference`` (heat maps, masks, combined) is written there.
        write_csv: with ``maps_dir``, also the per-pixel CSV files.

    Returns:
        One :class:`ScoredPicture` per input, in input order; unusable pictures have ``problem`` set.
    """
    normalization = run.normalization
    problems: list[Problem] = []
    named = {str(p): Path(n) for p, n in zip(paths, names, strict=True)}
    kept = [s.path for s in probe_samples([Sample(Path(p), 0) for p in paths], problems, n_threads=2)]
    rows = {p.path: problem_row(p.path, named[p.path].as_posix(), p.reason, normalization) for p in problems}
    prediction, failed = _predict(run, kept) if kept else (None, {})
    for path, reason in failed.items():
        rows[str(path)] = problem_row(str(path), named[str(path)].as_posix(), reason, normalization)
    scored = [p for p in kept if p not in failed]
    if prediction is not None:
        normalized_scores = normalization.normalize_scores(prediction.scores)
    for index, path in enumerate(scored):
        name = named[str(path)]
        image = read_image(path) if maps_dir is not None else None  # one picture in memory at a time
        size = image.shape[:2] if image is not None else prediction.original_sizes[index]
        picture = score_map(normalization, name.as_posix(), prediction.scores[index], normalized_scores[index],
                            prediction.maps[index], size, keep_map=image is not None)
        if image is not None:
            report = ImageReport(image, picture.normalized_map, picture.norm_score, picture.is_defect,
                                 normalization.normalized_pixel_threshold, None, None,
                                 normalization.normalized_image_threshold)
            write_image_report(maps_dir, name, report, write_csv)
        regions = [{k: r[k] for k in REGION_COLUMNS if k != "output_name"} for r in picture.regions]
        rows[str(path)] = ScoredPicture(str(path), picture.name, picture.raw_score, picture.norm_score,
                                        int(picture.is_defect), picture.verdict, picture.image_norm,
                                        picture.pixel_norm, json.dumps(regions), "")
    return [rows[str(p)] for p in paths]
