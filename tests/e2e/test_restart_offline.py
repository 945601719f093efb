"""A fresh server's first request, for every page URL (issue 11, failure 2), and nothing leaves localhost.

Each URL is opened as the very first request of its own new ``streamlit run app.py`` process: before the fix,
Streamlit served ``pages/`` old-style (legacy sidebar "app, data, home ...", no language switch, no project).
Every request the browser makes is checked: one to any host but this machine fails the test (and is blocked).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from e2e_support import streamlit_server

from hamacho_core.demo import make_demo_dataset

PROJECT = "検査P"
PAGES = {"train": "Train", "threshold": "Threshold", "report": "Report", "data": "Data", "inference": "Inference",
         "monitor": "Monitor the line"}
LOCAL = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("restart") / "workspace"
    make_demo_dataset(folder / PROJECT / "data", n_good=4, n_bad_per_type=1, size=64)
    return folder


@pytest.mark.parametrize("page_name", list(PAGES))
def test_every_page_url_works_as_the_first_request_of_a_fresh_server(browser, home: Path, page_name: str) -> None:  # noqa: ANN001
    outside: list[str] = []

    def only_local(route) -> None:  # noqa: ANN001
        if urlparse(route.request.url).hostname in LOCAL or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with streamlit_server(home) as url:  # a new app process each time
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(180_000)  # a fresh server imports torch on its first page: slow on a busy CI
        context.route("**/*", only_local)
        try:
            tab = context.new_page()
            tab.goto(f"{url}/{page_name}?project={PROJECT}&lang=en")
            tab.get_by_role("heading", name=PAGES[page_name], exact=True).wait_for()
            tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                  timeout=120_000)
            tab.wait_for_timeout(1500)  # late requests (icons, fonts)
            sidebar = tab.get_by_test_id("stSidebar")
            sidebar.get_by_text("Language / 言語").wait_for()  # the router ran
            sidebar.get_by_text(f"Project: {PROJECT}").wait_for()  # with the project of the URL
            nav = tab.get_by_test_id("stSidebarNav").inner_text()
            assert "Projects" in nav and "Threshold" in nav and "home" not in nav and "app" not in nav.split()
            assert "Open or create a project first" not in tab.content()
            assert PROJECT in urlparse(tab.url).query or "%" in urlparse(tab.url).query
            icon = tab.locator("link[rel='shortcut icon'], link[rel='icon']").first.get_attribute("href") or ""
            assert "gstatic" not in icon and not icon.startswith("http") or urlparse(icon).hostname in LOCAL
        finally:
            context.close()
    assert not outside, f"requests left this machine: {outside}"
