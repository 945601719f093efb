"""Report ZIP and threshold computation on a real tiny run."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from hamacho_core.evaluation import Evaluation
from hamacho_core.persistence import update_thresholds
from ui.evaluate import gallery_order, threshold_view
from ui.report_zip import PARTS, build_report_zip, report_name, report_rows

RUN = Path("検査A") / "runs" / "20250101-120000"


def test_report_zip_holds_the_chosen_parts_and_an_index(trained_home: Path, tmp_path: Path) -> None:
    run_dir = trained_home / RUN
    out = build_report_zip(run_dir, tmp_path / "r.zip", ["combined", "metrics", "settings"], "検査A")
    names = zipfile.ZipFile(out).namelist()
    top = "検査A_20250101-120000/"
    assert all(n.startswith(top) for n in names)
    assert top + "index.html" in names and top + "settings/config.yaml" in names
    assert top + "metrics/test_outputs.csv" in names
    assert any(n.startswith(top + "images/combined/scratch/") for n in names)
    assert not any("predicted_heat_map" in n or n.endswith(".csv") and "/csv/" in n for n in names)
    page = zipfile.ZipFile(out).read(top + "index.html").decode("utf-8")
    rows = report_rows(run_dir, 0.5)
    assert len(rows) == 10 and page.count('<img class="thumb"') == len(rows)
    for row in rows:
        assert f'src="images/combined/{row.name}"' in page
        assert f"images/combined/{row.name}" in "\n".join(names)
    assert page.count("data:image/png;base64,") >= 3  # curves and plots embedded: opens offline
    assert "<style>" in page and "tr.FP td" in page and "$" not in page.split("<body>")[0]  # assets/ template filled


def test_index_embeds_thumbnails_without_combined_pictures(trained_home: Path, tmp_path: Path) -> None:
    out = build_report_zip(trained_home / RUN, tmp_path / "r.zip", ["settings"], "検査A")
    page = zipfile.ZipFile(out).read("検査A_20250101-120000/index.html").decode("utf-8")
    assert page.count('<img class="thumb" src="data:image/jpeg;base64,') == 10


def test_moved_threshold_changes_verdicts_and_redraws_pictures(trained_home: Path, tmp_path: Path) -> None:
    run_dir = trained_home / RUN
    before = zipfile.ZipFile(build_report_zip(run_dir, tmp_path / "a.zip", list(PARTS), "p"))
    update_thresholds(run_dir, image_norm=0.98, pixel_norm=0.9)
    after = zipfile.ZipFile(build_report_zip(run_dir, tmp_path / "b.zip", list(PARTS), "p"))
    verdicts = [r.verdict for r in report_rows(run_dir, 0.98)]
    assert verdicts.count("defect") < [r.verdict for r in report_rows(run_dir, 0.5)].count("defect")
    flipped = [r.name for r, s in zip(report_rows(run_dir, 0.98), report_rows(run_dir, 0.5), strict=True)
               if r.verdict != s.verdict]
    assert flipped
    combined = f"p_20250101-120000/images/combined/{flipped[0]}"
    assert before.read(combined) != after.read(combined)
    masks = [n for n in before.namelist() if "/predicted_mask/" in n]
    assert any(before.read(n) != after.read(n) for n in masks)
    page = after.read("p_20250101-120000/index.html").decode("utf-8")
    assert re.search(r"image threshold \(normalized\)</th><td>0\.980", page)


def test_report_name_keeps_japanese_and_drops_unsafe_characters() -> None:
    assert report_name("検査/A", "run:1") == "検査_A_run_1"


def test_gallery_order_puts_errors_first() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.8, 0.45])
    assert gallery_order(labels, scores, 0.5) == [0, 2, 4, 3, 1]


def _synthetic(n: int = 2000) -> Evaluation:
    from hamacho_core.thresholds import Normalization

    rng = np.random.default_rng(0)
    labels = (rng.random(n) < 0.3).astype(np.int64)
    raw = rng.normal(1.0, 0.3, n) + labels * 0.8
    maps = rng.random((n, 20, 20)).astype(np.float16)
    normalization = Normalization("adaptive", 1.4, float(raw.min()), float(raw.max()), 0.5, 0.0, 1.0)
    return Evaluation([f"/x/{i}.png" for i in range(n)], ["good" if v == 0 else "bad" for v in labels], labels,
                      raw, maps, None, normalization)


def test_threshold_view_follows_the_slider() -> None:
    evaluation = _synthetic()
    scores = evaluation.normalized_scores
    curves = evaluation.curves()
    text = {k: k for k in ("curve", "point", "pr", "roc", "recall", "precision", "fpr", "tpr", "good", "defect",
                           "histogram", "score", "count", "confusion", "predicted", "truth")}
    low = threshold_view(evaluation, scores, curves, 0.3, text)
    high = threshold_view(evaluation, scores, curves, 0.7, text)
    assert low.metrics.recall > high.metrics.recall and low.metrics.fp > high.metrics.fp
    assert low.figures["pr"].data[-1].x[0] == low.metrics.recall
    assert low.figures["histogram"].layout.shapes[0].x0 == 0.3
    assert high.figures["confusion"].data[0].z[1][1] == high.metrics.tp
    middle = threshold_view(evaluation, scores, curves, 0.55, text)
    assert high.metrics.recall <= middle.metrics.recall <= low.metrics.recall
    assert middle.metrics.tp + middle.metrics.fn == int(evaluation.labels.sum())
    assert middle.order[0] in np.flatnonzero((scores > 0.55) != (evaluation.labels == 1))  # an error comes first
