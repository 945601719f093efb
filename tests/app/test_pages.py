"""Every page's logic through Streamlit's AppTest (no browser): state, widgets, errors shown with st.error."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from app_support import APP, make_project
from streamlit.testing.v1 import AppTest

from ui.state import get_manager

TIMEOUT = 60


def _app(project: str | None = None, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    if project:
        at.session_state["project"] = project
    return at


def _page(page: str, project: str | None = None, lang: str = "en") -> AppTest:
    at = _app(project, lang)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _png(value: int = 128, size: int = 16) -> bytes:
    return cv2.imencode(".png", np.full((size, size, 3), value, np.uint8))[1].tobytes()


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


# ------------------------------------------------------------------------------------------------ home
def test_home_creates_opens_and_lists_projects(home: Path) -> None:
    at = _app()
    at.run()
    assert "No project yet" in _texts(at)
    at.text_input[0].input("ワッシャー検査")
    at.button(key="FormSubmitter:create-Create").click().run()
    assert not at.exception
    assert (home / "ワッシャー検査" / "data").is_dir()
    assert at.session_state["project"] == "ワッシャー検査"
    assert "Project ワッシャー検査 created." in _texts(at)


def test_home_refuses_a_bad_name_with_an_error(home: Path) -> None:
    at = _app()
    at.run()
    at.text_input[0].input("a/b")
    at.button(key="FormSubmitter:create-Create").click().run()
    assert not at.exception
    assert "not allowed in folder names" in at.error[0].value
    assert list(home.iterdir()) == []


def test_demo_button_generates_and_opens_the_demo(home: Path) -> None:
    at = _app()
    at.run()
    at.button(key="demo").click().run()
    assert not at.exception
    assert at.session_state["project"] == "demo"
    assert len(list((home / "demo" / "data" / "good").glob("*.png"))) == 30


def test_home_lists_runs_renames_and_deletes(trained_home: Path) -> None:
    at = _app("検査A")
    at.run()
    table = at.dataframe[0].value
    assert list(table["run"]) == ["20250101-120000"] and table["model"][0] == "patchcore"
    at.text_input(key="rename_to").input("検査B").run()
    at.button(key="rename").click().run()
    assert not at.exception and (trained_home / "検査B").is_dir() and at.session_state["project"] == "検査B"
    assert at.button(key="delete").disabled
    at.checkbox(key="delete_sure").check().run()
    at.button(key="delete").click().run()
    assert not (trained_home / "検査B").exists() and at.session_state["project"] is None


def test_language_switch_changes_the_text(home: Path) -> None:
    at = _app()
    at.run()
    assert at.title[0].value.startswith("Hamacho — visual")
    at.radio[0].set_value("ja").run()
    assert at.title[0].value == "Hamacho — 外観異常検知"
    assert at.button(key="demo").label == "デモを試す"


def test_pages_without_a_project_point_home(home: Path) -> None:
    for page in ("data", "train", "threshold", "inference", "report"):
        at = _page(page)
        assert "Open or create a project first." in _texts(at)


# ------------------------------------------------------------------------------------------------ data
def test_data_page_saves_dropped_folders_and_shows_counts_and_problems(home: Path) -> None:
    (home / "p" / "data").mkdir(parents=True)
    at = _page("data", "p")
    assert "No data yet" in _texts(at)
    good = [(f"良品/{i}.png", _png(100 + i), "image/png") for i in range(4)] + [("良品/memo.txt", b"x", "text/plain")]
    at.file_uploader(key="up_good_0").set_value(good).run()
    bad = [("bad/傷/a.png", _png(30), "image/png")]
    at.file_uploader(key="up_bad_0").set_value(bad).run()
    masks = [("mask/傷/a.png", _png(255), "image/png"), ("mask/傷/orphan.png", _png(255), "image/png")]
    at.file_uploader(key="up_mask_0").set_value(masks).run()
    assert not at.exception
    assert sorted(p.name for p in (home / "p" / "data" / "good").iterdir()) == ["0.png", "1.png", "2.png", "3.png"]
    assert (home / "p" / "data" / "bad" / "傷" / "a.png").is_file()
    frames = [d.value for d in at.dataframe]
    table = next(f for f in frames if "class / type" in f.columns)
    assert dict(zip(table["class / type"], table["images"], strict=True)) == {"good": 4, "bad/傷": 1}
    problems = next(f for f in frames if "reason" in f.columns)
    assert any("no matching defect image" in r for r in problems["reason"])


def test_data_page_rejects_an_unsafe_zip_with_a_message(home: Path) -> None:
    (home / "p" / "data").mkdir(parents=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good/1.png", _png())
        archive.writestr("../../outside.png", _png())
    at = _page("data", "p")
    at.file_uploader(key="zip_0").set_value(("data.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception
    assert "outside the folder" in at.error[0].value
    assert not (home / "p" / "data" / "good").exists()
    uploaders = [u.key for u in at.get("file_uploader")]
    assert "zip_1" in uploaders and "zip_0" not in uploaders  # the refused ZIP does not stay next to its error


def test_data_page_imports_a_zip_and_reports_non_images(home: Path) -> None:
    (home / "p" / "data").mkdir(parents=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(3):
            archive.writestr(f"検査/good/{i}.png", _png(90 + i))
        archive.writestr("検査/good/readme.txt", b"hello")
    at = _page("data", "p")
    at.file_uploader(key="zip_0").set_value(("データ.zip", buffer.getvalue(), "application/zip")).run()
    assert not at.exception
    assert "3 image(s) saved in the project." in _texts(at)
    assert any("not an image file" in str(v) for d in at.dataframe for v in d.value.get("reason", []))


def test_data_page_lists_unreadable_files_and_mismatched_masks(home: Path) -> None:
    data = make_project(home, "p") / "data"
    (data / "good" / "壊れた.png").write_bytes(b"not a png")
    (data / "mask" / "crack" / "crack_000.png").write_bytes(_png(255, size=32))
    at = _page("data", "p")
    assert not at.error
    problems = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    reasons = dict(zip([Path(p).name for p in problems["file"]], problems["reason"], strict=True))
    assert "not an image or damaged file" in reasons["壊れた.png"]
    assert "mask is 32x32 but image is 128x128" in reasons["crack_000.png"]


def test_train_page_shows_an_error_for_an_empty_good_folder(home: Path) -> None:
    (home / "p" / "data" / "good").mkdir(parents=True)
    at = _page("train", "p")
    assert not at.exception
    assert "need at least 2 readable good images" in at.error[0].value
    assert [b for b in at.button if b.key == "start"] == []


# ------------------------------------------------------------------------------------------------ train
def test_train_page_shows_the_input_shape_and_runs_a_job(home: Path) -> None:
    make_project(home, "p")
    at = _page("train", "p")
    assert "Input shape: **128 × 128** px" in _texts(at)  # keep-aspect, auto: the native 128 px
    at.radio(key="opt_resize").set_value("square").run()
    at.checkbox(key="opt_auto").uncheck().run()
    at.number_input(key="opt_size").set_value(96).run()
    assert "Input shape: **96 × 96** px" in _texts(at)
    assert "Memory bank: about **" in _texts(at)
    at.radio(key="opt_tiling").set_value("on").run()  # 128 px images cut into 96 px tiles
    assert "Tiles: **4** per image (2 × 2) of 96 × 96 px" in _texts(at)
    at.button(key="start").click().run()
    assert not at.exception
    job = get_manager().jobs(home / "p")[0]
    assert job.config["image_size"] == 96 and job.config["tiling"] == "on"
    assert job.config["run_dir"].startswith(str(home / "p" / "runs"))
    finished = get_manager().wait(job.key, timeout=300)
    assert finished.status == "done", finished.error
    at.run()
    assert "Saved. Image F1" in _texts(at)
    assert (Path(finished.run_dir) / "config.yaml").is_file()


def test_train_page_in_japanese_leaves_no_english_summary(home: Path) -> None:
    make_project(home, "p")
    at = _page("train", "p", lang="ja")
    texts = _texts(at)
    assert "テスト: 良品 " in texts and "good" not in texts.split("テスト:")[1].split("\n")[0]
    assert "長辺 128 px" in texts and "long side" not in texts and "never upsampled" not in texts


# ------------------------------------------------------------------------------------------------ threshold
def test_threshold_slider_changes_the_metrics_and_saves(trained_home: Path) -> None:
    at = _page("threshold", "検査A")
    assert not at.error
    recall_before = [m.value for m in at.metric if m.label == "Recall"][0]
    at.slider(key="thr_image_20250101-120000").set_value(0.99).run()
    assert not at.exception
    recall_after = [m.value for m in at.metric if m.label == "Recall"][0]
    assert float(recall_after) < float(recall_before)
    assert len(at.get("plotly_chart")) == 5  # PR, ROC, histogram, confusion; expected cost (decision tools)
    at.button(key="save_threshold").click().run()
    config = yaml.safe_load((trained_home / "検査A" / "runs" / "20250101-120000" / "config.yaml").read_text("utf-8"))
    assert config["normalization"]["image_norm"] == pytest.approx(0.99)


def test_threshold_page_says_when_a_run_is_from_a_newer_version(trained_home: Path) -> None:
    run = trained_home / "検査A" / "runs" / "20250101-120000" / "config.yaml"
    config = yaml.safe_load(run.read_text("utf-8"))
    config["format_version"] = 99
    run.write_text(yaml.safe_dump(config), encoding="utf-8")
    at = _page("threshold", "検査A")
    assert "newer hamacho" in at.error[0].value


# ------------------------------------------------------------------------------------------------ inference
def test_inference_table_and_rethresholding(trained_home: Path) -> None:
    data = trained_home / "検査A" / "data"
    files = [(f"新しい/{p.name}", p.read_bytes(), "image/png") for p in sorted((data / "bad" / "crack").glob("*.png"))]
    files += [(f"新しい/{p.name}", p.read_bytes(), "image/png") for p in sorted((data / "good").glob("*.png"))[:2]]
    at = _page("inference", "検査A")
    at.file_uploader(key="inf_dir_0").set_value(files).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table["verdict"]) <= {"good", "defect"}
    at.slider(key="inf_image_norm").set_value(0.0).run()
    assert set(at.dataframe[0].value["verdict"]) == {"defect"}
    at.slider(key="inf_image_norm").set_value(1.0).run()
    assert set(at.dataframe[0].value["verdict"]) == {"good"}
    assert [len(i.captions) for i in at.image] == [1, 1, 1, 1]  # heat map and mask of each image
    assert at.image[0].captions[0].startswith("good")
    at.slider(key="inf_pixel_norm").set_value(0.0).run()  # every pixel scored above 0 is in a region
    assert any("region(s), the highest at x" in i.captions[0] for i in at.image)


# ------------------------------------------------------------------------------------------------ report
def test_report_builds_the_zip_and_offers_the_download(trained_home: Path) -> None:
    at = _page("report", "検査A")
    at.checkbox(key="part_csv").check().run()
    at.button(key="build_zip").click().run()
    assert not at.exception
    target = trained_home / "検査A" / "exports" / "検査A_20250101-120000.zip"
    assert target.is_file()
    names = zipfile.ZipFile(target).namelist()
    assert "検査A_20250101-120000/index.html" in names
    assert "Download ZIP" in [b.label for b in at.get("download_button")]


def test_inference_on_non_images_shows_an_error_once(trained_home: Path) -> None:
    at = _page("inference", "検査A")
    at.file_uploader(key="inf_files_0").set_value([("memo.txt", b"hello", "text/plain")]).run()
    assert not at.exception
    assert "no readable image" in at.error[0].value
    at.run()
    assert not at.error  # the drop zone was emptied: nothing is retried
    assert [u.key for u in at.file_uploader] == ["inf_files_1", "inf_dir_1"]
