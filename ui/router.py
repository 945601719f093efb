"""The app's router: page config, state, language switch and ``st.navigation`` over ``pages/``.

``app.py`` calls :func:`main`. Every page calls :func:`ensure_routed` first: on a fresh server Streamlit serves
``pages/`` as an old-style multipage app (``app.py`` never runs) until ``st.navigation`` has run once in the
process, so a bookmarked ``/train?project=...`` opened first would miss the router. A page that finds itself
running outside the router runs the router itself (whose ``st.navigation`` switches the whole process to the
new-style app and runs the requested page inside it) and stops.
"""

from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from ui.i18n import LANGUAGES, t

__all__ = ["PAGE_ICON", "ensure_routed", "main"]

PAGE_ICON = str(Path(__file__).resolve().parents[1] / "assets" / "favicon.png")  # served by the app, no web font
_ROUTED: contextvars.ContextVar[bool] = contextvars.ContextVar("hamacho_routed", default=False)

# url path -> (script, title key, icon); the icons are Material symbols that Streamlit ships with its frontend
PAGES = (
    ("pages/home.py", "page_home", ":material/folder_open:"),
    ("pages/data.py", "page_data", ":material/photo_library:"),
    ("pages/train.py", "page_train", ":material/model_training:"),
    ("pages/threshold.py", "page_threshold", ":material/tune:"),
    ("pages/inference.py", "page_inference", ":material/search:"),
    ("pages/report.py", "page_report", ":material/download:"),
    ("pages/monitor.py", "page_monitor", ":material/monitoring:"),
)


def main() -> None:
    """Set up the session and run the page the URL asks for."""
    with _as_main_script():
        navigation = _setup()
    token = _ROUTED.set(True)
    try:
        navigation.run()
    finally:
        _ROUTED.reset(token)


def _setup() -> StreamlitPage:
    """Page config, login, language switch, the page list; returns the navigation to run."""
    from hamacho_core.runtime import tune_allocator
    from ui.access import require_login
    from ui.state import current_project, get_manager, init_state, require_workspace

    tune_allocator()  # keep the server's memory from growing with every training (see hamacho_core/runtime.py)
    st.set_page_config(page_title="Hamacho", page_icon=PAGE_ICON, layout="wide")
    init_state()
    require_login()  # stops the run with a sign-in form when a login is configured and nobody is signed in
    get_manager()  # start the job manager (its worker processes) with the server

    with st.sidebar:
        st.radio("Language / 言語", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang", horizontal=True)
    pages = [st.Page(script, title=t(title), icon=icon, default=index == 0)
             for index, (script, title, icon) in enumerate(PAGES)]
    navigation = st.navigation(pages)

    require_workspace()  # an unusable workspace: one error naming the folder on every page, and the page stops
    project = current_project()
    with st.sidebar:
        st.caption(t("open_project", name=project.name) if project else t("no_project_short"))
    st.query_params["lang"] = st.session_state["lang"]
    if project is not None:
        st.query_params["project"] = project.name
    elif "project" in st.query_params:
        del st.query_params["project"]
    return navigation


def ensure_routed() -> None:
    """Run the router when a page script is executed without it (first request of a fresh server), then stop.

    The router's ``st.navigation`` switches the whole process to the new-style app and runs the requested page
    inside it (found by its URL path), so the outer, old-style run of the page has nothing left to do.
    """
    if _ROUTED.get():
        return
    main()
    st.stop()


def _as_main_script() -> contextlib.AbstractContextManager[object]:
    """Create the router's widgets under the main script's id, also when Streamlit runs ``app.py`` or a page as an
    old-style page: their ids (and so their state) are then the same in every run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    scope = getattr(ctx, "run_with_active_hash", None)
    return scope(ctx.pages_manager.main_script_hash) if scope else contextlib.nullcontext()
