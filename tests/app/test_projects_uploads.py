"""Projects and data import (plain functions): names, layout, ZIP safety, non-image files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from hamacho_core import projects
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.uploads import UnsafeArchiveError, import_folder, import_zip, save_uploads, target_for


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _png() -> bytes:
    import cv2
    import numpy as np

    return cv2.imencode(".png", np.full((8, 8, 3), 128, np.uint8))[1].tobytes()


def test_create_rename_delete_with_japanese_names(home: Path) -> None:
    folder = projects.create_project("  ワッシャー検査  ")
    assert folder == home / "ワッシャー検査" and (folder / "data").is_dir()
    assert projects.list_projects() == ["ワッシャー検査"]
    with pytest.raises(projects.ProjectError):
        projects.create_project("ワッシャー検査")
    projects.rename_project("ワッシャー検査", "検査B")
    assert projects.list_projects() == ["検査B"]
    projects.delete_project("検査B")
    assert projects.list_projects() == []


@pytest.mark.parametrize("name", ["", "  ", ".hidden", "..", "a/b", "a\\b", "x:y"])
def test_bad_project_names_are_refused(home: Path, name: str) -> None:
    with pytest.raises(projects.ProjectError):
        projects.create_project(name)
    assert list(home.iterdir()) == []


def test_a_folder_holding_good_directly_is_its_own_data_folder(home: Path) -> None:
    (home / "demo" / "good").mkdir(parents=True)
    assert projects.data_dir(home / "demo") == home / "demo"
    assert projects.data_dir(home / "other") == home / "other" / "data"


def test_ensure_demo_generates_once(home: Path) -> None:
    assert projects.ensure_demo() == "demo"
    goods = list((home / "demo" / "data" / "good").glob("*.png"))
    assert len(goods) == 30
    assert len(list((home / "demo" / "data" / "mask").rglob("*.png"))) == 16
    (goods[0]).unlink()
    projects.ensure_demo()  # an existing demo project is opened, not regenerated
    assert len(list((home / "demo" / "data" / "good").glob("*.png"))) == 29


@pytest.mark.parametrize(("kind", "name", "expected"), [
    ("good", "good/a.png", "good/a.png"),
    ("good", "photos/sub/a.png", "good/sub/a.png"),
    ("bad", "bad/scratch/a.png", "bad/scratch/a.png"),
    ("bad", "scratch/a.png", "bad/scratch/a.png"),
    ("bad", "a.png", "bad/bad/a.png"),
    ("mask", "mask/傷/a.png", "mask/傷/a.png"),
])
def test_uploaded_names_map_to_the_folder_layout(kind: str, name: str, expected: str) -> None:
    assert target_for(kind, name).as_posix() == expected


def test_save_uploads_reports_non_images_and_refuses_escapes(tmp_path: Path) -> None:
    report = save_uploads(tmp_path, "bad", [("bad/傷/画像1.png", _png()), ("bad/傷/notes.txt", b"x"),
                                             ("bad/.DS_Store", b"")])
    assert [p.relative_to(tmp_path).as_posix() for p in report.written] == ["bad/傷/画像1.png"]
    assert [p.reason for p in report.problems] == ["not an image file (skipped)"]
    with pytest.raises(UnsafeArchiveError):
        save_uploads(tmp_path, "good", [("good/../../evil.png", _png())])
    assert not (tmp_path.parent / "evil.png").exists()


def test_zip_of_the_layout_inside_a_top_folder(tmp_path: Path) -> None:
    data = _zip({"検査/good/1.png": _png(), "検査/good/2.png": _png(), "検査/bad/scratch/3.png": _png(),
                 "検査/mask/scratch/3.png": _png(), "検査/readme.txt": b"hello", "検査/good/x.csv": b"1,2"})
    report = import_zip(tmp_path, data, len(data.getvalue()))
    written = sorted(p.relative_to(tmp_path).as_posix() for p in report.written)
    assert written == ["bad/scratch/3.png", "good/1.png", "good/2.png", "mask/scratch/3.png"]
    reasons = sorted(p.reason for p in report.problems)
    assert reasons == ["not an image file (skipped)", "outside good/, bad/ and mask/ (skipped)"]


@pytest.mark.parametrize("evil", ["../evil.png", "good/../../evil.png", "/tmp/evil.png", "C:/evil.png"])
def test_zip_members_outside_the_root_reject_the_whole_zip(tmp_path: Path, evil: str) -> None:
    data = _zip({"good/1.png": _png(), evil: _png()})
    with pytest.raises(UnsafeArchiveError, match="outside"):
        import_zip(tmp_path / "data", data, len(data.getvalue()))
    assert not (tmp_path / "data").exists()


def test_zip_bomb_is_rejected_by_ratio_and_by_cap(tmp_path: Path) -> None:
    bomb = _zip({"good/1.png": _png(), "good/zeros.png": bytes(50 * 1024**2)})
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        import_zip(tmp_path, bomb, len(bomb.getvalue()))
    stored = _zip({"good/1.png": _png(), "good/2.png": bytes(2048)}, zipfile.ZIP_STORED)
    with pytest.raises(UnsafeArchiveError, match="limit"):
        import_zip(tmp_path, stored, len(stored.getvalue()), max_unpacked=1024)
    assert list(tmp_path.iterdir()) == []


def test_not_a_zip_and_zip_without_good(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a readable ZIP"):
        import_zip(tmp_path, io.BytesIO(b"PK not really"), 13)
    data = _zip({"bad/1.png": _png()})
    with pytest.raises(DataError, match="no good/"):
        import_zip(tmp_path, data, len(data.getvalue()))


def test_import_server_folder(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "good").mkdir(parents=True)
    (source / "good" / "a.png").write_bytes(_png())
    (source / "good" / "b.doc").write_bytes(b"x")
    report = import_folder(tmp_path / "data", source, roots=[tmp_path])
    assert [p.name for p in report.written] == ["a.png"] and len(report.problems) == 1
    with pytest.raises(DataError, match="not found"):
        import_folder(tmp_path / "data", tmp_path / "missing", roots=[tmp_path])


def test_train_config_for_a_project_holding_good_directly(home: Path) -> None:
    from ui.training import make_config

    (home / "demo" / "good").mkdir(parents=True)
    config = make_config(home / "demo", image_size=128)
    assert (config.dataset_root, config.category) == (str(home), "demo")
    assert Path(config.run_dir).parent == home / "demo" / "runs"
    config = make_config(projects.create_project("新規"))
    assert config.dataset_dir == home / "新規" / "data"
    # The API's train endpoint uses the same builder: same dataset, a fresh run folder next to a taken one.
    from hamacho_core.config import project_train_config

    Path(config.run_dir).mkdir()
    api = project_train_config(home / "新規", {"image_size": 128})
    assert api.dataset_dir == config.dataset_dir and api.image_size == 128
    # The learning curve (4x the head's fits) is the Train page's, not the core's or the API's default.
    assert config.learning_curve and not api.learning_curve
    assert Path(api.run_dir).parent == Path(config.run_dir).parent and api.run_dir != config.run_dir
    invalid = projects.create_project("無効")
    with pytest.raises(ConfigError, match="batch-size"):
        project_train_config(invalid, {"batch_size": 0})
    assert not (invalid / "runs").exists()  # nothing written for a refused config
