"""Score a list of pictures with a loaded run: one row per picture, unusable pictures as rows with a ``problem``.

The same detector call as ``pipeline.infer`` (``detector.predict`` on file paths), so scores are identical; what
``infer`` keeps for the whole folder (maps, defect regions) is computed here picture by picture, so that any worker
(a Ray actor, a server) can score a batch and forget it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from hamacho_core.data import Problem, Sample, probe_samples
from hamacho_core.detectors import Prediction
from hamacho_core.imageio import read_image
from hamacho_core.persistence import LoadedRun
from hamacho_core.report import REGION_COLUMNS, ImageReport, defect_regions, write_image_report
from hamacho_core.thresholds import Normalization

__all__ = ["PRED_COLUMNS", "ScoredPicture", "apply_thresholds", "score_pictures"]

# The columns of ``hamacho inference``'s metrics/pred_outputs.csv, in its order.
PRED_COLUMNS = ["filepath", "output_name", "raw_score", "norm_score", "pred", "verdict", "image_norm", "pixel_norm"]


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


def apply_thresholds(normalization: Normalization, image_norm: float | None,
                     pixel_norm: float | None) -> list[str]:
    """Set the normalized thresholds as ``infer`` does (old tool's range rule); returns the warnings."""
    return normalization.set_thresholds(image_norm, pixel_norm)


def _problem_row(path: str, name: str, reason: str, normalization: Normalization) -> ScoredPicture:
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
    """Score pictures with ``run`` (thresholds as set on ``run.normalization``).

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
    rows = {p.path: _problem_row(p.path, named[p.path].as_posix(), p.reason, normalization) for p in problems}
    prediction, failed = _predict(run, kept) if kept else (None, {})
    for path, reason in failed.items():
        rows[str(path)] = _problem_row(str(path), named[str(path)].as_posix(), reason, normalization)
    scored = [p for p in kept if p not in failed]
    for index, path in enumerate(scored):
        rows[str(path)] = _row(path, named[str(path)], prediction, index, normalization, maps_dir, write_csv)
    return [rows[str(p)] for p in paths]


def _row(path: Path, name: Path, prediction: Prediction, index: int, normalization: Normalization,
         maps_dir: Path | None, write_csv: bool) -> ScoredPicture:
    raw = float(prediction.scores[index])
    score = float(normalization.normalize_scores(prediction.scores[index:index + 1])[0])  # same dtype path as ``infer``
    height, width = prediction.original_sizes[index]
    image = read_image(path) if maps_dir is not None else None
    if image is not None:
        height, width = image.shape[:2]
    full_map = normalization.normalize_maps(cv2.resize(prediction.maps[index], (width, height),
                                                       interpolation=cv2.INTER_LINEAR))
    is_defect = score > normalization.normalized_image_threshold
    if image is not None:
        report = ImageReport(image, full_map, score, is_defect, normalization.normalized_pixel_threshold, None, None,
                             normalization.normalized_image_threshold)
        write_image_report(maps_dir, name, report, write_csv)
    regions = [{k: r[k] for k in REGION_COLUMNS if k != "output_name"}
               for r in defect_regions(full_map, normalization.normalized_pixel_threshold)]
    return ScoredPicture(str(path), name.as_posix(), raw, score, int(is_defect), "defect" if is_defect else "good",
                         normalization.normalized_image_threshold, normalization.normalized_pixel_threshold,
                         json.dumps(regions), "")
