"""The decision tools in a real browser: entering costs moves the suggested threshold, the one-click button moves
the slider, every range on the page says where it comes from (cross-fitted) and is never zero-width, and the
report's index.html and decisions.csv carry the intervals, their sources and the cost statement.

Self-contained: a small run is trained with the core into a project of its own (the workbench flow's project is
left alone). Screenshot: docs/screenshots/threshold_decisions.png.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from e2e_support import SCREENSHOTS, download_report_zip, idle, nav

PROJECT = "判断テスト"


@pytest.fixture(scope="module")
def decision_page(browser, server: str, workspace: Path, trained_workspace: Path):
    """A trained run in project 判断テスト (a copy of the session's trained project) and a fresh English tab on it."""
    project = workspace / PROJECT
    if not list((project / "runs").glob("*/config.yaml")):
        shutil.copytree(trained_workspace / "検査A", project)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(60_000)
    tab = context.new_page()
    tab.goto(f"{server}/?project={PROJECT}&lang=en")  # the router reads both (a page URL would skip it)
    yield tab
    context.close()


def _suggested(page) -> float:
    text = page.get_by_text(re.compile(r"Cheapest threshold")).first.inner_text()
    return float(re.search(r"Cheapest threshold\s+([0-9.]+)", text).group(1))


def _set_number(page, label: str, value: str, echo: str) -> None:
    """Type a cost and wait until the page states it back (``echo``), so the figures read next are current."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.get_by_text(echo).first.wait_for(timeout=120_000)
    idle(page)


def _slider_value(page) -> float:
    return float(page.evaluate("() => document.querySelector('[data-testid=\"stSlider\"] input').value"))


def test_costs_move_the_suggestion_and_the_button_moves_the_slider(decision_page) -> None:
    page = decision_page
    page.get_by_test_id("stSidebarNav").get_by_text("Threshold", exact=True).click(timeout=180_000)
    page.get_by_text("Images that flip").wait_for(timeout=180_000)
    idle(page)
    ranges = page.get_by_text(re.compile(r"95 %: 0\.\d{3}–[01]\.\d{3}.* · cross-fitted"))
    assert ranges.count() >= 4  # ranges beside the metrics, each with its source
    for text in ranges.all_inner_texts():
        low, high = (float(v) for v in re.search(r"95 %: (0\.\d{3})–([01]\.\d{3})", text).groups())
        assert high > low, text  # never a zero-width interval
    assert page.get_by_text(re.compile(r"Cross-fitted: each of these \d+ pictures")).count() >= 1
    assert page.get_by_text(re.compile(r"Fitted on these pictures .* optimistic")).count() >= 1
    page.get_by_role("tab", name="Costs").click()
    _set_number(page, "Cost of a missed defect", "100000", "a missed defect 100000, a false alarm 1,")
    dear_misses = _suggested(page)
    _set_number(page, "Cost of a missed defect", "1", "a missed defect 1, a false alarm 1,")
    _set_number(page, "Cost of a false alarm", "1000", "a missed defect 1, a false alarm 1000,")
    cheap_misses = _suggested(page)
    assert cheap_misses > dear_misses
    assert _slider_value(page) == pytest.approx(0.5)
    page.get_by_role("button", name="Use this threshold").first.click()
    page.wait_for_function("(v) => Math.abs(Number(document.querySelector('[data-testid=\"stSlider\"] input')"
                           ".value) - v) < 1e-6", arg=cheap_misses)
    idle(page)
    assert _slider_value(page) == pytest.approx(cheap_misses)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2300})
    page.mouse.move(800, 400)
    page.mouse.wheel(0, -20_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "threshold_decisions.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.get_by_role("button", name="Save threshold to the run").click()
    page.get_by_text(f"Saved: image {cheap_misses:.3f}").wait_for()


def test_the_report_carries_intervals_and_costs(decision_page, tmp_path: Path) -> None:
    page = decision_page
    nav(page, "Report")
    target = download_report_zip(page, tmp_path)
    archive = zipfile.ZipFile(target)
    top = target.stem
    index = archive.read(f"{top}/index.html").decode("utf-8")
    assert "Decision figures" in index
    assert re.search(r"<td>0\.\d{3}–[01]\.\d{3}</td><td>\d+/\d+</td><td>cross-fitted</td>", index)  # with its source
    assert "Cross-fitted: each of these" in index and "<td>fitted</td>" in index
    rows = [r.split(",") for r in archive.read(f"{top}/decisions.csv").decode("utf-8").splitlines()[1:]]
    headline = [r for r in rows if r[6] == "cross-fitted"]
    assert {r[0] for r in headline} >= {"recall", "precision", "false_alarm_rate", "f1"}
    assert all(float(r[3]) > float(r[2]) for r in headline)
    assert "cannot be ruled out" in index and "per 1,000 parts, about" in index
    assert f"{top}/summary.png" in archive.namelist()
