"""Time one threshold-slider move on 2,000 synthetic test images (not a test: run it by hand).

    .venv/bin/python tests/app/measure_threshold.py

Measures what the fragment recomputes per move: Evaluation.metrics_at, the four plotly figures (built and
serialised to JSON as st.plotly_chart does) and the 12 gallery pictures (heat map + predicted mask), with the
run-level parts (normalized scores, curves) cached as the page caches them; then the same with the decision tools
(intervals at the threshold, bootstrap bands on PR/ROC, cost figure and sentence at the threshold, per-type and
per-folder tables, gallery filter), with their run-level parts (the bootstrap, bands, cost curve) cached once.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hamacho_core.decisions import Costs, Decisions
from hamacho_core.evaluation import Evaluation
from hamacho_core.thresholds import Normalization
from ui.evaluate import gallery_order, threshold_view
from ui.images import heat_overlay, mask_outline

N, SIDE = 2000, 160


def synthetic() -> Evaluation:
    rng = np.random.default_rng(0)
    labels = (rng.random(N) < 0.3).astype(np.int64)
    raw = rng.normal(1.0, 0.3, N) + labels * 0.8
    maps = rng.random((N, SIDE, SIDE), dtype=np.float32).astype(np.float16)
    masks = rng.random((N, SIDE, SIDE)) > 0.98
    normalization = Normalization("adaptive", 1.4, float(raw.min()), float(raw.max()), 0.5, 0.0, 1.0)
    types = ["good" if v == 0 else ("scratch", "spot", "crack")[i % 3] for i, v in enumerate(labels)]
    paths = [f"/x/{'good/line' + str(i % 2) if t == 'good' else t}/{i}.png" for i, t in enumerate(types)]
    return Evaluation(paths, types, labels, raw, maps, masks, normalization)


def _stats(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"


def _decision_parts(decisions: Decisions, evaluation: Evaluation, scores: np.ndarray, view, threshold: float,
                    costs: Costs) -> None:
    """What the decision tools add to one slider move (the figures as st.plotly_chart serialises them)."""
    from ui.decisions_panel import _band

    decisions.at(threshold)
    pr, roc = decisions.pr_band(), decisions.roc_band()
    _band(view.figures["pr"], pr["recall"], pr["low"], pr["high"], "band")
    _band(view.figures["roc"], roc["fpr"], roc["low"], roc["high"], "band")
    curve = decisions.cost_curve(costs)
    decisions.cost_at(threshold, costs)
    import plotly.graph_objects as go

    go.Figure(go.Scatter(x=curve.thresholds, y=curve.cost)).to_json()
    decisions.per_type(threshold)
    decisions.false_alarms_by_folder(threshold)
    order = gallery_order(evaluation.labels, scores, threshold, limit=len(scores))
    predicted = scores > threshold
    [i for i in order if evaluation.labels[i] == 1 and predicted[i]][:9]


def main() -> None:
    evaluation = synthetic()
    scores, curves = evaluation.normalized_scores, evaluation.curves()
    text = {k: k for k in ("curve", "point", "pr", "roc", "recall", "precision", "fpr", "tpr", "good", "defect",
                           "histogram", "score", "count", "confusion", "predicted", "truth")}
    thumb = np.full((SIDE, SIDE, 3), 128, np.uint8)
    start = time.perf_counter()
    decisions = Decisions(evaluation)
    costs = Costs(500.0, 5.0, 0.003)
    decisions.pr_band(), decisions.roc_band(), decisions.cheapest(costs), decisions.false_alarms_by_folder(0.5)
    once = time.perf_counter() - start
    plain, with_decisions = [], []
    for threshold in np.linspace(0.2, 0.8, 41):
        for record, decide in ((plain, False), (with_decisions, True)):
            start = time.perf_counter()
            view = threshold_view(evaluation, scores, curves, float(threshold), text)
            if decide:
                _decision_parts(decisions, evaluation, scores, view, float(threshold), costs)
            for figure in view.figures.values():
                figure.to_json()
            for index in view.order:
                normalized = evaluation.normalization.normalize_maps(evaluation.maps[index].astype(np.float32))
                np.hstack([heat_overlay(thumb, normalized),
                           mask_outline(thumb, evaluation.predicted_mask(index, 0.5), evaluation.masks[index])])
            record.append(time.perf_counter() - start)
    print(f"{N} images, {len(plain)} slider moves")
    print(f"  without the decision tools: {_stats(plain)}")
    print(f"  with the decision tools:    {_stats(with_decisions)}")
    print(f"  once per run (bootstrap of 1,000 resamples, bands, cheapest threshold): {once * 1000:.0f} ms")


if __name__ == "__main__":
    main()
