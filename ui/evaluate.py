"""The threshold page's computation, free of streamlit so it can be timed and tested: metrics at a normalized
threshold, the four figures, and the gallery order. Nothing here calls the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from hamacho_core.evaluation import Evaluation
from hamacho_core.metrics import ImageMetrics, image_metrics, outcome
from ui.charts import confusion_figure, histogram_figure, pr_figure, roc_figure

__all__ = ["ThresholdView", "gallery_order", "outcome", "threshold_view"]


@dataclass
class ThresholdView:
    metrics: ImageMetrics
    figures: dict[str, go.Figure]
    order: list[int]  # image indices for the gallery


def gallery_order(labels: np.ndarray, scores: np.ndarray, threshold: float, limit: int = 12) -> list[int]:
    """False positives, then false negatives (most wrong first), then the right ones closest to flipping."""
    predicted = scores > threshold
    distance = np.abs(scores - threshold)
    false_pos = np.flatnonzero(predicted & (labels == 0))
    false_neg = np.flatnonzero(~predicted & (labels == 1))
    right = np.flatnonzero(predicted == (labels == 1))
    ordered = [*false_pos[np.argsort(-distance[false_pos])], *false_neg[np.argsort(-distance[false_neg])],
               *right[np.argsort(distance[right])]]
    return [int(i) for i in ordered[:limit]]


def threshold_view(evaluation: Evaluation, scores: np.ndarray, curves: dict[str, list[float]], threshold: float,
                   text: dict[str, str], limit: int = 12) -> ThresholdView:
    """Everything the threshold fragment renders at ``threshold``: ``scores`` are the normalized scores the verdicts
    compare (the run's own, or the Threshold page's headline ones: cross-fitted or hold-out)."""
    metrics = image_metrics(evaluation.labels, scores, threshold)
    figures = {"pr": pr_figure(curves, metrics, text), "roc": roc_figure(curves, metrics, text),
               "histogram": histogram_figure(evaluation.labels, scores, threshold, text),
               "confusion": confusion_figure(metrics, text)}
    return ThresholdView(metrics, figures, gallery_order(evaluation.labels, scores, threshold, limit))
