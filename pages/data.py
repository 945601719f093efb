"""Data: drop the good / defect / mask folders, a ZIP, or a server folder; counts, thumbnails and problems."""

from __future__ import annotations

import streamlit as st

from hamacho_core import uploads
from hamacho_core.projects import data_dir
from hamacho_core.workspace import import_roots
from ui.dataset_view import counts_table, dataset_of, show_import, thumbnails, upload_box
from ui.i18n import t
from ui.label_view import doctor_panel, history_panel, refused_panel
from ui.router import ensure_routed
from ui.state import require_project
from ui.widgets import flash_errors, problems_table, show_errors, show_flash

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

project = require_project()
folder = data_dir(project)
st.title(t("data_title"))
st.caption(t("data_where", path=folder))
show_flash()
if problems := st.session_state.pop("import_problems", None):
    problems_table(problems, key="import_problems_table")

tab_folders, tab_zip, tab_server = st.tabs([t("tab_folders"), t("tab_zip"), t("tab_server")])
with tab_folders, show_errors():
    columns = st.columns(3)
    for column, kind in zip(columns, uploads.KINDS, strict=True):
        with column:
            upload_box(t(f"drop_{kind}"), t(f"drop_{kind}_help"), f"up_{kind}",
                       lambda files, kind=kind: uploads.save_uploads(folder, kind, files), project)
with tab_zip, show_errors():
    generation = st.session_state.setdefault("zip_gen", 0)
    archive = st.file_uploader(t("drop_zip"), type=["zip"], help=t("drop_zip_help"), key=f"zip_{generation}")
    if archive is not None:
        st.session_state["zip_gen"] = generation + 1  # the next run shows an empty drop zone, also after a refusal
        with flash_errors(), st.spinner(t("importing")):
            show_import(uploads.import_zip(folder, archive, archive.size), project)
        st.rerun()
with tab_server, show_errors():
    roots = import_roots()
    st.caption(t("server_roots", roots=", ".join(str(r) for r in roots)) if roots else t("server_off"))
    path = st.text_input(t("server_path"), help=t("server_path_help"), key="server_path", disabled=not roots)
    if st.button(t("import"), disabled=not path.strip() or not roots, key="import_server"):
        with st.spinner(t("importing")):
            show_import(uploads.import_folder(folder, path.strip()), project)
        st.rerun()

st.divider()
with show_errors():
    dataset = dataset_of(project)
    if dataset is not None:
        left, right = st.columns([1, 2])
        with left:
            st.subheader(t("counts"))
            st.dataframe(counts_table(dataset), hide_index=True, width="stretch")
            st.page_link("pages/train.py", label=t("go_train"), icon=":material/model_training:")
        with right:
            st.subheader(t("problems"))
            if dataset.problems or not refused_panel(project, show=False):  # not "every file is usable" then
                problems_table(dataset.problems)
            refused_panel(project)  # refused imports stay listed until dismissed
        st.subheader(t("thumbnails"))
        thumbnails(dataset)
        doctor_panel(project)  # before training: duplicates, odd pictures, masks, with one-click fixes
    history_panel(project)
if folder != project:
    with st.expander(t("clear_data")):
        sure = st.checkbox(t("clear_confirm"), key="clear_sure")
        if st.button(t("clear"), disabled=not sure, type="primary", key="clear"):
            uploads.clear_data(folder)
            st.rerun()
