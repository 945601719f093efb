"""The Threshold page's charts for a slider move: each chart's static part (curves, bands, histogram bars, layout)
is built and checked by plotly once per run and language; a move only puts new numbers into its moving part
(the operating point, the threshold line, the confusion counts, the cost markers).

Building and checking a plotly Figure of a 2,000-picture run costs tens of milliseconds per chart, so doing it on
every move for five charts made the slider slow; a :class:`CheckedFigure` hands the already-checked dict form to
``st.plotly_chart`` as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from hamacho_core.metrics import ImageMetrics

__all__ = ["CheckedFigure", "cost_markers", "moved", "static_spec"]


class CheckedFigure(go.Figure):
    """A figure given in plotly's dict form, built from a Figure that plotly checked (``static_spec``) and changed
    only in its numbers: ``st.plotly_chart`` takes ``to_dict()`` of a Figure without checking it again. It holds
    nothing but that dict (no Figure state is built), so use it only to hand the dict over."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def static_spec(figure: go.Figure) -> dict[str, Any]:
    """The dict form of a checked figure, to be cached (never changed in place: :func:`moved` copies)."""
    return figure.to_dict()


def _trace(spec: dict[str, Any], name: str) -> int:
    return next(i for i, trace in enumerate(spec["data"]) if trace.get("name") == name)


def _with(spec: dict[str, Any], changes: dict[int, dict[str, Any]], layout: dict[str, Any] | None = None
          ) -> CheckedFigure:
    """A copy of ``spec`` with the given traces' keys replaced (and layout keys); the rest shared, not copied."""
    data = list(spec["data"])
    for index, values in changes.items():
        data[index] = {**data[index], **values}
    return CheckedFigure({**spec, "data": data, "layout": {**spec["layout"], **(layout or {})}})


def moved(specs: dict[str, dict[str, Any]], metrics: ImageMetrics, threshold: float, point: str
          ) -> dict[str, CheckedFigure]:
    """The four charts of :func:`ui.charts` at ``threshold`` from their static specs (``point``: the name of the
    operating-point trace)."""
    fpr = metrics.fp / max(metrics.fp + metrics.tn, 1)
    histogram = specs["histogram"]
    shapes = [{**shape, "x0": threshold, "x1": threshold} for shape in histogram["layout"].get("shapes", [])]
    values = [[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]]
    return {
        "pr": _with(specs["pr"], {_trace(specs["pr"], point): {"x": [metrics.recall], "y": [metrics.precision]}}),
        "roc": _with(specs["roc"], {_trace(specs["roc"], point): {"x": [fpr], "y": [metrics.recall]}}),
        "histogram": _with(histogram, {}, {"shapes": shapes}),
        "confusion": _with(specs["confusion"], {0: {"z": values, "text": [[str(v) for v in row] for row in values]}}),
    }


def cost_markers(spec: dict[str, Any], thresholds: np.ndarray, cost: np.ndarray,
                 markers: dict[str, float]) -> CheckedFigure:
    """The cost chart with its markers (trace name -> threshold) on the cost curve."""
    changes = {}
    for name, value in markers.items():
        index = min(int(np.searchsorted(thresholds, value, side="right")) - 1, len(cost) - 1)
        changes[_trace(spec, name)] = {"x": [value], "y": [float(cost[max(index, 0)])]}
    return _with(spec, changes)
