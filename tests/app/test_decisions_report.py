"""The report's decision section (HTML fragment) and one-page summary PNG, in both languages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from app_support import ROOT  # noqa: F401 - puts the repository on sys.path

from hamacho_core.decisions import Costs, save_costs
from hamacho_core.evaluation import Evaluation
from hamacho_core.thresholds import Normalization
from ui.decisions_report import decision_summary, decisions_csv, decisions_html, summary_png


def _evaluation() -> Evaluation:
    """20 scratches (19 caught), 10 spots (all caught), 30 good pictures in two folders (3 false alarms)."""
    labels = np.array([1] * 30 + [0] * 30)
    raw = np.r_[np.full(19, 0.9), 0.1, np.full(10, 0.8), np.full(3, 0.7), np.full(27, 0.2)]
    types = ["scratch"] * 20 + ["spot"] * 10 + ["good"] * 30
    paths = [f"/d/bad/{t}/{i}.png" for i, t in enumerate(types[:30])] + \
            [f"/d/good/line{1 + i % 2}/{i}.png" for i in range(30)]
    normalization = Normalization("adaptive", 0.5, 0.0, 1.0, 0.5, 0.0, 1.0)
    return Evaluation(paths, types, labels, raw, np.zeros((60, 4, 4), np.float16), None, normalization)


def test_html_states_intervals_costs_and_types_in_the_ui_language(tmp_path: Path) -> None:
    save_costs(tmp_path, Costs(500.0, 5.0, 0.003))
    summary = decision_summary(tmp_path, _evaluation(), holdout=_evaluation())  # a synthetic sealed hold-out
    english = decisions_html(summary, "en")
    assert "Hold-out: measured on 60 pictures the model never saw." in english
    assert "<td>0.95 (0.75–1.00)</td><td>hold-out</td>" in english  # scratch recall 19/20: CP 0.751-0.999
    assert "a miss rate up to" in english and "per 1,000 parts, about" in english
    assert "<td>scratch</td><td>19/20</td>" in english and "good/line1" in english
    japanese = decisions_html(summary, "ja")
    assert "不良の種類別の再現率" in japanese and "1,000 個あたり" in japanese
    assert "Recall" not in japanese and "モデルが一度も見ていない 60 枚" in japanese
    csv = decisions_csv(summary)
    assert "recall,0.966667,0.827" in csv and ",hold-out," in csv and ",fitted," in csv


def test_without_a_hold_out_the_headline_is_cross_fitted_and_never_zero_width(tmp_path: Path) -> None:
    summary = decision_summary(tmp_path, _evaluation())
    assert summary.answer.provenance == "cross-fitted"
    english = decisions_html(summary, "en")
    assert "Cross-fitted: each of these 60 pictures is judged by a threshold" in english
    for name in ("precision", "recall", "false_alarm_rate", "accuracy", "f1", "auroc"):
        estimate = getattr(summary.answer.headline, name)
        assert estimate.high > estimate.low and estimate.provenance == "cross-fitted"


def test_html_without_costs_has_no_cost_statement(tmp_path: Path) -> None:
    page = decisions_html(decision_summary(tmp_path, _evaluation()), "en")
    assert "per 1,000 parts" not in page and "cannot be ruled out" in page


def test_summary_png_is_one_a4_page(tmp_path: Path) -> None:
    save_costs(tmp_path, Costs(500.0, 5.0, 0.003))
    path = summary_png(decision_summary(tmp_path, _evaluation()), tmp_path / "summary.png", "検査A / run", "ja")
    image = cv2.imread(str(path))
    assert image.shape[:2] == (1169, 827)
    assert (image < 128).mean() > 0.01  # text and bars drawn


def test_report_zip_carries_the_section_and_the_summary(trained_home: Path, tmp_path: Path) -> None:
    import zipfile

    from ui.report_zip import build_report_zip

    run_dir = trained_home / "検査A" / "runs" / "20250101-120000"
    save_costs(run_dir, Costs(500.0, 5.0, 0.003))
    archive = zipfile.ZipFile(build_report_zip(run_dir, tmp_path / "r.zip", ["settings"], "検査A", language="ja"))
    top = "検査A_20250101-120000/"
    page = archive.read(top + "index.html").decode("utf-8")
    assert "判断のための数値" in page and "1,000 個あたり" in page and "95 % 区間" in page
    assert "クロスフィット: この" in page and "<td>学習時</td>" in page, page[page.index('id="decisions"'):][:800]
    assert top + "summary.png" in archive.namelist()
    rows = archive.read(top + "decisions.csv").decode("utf-8").splitlines()
    assert rows[0] == "figure,value,low,high,count,total,source,threshold,pictures"
    headline = [r.split(",") for r in rows[1:] if ",cross-fitted," in r]
    assert {r[0] for r in headline} >= {"recall", "precision", "false_alarm_rate", "f1", "auroc"}
    assert all(float(r[3]) > float(r[2]) for r in headline)  # never a zero-width interval
