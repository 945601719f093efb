"""Inference: pick a run, drop images or a folder, see scores, verdicts, heat maps and masks; thresholds adjustable.

A handful of uploaded pictures is scored here at once; larger inputs run as jobs in worker processes (see
``ui.inference_view.runs_in_server``), shown in the jobs panel until their results appear below.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hamacho_core.persistence import read_config
from hamacho_core.projects import inference_sessions
from ui.cluster_scoring import offer_cluster
from ui.i18n import t
from ui.inference_view import (
    ENGINE_LABELS,
    load_session,
    results_table,
    run_inference,
    runs_in_server,
    save_inputs,
    show_gallery,
    submit_inference,
)
from ui.job_view import jobs_panel
from ui.router import ensure_routed
from ui.state import get_manager, require_project
from ui.widgets import flash, problems_table, run_picker, show_errors, show_flash

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

project = require_project()
manager = get_manager()
st.title(t("inference_title"))
run_dir = run_picker(project)
if run_dir is None:
    st.stop()
show_flash()


def _run(files: list[tuple[str, bytes]] | None, source: Path | None = None) -> None:
    """Score uploaded ``files`` or the server folder ``source``: here when small, else as a job (then rerun)."""
    st.session_state["inf_gen"] = st.session_state.get("inf_gen", 0) + 1  # empty the drop zone, even on error
    folder, report = save_inputs(project, run_dir, files or [])
    st.session_state["inf_problems"] = report.problems
    write_csv, engine = st.session_state.get("inf_csv", False), st.session_state.get("inf_engine", "torch")
    if runs_in_server(len(report.written), source is not None):
        bar = st.progress(0.0, text=t("running"))
        run_inference(run_dir, folder, source, write_csv,
                      lambda done, total, stage: bar.progress(done / max(total, 1), text=stage), engine)
    else:
        job = submit_inference(manager, project, run_dir, folder, source, write_csv, engine)
        flash(t("inference_folder_queued", id=job.id) if source is not None
              else t("inference_queued", n=len(report.written), id=job.id), "info")
    st.session_state["inf_session"] = str(folder)  # shown as soon as its results exist
    st.rerun()


with show_errors():
    generation = st.session_state.setdefault("inf_gen", 0)
    tab_files, tab_folder, tab_server = st.tabs([t("tab_files"), t("tab_folder"), t("tab_server")])
    with tab_files:
        files = st.file_uploader(t("drop_images"), accept_multiple_files=True, key=f"inf_files_{generation}")
    with tab_folder:
        folder_files = st.file_uploader(t("drop_folder"), accept_multiple_files="directory",
                                        key=f"inf_dir_{generation}")
    with tab_server:
        path = st.text_input(t("server_images"), key="inf_path")
        go = st.button(t("run_inference"), disabled=not path.strip(), key="inf_go")
        offer_cluster(manager, project, run_dir, path)  # large folders, when HAMACHO_RAY_ADDRESS is set
    st.checkbox(t("opt_csv"), key="inf_csv", help=t("help_csv"))
    st.radio(t("opt_engine"), list(ENGINE_LABELS), format_func=ENGINE_LABELS.get, horizontal=True, key="inf_engine",
             help=t("help_engine"))
    dropped = files or folder_files
    if dropped:
        _run([(f.name, f.getvalue()) for f in dropped])
    if go:
        _run(None, Path(path.strip()))

if problems := st.session_state.get("inf_problems"):
    problems_table(problems, key="inf_problems_table")

if manager.jobs(project, kind="inference"):
    st.subheader(t("inference_jobs"))
    jobs_panel(manager, project, kind="inference")

sessions = inference_sessions(project, run_dir)
if not sessions:
    st.info(t("no_inference"))
    st.stop()
names = [str(s) for s in sessions]
requested = st.session_state.get("inf_session")  # the results just scored here, of a job that ended, or asked for
if requested in names and st.session_state.get("inf_shown") != requested:  # show them once; then the user's pick
    st.session_state["inf_pick"], st.session_state["inf_shown"] = requested, requested
elif st.session_state.get("inf_pick") not in names:  # first view, or back from another page
    st.session_state["inf_pick"] = requested if requested in names else names[0]
chosen = st.selectbox(t("pick_session"), names, format_func=lambda s: Path(s).name, key="inf_pick")
with show_errors():
    session = load_session(Path(chosen))
    saved = read_config(run_dir)["normalization"]
    c1, c2 = st.columns(2)
    image_norm = c1.slider(t("image_threshold"), 0.0, 1.0, float(saved["image_norm"]), 0.005, format="%.3f",
                           help=t("image_threshold_help"), key="inf_image_norm")
    pixel_norm = c2.slider(t("pixel_threshold"), 0.0, 1.0, float(saved["pixel_norm"]), 0.005, format="%.3f",
                           help=t("pixel_threshold_help"), key="inf_pixel_norm")
    table = results_table(session, image_norm)
    n_defect = int((session.frame["norm_score"] > image_norm).sum())
    st.markdown(t("inference_summary", n=len(table), bad=n_defect))
    if session.problems:
        with st.expander(t("session_problems")):
            problems_table(session.problems, key="inf_session_problems")
    st.dataframe(table, hide_index=True, width="stretch")
    show_gallery(session, image_norm, pixel_norm)
