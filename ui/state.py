"""Session state, initialised once per browser session; the open project survives a refresh via the URL."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hamacho_core.errors import HamachoError, WorkspaceError
from hamacho_core.jobs import JobManager
from hamacho_core.projects import ProjectError, list_projects, project_folder, workspace
from ui.i18n import DEFAULT_LANGUAGE, t

__all__ = ["current_project", "get_manager", "init_state", "open_project", "require_project", "require_workspace"]


def init_state() -> None:
    """Defaults for the keys the pages read; the project comes from ``?project=`` after a refresh."""
    if st.session_state.get("_initialised"):
        return
    st.session_state["_initialised"] = True
    st.session_state.setdefault("lang", st.query_params.get("lang", DEFAULT_LANGUAGE))
    st.session_state.setdefault("project", st.query_params.get("project"))
    st.session_state.setdefault("run", None)


@st.cache_resource
def get_manager() -> JobManager:
    """The one job manager of this server process (shared by every session and tab); jobs run in worker processes.

    At start-up, jobs a stopped server left queued or running are marked interrupted in their records. An unusable
    workspace (``workspace()`` raises :class:`WorkspaceError`, a listing an ``OSError``) is not an error here: the
    router reports it on every page (:func:`require_workspace`).
    """
    manager = JobManager()
    try:
        manager.recover([workspace() / name for name in list_projects()])
    except (OSError, HamachoError):
        pass
    return manager


def require_workspace() -> Path:
    """The workspace folder; when it is unusable, an error naming the folder and what to do, and the page stops."""
    try:
        return workspace()
    except HamachoError as error:  # below a regular file, read-only, full disk: the message says what to do
        st.error(f"{t('error')}: {error}", icon=":material/error:")
        st.stop()


def open_project(name: str | None) -> None:
    """Make ``name`` the open project (None closes it)."""
    st.session_state["project"] = name
    st.session_state["run"] = None


def current_project() -> Path | None:
    """The open project's folder, or None (also when it was deleted meanwhile, or its name leaves the workspace).

    An unusable workspace stops the page with an error naming the folder and what to do.
    """
    name = st.session_state.get("project")
    if not name:
        return None
    root = require_workspace()
    try:
        folder = project_folder(str(name), root)
    except (ProjectError, WorkspaceError):  # a hand-edited ?project= that is not a project name, or leaves it
        return None
    return folder if folder.is_dir() else None


def require_project() -> Path:
    """The open project; otherwise a hint with a link to the projects page, and the page stops."""
    project = current_project()
    if project is None:
        st.info(t("no_project"))
        st.page_link("pages/home.py", label=t("go_home"), icon=":material/folder_open:")
        st.stop()
    return project
