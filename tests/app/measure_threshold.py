"""Time one threshold-slider move on 2,000 synthetic test images (not a test: run it by hand).

    .venv/bin/python tests/app/measure_threshold.py

Measures what the fragment recomputes per move: Evaluation.metrics_at, the four plotly figures (built and
serialised to JSON as st.plotly_chart does) and the 12 gallery pictures (heat map + predicted mask), with the
run-level parts (normalized scores, curves) cached as the page caches them.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hamacho_core.evaluation import Evaluation  # noqa: E402
from hamacho_core.thresholds import Normalization  # noqa: E402
from ui.evaluate import threshold_view  # noqa: E402
from ui.images import heat_overlay, mask_outline  # noqa: E402

N, SIDE = 2000, 160


def synthetic() -> Evaluation:
    rng = np.random.default_rng(0)
    labels = (rng.random(N) < 0.3).astype(np.int64)
    raw = rng.normal(1.0, 0.3, N) + labels * 0.8
    maps = rng.random((N, SIDE, SIDE), dtype=np.float32).astype(np.float16)
    masks = rng.random((N, SIDE, SIDE)) > 0.98
    normalization = Normalization("adaptive", 1.4, float(raw.min()), float(raw.max()), 0.5, 0.0, 1.0)
    return Evaluation([f"/x/{i}.png" for i in range(N)], ["good" if v == 0 else "bad" for v in labels], labels,
                      raw, maps, masks, normalization)


def main() -> None:
    evaluation = synthetic()
    scores, curves = evaluation.normalized_scores, evaluation.curves()
    text = {k: k for k in ("curve", "point", "pr", "roc", "recall", "precision", "fpr", "tpr", "good", "defect",
                           "histogram", "score", "count", "confusion", "predicted", "truth")}
    thumb = np.full((SIDE, SIDE, 3), 128, np.uint8)
    times = []
    for threshold in np.linspace(0.2, 0.8, 25):
        start = time.perf_counter()
        view = threshold_view(evaluation, scores, curves, float(threshold), text)
        for figure in view.figures.values():
            figure.to_json()
        for index in view.order:
            normalized = evaluation.normalization.pixel(evaluation.maps[index].astype(np.float32))
            np.hstack([heat_overlay(thumb, normalized),
                       mask_outline(thumb, evaluation.predicted_mask(index, 0.5), evaluation.masks[index])])
        times.append(time.perf_counter() - start)
    print(f"{N} images: per slider move median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} moves")


if __name__ == "__main__":
    main()
