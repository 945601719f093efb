"""The jobs panel of the Train and Inference pages: overall progress with the stage and ETA, queue position, cancel,
log; a finished training offers the threshold, a finished inference its results.

Cheap per watcher: while a job is active the panel alone reruns every ``POLL_SECONDS`` and only reads the
project's small JSON job records (the training or inference itself runs in a worker process, not in the server).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from hamacho_core.jobs import ACTIVE, INFERENCE, TRAIN, Job, JobManager
from ui.i18n import t
from ui.label_view import REVIEW_OPEN

__all__ = ["POLL_SECONDS", "jobs_panel", "progress_text"]

POLL_SECONDS = 2.5


def _stage(stage: str, kind: str = TRAIN) -> str:
    name = stage.replace(" ", "_")
    text = t(f"stage_inference_{name}") if kind == INFERENCE else ""  # an inference scores new pictures, not tests
    if not text or text.startswith("stage_"):
        text = t(f"stage_{name}")
    return stage if text.startswith("stage_") else text


def progress_text(job: Job) -> str:
    """``42 % · predicting · 12 s · about 20 s left`` (the ETA is for the whole job)."""
    if not job.stage:
        return t("starting_worker")
    seconds = job.eta_seconds()
    eta = "" if seconds is None else " " + t("eta_total", s=f"{seconds:.0f}")
    return f"{job.overall_fraction:.0%} · {_stage(job.stage, job.kind)} · {t('elapsed', s=f'{job.elapsed():.0f}')}{eta}"


def _inference_done(job: Job) -> None:
    """A finished inference: its counts, and a button that shows its table and pictures on the page."""
    metrics = job.metrics
    if job.config.get("address"):  # scored on the Ray cluster: the first rows of its table
        st.success(t("cluster_done", n=metrics.get("n_pictures", 0), problems=metrics.get("n_problems", 0),
                     path=str(job.output)))
        try:
            st.dataframe(pd.read_csv(job.output / "pred_outputs.csv", encoding="utf-8-sig", nrows=200),
                         hide_index=True, key=f"rows_{job.id}")
        except (OSError, ValueError):
            st.warning(t("results_gone"))
        return
    st.success(t("inference_job_done", n=metrics.get("n_pictures", 0), bad=metrics.get("n_defect", 0),
                 s=f"{job.elapsed():.0f}"))
    if st.button(t("show_results"), key=f"show_{job.id}", icon=":material/table_view:", on_click=_show, args=(job,)):
        st.rerun()  # the whole page (a click inside the panel reruns only the panel)


def _show(job: Job) -> None:
    """Before the rerun: the page's run and results pickers move to the job's run and results."""
    run = job.config.get("run", "")
    if Path(run).is_dir():  # the picker accepts only an existing run
        st.session_state["run"] = st.session_state["run_picker"] = run
    st.session_state["inf_session"] = job.run_dir
    st.session_state.pop("inf_shown", None)  # the results picker moves to inf_session (pages/inference.py)


def _open_comparison(job: Job, old_run: str) -> None:
    """A retrain this session started is done: the Threshold page opens on the new run, with the two runs side by
    side (before and after the corrections) and both picked in its Compare runs tab."""
    st.session_state.pop(REVIEW_OPEN, None)
    st.session_state["run"] = job.run_dir
    st.session_state["d_compare_preset"] = [old_run, str(job.run_dir)]  # read by ui/decisions_panel.py
    st.switch_page("pages/threshold.py")


def _job_box(manager: JobManager, job: Job) -> None:
    with st.container(border=True):
        if job.kind == INFERENCE:  # a server folder by its path; uploaded pictures (the job's own input/) by the id
            source = job.config.get("source", "")
            what = "" if Path(source) == Path(job.run_dir) / "input" else source
        else:
            what = job.config.get("model", "")
        st.markdown(" · ".join(part for part in (f"**{job.id}**", what, t("status_" + job.status)) if part))
        if job.status == "running":
            st.progress(job.overall_fraction, text=progress_text(job))
        elif job.status == "queued" and (slot := manager.queue_slot(job.key)) is not None:
            st.caption(t("queue_slot", n=slot.position, s=f"{slot.wait_seconds:.0f}"))
        if job.status in ACTIVE and st.button(t("cancel"), key=f"cancel_{job.id}", icon=":material/stop:"):
            manager.cancel(job.key)
            st.rerun()  # the whole page: a click outside a fragment rerun (AppTest, a fresh page) has no fragment
        if job.status == "done" and job.kind == INFERENCE:
            _inference_done(job)
        elif job.status == "done":
            metrics = job.metrics
            auroc = metrics.get("auroc")
            st.success(t("job_done", f1=f"{metrics.get('f1', 0):.3f}",
                         auroc="–" if auroc is None else f"{auroc:.3f}", s=f"{job.elapsed():.0f}"))
            retrain = st.session_state.get(REVIEW_OPEN)  # set by "retrain with N changes"
            if retrain is not None and Path(retrain[1]) == Path(job.run_dir):
                _open_comparison(job, retrain[0])
            if st.button(t("next_threshold"), key=f"next_{job.id}", icon=":material/tune:"):
                st.session_state["run"] = job.run_dir
                st.switch_page("pages/threshold.py")
        elif job.status == "interrupted":
            st.error(t("job_interrupted"))
        elif job.status == "failed":
            st.error(t("job_failed", error=job.error or t("status_failed")))
        with st.expander(t("log")):
            st.code("\n".join(job.log) or "-", language=None)


def jobs_panel(manager: JobManager, project: Path, limit: int = 5, kind: str = TRAIN) -> None:
    """Jobs of the project of ``kind`` ("train" or "inference"), newest first; re-runs itself every few seconds
    while one is queued or running."""
    active = {job.key for job in manager.active(project, kind)}

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def panel() -> None:
        jobs = manager.jobs(project, kind)
        if not jobs:
            st.caption(t("no_jobs" if kind == TRAIN else "no_inference_jobs"))
        for job in jobs[:limit]:
            _job_box(manager, job)
        still = {job.key for job in jobs if job.status in ACTIVE}
        if active and not still >= active:  # a job ended: refresh the whole page (runs list, polling)
            st.rerun()

    panel()
