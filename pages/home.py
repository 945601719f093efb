"""Projects: create, open, rename, delete; the open project's runs; the demo."""

from __future__ import annotations

import streamlit as st

from hamacho_core import projects
from ui.i18n import t
from ui.router import ensure_routed
from ui.state import current_project, get_manager, open_project
from ui.widgets import flash, runs_table, show_errors, show_flash

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

st.title(t("home_title"))
st.caption(t("workspace", path=projects.workspace()))
show_flash()

left, right = st.columns(2)
with left, st.form("create", clear_on_submit=True, border=True):
    name = st.text_input(t("new_project"), placeholder=t("new_project_hint"))
    if st.form_submit_button(t("create"), icon=":material/add:"):
        with show_errors():
            open_project(projects.create_project(name).name)
            flash(t("created", name=name.strip()))
            st.rerun()
with right, st.container(border=True):
    st.markdown(t("demo_text"))
    if st.button(t("demo_button"), icon=":material/science:", key="demo"):
        bar = st.progress(0.0, text=t("demo_making"))
        with show_errors():
            open_project(projects.ensure_demo(progress=lambda done, total, _: bar.progress(done / total)))
            flash(t("opened", name=projects.DEMO))
            st.rerun()

st.subheader(t("projects"))
current = current_project()
names = projects.list_projects()
if not names:
    st.info(t("no_projects"))
for project_name in names:
    folder = projects.workspace() / project_name
    cols = st.columns([4, 2, 2])
    is_open = current is not None and current.name == project_name
    cols[0].markdown(f"**{project_name}**" + (f"  · {t('is_open')}" if is_open else ""))
    cols[1].caption(t("n_runs", n=len(projects.project_runs(folder))))
    if cols[2].button(t("open"), key=f"open_{project_name}", disabled=is_open):
        open_project(project_name)
        st.rerun()

if current is not None:
    st.divider()
    st.subheader(t("project_runs", name=current.name))
    runs = projects.project_runs(current)
    if runs:
        st.dataframe(runs_table(runs), hide_index=True, width="stretch")
        st.page_link("pages/threshold.py", label=t("go_threshold"), icon=":material/tune:")
    else:
        st.info(t("no_runs"))
        st.page_link("pages/data.py", label=t("go_data"), icon=":material/photo_library:")
    busy = bool(get_manager().active(current))
    with st.expander(t("manage_project")):
        new_name = st.text_input(t("rename_to"), value=current.name, key="rename_to")
        if st.button(t("rename"), disabled=busy or new_name.strip() == current.name, key="rename"):
            with show_errors():
                open_project(projects.rename_project(current.name, new_name).name)
                flash(t("renamed", name=new_name.strip()))
                st.rerun()
        sure = st.checkbox(t("delete_confirm", name=current.name), key="delete_sure")
        if st.button(t("delete"), type="primary", disabled=busy or not sure, key="delete"):
            with show_errors():
                projects.delete_project(current.name)
                open_project(None)
                flash(t("deleted", name=current.name), "warning")
                st.rerun()
        if busy:
            st.caption(t("busy_project"))
