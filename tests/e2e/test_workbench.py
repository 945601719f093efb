"""The analyst's path in a real browser: project → folders dropped through the file chooser → training →
threshold slider → inference → report ZIP. Screenshots of each page go to docs/screenshots/ (fixed names)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from e2e_support import SCREENSHOTS, download_report_zip, idle, nav

from hamacho_core.synthetic import make_demo_dataset

PROJECT = "ワッシャー検査"
pytestmark = pytest.mark.scenario  # each test a step of one path (tests/e2e/conftest.py)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny dataset on the analyst's disk (Japanese folder name): good/, bad/<type>/, mask/<type>/."""
    return make_demo_dataset(tmp_path_factory.mktemp("photos") / "写真", n_good=12, n_bad_per_type=2, size=128)


def _shot(page, name: str, height: int = 900) -> None:
    """A screenshot of the page (``height`` px tall: Streamlit scrolls inside its own container)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    idle(page)
    page.set_viewport_size({"width": 1400, "height": height})
    page.mouse.move(800, 400)
    page.mouse.wheel(0, -20_000)
    page.wait_for_timeout(800)  # let the last rerun and the resize paint
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 900})


def _charts_drawn(page, count: int = 4) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length"
                           f" >= {count}")


def _uploader(page, label: str):
    return page.get_by_test_id("stFileUploader").filter(has_text=label).locator("input[type=file]")


def _wait_files(page, folder: Path, count: int) -> None:
    for _ in range(200):
        if len(list(folder.rglob("*.png"))) >= count:
            return
        page.wait_for_timeout(100)


def _metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label)
    return box.get_by_test_id("stMetricValue").inner_text()


def test_create_project(page, workspace: Path) -> None:
    page.get_by_role("button", name="Try the demo").wait_for()
    page.get_by_label("New project").fill(PROJECT)
    page.get_by_role("button", name="Create").click()
    page.get_by_text(f"Project {PROJECT} created.").wait_for()
    assert (workspace / PROJECT / "data").is_dir()
    _shot(page, "projects")


def test_drop_folders_through_the_file_chooser(page, workspace: Path, photos: Path) -> None:
    nav(page, "Data")
    page.get_by_text("No data yet").wait_for()
    data = workspace / PROJECT / "data"
    for label, folder, count in (("Good images", "good", 12), ("Defect images", "bad", 8), ("Masks", "mask", 8)):
        _uploader(page, label).set_input_files(photos / folder)
        page.get_by_text(f"{count} image(s) saved in the project.").wait_for()
        _wait_files(page, data / folder, count)
        idle(page)
    assert len(list((data / "good").glob("*.png"))) == 12
    assert sorted(p.name for p in (data / "bad").iterdir()) == ["crack", "missing_piece", "scratch", "spot"]
    assert len(list((data / "mask").rglob("*.png"))) == 8
    counts = page.get_by_test_id("stDataFrame").first
    counts.wait_for()
    page.get_by_text("Every file is usable.").wait_for()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 14")
    _shot(page, "data", height=1500)


def test_train_in_the_background(page, workspace: Path) -> None:
    nav(page, "Train")
    page.get_by_text("Input shape:").wait_for()
    assert "128 × 128" in page.get_by_text("Input shape:").inner_text()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Saved. Image F1", exact=False).wait_for(timeout=240_000)
    runs = list((workspace / PROJECT / "runs").glob("*/config.yaml"))
    assert len(runs) == 1
    idle(page)
    _shot(page, "train")
    page.reload()  # a refresh keeps the project (URL) and the job (server side and jobs/*.json)
    page.get_by_text("Saved. Image F1", exact=False).wait_for()
    assert f"Project: {PROJECT}" in page.get_by_test_id("stSidebar").inner_text()


def test_threshold_slider_changes_the_metrics(page) -> None:
    nav(page, "Threshold")
    page.get_by_text("Images that flip").wait_for()
    page.get_by_test_id("stPlotlyChart").nth(3).wait_for()
    before = (_metric(page, "Precision"), _metric(page, "Recall"), _metric(page, "Accuracy"))
    slider = page.get_by_test_id("stSlider").first.get_by_role("slider")
    slider.focus()
    for _ in range(60):  # 0.5 -> 0.8
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=\"stSlider\"] input').value) > 0.79")
    idle(page)
    page.wait_for_timeout(500)
    idle(page)
    after = (_metric(page, "Precision"), _metric(page, "Recall"), _metric(page, "Accuracy"))
    assert after != before
    _charts_drawn(page)
    _shot(page, "threshold", height=1900)
    page.get_by_role("button", name="Save threshold to the run").click()
    page.get_by_text("Saved: image 0.800").wait_for()


def test_inference_on_a_dropped_folder(page, photos: Path) -> None:
    nav(page, "Inference")
    page.get_by_role("tab", name="Folder", exact=True).click()
    _uploader(page, "Drop a folder").set_input_files(photos / "bad")
    page.get_by_text("image(s), ").wait_for(timeout=120_000)
    idle(page)
    assert re.search(r"8 image\(s\), \d+ judged defect", page.get_by_text("judged defect").inner_text())
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 8")
    assert page.get_by_test_id("stImage").count() == 8  # heat map + predicted mask of each dropped image
    _shot(page, "inference", height=1500)


def test_report_zip_download(page, tmp_path: Path) -> None:
    nav(page, "Report")
    target = download_report_zip(page, tmp_path)
    assert target.name.startswith(f"{PROJECT}_") and target.suffix == ".zip"
    names = zipfile.ZipFile(target).namelist()
    top = target.stem
    assert f"{top}/index.html" in names and f"{top}/settings/config.yaml" in names
    assert any(n.startswith(f"{top}/images/combined/crack/") for n in names)
    page_html = zipfile.ZipFile(target).read(f"{top}/index.html").decode("utf-8")
    assert "0.800" in page_html  # the threshold saved in the previous step
    _shot(page, "report")


def test_japanese_interface(page) -> None:
    page.get_by_test_id("stSidebar").get_by_text("日本語").click()
    idle(page)
    nav(page, "しきい値")
    page.get_by_text("判定が変わる画像").wait_for()
    assert page.get_by_test_id("stMetric").filter(has_text="適合率").count() == 1
    _charts_drawn(page)
    _shot(page, "threshold_ja")
