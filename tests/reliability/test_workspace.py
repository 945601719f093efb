"""Unwritable folders, a disk filling mid-run, names that would leave the workspace, server-folder import roots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_inputs import png_bytes

from hamacho_core import projects
from hamacho_core.api.settings import ApiSettings
from hamacho_core.cli import main
from hamacho_core.errors import WorkspaceError
from hamacho_core.persistence import atomic_write_text, interrupted_runs, list_runs, staged_run_dir
from hamacho_core.uploads import import_folder
from hamacho_core.workspace import check_import_source, default_workspace, import_roots, inside, writable_folder

ROOT = Path(__file__).resolve().parents[2]


def test_folder_below_a_regular_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkspaceError, match=r"cannot write in .*file/home.*HAMACHO_HOME") as caught:
        writable_folder(tmp_path / "file" / "home")
    assert "regular file" in str(caught.value)  # says what to do
    assert writable_folder(tmp_path / "new" / "home").is_dir()


def test_project_workspace_below_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reported failure: HAMACHO_HOME below a regular file gave a NotADirectoryError traceback."""
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("HAMACHO_HOME", str(tmp_path / "file" / "workspace"))
    with pytest.raises(WorkspaceError, match="HAMACHO_HOME"):
        projects.workspace()


def test_app_and_api_use_one_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HAMACHO_HOME (``~`` expanded, resolved) is the app's and the API's workspace; only the app creates it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HAMACHO_HOME", "~/ws/../home")
    assert default_workspace() == tmp_path / "home" and not (tmp_path / "home").exists()
    assert ApiSettings().workspace == ApiSettings.from_env().workspace == default_workspace()
    assert projects.workspace() == default_workspace() and (tmp_path / "home").is_dir()
    monkeypatch.delenv("HAMACHO_HOME")
    monkeypatch.chdir(tmp_path)
    assert default_workspace() == tmp_path / "workspace"


def test_full_disk_during_an_atomic_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAMACHO_TEST_FAIL_AT", "saving a.txt:1")
    with pytest.raises(WorkspaceError, match="No space left on device"):
        atomic_write_text(tmp_path / "a.txt", "hello")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_run_leaves_no_staging_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    with pytest.raises(WorkspaceError, match="No space left on device"), staged_run_dir(run_dir) as staging:
        (staging / "config.yaml").write_text("half")
        raise OSError(28, "No space left on device")
    assert list((tmp_path / "runs").iterdir()) == [] and list_runs(tmp_path) == []
    with staged_run_dir(run_dir) as staging:
        (staging / "weights").mkdir()
    assert (run_dir / "weights").is_dir() and interrupted_runs(tmp_path) == []


def test_cli_reports_a_full_disk_and_an_unwritable_result_path(demo_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HAMACHO_TEST_FAIL_AT": "saving config.yaml:1"}
    command = [sys.executable, "-m", "hamacho_core", "train", "--dataset-root", str(demo_root.parent), "--category",
               demo_root.name, "--image-size", "64", "--no-csv", "--no-bad-mode", "--split", "0.3"]
    results = tmp_path / "results"
    done = subprocess.run([*command, "--result-path", str(results)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 1 and "No space left on device" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert list_runs(results) == [] and interrupted_runs(results) == []
    assert [p for p in results.rglob("*") if p.is_file()] == []  # no temporary or half-written file
    (tmp_path / "file").write_text("x")  # the same command in-process (the process path is covered above)
    done = CliRunner().invoke(main, [*command[3:], "--result-path", str(tmp_path / "file" / "results")])
    assert done.exit_code == 1 and "cannot write in" in done.stderr, done.output
    assert isinstance(done.exception, SystemExit)  # an error message, no traceback


@pytest.mark.parametrize("name", ["..", "../outside", "/etc", "a/../../b"])
def test_names_never_leave_their_root(tmp_path: Path, name: str) -> None:
    with pytest.raises(WorkspaceError, match="would leave"):
        inside(tmp_path / "home", name)


def test_a_link_out_of_the_workspace_is_no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "secret").mkdir()
    (home / "link").symlink_to(tmp_path / "secret")
    monkeypatch.setenv("HAMACHO_HOME", str(home))
    with pytest.raises(WorkspaceError, match="would leave"):
        projects.project_folder("link")
    with pytest.raises(projects.ProjectError):
        projects.project_folder("../secret")


def test_server_folder_import_only_below_the_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    for folder in (allowed / "set" / "good", other / "good"):
        folder.mkdir(parents=True)
        (folder / "a.png").write_bytes(png_bytes(8, 8))
    (allowed / "set" / "good" / "escape.png").symlink_to(other / "good" / "a.png")
    monkeypatch.delenv("HAMACHO_IMPORT_ROOTS", raising=False)
    with pytest.raises(WorkspaceError, match="HAMACHO_IMPORT_ROOTS"):
        import_folder(tmp_path / "data", allowed / "set")
    monkeypatch.setenv("HAMACHO_IMPORT_ROOTS", f"{allowed}{os.pathsep}{tmp_path / 'nowhere'}")
    assert import_roots() == [allowed.resolve(), (tmp_path / "nowhere").resolve()]
    with pytest.raises(WorkspaceError, match="outside the folders allowed"):
        import_folder(tmp_path / "data", other)
    with pytest.raises(WorkspaceError, match="outside the folders allowed"):
        check_import_source(allowed / ".." / "other")
    report = import_folder(tmp_path / "data", allowed / "set")
    assert [p.name for p in report.written] == ["a.png"]
    assert [Path(p.path).name for p in report.problems] == ["escape.png"]
