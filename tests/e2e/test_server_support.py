"""The browser tests' server helper: the app listens on 127.0.0.1 only and leaves no process behind."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from e2e_support import streamlit_server


def _processes_with(mark: str) -> list[int]:
    """Ids of the processes whose environment holds ``SERVER_TEST_MARK=<mark>`` (Linux /proc)."""
    marker = f"SERVER_TEST_MARK={mark}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def test_streamlit_server_is_local_healthy_and_stopped_with_its_group(tmp_path: Path) -> None:
    home = tmp_path / "workspace"
    mark = str(tmp_path)
    with streamlit_server(home, env={"SERVER_TEST_MARK": mark}) as url:
        assert url.startswith("http://127.0.0.1:") and home.is_dir()
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
            assert response.status == 200
        assert _processes_with(mark)
    assert _processes_with(mark) == []
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    assert (tmp_path / f"streamlit-{port}.log").is_file()


def test_screenshots_go_outside_the_checkout_unless_asked(monkeypatch) -> None:
    """A test run leaves the tracked files alone (``git status`` clean after ``make test``): the browser tests'
    screenshots go to a temporary folder; only ``make screenshots`` (HAMACHO_SCREENSHOTS) writes docs/screenshots."""
    import importlib

    import e2e_support

    try:
        monkeypatch.delenv("HAMACHO_SCREENSHOTS", raising=False)
        default = importlib.reload(e2e_support).SCREENSHOTS.resolve()
        assert not default.is_relative_to(e2e_support.ROOT), default
        monkeypatch.setenv("HAMACHO_SCREENSHOTS", str(e2e_support.ROOT / "docs" / "screenshots"))
        assert importlib.reload(e2e_support).SCREENSHOTS == e2e_support.ROOT / "docs" / "screenshots"
    finally:
        monkeypatch.undo()
        importlib.reload(e2e_support)
