"""The review loop on the pages (AppTest): relabel in the gallery, the history and undo on the Data page, refused
imports kept until dismissed, "retrain with N changes" queued with the run's settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
from app_support import open_page

from hamacho_core import labels


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _texts(at) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.success, *at.warning))


def _png(value: int) -> bytes:
    return cv2.imencode(".png", np.full((16, 16, 3), value, np.uint8))[1].tobytes()


def test_refused_imports_stay_until_dismissed(home: Path) -> None:
    (home / "p" / "data").mkdir(parents=True)
    at = open_page("data", project="p")
    good = [(f"g/{i}.png", _png(100 + i), "image/png") for i in range(3)]
    refused = [("g/text.png", b"hello, not a picture", "image/png"), ("g/empty.png", b"", "image/png")]
    at.file_uploader(key="up_good_0").set_value(good + refused).run()
    at.file_uploader(key="up_good_1").set_value([("g/3.png", _png(90), "image/png")]).run()  # the next drop
    assert not at.exception
    assert "2 refused file(s)" in _texts(at) and "Every file is usable" not in _texts(at)
    table = next(d.value for d in at.dataframe if "When (UTC)" in d.value.columns)
    assert sorted(Path(n).name for n in table["file"]) == ["empty.png", "text.png"]
    at.button(key="dismiss_refused").click().run()
    assert "refused file" not in _texts(at) and labels.open_refusals(home / "p") == []


def test_gallery_relabel_history_undo_and_retrain(trained_home: Path) -> None:
    project = trained_home / "検査A"
    data = project / "data"
    before = _digest(data)
    at = open_page("threshold", lang="ja")
    keys = [r.key for r in at.radio if str(r.key).startswith("relabel_")]
    assert len(keys) >= 3, "the gallery offers no label choice"
    key = keys[0].removesuffix("_to_ja")
    at.radio(key=f"{key}_to_ja").set_value("除外(使えない写真)").run()
    at.text_input(key=f"{key}_why").input("ピンぼけ").run()
    at.button(key=f"{key}_apply").click().run()
    assert not at.exception, at.exception
    [change] = labels.changes(project)
    assert change.after == "excluded" and change.why == "ピンぼけ" and change.who == "local"
    assert at.button(key="retrain").label == "1 件の変更で再学習"
    at.button(key="retrain").click().run()
    assert not at.exception, at.exception
    runs = sorted((project / "jobs").glob("*.json"))
    assert runs, "no training job queued"
    [retrain] = [e for e in labels.history(project) if e["action"] == "retrain"]
    assert retrain["changes"] == [change.id] and retrain["old_run"].endswith("20250101-120000")

    data_page = open_page("data")
    history = next(d.value for d in data_page.dataframe if "SHA-256" in d.value.columns)
    assert list(history["Why"]) == ["ピンぼけ"] and list(history["SHA-256"]) == [change.sha256[:12]]
    data_page.button(key="history_undo").click().run()
    assert not data_page.exception, data_page.exception
    assert _digest(data) == before


def test_data_doctor_finds_a_defect_filed_as_good_and_excludes_it_in_one_click(trained_home: Path) -> None:
    project = trained_home / "検査A"
    data = project / "data"
    source = sorted((data / "bad").rglob("*.png"))[0]
    copy = data / "good" / "copy_of_a_defect.png"
    copy.write_bytes(source.read_bytes())
    at = open_page("data")
    at.checkbox(key="doc_features").uncheck().run()
    at.button(key="doc_run").click().run()
    assert not at.exception, at.exception
    assert "Same picture twice (one good, one defect)" in _texts(at)
    assert "good/copy_of_a_defect.png" in _texts(at)
    at.button(key="doc_x_0").click().run()
    assert not at.exception, at.exception
    assert not copy.exists() and (data / "excluded" / "good" / "copy_of_a_defect.png").is_file()
    [change] = labels.changes(project)
    assert change.why == "data doctor: duplicate"


def test_the_report_zip_carries_the_label_history(trained_home: Path, tmp_path: Path) -> None:
    import zipfile

    from ui.report_zip import build_report_zip

    project = trained_home / "検査A"
    picture = sorted((project / "data" / "good").glob("*.png"))[0]
    change = labels.relabel(project, picture, "excluded", why="dust on the lens")
    target = build_report_zip(project / "runs" / "20250101-120000", tmp_path / "r.zip", ["settings"], project.name)
    with zipfile.ZipFile(target) as archive:
        [name] = [n for n in archive.namelist() if n.endswith("labels/history.jsonl")]
        assert change.id in archive.read(name).decode("utf-8")
