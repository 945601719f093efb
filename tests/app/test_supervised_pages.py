"""The supervised switch on the Train page and the learning curve on the Threshold page (AppTest, no browser)."""

from __future__ import annotations

import json
from pathlib import Path

from app_support import make_project
from test_pages import _page, _texts


def test_train_page_switch_says_what_the_head_will_do(home: Path) -> None:
    make_project(home, "p", n_good=8, n_bad=3)  # 12 defect pictures with masks
    at = _page("train", "p")
    assert "Supervised head on: learns from 12 defect pictures" in _texts(at)
    at.radio(key="opt_supervised").set_value("off").run()
    assert "Supervised head off: 12 defect picture(s), auto needs 10." in _texts(at)
    for mask in (home / "p" / "data" / "mask" / "scratch").iterdir():
        mask.unlink()
    at = _page("train", "p", lang="ja")
    assert "マスクのない不良画像が 3 枚あります" in _texts(at)


def test_threshold_page_shows_cross_fitted_note_and_learning_curve(trained_home: Path) -> None:
    metrics_path = trained_home / "検査A" / "runs" / "20250101-120000" / "test_predictions" / "metrics" / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    curve = [{"n_defect_pictures": n, "image_auroc": auroc, "recall": 0.8, "f1": 0.8, "is_all": n == 40}
             for n, auroc in ((5, 0.9), (10, 0.95), (40, 0.97))]
    metrics["supervised"] = {"enabled": True, "reason": "x", "n_folds": 5, "masks_used": False,
                             "plain": {"image_auroc": 0.91}, "learning_curve": curve}
    metrics_path.write_text(json.dumps(metrics), encoding="utf-8")
    at = _page("threshold", "検査A")
    text = _texts(at)
    assert "cross-fitted over 5 folds" in text and "good-only model 0.910, with the head 0.970" in text
    assert "masks would help" in text
    assert any(e.label == "How much would more defect pictures help?" for e in at.expander)
    assert sum(chart.key.startswith("curve-") for chart in at.get("plotly_chart")) == 1  # the learning curve
