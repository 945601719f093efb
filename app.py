"""Hamacho workbench: the router. State is initialised once; pages live in pages/ and call hamacho_core."""

from __future__ import annotations

import streamlit as st

from hamacho_core.runtime import tune_allocator
from ui.i18n import LANGUAGES, t
from ui.state import current_project, get_manager, init_state

tune_allocator()  # keep the server's memory from growing with every training (see hamacho_core/runtime.py)
st.set_page_config(page_title="Hamacho", page_icon=":material/biotech:", layout="wide")
init_state()
get_manager()  # start the training worker with the server

with st.sidebar:
    st.radio("Language / 言語", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang", horizontal=True)

pages = [
    st.Page("pages/home.py", title=t("page_home"), icon=":material/folder_open:", default=True),
    st.Page("pages/data.py", title=t("page_data"), icon=":material/photo_library:"),
    st.Page("pages/train.py", title=t("page_train"), icon=":material/model_training:"),
    st.Page("pages/threshold.py", title=t("page_threshold"), icon=":material/tune:"),
    st.Page("pages/inference.py", title=t("page_inference"), icon=":material/search:"),
    st.Page("pages/report.py", title=t("page_report"), icon=":material/download:"),
]
navigation = st.navigation(pages)

project = current_project()
with st.sidebar:
    st.caption(t("open_project", name=project.name) if project else t("no_project_short"))
st.query_params["lang"] = st.session_state["lang"]
if project is not None:
    st.query_params["project"] = project.name
elif "project" in st.query_params:
    del st.query_params["project"]
navigation.run()
