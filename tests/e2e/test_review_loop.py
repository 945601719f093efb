"""The review loop in a real browser: in the gallery mark two pictures as good and one as a defect of a new type,
retrain from the button, see both runs side by side with the changed verdicts, the history lists the three changes,
undo restores every file (checked by hash); English and Japanese.

Self-contained: the dataset holds two good pictures filed under bad/ and one defect filed under good/ (the label
errors a customer's data has), and a first run is trained with the core.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from e2e_support import SCREENSHOTS, idle
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hamacho_core import labels
from hamacho_core.evaluation import Evaluation
from hamacho_core.pipeline import TrainConfig, train
from hamacho_core.synthetic import make_demo_dataset
from ui.evaluate import gallery_order

PROJECT = "レビュー"
RUN = "20250401-090000"
SCREENSHOT = "review_loop.png"  # docs/screenshots/ by `make screenshots`, else a temporary folder


def _wait_until(condition, seconds: float = 15.0) -> bool:
    """Poll ``condition`` (the files and history on disk) until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(workspace: Path) -> Path:
    project = workspace / PROJECT
    data = project / "data"
    make_demo_dataset(data, n_good=16, n_bad_per_type=1, size=128, seed=7)
    goods = sorted((data / "good").glob("*.png"))
    for name, source in (("filed_wrong_a.png", goods[0]), ("filed_wrong_b.png", goods[1])):
        shutil.move(source, data / "bad" / "scratch" / name)  # good pictures filed as defects
    train(TrainConfig(category="data", dataset_root=str(project), run_dir=str(project / "runs" / RUN),
                      image_size=128, resize="square", write_csv=False))
    return project


def _tab(browser, server: str, lang: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    context.set_default_timeout(60_000)
    tab = context.new_page()
    tab.goto(f"{server}/?project={PROJECT}&lang={lang}")
    idle(tab)
    return tab


def _open_label(page, name: str):
    """The Label popover under the gallery picture whose caption ends with ``name``; returns its body."""
    picture = f'//div[@data-testid="stElementContainer"][.//*[contains(text(), "{name}")]]'
    page.locator(f'xpath={picture}/following-sibling::div[1]//button[@data-testid="stPopoverButton"]').click()
    body = page.get_by_test_id("stPopoverBody").last
    body.wait_for()
    return body


def _settle(page) -> None:
    """Let the rerun a widget started begin, then wait for its end (idle alone may look before it starts)."""
    page.wait_for_timeout(600)
    idle(page)


def _relabel(page, name: str, choice: str, why: str, new_type: str | None = None) -> None:
    body = _open_label(page, name)
    body.get_by_text(choice, exact=True).click()
    _settle(page)
    if new_type is not None:
        body.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name="new type…").click()
        _settle(page)
        box = body.get_by_label("New type name")
        box.fill(new_type)
        box.press("Enter")
        _settle(page)
    why_box = body.get_by_label("Why (required to exclude)")
    why_box.fill(why)
    why_box.press("Enter")
    _settle(page)
    body.get_by_role("button", name="Apply").click()
    page.get_by_text(f"{name}: ").first.wait_for(timeout=60_000)  # the change's message after the rerun
    _settle(page)


def test_relabel_retrain_compare_history_and_undo(browser, server: str, project: Path,
                                                   tmp_path: Path) -> None:
    data = project / "data"
    before = _digest(data)
    evaluation = Evaluation.load(project / "runs" / RUN)
    shown = gallery_order(evaluation.labels, evaluation.normalized_scores, 0.5, limit=len(evaluation.labels))[:9]
    names = [Path(evaluation.paths[i]).name for i in shown]
    wrong = [n for n in names if n.startswith("filed_wrong")]
    good_shown = [Path(evaluation.paths[i]).name for i in shown if evaluation.labels[i] == 0]
    assert len(wrong) == 2 and good_shown, names

    page = _tab(browser, server, "en")
    page.get_by_test_id("stSidebarNav").get_by_text("Threshold", exact=True).click(timeout=180_000)
    page.get_by_text("Images that flip").wait_for(timeout=180_000)
    idle(page)
    _relabel(page, wrong[0], "good", "a good part, filed wrong")
    _relabel(page, wrong[1], "good", "a good part, filed wrong")
    _relabel(page, good_shown[0], "defect", "a dent we missed", new_type="dent")
    assert [c.after for c in labels.changes(project)] == ["good", "good", "defect:dent"]
    assert (data / "bad" / "dent" / good_shown[0]).is_file()

    page.get_by_role("button", name="Retrain with 3 change(s)").click()
    idle(page)
    # no click: when the job is done the Threshold page opens on the new run with the comparison
    page.get_by_text("Before and after the corrections").wait_for(timeout=300_000)
    idle(page)
    new_run = next(e["new_run"] for e in labels.history(project) if e["action"] == "retrain")
    assert urlparse(page.url).path.rstrip("/").endswith("/threshold"), page.url
    text = page.inner_text("body")
    assert f"Before: run {RUN} · after: run {Path(new_run).name}" in text and "Pictures whose verdict changed" in text
    assert "Label changes between the runs: 3" in text
    # the Compare runs section is open, both runs already picked
    picked = page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare").inner_text()
    assert RUN in picked and Path(new_run).name in picked, picked
    page.get_by_text("Before and after the corrections").scroll_into_view_if_needed()
    folder = SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / SCREENSHOT))
    assert (folder / SCREENSHOT).stat().st_size > 10_000
    page.get_by_test_id("stSidebarNav").get_by_text("Report", exact=True).click()  # wrong verdicts, relabelable
    page.get_by_text("Wrong verdicts at the saved threshold").wait_for(timeout=120_000)
    page.context.close()

    japanese = _tab(browser, server, "ja")
    japanese.get_by_test_id("stSidebarNav").get_by_text("データ", exact=True).click(timeout=180_000)
    japanese.get_by_text("ラベル変更の履歴").wait_for(timeout=180_000)
    idle(japanese)
    undo_pick = japanese.get_by_test_id("stSelectbox").filter(has_text="元に戻す")
    options = japanese.get_by_role("option")
    # a click while the thumbnails above still load can land before the page is laid out: wait for them first
    japanese.wait_for_function("() => Array.from(document.images).every(image => image.complete)")
    for _ in range(8):  # the first click is often taken by the page's last rerun, or the list opens late
        if options.count() and options.first.is_visible():
            break  # open (perhaps late, after the previous click): a click now would close it
        undo_pick.get_by_role("combobox").click()
        try:
            options.first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            pass
    options.first.wait_for()
    texts = options.all_inner_texts()  # the three changes, each one undoable, the newest first
    assert len(texts) == 3 and "不良: dent" in texts[0] and sum("→ 良品" in o for o in texts) == 2, texts
    japanese.keyboard.press("Escape")
    for in_force in (2, 1, 0):  # each undo takes back the newest change still in force
        for _ in range(3):  # a click during the rerun of the previous undo is dropped by the browser: click again
            japanese.get_by_role("button", name="元に戻す").last.click()
            idle(japanese)
            if _wait_until(lambda n=in_force: len(labels.changes_since(project, None)) == n):
                break
        assert len(labels.changes_since(project, None)) == in_force
    japanese.context.close()
    assert _digest(data) == before
