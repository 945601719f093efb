"""Image- and pixel-level metrics, and a run's metrics as one typed object (:class:`RunMetrics`).

Image level uses scikit-learn directly. Pixel level works on histograms of the maps (8,192 bins by default), which
keeps tens of millions of pixels cheap; with that many bins the AUROC differs from the exact value by < 1e-4.
A run's figures travel as dataclasses to the edge (CLI, app, job record) and are serialised once, by
:meth:`RunMetrics.to_dict` (``metrics.json``); :meth:`RunMetrics.from_dict` reads files written before.
:func:`fit_normalization` fits a run's thresholds and min/max from its test results (with the pixel metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from hamacho_core.thresholds import (
    Normalization,
    binned_adaptive_threshold,
    fit_image_normalization,
    normalize,
)

__all__ = [
    "fit_normalization",
    "CrossFittedEstimate",
    "ImageMetrics",
    "PixelHistograms",
    "PixelMetrics",
    "RunMetrics",
    "confusion_at",
    "cross_fitted_estimate",
    "cross_fitted_scores",
    "label_folds",
    "image_metrics",
    "outcome",
    "outcomes",
    "run_metrics",
]

_OUTCOME = {(1, 1): "TP", (0, 1): "FP", (0, 0): "TN", (1, 0): "FN"}  # (truth, predicted) -> name


@dataclass
class ImageMetrics:
    """Image-level figures at one decision threshold (on the given score scale)."""

    threshold: float
    auroc: float | None
    average_precision: float | None
    f1: float
    precision: float
    recall: float
    accuracy: float
    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageMetrics:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def confusion_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Confusion counts and derived rates for ``scores > threshold`` = defect (vectorised, no model call)."""
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(scores) > threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    tn = int(np.sum(~predicted & ~labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (tp + tn) / max(len(labels), 1)
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
            "accuracy": accuracy}


def outcomes(labels: np.ndarray, scores: np.ndarray, threshold: float) -> list[str]:
    """TP / FP / TN / FN of each image when ``scores > threshold`` means defect.

    Args:
        labels: (N,) 1 = defect. scores: (N,) on the threshold's scale.
    """
    predicted = (np.asarray(scores) > threshold).astype(int)
    return [_OUTCOME[(int(label), int(p))] for label, p in zip(np.asarray(labels), predicted, strict=True)]


def outcome(label: int, score: float, threshold: float) -> str:
    """TP / FP / TN / FN of one image (see :func:`outcomes`)."""
    return _OUTCOME[(int(label), int(score > threshold))]


def image_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> ImageMetrics:
    """All image-level figures; AUROC and AP are None when only one class is present."""
    from sklearn.metrics import average_precision_score, roc_auc_score  # imported on use: inference needs none

    labels = np.asarray(labels).astype(int)
    both = labels.min(initial=0) != labels.max(initial=0)
    auroc = float(roc_auc_score(labels, scores)) if both else None
    ap = float(average_precision_score(labels, scores)) if both else None
    return ImageMetrics(threshold=float(threshold), auroc=auroc, average_precision=ap,
                        **confusion_at(labels, scores, threshold))


def curves(labels: np.ndarray, scores: np.ndarray) -> dict[str, list[float]]:
    """PR and ROC curves as plain lists (for plots and metrics.json)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    labels = np.asarray(labels).astype(int)
    if labels.min(initial=0) == labels.max(initial=0):
        return {}
    precision, recall, pr_thresholds = precision_recall_curve(labels, scores)
    fpr, tpr, roc_thresholds = roc_curve(labels, scores)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "pr_thresholds": pr_thresholds.tolist(),
            "fpr": fpr.tolist(), "tpr": tpr.tolist(),
            "roc_thresholds": np.nan_to_num(roc_thresholds, posinf=1e9).tolist()}


@dataclass
class CrossFittedEstimate:
    """The cross-fitted estimate: each image judged by a threshold fitted on the other folds only."""

    n_folds: int
    f1: float
    precision: float
    recall: float
    accuracy: float
    thresholds: list[float] = field(default_factory=list)  # raw threshold of each fold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossFittedEstimate:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def label_folds(labels: np.ndarray, n_folds: int = 5, seed: int = 420) -> np.ndarray | None:
    """(N,) seeded fold of each picture, stratified by label; None when a class has fewer than 2 pictures."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels).astype(int)
    smallest = min(np.sum(labels == 0), np.sum(labels == 1))
    if smallest < 2:
        return None
    folds = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(int(min(n_folds, smallest)), shuffle=True, random_state=seed)
    for fold, (_, held_index) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        folds[held_index] = fold
    return folds


def cross_fitted_scores(labels: np.ndarray, scores: np.ndarray,
                        folds: np.ndarray | None = None, seed: int = 420) -> tuple[np.ndarray, list[float]] | None:
    """Each picture's normalized score under a normalization (threshold, min, max) fitted on the other folds only.

    So ``cross-fitted score > t`` is the verdict a normalization chosen without the picture would give at the
    normalized threshold t, for every t: counts at any slider position are out-of-sample counts.

    Args:
        labels: (N,) 1 = defect. scores: (N,) raw image scores.
        folds: (N,) fold of each picture (the supervised head's, so head and threshold share them); default
            :func:`label_folds`.

    Returns:
        ((N,) cross-fitted normalized scores in [0, 1], raw threshold of each fold), or None when a class has fewer
        than 2 pictures (nothing to cross-fit).
    """
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=np.float64)
    folds = label_folds(labels, seed=seed) if folds is None else np.asarray(folds)
    if folds is None:
        return None
    normalized, thresholds = np.zeros(len(labels)), []
    for fold in np.unique(folds):
        held, fit = folds == fold, folds != fold
        if labels[fit].min(initial=0) == labels[fit].max(initial=0):
            return None  # a fold holds a whole class: no adaptive threshold without it
        _, threshold, low, high = fit_image_normalization(labels[fit], scores[fit])
        thresholds.append(threshold)
        normalized[held] = normalize(scores[held], threshold, low, high)
    return normalized, thresholds


