"""The export check: an exported model against PyTorch, on this machine, before the export is kept.

``hamacho export`` (and ``open_run``'s cache) scores up to :data:`CHECK_PICTURES` of the run's own test pictures
with the run in PyTorch and with the freshly written model (opened as every engine opens it:
``hamacho_core.runtimes``), records the largest differences in ``hamacho-model.json`` and refuses the export
(:class:`ExportMismatchError`) when a normalized score moves by more than :data:`SCORE_TOLERANCE` or a verdict
changes. The pictures are those whose scores lie nearest the run's threshold (where a small difference would change a
verdict); when none of them can be read here (a run copied to another machine), two seeded synthetic pictures are
scored instead and the manifest says so.

Differences of normalized scores are taken before clipping to [0, 1] (``|raw_a - raw_b| / (max - min)``), so a
picture scored far beyond the run's range still counts.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hamacho_core.errors import HamachoError, ModelFileError
from hamacho_core.imageio import read_image
from hamacho_core.persistence import LoadedRun
from hamacho_core.runtimes import precision_settings

__all__ = ["CHECK_PICTURES", "SCORE_TOLERANCE", "ExportCheck", "ExportMismatchError", "check_export",
           "check_pictures"]

CHECK_PICTURES = 16  # most pictures scored by the check
SCORE_TOLERANCE = 1e-4  # largest allowed difference of a normalized score (0-1 scale)


class ExportMismatchError(HamachoError):
    """An exported model does not give PyTorch's scores on this machine."""


@dataclass
class ExportCheck:
    """The export check's result, as ``hamacho-model.json``'s ``check`` section.

    Attributes:
        n_pictures: pictures scored by both.
        pictures: "run test pictures" or "synthetic" (the run's test pictures could not be read here).
        max_raw_score, max_normalized_score: largest absolute score differences (raw; normalized before clipping).
        max_raw_map, max_normalized_map: largest absolute differences of the maps (raw; normalized before clipping).
        verdicts_changed: pictures whose verdict at the run's threshold differs.
        score_tolerance: the allowed normalized score difference.
        passed: within tolerance and no verdict changed.
        machine: the processor the check ran on, and whether it can compute in bfloat16.
        precision: the engine's precision settings (``runtimes.precision_settings``).
    """

    n_pictures: int
    pictures: str
    max_raw_score: float
    max_normalized_score: float
    max_raw_map: float
    max_normalized_map: float
    verdicts_changed: int
    score_tolerance: float
    passed: bool
    machine: dict[str, Any]
    precision: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def message(self, engine: str) -> str:
        """Why the export is refused."""
        return (f"the exported {engine} model does not give PyTorch's scores on this machine: normalized scores "
                f"differ by up to {self.max_normalized_score:.2g} (allowed {self.score_tolerance:g}) and "
                f"{self.verdicts_changed} of {self.n_pictures} verdicts change. Nothing was exported. Check that "
                f"{engine} is not forced to a reduced precision (an OpenVINO INFERENCE_PRECISION_HINT or "
                "EXECUTION_MODE_HINT setting, an onnxruntime session option), update onnxruntime/openvino, or use "
                "--engine torch")


def check_pictures(run_dir: str | Path, limit: int = CHECK_PICTURES) -> list[Path]:
    """Up to ``limit`` readable test pictures of a run, those scored nearest its threshold first (none: [])."""
    from hamacho_core.evaluation import Evaluation

    try:
        evaluation = Evaluation.load(run_dir)
    except ModelFileError:
        return []
    distance = np.abs(evaluation.normalized_scores - evaluation.normalization.normalized_image_threshold)
    found: list[Path] = []
    for index in np.argsort(distance, kind="stable"):
        path = Path(evaluation.paths[index])
        try:
            read_image(path)
        except (HamachoError, OSError, ValueError):
            continue
        found.append(path)
        if len(found) == limit:
            break
    return found


def _synthetic(height: int, width: int) -> list[np.ndarray]:
    """Two seeded RGB pictures: flat grey and noise."""
    noise = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return [np.full((height, width, 3), 128, np.uint8), noise]


def _machine() -> dict[str, Any]:
    from hamacho_core.runtimes import cpu_has_bf16

    try:
        bf16 = cpu_has_bf16()
    except Exception:  # noqa: BLE001 - OpenVINO missing or unable to query the CPU: not known
        bf16 = None
    return {"processor": platform.processor() or platform.machine(), "bf16": bf16}


def check_export(run: LoadedRun, model_dir: Path, pictures: list[Path] | None = None) -> ExportCheck:
    """Score pictures with ``run`` (PyTorch) and the export in ``model_dir``; compare.

    Args:
        run: the run, loaded on the CPU. model_dir: a folder with the model files and ``hamacho-model.json``.
        pictures: the pictures to score (None = :func:`check_pictures` of the run, else synthetic ones).

    Returns:
        :class:`ExportCheck` (``passed`` False when it exceeds the tolerance: the caller refuses the export).
    """
    from hamacho_core.export.model import ExportedModel

    paths = check_pictures(run.run_dir) if pictures is None else list(pictures)
    shape = run.detector.input_shape_
    images: list[Any] = list(paths) if paths else _synthetic(shape.height, shape.width)
    exported = ExportedModel(model_dir)
    expected = run.detector.predict(images)
    got = exported.predict(images)
    normalization = run.normalization
    score_range = max(normalization.image_max - normalization.image_min, 1e-12)
    map_range = max(normalization.pixel_max - normalization.pixel_min, 1e-12)
    raw_score = float(np.abs(got.scores.astype(np.float64) - expected.scores).max())
    raw_map = float(np.abs(got.maps - expected.maps).max())
    threshold = normalization.normalized_image_threshold
    verdicts = (normalization.normalize_scores(got.scores) > threshold) != (
        normalization.normalize_scores(expected.scores) > threshold)
    normalized_score = raw_score / score_range
    return ExportCheck(len(images), "run test pictures" if paths else "synthetic", raw_score, normalized_score,
                       raw_map, raw_map / map_range, int(verdicts.sum()), SCORE_TOLERANCE,
                       bool(normalized_score <= SCORE_TOLERANCE and not verdicts.any()), _machine(),
                       precision_settings(exported.engine))
