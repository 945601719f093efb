"""The supervised boost in the app: the Train page's switch and hint, and a run's learning curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from hamacho_core.crossfit import SUPERVISED_MODES
from hamacho_core.data import Dataset
from hamacho_core.errors import HamachoError
from hamacho_core.report import read_metrics
from hamacho_core.supervision import DEFAULT_MIN_DEFECTS
from ui.i18n import t

__all__ = ["learning_curve_figure", "supervised_panel", "supervised_switch"]


def supervised_switch(dataset: Dataset | None, container: Any, good_only: bool) -> str:
    """The ``--supervised`` radio and what it will do with this project's pictures; returns auto | on | off."""
    mode = container.radio(t("opt_supervised"), list(SUPERVISED_MODES), help=t("help_supervised"),
                           key="opt_supervised", format_func=lambda v: t(f"supervised_{v}"), horizontal=True,
                           disabled=good_only)
    if dataset is None or good_only:
        return "off" if good_only else mode
    defects = [s for s in dataset.test if s.label == 1]
    masked = sum(s.mask_path is not None for s in defects)
    active = mode == "on" or (mode == "auto" and len(defects) >= DEFAULT_MIN_DEFECTS)
    if not active:
        container.caption(t("supervised_inactive", n=len(defects), need=DEFAULT_MIN_DEFECTS))
    elif masked < len(defects):
        container.warning(t("supervised_no_masks", n=len(defects) - masked))
    else:
        container.caption(t("supervised_active", n=len(defects)))
    return mode


def learning_curve_figure(curve: list[dict[str, Any]]) -> go.Figure:
    """Cross-fitted image AUROC and recall against the defect pictures each head learned from."""
    figure = go.Figure()
    x = [p["n_defect_pictures"] for p in curve]
    figure.add_scatter(x=x, y=[p["image_auroc"] for p in curve], mode="lines+markers", name=t("curve_auroc"))
    figure.add_scatter(x=x, y=[p["recall"] for p in curve], mode="lines+markers", name=t("curve_recall"))
    figure.update_layout(title=t("curve_title"), xaxis_title=t("curve_x"), xaxis_type="log", height=300,
                         margin={"l": 50, "r": 10, "t": 40, "b": 40}, legend={"orientation": "h", "y": -0.3})
    return figure


def _supervised_metrics(run_dir: Path) -> dict[str, Any]:
    try:
        metrics = read_metrics(Path(run_dir))
    except HamachoError:
        return {}
    return (metrics.supervised if metrics is not None else None) or {}


def supervised_panel(run_dir: Path) -> None:
    """For a supervised run: that every figure is cross-fitted, the plain detector's, and the learning curve."""
    supervised = _supervised_metrics(run_dir)
    if not supervised.get("enabled"):
        return
    plain = supervised.get("plain") or {}
    all_point = supervised["learning_curve"][-1]
    st.info(t("supervised_run", folds=supervised["n_folds"], plain=f"{plain.get('image_auroc', 0):.3f}",
              boosted=f"{all_point['image_auroc'] or 0:.3f}"))
    if not supervised.get("masks_used"):
        st.warning(t("supervised_no_masks_run"))
    with st.expander(t("curve_expander"), expanded=False):
        st.caption(t("curve_help"))
        st.plotly_chart(learning_curve_figure(supervised["learning_curve"]), key=f"curve-{run_dir}")
