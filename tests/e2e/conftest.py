"""Browser tests: the real app (``streamlit run app.py``) in a temporary workspace, driven by headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import CHROMIUM, streamlit_server


# A module marked ``scenario`` is one analyst's path, one test a step, each step starting where the previous one
# left the browser and the workspace: after a failed step the later ones are skipped (the failure is the report),
# and a step picked alone (-k, a node id) is skipped with what to run instead of failing on a missing project.
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    if item.get_closest_marker("scenario") is not None and call.excinfo is not None and call.when != "teardown":
        item.parent._scenario_failed = item.name


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("scenario") is None:
        return
    failed = getattr(item.parent, "_scenario_failed", None)
    if failed is not None:
        pytest.skip(f"the scenario stopped at {failed}")
    steps = [i for i in item.parent.collect() if isinstance(i, pytest.Function)]
    chosen = {i.nodeid for i in item.session.items}
    missing = [s.name for s in steps[:steps.index(next(s for s in steps if s.nodeid == item.nodeid))]
               if s.nodeid not in chosen]
    if missing:
        pytest.skip(f"a step of the scenario in {item.parent.name}: it needs {', '.join(missing)} first (run the file)")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e") / "workspace"


@pytest.fixture(scope="session")
def server(workspace: Path) -> Iterator[str]:
    """The app on a free 127.0.0.1 port; stopped with its process group at the end."""
    with streamlit_server(workspace, log=workspace.parent / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def page(browser, server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, locale="ja-JP")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.goto(server)
    yield tab
    context.close()