def cross_fitted_estimate(
    labels: np.ndarray, scores: np.ndarray, n_folds: int = 5, seed: int = 420
) -> CrossFittedEstimate | None:
    """k-fold over the test set: fit the adaptive threshold on k-1 folds, apply it to the held-out fold.

    Returns:
        The pooled figures, or None when a class has fewer than 2 images.
    """
    labels = np.asarray(labels).astype(int)
    folds = label_folds(labels, n_folds, seed)
    found = None if folds is None else cross_fitted_scores(labels, scores, folds)
    if found is None:
        return None
    normalized, thresholds = found
    figures = confusion_at(labels, normalized, 0.5)
    return CrossFittedEstimate(len(thresholds), figures["f1"], figures["precision"], figures["recall"],
                               figures["accuracy"], thresholds)


@dataclass
class PixelMetrics:
    """Pixel-level figures (maps compared with ground-truth masks)."""

    auroc: float
    aupro: float
    f1: float
    threshold: float  # raw threshold the F1 is measured at
    roc_fpr: list[float] = field(default_factory=list)  # ROC curve, about 200 points
    roc_tpr: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PixelMetrics:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


class PixelHistograms:
    """Streaming histograms of anomaly-map values: defect pixels, good pixels, and each defect region.

    Feed image by image with :meth:`add`; then :meth:`metrics` gives AUROC, AUPRO and F1 without keeping maps.
    """

    def __init__(self, low: float, high: float, n_bins: int = 8192):
        self.edges = np.linspace(low, high + 1e-6 * max(abs(high), 1.0), n_bins + 1)
        self.positives = np.zeros(n_bins, np.int64)
        self.negatives = np.zeros(n_bins, np.int64)
        self.regions: list[np.ndarray] = []  # per connected defect region: histogram of its pixels

    def _bin(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, values, side="right") - 1, 0, len(self.positives) - 1)

    def add(self, anomaly_map: np.ndarray, mask: np.ndarray) -> None:
        """Args: anomaly_map (H, W) raw scores; mask (H, W) bool, same shape."""
        bins = self._bin(anomaly_map.ravel())
        flat_mask = mask.ravel()
        n_bins = len(self.positives)
        self.positives += np.bincount(bins[flat_mask], minlength=n_bins)
        self.negatives += np.bincount(bins[~flat_mask], minlength=n_bins)
        if flat_mask.any():
            n_regions, regions = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            region_ids = regions.ravel()[flat_mask]
            region_bins = bins[flat_mask]
            for region in range(1, n_regions):
                self.regions.append(np.bincount(region_bins[region_ids == region], minlength=n_bins))

    def metrics(self, fpr_limit: float = 0.3) -> PixelMetrics:
        """AUROC, AUPRO (normalised area under PRO up to ``fpr_limit``) and the best F1."""
        tpr = _tail_share(self.positives)
        fpr = _tail_share(self.negatives)
        auroc = float(np.trapezoid(tpr[::-1], fpr[::-1]))
        threshold = binned_adaptive_threshold(self.positives, self.negatives, self.edges)
        index = int(np.searchsorted(self.edges, threshold))
        tp, fp = self.positives[index:].sum(), self.negatives[index:].sum()
        precision = tp / max(tp + fp, 1)
        recall = tp / max(self.positives.sum(), 1)
        f1 = float(2 * precision * recall / max(precision + recall, 1e-12))
        step = max(1, len(fpr) // 200)
        return PixelMetrics(auroc=auroc, aupro=self._aupro(fpr, fpr_limit), f1=f1, threshold=threshold,
                            roc_fpr=fpr[::-step].tolist(), roc_tpr=tpr[::-step].tolist())

    def _aupro(self, fpr: np.ndarray, fpr_limit: float) -> float:
        if not self.regions:
            return float("nan")
        pro = np.mean([_tail_share(region) for region in self.regions], axis=0)
        x, y = fpr[::-1], pro[::-1]  # ascending fpr
        keep = x <= fpr_limit
        x_cut, y_cut = x[keep], y[keep]
        if x_cut.size == 0 or x_cut[-1] < fpr_limit:  # interpolate the curve at the limit
            y_limit = float(np.interp(fpr_limit, x, y))
            x_cut, y_cut = np.append(x_cut, fpr_limit), np.append(y_cut, y_limit)
        return float(np.trapezoid(y_cut, x_cut) / fpr_limit)


def _tail_share(counts: np.ndarray) -> np.ndarray:
    """Share of the counted pixels at or above each bin's lower edge, with a final 0: (n_bins + 1,)."""
    tail = np.append(np.cumsum(counts[::-1])[::-1], 0).astype(np.float64)
    return tail / max(tail[0], 1.0)


@dataclass
class RunMetrics:
    """Every figure of a trained run, typed; ``metrics.json`` is :meth:`to_dict` (plus the run's problems).

    The JSON keys are a contract (old runs, ``tools/acceptance.py``): ``image_cross_validated`` holds the
    cross-fitted estimate, ``honest_f1`` in :meth:`headline` its F1.
    """

    image: ImageMetrics  # at the normalized image threshold
    image_cross_fitted: CrossFittedEstimate | None = None  # None: fewer than 2 pictures of a class
    pixel: PixelMetrics | None = None  # None: no masks
    curves: dict[str, list[float]] = field(default_factory=dict)  # PR/ROC on the normalized scale (see curves)
    normalization: Normalization | None = None
    n_test: dict[str, int] = field(default_factory=dict)  # {"good": n, "defect": n}
    supervised: dict[str, Any] | None = None  # enabled, reason and supervision.SupervisedRun.summary() figures

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form written to ``metrics.json`` (keys as in every earlier version)."""
        data = {"image": self.image.to_dict(),
                "image_cross_validated": None if self.image_cross_fitted is None else self.image_cross_fitted.to_dict(),
                "pixel": None if self.pixel is None else self.pixel.to_dict(), "curves": self.curves,
                "normalization": None if self.normalization is None else self.normalization.to_dict(),
                "n_test": self.n_test}
        if self.supervised is not None:
            data["supervised"] = self.supervised
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetrics:
        """Read :meth:`to_dict`'s form, also from runs written before (missing sections are None / empty).

        Raises:
            KeyError, TypeError: no or a malformed ``image`` section (callers turn it into a ModelFileError).
        """
        estimate, pixel, normalization = (data.get(key) for key in ("image_cross_validated", "pixel", "normalization"))
        return cls(ImageMetrics.from_dict(data["image"]),
                   CrossFittedEstimate.from_dict(estimate) if estimate else None,
                   PixelMetrics.from_dict(pixel) if pixel else None, dict(data.get("curves") or {}),
                   Normalization.from_dict(normalization) if normalization else None, dict(data.get("n_test") or {}),
                   data.get("supervised"))

    @property
    def supervised_enabled(self) -> bool:
        return bool((self.supervised or {}).get("enabled"))

    # where each figure of :meth:`headline` comes from: "fitted" = at the threshold chosen on the same test
    # pictures; "cross-fitted" = nothing about a picture's score or verdict was chosen on it (threshold-free
    # rankings of scores that no head fitted on the picture made, or the threshold fitted on the other folds)
    HEADLINE_PROVENANCE = {"image_auroc": "cross-fitted", "image_f1": "fitted", "pixel_auroc": "cross-fitted",
                           "pixel_aupro": "cross-fitted", "honest_f1": "cross-fitted"}

    def headline(self) -> dict[str, Any]:
        """The few figures kept in config.yaml's ``metrics`` (run lists, the API's run records)."""
        pixel, estimate = self.pixel, self.image_cross_fitted
        return {"image_auroc": self.image.auroc, "image_f1": self.image.f1,
                "pixel_auroc": None if pixel is None else pixel.auroc,
                "pixel_aupro": None if pixel is None else pixel.aupro,
                "honest_f1": None if estimate is None else estimate.f1, "supervised": self.supervised_enabled}


def run_metrics(labels: np.ndarray, scores: np.ndarray, normalization: Normalization, pixel: PixelMetrics | None,
                seed: int) -> RunMetrics:
    """A run's figures from its test results.

    Args:
        labels: (N,) 1 = defect. scores: (N,) raw image scores. pixel: from ``fit_normalization`` (None: no masks).
        seed: folds of the cross-fitted estimate.
    """
    normalized = normalization.normalize_scores(scores)
    return RunMetrics(image_metrics(labels, normalized, normalization.normalized_image_threshold),
                      cross_fitted_estimate(labels, scores, seed=seed), pixel, curves(labels, normalized),
                      normalization, {"good": int((labels == 0).sum()), "defect": int((labels == 1).sum())})


def fit_normalization(
    labels: np.ndarray, scores: np.ndarray, maps: np.ndarray, masks: Sequence[np.ndarray] | None = None,
    counted: Sequence[bool] | None = None,
) -> tuple[Normalization, PixelMetrics | None]:
    """Fit the thresholds and min/max of a run from its test results, as the old tool did.

    Image level: the adaptive (F1-optimal) threshold when both classes are present, else sigma6. Pixel level: the
    F1-optimal threshold on the pixel histograms when masks are given, else the image threshold.

    Args:
        labels: (N,) 1 = defect.
        scores: (N,) raw image scores.
        maps: (N, h, w) raw anomaly maps.
        masks: N (h, w) bool ground truths at the maps' size, or None (no pixel level).
        counted: (N,) which images enter the pixel metrics (good images, and defects with a mask); default all.

    Returns:
        (normalization, pixel metrics or None).
    """
    pixel_min, pixel_max = float(maps.min()), float(maps.max())
    method, threshold, image_min, image_max = fit_image_normalization(labels, scores)
    pixel_threshold, pixel_metrics = threshold, None
    if masks is not None:
        histograms = PixelHistograms(pixel_min, pixel_max)
        counted = [True] * len(masks) if counted is None else counted
        for anomaly_map, mask, use in zip(maps, masks, counted, strict=True):
            if use:
                histograms.add(anomaly_map, mask)
        pixel_metrics = histograms.metrics()
        pixel_threshold = pixel_metrics.threshold
    if method == "sigma6":
        pixel_max = 2.0 * pixel_threshold
    normalization = Normalization(method, threshold, image_min, image_max, pixel_threshold, pixel_min, pixel_max)
    return normalization, pixel_metrics
