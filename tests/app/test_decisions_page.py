"""The Threshold page's decision tools through AppTest: ranges, costs moving the suggestion, the one-click button,
constraints, per-type table, runs side by side, gallery filter; the costs kept with the run and the report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from app_support import open_page
from streamlit.testing.v1 import AppTest

from hamacho_core.decisions import load_costs

RUN = "20250101-120000"


def _threshold_page(lang: str = "en") -> AppTest:
    return open_page("threshold", lang, timeout=90)


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error))


def _table(at: AppTest, column: str):
    """The first table with ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _suggested(at: AppTest) -> float:
    return float(re.search(r"Cheapest threshold \*\*([0-9.]+)\*\*", _texts(at)).group(1))


def test_ranges_sentence_and_per_type_table(trained_home: Path) -> None:
    at = _threshold_page()
    texts = _texts(at)
    ranges = re.findall(r"95 %: (0\.\d{3})–([01]\.\d{3}) \(\d+/\d+\) · cross-fitted", texts)  # under the metrics
    assert ranges and all(float(high) > float(low) for low, high in ranges)  # never a zero width
    assert "Cross-fitted: each of these" in texts and "other" in texts
    assert "Fitted on these pictures (threshold chosen on them, optimistic)" in texts
    assert "cannot be ruled out" in texts
    assert {m.label for m in at.metric} >= {"Precision", "Recall", "False-alarm rate", "AUROC"}
    types = _table(at, "defect type")
    assert set(types["defect type"]) == {"crack", "missing_piece", "scratch", "spot"}
    assert "pixel IoU" in types.columns


def test_costs_move_the_suggestion_and_the_button_moves_the_slider(trained_home: Path) -> None:
    at = _threshold_page()
    at.number_input(key=f"d_cost_miss_{RUN}").set_value(100000.0).run()
    dear_misses = _suggested(at)
    at.number_input(key=f"d_cost_miss_{RUN}").set_value(1.0).run()
    at.number_input(key=f"d_cost_fa_{RUN}").set_value(1000.0).run()
    cheap_misses = _suggested(at)
    assert dear_misses < cheap_misses
    at.button(key=f"d_use_cost_{RUN}").click().run()
    assert not at.exception
    assert at.slider(key=f"thr_image_{RUN}").value == pytest.approx(cheap_misses)
    at.button(key="save_threshold").click().run()
    run_dir = trained_home / "検査A" / "runs" / RUN
    assert load_costs(run_dir).cost_false_alarm == 1000.0


def test_constraint_button_and_gallery_filter(trained_home: Path) -> None:
    at = _threshold_page()
    at.number_input(key=f"d_min_recall_{RUN}").set_value(1.0).run()
    found = re.search(r"Threshold \*\*([0-9.]+)\*\*: recall 1\.00", _texts(at))
    assert found
    at.button(key=f"d_use_recall_{RUN}").click().run()
    assert at.slider(key=f"thr_image_{RUN}").value == pytest.approx(float(found.group(1)))
    shown = len(at.image)
    assert shown > 0, "the gallery shows the test pictures before any filter"
    at.multiselect(key="d_filter_outcome").set_value(["FN"]).run()  # recall 1: no miss left to show
    assert "No picture matches this filter." in _texts(at)
    assert len(at.image) < shown


def test_runs_side_by_side(trained_home: Path) -> None:
    runs = trained_home / "検査A" / "runs"
    shutil.copytree(runs / RUN, runs / "20250102-120000")
    at = _threshold_page("ja")
    at.multiselect(key="d_compare_runs").set_value([str(runs / RUN), str(runs / "20250102-120000")]).run()
    assert not at.exception
    table = _table(at, "AUROC")
    assert len(table) == 2
    assert "どの学習結果も同じテスト画像" in _texts(at)
    assert "クロスフィット:" in _texts(at) and set(table["出所"]) == {"クロスフィット"}
    assert "判定が分かれた画像 (0)" in _texts(at)
