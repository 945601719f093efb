"""Pages with an unusable workspace, a project name leaving it, a hostile picture among uploads (AppTest)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_support import APP
from hostile_inputs import huge_header_png, png_bytes, zip_bytes
from streamlit.testing.v1 import AppTest

from hamacho_core import uploads

TIMEOUT = 60


@pytest.fixture()
def fresh_server() -> Iterator[None]:
    """The app as a fresh server process runs it: no job manager cached by an earlier test (``st.cache_resource``
    lives as long as the process), so the router's ``get_manager()`` runs again; dropped again afterwards."""
    from ui.state import get_manager

    get_manager.clear()
    yield
    get_manager.clear()


@pytest.mark.parametrize("project", ["検査A", None])
@pytest.mark.parametrize("page", ["home", "data", "train", "threshold", "inference", "report"])
def test_workspace_below_a_file_is_an_error_on_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         fresh_server: None, page: str, project: str | None) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("HAMACHO_HOME", str(tmp_path / "file" / "workspace"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if project:
        at.session_state["project"] = project
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("cannot write in" in e and "HAMACHO_HOME" in e for e in errors), errors


def test_a_project_name_leaving_the_workspace_opens_nothing(home: Path, tmp_path: Path) -> None:
    (tmp_path / "secret" / "data" / "good").mkdir(parents=True)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["project"] = "../secret"
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert not [e for e in at.error]
    assert any("Open or create a project first" in i.value for i in at.info)


def test_zip_upload_names_a_hostile_picture(home: Path) -> None:
    (home / "p" / "data").mkdir(parents=True)
    data = zip_bytes({"good/1.png": png_bytes(16, 16, seed=1), "good/huge.png": huge_header_png()})
    report = uploads.import_zip(home / "p" / "data", io.BytesIO(data), len(data))
    assert [p.name for p in report.written] == ["1.png"]
    assert "too many pixels" in report.problems[0].reason
