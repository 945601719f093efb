"""Report: choose what goes in and download one ZIP (pictures, CSVs, metrics, settings, offline index.html)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hamacho_core.projects import EXPORTS
from ui.i18n import t
from ui.label_view import wrong_verdicts_panel
from ui.report_zip import PARTS, build_report_zip, report_name
from ui.router import ensure_routed
from ui.state import require_project
from ui.widgets import run_picker, show_errors

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

DEFAULT_PARTS = ("combined", "heat_maps", "masks", "metrics", "settings")

project = require_project()
st.title(t("report_title"))
run_dir = run_picker(project)
if run_dir is None:
    st.stop()
st.caption(t("report_intro"))
with show_errors():
    wrong_verdicts_panel(project, run_dir)  # fix a label error before the report goes out
parts = [part for part in PARTS if st.checkbox(t(f"part_{part}"), value=part in DEFAULT_PARTS, key=f"part_{part}")]
target = project / EXPORTS / f"{report_name(project.name, run_dir.name)}.zip"
if st.button(t("build_zip"), type="primary", icon=":material/folder_zip:", key="build_zip"):
    bar = st.progress(0.0, text=t("building"))
    with show_errors():
        build_report_zip(run_dir, target, parts, project.name, lambda done, total, _: bar.progress(done / total),
                         st.session_state.get("lang", "en"))
        st.session_state["report_zip"] = str(target)
    bar.empty()
ready = st.session_state.get("report_zip")
if ready == str(target) and Path(ready).is_file():
    size = Path(ready).stat().st_size / 1024**2
    st.success(t("zip_ready", name=Path(ready).name, mb=f"{size:.1f}"))
    st.download_button(t("download"), Path(ready).read_bytes(), file_name=Path(ready).name, mime="application/zip",
                       icon=":material/download:", key="download_zip", on_click="ignore")
