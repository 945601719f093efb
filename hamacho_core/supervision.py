"""The supervised boost inside training: decide, cross-fit, attach the head, hand back cross-fitted predictions.

``train`` calls :func:`plan_supervision` before predicting the test pictures (the detector then keeps the head
inputs) and :func:`supervise` after: the returned :class:`Prediction` holds the cross-fitted scores and maps, so
thresholds, metrics, the Threshold page and the report are all fitted on and show cross-fitted figures. The
detector leaves with the head fitted on all pictures attached (``detector.head_``), which ``save_run`` stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from sklearn.metrics import roc_auc_score

from hamacho_core.config import DEFAULT_MIN_DEFECTS
from hamacho_core.crossfit import CrossFitConfig, CrossFitResult, cross_fit, supervised_enabled
from hamacho_core.data import Sample
from hamacho_core.detectors import Detector, Prediction
from hamacho_core.errors import ConfigError
from hamacho_core.imageio import read_mask
from hamacho_core.metrics import PixelHistograms
from hamacho_core.progress import ProgressCallback

__all__ = ["DEFAULT_MIN_DEFECTS", "MAX_HEAD_INPUT_BYTES", "SupervisedPlan", "SupervisedRun", "head_input_bytes",
           "plan_supervision", "supervise", "supervised_figures"]

MAX_HEAD_INPUT_BYTES = 4 * 2**30  # the test pictures' head inputs are held in memory (float16) while cross-fitting


@dataclass
class SupervisedPlan:
    """Whether this run trains the supervised head, and why (shown by the CLI and the app)."""

    enabled: bool
    reason: str
    n_defects: int
    n_masked: int


@dataclass
class SupervisedRun:
    """Cross-fitted predictions and the figures of the supervised boost."""

    prediction: Prediction  # cross-fitted scores (N,) and maps (N, H, W)
    result: CrossFitResult
    plain: dict[str, Any]  # the plain detector's figures on the same pictures, for comparison

    def summary(self) -> dict[str, Any]:
        return {**self.result.summary(), "plain": self.plain}


def supervised_figures(plan: SupervisedPlan, run: SupervisedRun | None) -> dict[str, Any]:
    """The ``supervised`` section of metrics.json: enabled, reason and, with a head, the cross-fitting figures."""
    return {"enabled": plan.enabled, "reason": plan.reason, **(run.summary() if run is not None else {})}


def head_input_bytes(detector: Detector, n_images: int) -> int:
    """Memory of the test pictures' head inputs: (D + 1) float16 values per patch, all tiles."""
    n_inputs = sum(detector.extractor.channels) + 1
    return n_images * detector.input_shape_.patches(detector.reductions[0]) * n_inputs * 2


def plan_supervision(mode: str, detector: Detector, samples: Sequence[Sample], min_defects: int = DEFAULT_MIN_DEFECTS,
                     no_bad_mode: bool = False) -> SupervisedPlan:
    """Decide ``--supervised auto|on|off`` for these test pictures (call after ``fit``, before ``predict``).

    Raises:
        ConfigError: "on" without enough defect pictures, or with too many test pictures to hold their head inputs.
    """
    n_defects = sum(s.label == 1 for s in samples)
    n_masked = sum(s.label == 1 and s.mask_path is not None for s in samples)
    if no_bad_mode:
        if mode == "on":
            raise ConfigError("--supervised on needs defect pictures: it cannot be combined with --no-bad-mode")
        return SupervisedPlan(False, "good pictures only", n_defects, n_masked)
    enabled = supervised_enabled(mode, n_defects, min_defects)
    if enabled and (size := head_input_bytes(detector, len(samples))) > MAX_HEAD_INPUT_BYTES:
        message = (f"the supervised head would hold {size / 2**30:.1f} GiB of patch features of the "
                   f"{len(samples)} test pictures (limit {MAX_HEAD_INPUT_BYTES / 2**30:.0f} GiB)")
        if mode == "on":
            raise ConfigError(f"{message}: use a smaller --image-size, fewer test pictures, or --supervised off")
        return SupervisedPlan(False, message + ": turned off", n_defects, n_masked)
    if enabled:
        how = "with masks" if n_masked == n_defects else (
            "without masks: positives are each defect picture's highest-scoring patches (masks would help)"
            if n_masked == 0 else f"masks for {n_masked} of {n_defects} (the others: highest-scoring patches)")
        return SupervisedPlan(True, f"{n_defects} defect pictures, {how}", n_defects, n_masked)
    reason = "--supervised off" if mode == "off" else f"{n_defects} defect pictures (auto needs {min_defects})"
    return SupervisedPlan(False, reason, n_defects, n_masked)


