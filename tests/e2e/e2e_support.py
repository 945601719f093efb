"""Shared by the browser tests and ``bench/load_app.py`` (a module of its own: every test folder has a ``conftest``).

:func:`streamlit_server` is the one way they start the app: ``streamlit run app.py`` on 127.0.0.1 and a free port,
in a process group of its own that is always stopped (job workers included).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where the browser tests save their page screenshots (fixed names): a temporary folder, so that a test run leaves
# the tracked files alone; `make screenshots` sets HAMACHO_SCREENSHOTS to docs/screenshots (shown by the README).
SCREENSHOTS = Path(os.environ.get("HAMACHO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "hamacho-screenshots")
CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium (Playwright's own download is not used)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_group(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is left after ``grace`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group (a job worker), the server if it hung
    except ProcessLookupError:
        pass
    process.wait()


@contextmanager
def streamlit_server(home: Path, env: dict[str, str] | None = None, port: int | None = None,
                     log: Path | None = None, timeout: float = 180.0, create_home: bool = True) -> Iterator[str]:
    """The app (``streamlit run app.py``) with workspace ``home``, healthy; stopped with its whole process group.

    Args:
        home: the workspace (``HAMACHO_HOME``); created when missing and ``create_home`` (False: a server over a
            workspace that cannot be created, e.g. below a regular file; give ``log`` then).
        env: more environment variables for the server (on top of this process's).
        port: the port on 127.0.0.1; default a free one.
        log: the server's output; default ``<home's parent>/streamlit-<port>.log``.
        timeout: seconds to wait for ``/_stcore/health`` (a fresh server imports torch: slow on a busy machine).

    Yields:
        The server's URL, ``http://127.0.0.1:<port>``.

    Raises:
        RuntimeError: the server exited or did not become healthy in time (the log's path is in the message).
    """
    if create_home:
        home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = log or home.parent / f"streamlit-{port}.log"
    command = [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {}), "HAMACHO_HOME": str(home)},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_healthy(url, process, timeout, log)
            yield url
        finally:
            _stop_group(process)


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s: see {log}")


# ------------------------------------------------------------------------------------------ page helpers
def idle(page, timeout: float = 120_000) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def nav(page, label: str) -> None:
    """Open a page by its label in the sidebar navigation, then wait until it has run."""
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    idle(page)


def download_report_zip(page, folder: Path) -> Path:
    """On the Report page: build the ZIP, download it into ``folder``; returns the file (its suggested name)."""
    page.get_by_role("button", name="Build the ZIP").click()
    button = page.get_by_role("button", name="Download ZIP")
    button.wait_for(timeout=120_000)
    with page.expect_download() as download:
        button.click()
    target = folder / download.value.suggested_filename
    download.value.save_as(target)
    return target
