"""The Monitor page's view of the core's line monitor (``hamacho_core.store.monitor``): the store and the drift
references opened once per server, the period table, the two charts and the gallery behind a period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from hamacho_core.imageio import read_image
from hamacho_core.store import ResultFilter, ResultStore, default_url
from hamacho_core.store.monitor import (
    MIN_PICTURES,
    MIN_REFERENCE,
    PSI_ALARM,
    PSI_WATCH,
    MonitorReport,
    PeriodSummary,
    ReferenceCache,
    RunMonitor,
)
from ui.i18n import t
from ui.images import fit, heat_overlay

__all__ = ["drift_text", "open_references", "open_store", "period_table", "rate_figure", "distribution_figure",
           "show_gallery", "spike_index"]

GALLERY = 12  # thumbnails shown behind a period (the table lists them all)


def open_store(workspace: str) -> ResultStore:
    """The workspace's results store (HAMACHO_DATABASE_URL or its SQLite), one per server process and database."""
    return _store(workspace, default_url(Path(workspace)))


@st.cache_resource(show_spinner=False)
def _store(workspace: str, url: str) -> ResultStore:
    return ResultStore.for_workspace(workspace, url)  # its engine pools connections across threads


@st.cache_resource(show_spinner=False)
def open_references(workspace: str) -> ReferenceCache:
    return ReferenceCache(workspace)


def drift_text(period: PeriodSummary) -> str:
    """The drift level in the page's language, with the figures it rests on."""
    psi = "-" if period.psi is None else f"{period.psi:.2f}"
    return t(f"drift_{period.drift}", psi=psi, watch=f"{PSI_WATCH:.2f}", alarm=f"{PSI_ALARM:.2f}", n=period.pictures,
             min=MIN_PICTURES, min_ref=MIN_REFERENCE)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def period_table(run: RunMonitor) -> pd.DataFrame:
    return pd.DataFrame({
        t("col_period"): [p.period for p in run.periods],
        t("col_pictures"): [p.pictures for p in run.periods],
        t("col_defect_rate"): [f"{_percent(p.defect_rate)} ({_percent(p.defect_rate_low)} - "
                               f"{_percent(p.defect_rate_high)})" for p in run.periods],
        t("col_mean_score"): [round(p.mean_norm_score, 3) for p in run.periods],
        t("col_psi"): [None if p.psi is None else round(p.psi, 3) for p in run.periods],
        t("col_drift"): [t(f"level_{p.drift}") for p in run.periods],
    })


def spike_index(run: RunMonitor) -> int:
    """The period to open first: the latest alarm, else the highest defect rate."""
    alarms = [i for i, p in enumerate(run.periods) if p.drift == "alarm"]
    if alarms:
        return alarms[-1]
    return int(np.argmax([p.defect_rate for p in run.periods])) if run.periods else 0


def rate_figure(run: RunMonitor) -> go.Figure:
    periods = run.periods
    rates = np.array([p.defect_rate for p in periods])
    figure = go.Figure(go.Scatter(
        x=[p.period for p in periods], y=rates, mode="lines+markers",
        error_y={"type": "data", "symmetric": False, "array": [p.defect_rate_high for p in periods] - rates,
                 "arrayminus": rates - [p.defect_rate_low for p in periods]},
        marker={"color": ["#d62728" if p.drift == "alarm" else "#1f77b4" for p in periods], "size": 10}))
    figure.update_layout(title=t("monitor_rate_chart"), yaxis_title=t("monitor_rate_axis"), yaxis_tickformat=".0%",
                         height=320, margin={"t": 50, "b": 30})
    return figure


def distribution_figure(report: MonitorReport, run: RunMonitor, period: PeriodSummary) -> go.Figure:
    centers = (np.array(report.bins[:-1]) + np.array(report.bins[1:])) / 2
    live = np.array(period.histogram, float) / max(1, period.pictures)
    figure = go.Figure()
    figure.add_bar(x=centers, y=live, name=t("monitor_dist_live", period=period.period, n=period.pictures),
                   marker_color="#1f77b4", opacity=0.75)
    if run.reference_histogram:
        figure.add_scatter(x=centers, y=run.reference_histogram, name=t("monitor_dist_good"), mode="lines+markers",
                           line={"color": "#2ca02c"})
    if run.reference_defect_histogram and any(run.reference_defect_histogram):
        figure.add_scatter(x=centers, y=run.reference_defect_histogram, name=t("monitor_dist_defect"),
                           mode="lines+markers", line={"color": "#d62728", "dash": "dot"})
    figure.add_vline(x=0.5, line_dash="dash", line_color="gray")
    figure.update_layout(title=t("monitor_dist_chart", period=period.period), xaxis_title=t("monitor_score_axis"),
                         yaxis_title=t("monitor_share"), yaxis_tickformat=".0%", height=340, barmode="overlay",
                         margin={"t": 50, "b": 30}, legend={"orientation": "h", "y": -0.25})
    return figure


def show_gallery(store: ResultStore, where: ResultFilter, period: str) -> None:
    """The pictures behind a period, most anomalous first: a table of all, thumbnails of the kept ones."""
    frame = store.frame(where, ["id", "taken_at", "picture_name", "part_id", "norm_score", "verdict", "picture_path",
                                "map_path"]).sort_values("norm_score", ascending=False)
    st.subheader(t("monitor_gallery", period=period))
    table = pd.DataFrame({t("col_taken"): frame["taken_at"].dt.strftime("%Y-%m-%d %H:%M"),
                          t("col_name"): frame["picture_name"], t("col_part"): frame["part_id"],
                          t("col_norm_score"): frame["norm_score"].round(3),
                          t("col_verdict"): [t(v) for v in frame["verdict"]]})
    st.dataframe(table, hide_index=True, width="stretch", height=260)
    kept = frame[frame["picture_path"].notna()].head(GALLERY)
    if kept.empty:
        st.caption(t("monitor_not_kept"))
    else:
        columns = st.columns(4)
        for slot, row in enumerate(kept.itertuples()):
            picture = _thumbnail(store, row.picture_path, row.map_path)
            if picture is not None:
                columns[slot % 4].image(picture, width="stretch",
                                        caption=f"{t(row.verdict)} · {row.norm_score:.3f} · {row.picture_name}")
        st.caption(t("monitor_gallery_more", shown=len(kept), n=len(frame)))
    st.download_button(t("monitor_export"), store.export(where, "csv"), file_name=f"results-{period}.csv",
                       mime="text/csv", key="monitor_export", on_click="ignore")


def _thumbnail(store: ResultStore, picture_path: str, map_path: str | None) -> np.ndarray | None:
    path = store.file(picture_path)
    if path is None:
        return None
    image = fit(read_image(path), 256)
    kept_map = store.file(map_path)
    if kept_map is None:
        return image
    normalized_map = read_image(kept_map)[..., 0].astype(np.float32) / 255.0
    return heat_overlay(image, normalized_map)