def supervise(detector: Detector, samples: Sequence[Sample], prediction: Prediction, seed: int,
              progress: ProgressCallback | None = None, config: CrossFitConfig | None = None,
              learning_curve: bool = True, masks: Sequence[np.ndarray] | None = None) -> SupervisedRun:
    """Cross-fit the head over the test pictures, attach the head fitted on all of them to ``detector``.

    Args:
        detector: the fitted detector.
        samples: the N test pictures.
        prediction: ``detector.predict(..., keep_patch_inputs=True)`` of them.
        seed: folds and patch sampling.
        learning_curve: also cross-fit heads on fewer defect pictures (without it the curve holds only "all").
        masks: the pictures' ground truth at the maps' shape, already read (``data.ground_truth_masks``); None =
            read here.

    Returns:
        :class:`SupervisedRun` whose prediction replaces the plain one everywhere figures are shown.
    """
    if prediction.patch_inputs is None:
        raise ValueError("supervise needs predict(..., keep_patch_inputs=True)")
    labels = np.array([s.label for s in samples])
    if masks is None:
        masks = [_mask_at(s, prediction.maps.shape[1:]) for s in samples]
    else:  # a defect picture without a mask file has no known ground truth (its all-False stand-in is not one)
        masks = [None if s.label == 1 and s.mask_path is None else m for s, m in zip(samples, masks, strict=True)]
    config = config or CrossFitConfig(seed=seed, **({} if learning_curve else {"curve_sizes": ()}))
    result = cross_fit(prediction.patch_inputs, labels, [s.defect_type for s in samples], masks,
                       detector.finish_maps, config, detector.input_shape_.tiles, prediction.scores, progress,
                       plain_maps=prediction.maps)
    detector.head_ = result.head
    plain: dict[str, Any] = {"image_auroc": float(roc_auc_score(labels, prediction.scores))}
    plain.update(_pixel_figures(prediction.maps, masks, labels))
    crossfitted = Prediction(result.scores.astype(np.float32), result.maps, prediction.original_sizes)
    return SupervisedRun(crossfitted, result, plain)


def _mask_at(sample: Sample, shape: tuple[int, int]) -> np.ndarray | None:
    """Ground truth at the model input (all-False for good pictures; None for a defect picture without mask)."""
    height, width = shape
    if sample.label == 0:
        return np.zeros((height, width), bool)
    if sample.mask_path is None:
        return None
    mask = read_mask(sample.mask_path).astype(np.uint8)
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST) > 0


def _pixel_figures(maps: np.ndarray, masks: list[np.ndarray | None], labels: np.ndarray) -> dict[str, float]:
    """Pixel AUROC and AUPRO over the pictures whose ground truth is known (none when no defect has a mask)."""
    known = [i for i, m in enumerate(masks) if m is not None]
    if not any(labels[i] == 1 for i in known):
        return {}
    histograms = PixelHistograms(float(maps.min()), float(maps.max()))
    for i in known:
        histograms.add(maps[i], masks[i])
    found = histograms.metrics()
    return {"pixel_auroc": found.auroc, "pixel_aupro": found.aupro}
