"""Thresholds and min-max normalization, as in the old tool.

* Adaptive threshold: the raw score that maximises F1 on the precision-recall curve (image level, and pixel level
  when masks exist). It is placed half-way into the gap below the F1-optimal score, so ``>`` and ``>=`` agree.
* sigma6 (good-only training): threshold = mean + 3 std of held-out good scores, max = 2 x threshold.
* Normalization: ``normalized = (raw - threshold) / (max - min) + 0.5`` clipped to [0, 1], so the threshold sits
  at 0.5 and ``normalized > 0.5`` means defect. Normalized thresholds (``image_norm`` / ``pixel_norm`` on the
  command line and in the files) can then be moved without recomputing any score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hamacho_core.errors import ConfigError

__all__ = [
    "SAVED_NAMES",
    "Normalization",
    "adaptive_threshold",
    "binned_adaptive_threshold",
    "check_normalized_threshold",
    "fit_image_normalization",
    "normalize",
    "sigma6_threshold",
]


def _midpoint_below(scores: np.ndarray, threshold: float) -> float:
    below = scores[scores < threshold]
    return float((threshold + below.max()) / 2.0) if below.size else float(threshold)


def adaptive_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Raw score maximising F1 (labels: 1 = defect).

    Raises:
        ConfigError: when labels hold only one class.
    """
    from sklearn.metrics import precision_recall_curve  # imported on use: inference needs none

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.min() == labels.max():
        raise ConfigError("an adaptive threshold needs both good and defect images")
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = thresholds[int(np.argmax(f1[:-1]))] if thresholds.size > 1 else thresholds.reshape(-1)[0]
    return _midpoint_below(scores, float(best))


def binned_adaptive_threshold(positives: np.ndarray, negatives: np.ndarray, edges: np.ndarray) -> float:
    """F1-optimal threshold from histograms (for millions of pixels).

    Args:
        positives, negatives: (n_bins,) counts of defect / good pixels per bin.
        edges: (n_bins + 1,) bin edges.

    Returns:
        The lower edge of the best bin (pixels >= it are predicted defect).
    """
    tp = np.cumsum(positives[::-1])[::-1].astype(np.float64)  # predicted defect at threshold = edges[i]
    fp = np.cumsum(negatives[::-1])[::-1].astype(np.float64)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(tp[0], 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(edges[int(np.argmax(f1))])


def sigma6_threshold(good_scores: np.ndarray) -> tuple[float, float]:
    """Good-only threshold: (mean + 3 std, 2 x that) of held-out good scores -> (threshold, max)."""
    good_scores = np.asarray(good_scores, dtype=np.float64)
    threshold = float(good_scores.mean() + 3.0 * good_scores.std())
    return threshold, 2.0 * threshold


def normalize(raw: np.ndarray | float, threshold: float, minimum: float, maximum: float) -> np.ndarray:
    """Min-max normalization putting ``threshold`` at 0.5, clipped to [0, 1]."""
    span = max(maximum - minimum, 1e-12)
    return np.clip((np.asarray(raw, dtype=np.float64) - threshold) / span + 0.5, 0.0, 1.0)


def check_normalized_threshold(value: float | None, name: str = "image_norm") -> tuple[float, str | None]:
    """The old tool's rule: values <= 0.01 or >= 0.99 are reset to 0.5 with a warning.

    Returns:
        (value to use, warning or None).
    """
    if value is None:
        return 0.5, None
    if not 0.01 < value < 0.99:
        return 0.5, f"{name}={value} is outside (0.01, 0.99): using 0.5"
    return float(value), None


# config.yaml's ``normalization`` keys (and the CLI options, CSV columns, API fields) of the normalized thresholds
SAVED_NAMES = {"normalized_image_threshold": "image_norm", "normalized_pixel_threshold": "pixel_norm"}


@dataclass(slots=True)  # slots: setting a misspelt (or old) field name raises instead of adding an attribute
class Normalization:
    """Raw thresholds and the min/max used to normalize image scores and pixel maps, and the normalized thresholds.

    A raw score at ``image_threshold`` normalizes to 0.5; a picture is a defect when its normalized score is above
    ``normalized_image_threshold`` (0.5 until moved), a pixel when its normalized value is above
    ``normalized_pixel_threshold``. Saved as config.yaml's ``normalization`` (:meth:`to_dict`), where the normalized
    thresholds keep the old tool's names ``image_norm`` / ``pixel_norm`` (:data:`SAVED_NAMES`).
    """

    method: str  # "adaptive" or "sigma6"
    image_threshold: float  # raw image score that normalizes to 0.5
    image_min: float
    image_max: float
    pixel_threshold: float  # raw map value that normalizes to 0.5
    pixel_min: float
    pixel_max: float
    normalized_image_threshold: float = 0.5  # decision threshold on the normalized image score (image_norm)
    normalized_pixel_threshold: float = 0.5  # decision threshold on the normalized pixel map (pixel_norm)

    def normalize_scores(self, raw: np.ndarray | float) -> np.ndarray:
        """Normalized image scores: raw (N,) or a float -> float64 in [0, 1], the image threshold at 0.5."""
        return normalize(raw, self.image_threshold, self.image_min, self.image_max)

    def normalize_maps(self, raw: np.ndarray) -> np.ndarray:
        """Normalized anomaly maps: raw (..., H, W) -> float32 in [0, 1], the pixel threshold at 0.5."""
        return normalize(raw, self.pixel_threshold, self.pixel_min, self.pixel_max).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """config.yaml's ``normalization`` section (normalized thresholds as ``image_norm`` / ``pixel_norm``)."""
        return {SAVED_NAMES.get(k, k): (float(v) if isinstance(v, float | np.floating) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalization:
        """Read :meth:`to_dict`'s form (keys not known are ignored; missing normalized thresholds are 0.5)."""
        return cls(**{name: data[SAVED_NAMES.get(name, name)] for name in cls.__dataclass_fields__
                      if SAVED_NAMES.get(name, name) in data})


def fit_image_normalization(labels: np.ndarray, scores: np.ndarray) -> tuple[str, float, float, float]:
    """The image part of :func:`fit_normalization`: (method, raw threshold, min, max) from raw image scores.

    The adaptive (F1-optimal) threshold when both classes are present, else sigma6.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.min() != labels.max():
        return "adaptive", adaptive_threshold(labels, scores), float(scores.min()), float(scores.max())
    threshold, image_max = sigma6_threshold(scores)
    return "sigma6", threshold, float(scores.min()), image_max
