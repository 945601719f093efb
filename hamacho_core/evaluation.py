"""Test-set results kept with a run, so thresholds can be moved without any model call.

Saved as ``evaluation.safetensors`` (scores, labels, small anomaly maps and masks) + ``evaluation.json`` (paths).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from hamacho_core.atomic import atomic_write_bytes, atomic_write_text
from hamacho_core.errors import ModelFileError
from hamacho_core.metrics import (
    CrossFittedEstimate,
    ImageMetrics,
    cross_fitted_estimate,
    cross_fitted_scores,
    curves,
    image_metrics,
)
from hamacho_core.persistence import read_config
from hamacho_core.thresholds import Normalization

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hamacho_core.data import Sample

__all__ = ["PREVIEW_SIDE", "Evaluation", "preview"]

PREVIEW_SIDE = 160  # long side of the stored preview maps
_TENSORS, _INDEX = "evaluation.safetensors", "evaluation.json"
PARTS = ("test", "holdout")  # the test pictures (threshold chosen on them) and the sealed hold-out (holdout.py)


def _files(part: str) -> tuple[str, str]:
    """The tensor and index file names of ``part``: evaluation.* for "test", holdout_evaluation.* for "holdout"."""
    if part not in PARTS:
        raise ValueError(f"unknown evaluation part {part!r}: use one of {', '.join(PARTS)}")
    prefix = "" if part == "test" else f"{part}_"
    return prefix + _TENSORS, prefix + _INDEX


def preview(array: np.ndarray, side: int = PREVIEW_SIDE, nearest: bool = False) -> np.ndarray:
    """Shrink a (H, W) map or mask so its long side is at most ``side``."""
    height, width = array.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return array
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(array.astype(np.float32), size, interpolation=interpolation)


@dataclass
class Evaluation:
    """Per-image test results of a run.

    Attributes:
        paths: image files (N).
        defect_types: "good" or the defect type (N).
        labels: (N,) 1 = defect.
        raw_scores: (N,) raw image scores.
        maps: (N, h, w) float16 raw anomaly maps at preview size.
        masks: (N, h, w) bool ground truth at preview size, or None.
        normalization: thresholds and min/max of the run.
    """

    paths: list[str]
    defect_types: list[str]
    labels: np.ndarray
    raw_scores: np.ndarray
    maps: np.ndarray
    masks: np.ndarray | None
    normalization: Normalization
    output_names: list[str] | None = None  # where each image's pictures are under test_predictions/images/<kind>/
    mask_paths: list[str | None] | None = None  # ground-truth mask files
    folds: np.ndarray | None = None  # (N,) the supervised head's cross-fitting fold of each picture; None: no head

    @classmethod
    def from_test(cls, samples: Sequence[Sample], names: Sequence[Path], raw_scores: np.ndarray, maps: np.ndarray,
                  masks: Sequence[np.ndarray] | None, normalization: Normalization,
                  folds: np.ndarray | None = None) -> Evaluation:
        """A training run's test results, maps and masks shrunk to previews.

        Args:
            samples: the N test pictures. names: their output names below ``test_predictions/images/<kind>/``.
            raw_scores: (N,). maps: (N, h, w) raw anomaly maps. masks: N (h, w) bool ground truths, or None.
            folds: (N,) the supervised head's fold of each picture (None without a head).
        """
        return cls([str(s.path) for s in samples], [s.defect_type for s in samples],
                   np.array([s.label for s in samples]), raw_scores.astype(np.float64),
                   np.stack([preview(m) for m in maps]) if len(maps) else maps,
                   np.stack([preview(m, nearest=True) > 0.5 for m in masks]) if masks is not None else None,
                   normalization, [n.as_posix() for n in names],
                   [str(s.mask_path) if s.mask_path else None for s in samples],
                   None if folds is None else np.asarray(folds, dtype=np.int64))

    @property
    def normalized_scores(self) -> np.ndarray:
        return self.normalization.normalize_scores(self.raw_scores)

    def metrics_at(self, threshold: float = 0.5) -> ImageMetrics:
        """Image metrics when ``normalized score > threshold`` means defect (no model call)."""
        return image_metrics(self.labels, self.normalized_scores, threshold)

    def curves(self) -> dict[str, list[float]]:
        """PR and ROC curves on the normalized scale."""
        return curves(self.labels, self.normalized_scores)

    def cross_fitted_estimate(self, seed: int = 420) -> CrossFittedEstimate | None:
        """Each picture judged by a threshold fitted on the other folds (None: fewer than 2 pictures of a class)."""
        return cross_fitted_estimate(self.labels, self.raw_scores, seed=seed)

    def cross_fitted_scores(self, seed: int = 420) -> np.ndarray | None:
        """(N,) each picture's normalized score under a normalization fitted on the other folds (the supervised
        head's folds when the run has a head), or None with fewer than 2 pictures of a class."""
        found = cross_fitted_scores(self.labels, self.raw_scores, self.folds, seed)
        return None if found is None else found[0]

    def predicted_mask(self, index: int, threshold: float = 0.5) -> np.ndarray:
        """(h, w) bool predicted defect pixels of image ``index`` at preview size."""
        return self.normalization.normalize_maps(self.maps[index].astype(np.float32)) > threshold

    # ------------------------------------------------------------------------------------ persistence
    def save(self, run_dir: str | Path, part: str = "test") -> None:
        """Write ``evaluation.safetensors`` + ``.json`` (``part="holdout"``: ``holdout_evaluation.*``) in the run."""
        run_dir = Path(run_dir)
        tensors_name, index_name = _files(part)
        shape = max((m.shape for m in self.maps), default=(1, 1))
        tensors = {"labels": torch.from_numpy(self.labels.astype(np.int64)),
                   "raw_scores": torch.from_numpy(self.raw_scores.astype(np.float64)),
                   "maps": torch.from_numpy(_stack(self.maps, shape, np.float16))}
        if self.folds is not None:
            tensors["folds"] = torch.from_numpy(np.asarray(self.folds, dtype=np.int64))
        if self.masks is not None:
            tensors["masks"] = torch.from_numpy(_stack(self.masks, shape, np.uint8))
        atomic_write_bytes(run_dir / tensors_name, save(tensors))
        atomic_write_text(run_dir / index_name, json.dumps(
            {"paths": self.paths, "defect_types": self.defect_types, "output_names": self.output_names,
             "mask_paths": self.mask_paths}, ensure_ascii=False))

    @classmethod
    def load_holdout(cls, run_dir: str | Path) -> Evaluation | None:
        """A run's sealed hold-out results (``hamacho_core.holdout``), or None when it was trained without one."""
        if not (Path(run_dir) / _files("holdout")[0]).is_file():
            return None
        return cls.load(run_dir, part="holdout")

    @classmethod
    def load(cls, run_dir: str | Path, part: str = "test") -> Evaluation:
        """Load a run's test results (normalization from its config.yaml, so saved threshold moves apply)."""
        run_dir = Path(run_dir)
        config = read_config(run_dir)
        tensors_name, index_name = _files(part)
        try:
            tensors = load_file(str(run_dir / tensors_name))
            index = json.loads((run_dir / index_name).read_text(encoding="utf-8"))
            masks = tensors["masks"].numpy().astype(bool) if "masks" in tensors else None
            evaluation = cls(index["paths"], index["defect_types"], tensors["labels"].numpy(),
                             tensors["raw_scores"].numpy(), tensors["maps"].numpy(), masks,
                             Normalization.from_dict(config["normalization"]), index.get("output_names"),
                             index.get("mask_paths"), tensors["folds"].numpy() if "folds" in tensors else None)
        except (OSError, ValueError, SafetensorError, KeyError, TypeError, AttributeError, RuntimeError) as error:
            raise ModelFileError(f"test results of {run_dir} are missing or damaged: {error} "
                                 "(train the run again to get them)") from error
        n_images = len(evaluation.labels)
        if not (len(evaluation.paths) == len(evaluation.raw_scores) == len(evaluation.maps) == n_images):
            raise ModelFileError(f"test results of {run_dir} are damaged ({n_images} labels but "
                                 f"{len(evaluation.paths)} paths and {len(evaluation.raw_scores)} scores): "
                                 "train the run again")
        return evaluation


def _stack(arrays: np.ndarray | list[np.ndarray], shape: tuple[int, int], dtype: type) -> np.ndarray:
    """Stack previews of possibly different sizes into (N, H, W), resizing each to ``shape``."""
    out = np.zeros((len(arrays), *shape), dtype=dtype)
    for i, array in enumerate(arrays):
        if array.shape != shape:
            array = cv2.resize(array.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        out[i] = array.astype(dtype)
    return out
