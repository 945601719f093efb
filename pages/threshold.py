"""Threshold: move the decision threshold on cached test scores and see every figure follow; save it to the run."""

from __future__ import annotations

import streamlit as st

from ui.decisions_panel import compare_section
from ui.i18n import t
from ui.label_view import retrain_button, review_panel
from ui.router import ensure_routed
from ui.state import require_project
from ui.supervised_view import supervised_panel
from ui.threshold_panel import load, threshold_panel
from ui.widgets import run_picker, show_errors, show_flash

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

project = require_project()
st.title(t("threshold_title"))
show_flash()  # what a label change or a retrain just did
run_dir = run_picker(project)
if run_dir is not None:
    with show_errors():
        loaded = load(run_dir)
        st.caption(t("threshold_intro", n=len(loaded.scores), good=int((loaded.evaluation.labels == 0).sum()),
                     bad=int(loaded.evaluation.labels.sum())))
        supervised_panel(run_dir)
        review_panel(project, run_dir)  # a run retrained with label changes: before and after
        retrain_button(project, run_dir)
        threshold_panel(run_dir, loaded)  # a fragment: a slider move re-runs only it
        compare_section(run_dir)  # runs side by side: no threshold in it
        st.page_link("pages/inference.py", label=t("go_inference"), icon=":material/search:")
        st.page_link("pages/report.py", label=t("go_report"), icon=":material/download:")
