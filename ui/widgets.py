"""Widgets shared by the pages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from hamacho_core.data import Problem
from hamacho_core.errors import HamachoError
from hamacho_core.persistence import RunInfo, read_config
from hamacho_core.projects import RUNS, project_runs
from ui.i18n import t

__all__ = ["flash", "flash_errors", "problems_table", "run_label", "run_picker", "runs_table", "show_errors",
           "show_flash"]


@contextmanager
def show_errors() -> Iterator[None]:
    """Show hamacho errors (and file-system errors) with st.error, never as a traceback."""
    try:
        yield
    except HamachoError as error:
        st.error(f"{t('error')}: {error}", icon=":material/error:")
    except OSError as error:
        st.error(f"{t('error')}: {error.strerror or error} ({error.filename or ''})", icon=":material/error:")


@contextmanager
def flash_errors() -> Iterator[None]:
    """Like :func:`show_errors`, but the message is shown on the next run (for a step followed by ``st.rerun``, e.g.
    a refused upload whose drop zone is emptied)."""
    try:
        yield
    except HamachoError as error:
        flash(f"{t('error')}: {error}", "error")
    except OSError as error:
        flash(f"{t('error')}: {error.strerror or error} ({error.filename or ''})", "error")


def flash(message: str, kind: str = "success") -> None:
    """A message shown once on the next run (survives st.rerun)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)


def problems_table(problems: Sequence[Problem], key: str = "problems") -> None:
    """Every problem the core reported (file, reason)."""
    if not problems:
        st.success(t("no_problems"), icon=":material/check_circle:")
        return
    st.warning(t("n_problems", n=len(problems)), icon=":material/warning:")
    frame = pd.DataFrame([{t("col_file"): p.path, t("col_reason"): p.reason} for p in problems])
    st.dataframe(frame, hide_index=True, width="stretch", key=key)


def _metric(value: Any) -> str:
    return "–" if value is None or value != value else f"{value:.3f}"


def run_label(run: RunInfo) -> str:
    auroc = run.metrics.get("image_auroc")
    return f"{run.run_dir.name} · {run.model} · AUROC {_metric(auroc)}"


def runs_table(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """Date, model, backbone and headline metrics of each run."""
    return pd.DataFrame([{
        t("col_run"): run.run_dir.name, t("col_date"): run.created[:19].replace("T", " "), t("col_model"): run.model,
        t("col_backbone"): run.backbone, "image AUROC": _metric(run.metrics.get("image_auroc")),
        "image F1": _metric(run.metrics.get("image_f1")),
        t("col_cross_fitted_f1"): _metric(run.metrics.get("honest_f1")),  # config.yaml's key for the cross-fitted F1
        "pixel AUROC": _metric(run.metrics.get("pixel_auroc")), "pixel AUPRO": _metric(run.metrics.get("pixel_aupro")),
    } for run in runs])


def _unreadable_runs(project: Path, listed: set[Path]) -> None:
    """Say why a run folder is not offered (newer format, damaged config), instead of hiding it."""
    for config in sorted((project / RUNS).glob("*/config.yaml")):
        if config.parent not in listed:
            try:
                read_config(config)
            except HamachoError as error:
                st.error(f"{t('error')}: {error}", icon=":material/error:")


def run_picker(project: Path) -> Path | None:
    """Choose one of the project's runs (remembered across pages); None with a hint when there is none."""
    runs = project_runs(project)
    _unreadable_runs(project, {run.run_dir for run in runs})
    if not runs:
        st.info(t("no_runs"))
        st.page_link("pages/train.py", label=t("go_train"), icon=":material/model_training:")
        return None
    names = [str(run.run_dir) for run in runs]
    labels = {str(run.run_dir): run_label(run) for run in runs}
    current = st.session_state.get("run")
    index = names.index(current) if current in names else 0
    chosen = st.selectbox(t("pick_run"), names, index=index, format_func=labels.__getitem__, key="run_picker")
    st.session_state["run"] = chosen
    return Path(chosen)
