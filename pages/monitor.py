"""Monitor: per run and per day or shift, pictures scored, defect rate with its interval, the score distribution
beside the training-time test pictures', a drift alarm in plain words; the pictures behind a period in a gallery."""

from __future__ import annotations

import streamlit as st

from hamacho_core.projects import workspace
from hamacho_core.store import ResultFilter
from hamacho_core.store.monitor import GROUPS, period_filter, store_report
from ui.i18n import t
from ui.monitor_view import (
    distribution_figure,
    drift_text,
    open_references,
    open_store,
    period_table,
    rate_figure,
    show_gallery,
    spike_index,
)
from ui.router import ensure_routed
from ui.widgets import show_errors

ensure_routed()  # a bookmarked page opened first on a fresh server runs the router itself

st.title(t("monitor_title"))
with show_errors():
    home = str(workspace())
    store = open_store(home)
    st.caption(t("monitor_intro", url=store.shown_url))
    runs = store.run_ids()
    if not runs:
        st.info(t("monitor_empty"))
        st.stop()
    left, middle, right = st.columns([3, 1, 1])
    run_id = left.selectbox(t("monitor_run"), runs, key="monitor_run")
    labels = [t(f"monitor_by_{g}") for g in GROUPS]  # plain options: the page's language is in the widget's key
    group_by = GROUPS[labels.index(middle.radio(t("monitor_group"), labels, horizontal=True,
                                                key=f"monitor_group_{st.session_state.get('lang', 'en')}"))]
    timezone = right.text_input(t("monitor_tz"), "UTC", key="monitor_tz").strip() or "UTC"
    report = store_report(store, open_references(home), ResultFilter(run_id=run_id), group_by, timezone)
    [run] = report.runs
    latest = run.periods[-1]
    show = {"alarm": st.error, "watch": st.warning, "ok": st.success}.get(latest.drift, st.info)
    show(t("monitor_latest", period=latest.period, text=drift_text(latest)))
    st.dataframe(period_table(run), hide_index=True, width="stretch")
    st.plotly_chart(rate_figure(run), width="stretch", key="monitor_rates")
    st.caption(t("monitor_method", n_ref=run.reference_pictures, watch=f"{report.psi_watch:.2f}",
                 alarm=f"{report.psi_alarm:.2f}"))
    names = [p.period for p in run.periods]
    chosen = st.selectbox(t("monitor_period"), names, index=spike_index(run), key="monitor_period")
    period = run.periods[names.index(chosen)]
    st.plotly_chart(distribution_figure(report, run, period), width="stretch", key="monitor_distribution")
    if period is not latest:
        st.caption(drift_text(period))
    show_gallery(store, period_filter(run_id, chosen, group_by, timezone), chosen)
