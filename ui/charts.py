"""Plotly figures of the threshold page and the report (built from cached scores; no model call)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from hamacho_core.metrics import ImageMetrics

__all__ = ["confusion_figure", "histogram_figure", "pr_figure", "roc_figure"]

GOOD_COLOR, DEFECT_COLOR, POINT_COLOR = "#2e8b57", "#d62728", "#1f3b73"
_LAYOUT: dict[str, Any] = {"height": 300, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
                           "legend": {"orientation": "h", "y": -0.25}}


def pr_figure(curves: dict[str, list[float]], metrics: ImageMetrics, labels: dict[str, str]) -> go.Figure:
    """Precision-recall curve with the current operating point."""
    figure = go.Figure()
    if curves:
        figure.add_scatter(x=curves["recall"], y=curves["precision"], mode="lines", name=labels["curve"],
                           line={"shape": "hv"})
    figure.add_scatter(x=[metrics.recall], y=[metrics.precision], mode="markers", name=labels["point"],
                       marker={"size": 12, "color": POINT_COLOR})
    ap = "" if metrics.average_precision is None else f" (AP {metrics.average_precision:.3f})"
    figure.update_layout(title=labels["pr"] + ap, xaxis_title=labels["recall"], yaxis_title=labels["precision"],
                         xaxis_range=[-0.02, 1.02], yaxis_range=[-0.02, 1.05], **_LAYOUT)
    return figure


def roc_figure(curves: dict[str, list[float]], metrics: ImageMetrics, labels: dict[str, str]) -> go.Figure:
    """ROC curve with AUROC in the title and the current operating point."""
    figure = go.Figure()
    if curves:
        figure.add_scatter(x=curves["fpr"], y=curves["tpr"], mode="lines", name=labels["curve"])
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, showlegend=False)
    fpr = metrics.fp / max(metrics.fp + metrics.tn, 1)
    figure.add_scatter(x=[fpr], y=[metrics.recall], mode="markers", name=labels["point"],
                       marker={"size": 12, "color": POINT_COLOR})
    auroc = "" if metrics.auroc is None else f" (AUROC {metrics.auroc:.3f})"
    figure.update_layout(title=labels["roc"] + auroc, xaxis_title=labels["fpr"], yaxis_title=labels["tpr"],
                         xaxis_range=[-0.02, 1.02], yaxis_range=[-0.02, 1.05], **_LAYOUT)
    return figure


def histogram_figure(labels_array: np.ndarray, scores: np.ndarray, threshold: float,
                     labels: dict[str, str]) -> go.Figure:
    """Normalized score histogram, good vs defect, with the threshold line."""
    figure = go.Figure()
    bins = {"start": 0.0, "end": 1.0, "size": 0.02}
    figure.add_histogram(x=scores[labels_array == 0], name=labels["good"], xbins=bins, opacity=0.65,
                         marker_color=GOOD_COLOR)
    figure.add_histogram(x=scores[labels_array == 1], name=labels["defect"], xbins=bins, opacity=0.65,
                         marker_color=DEFECT_COLOR)
    figure.add_vline(x=threshold, line={"color": POINT_COLOR, "width": 2, "dash": "dash"})
    figure.update_layout(barmode="overlay", title=labels["histogram"], xaxis_title=labels["score"],
                         yaxis_title=labels["count"], xaxis_range=[0, 1], **_LAYOUT)
    return figure


def confusion_figure(metrics: ImageMetrics, labels: dict[str, str]) -> go.Figure:
    """2 x 2 confusion matrix (rows: truth, columns: verdict)."""
    values = [[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]]
    names = [labels["good"], labels["defect"]]
    figure = go.Figure(go.Heatmap(z=values, x=names, y=names, colorscale="Blues", showscale=False,
                                  text=[[str(v) for v in row] for row in values], texttemplate="%{text}",
                                  textfont={"size": 20}))
    figure.update_layout(title=labels["confusion"], xaxis_title=labels["predicted"], yaxis_title=labels["truth"],
                         yaxis_autorange="reversed", **_LAYOUT)
    return figure
