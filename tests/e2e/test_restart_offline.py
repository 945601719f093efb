"""A fresh server's first request is a page URL, every page calls the router first, and nothing leaves localhost.

On a fresh server Streamlit serves ``pages/`` old-style (legacy sidebar "app, data, home ...", no language switch,
no project) until ``st.navigation`` has run once in the process; each page calls ``ui.router.ensure_routed()``
first for that reason. One new ``streamlit run app.py`` process gets a bookmarked page URL as its very first
request; that every other page makes the same call first is checked on its source, and each page is then opened
on the same server. Every request the browser makes is checked: one to any host but this machine fails the test
(and is blocked).
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import urlparse

import pytest
from e2e_support import ROOT, streamlit_server

from hamacho_core.synthetic import make_demo_dataset

PROJECT = "検査P"
PAGES = {"train": "Train", "threshold": "Threshold", "report": "Report", "data": "Data", "inference": "Inference",
         "monitor": "Monitor the line", "home": "Hamacho — visual anomaly detection"}  # page name -> its heading
FIRST = "train"  # the page asked for as the fresh server's first request
LOCAL = {"127.0.0.1", "localhost"}


def _path(page_name: str) -> str:
    return "" if page_name == "home" else page_name  # the default page lives at the server's root


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("restart") / "workspace"
    make_demo_dataset(folder / PROJECT / "data", n_good=4, n_bad_per_type=1, size=64)
    return folder


def _first_statement(script: Path) -> ast.stmt:
    """The first statement of a page after its docstring and imports."""
    body = ast.parse(script.read_text(encoding="utf-8")).body
    return next(node for node in body if not isinstance(node, ast.Import | ast.ImportFrom)
                and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)))


def test_every_page_calls_the_router_first() -> None:
    from ui.router import PAGES as ROUTED

    scripts = sorted(script for script, _, _ in ROUTED)
    assert scripts == sorted(f"pages/{name}.py" for name in PAGES)  # every page of the router is opened below
    for script in scripts:
        first = _first_statement(ROOT / script)
        assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call), script
        assert ast.unparse(first.value) == "ensure_routed()", f"{script} starts with {ast.unparse(first)}"


def test_a_page_url_works_as_the_first_request_of_a_fresh_server(browser, home: Path) -> None:
    outside: list[str] = []

    def only_local(route) -> None:
        if urlparse(route.request.url).hostname in LOCAL or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with streamlit_server(home) as url:  # a new app process: the first page below is its first request
        for page_name in [FIRST] + [name for name in PAGES if name != FIRST]:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(180_000)  # a fresh server imports torch on its first page: slow on a busy CI
            context.route("**/*", only_local)
            try:
                tab = context.new_page()
                tab.goto(f"{url}/{_path(page_name)}?project={PROJECT}&lang=en")
                tab.get_by_role("heading", name=PAGES[page_name], exact=True).wait_for()
                tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                      timeout=120_000)
                if page_name == FIRST:  # late requests (icons, fonts): the other pages ask for the same ones
                    tab.wait_for_timeout(1500)
                sidebar = tab.get_by_test_id("stSidebar")
                sidebar.get_by_text("Language / 言語").wait_for()  # the router ran
                sidebar.get_by_text(f"Project: {PROJECT}").wait_for()  # with the project of the URL
                nav = tab.get_by_test_id("stSidebarNav").inner_text()
                assert "Projects" in nav and "Threshold" in nav and "home" not in nav and "app" not in nav.split()
                assert "Open or create a project first" not in tab.content(), page_name
                assert PROJECT in urlparse(tab.url).query or "%" in urlparse(tab.url).query
                icon = tab.locator("link[rel='shortcut icon'], link[rel='icon']").first.get_attribute("href") or ""
                assert "gstatic" not in icon and not icon.startswith("http") or urlparse(icon).hostname in LOCAL
                assert tab.get_by_test_id("stException").count() == 0, page_name
            finally:
                context.close()
    assert not outside, f"requests left this machine: {outside}"


def test_a_workspace_below_a_file_is_one_clear_error_on_every_page(browser, tmp_path: Path) -> None:
    """``HAMACHO_HOME`` below a regular file, as a new user may set it: the real server (router, cached job
    manager and all) shows the folder and what to do on every page, never Streamlit's exception box."""
    (tmp_path / "file").write_text("x")
    home = tmp_path / "file" / "workspace"
    with streamlit_server(home, log=tmp_path / "streamlit.log", create_home=False) as url:
        for page_name, query in [("home", "lang=en")] + [(name, f"project={PROJECT}&lang=en") for name in PAGES]:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(180_000)
            try:
                tab = context.new_page()
                tab.goto(f"{url}/{_path(page_name)}?{query}")
                tab.get_by_test_id("stSidebar").get_by_text("Language / 言語").wait_for()
                tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                      timeout=120_000)
                alert = tab.get_by_test_id("stAlert").filter(has_text="cannot write in")
                alert.first.wait_for(timeout=30_000)  # the page has finished: the error is there or missing
                assert "HAMACHO_HOME" in alert.first.inner_text() and str(home) in alert.first.inner_text()
                assert tab.get_by_test_id("stException").count() == 0, (page_name, query)
            finally:
                context.close()
