"""The jobs panel of the Train page: overall progress with the stage and ETA, queue position, cancel, log.

Cheap per watcher: while a job is active the panel alone reruns every ``POLL_SECONDS`` and only reads the
project's small JSON job records (the training itself runs in a worker process, not in the server).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from hamacho_core.jobs import ACTIVE, Job, JobManager
from ui.i18n import t

__all__ = ["POLL_SECONDS", "jobs_panel", "progress_text"]

POLL_SECONDS = 2.5


def _stage(stage: str) -> str:
    text = t(f"stage_{stage.replace(' ', '_')}")
    return stage if text.startswith("stage_") else text


def progress_text(job: Job) -> str:
    """``42 % · predicting · 12 s · about 20 s left`` (the ETA is for the whole job)."""
    if not job.stage:
        return t("starting_worker")
    seconds = job.eta_seconds()
    eta = "" if seconds is None else " " + t("eta_total", s=f"{seconds:.0f}")
    return f"{job.overall_fraction:.0%} · {_stage(job.stage)} · {t('elapsed', s=f'{job.elapsed():.0f}')}{eta}"


def _job_box(manager: JobManager, job: Job) -> None:
    with st.container(border=True):
        st.markdown(f"**{job.id}** · {job.config.get('model', '')} · {t('status_' + job.status)}")
        if job.status == "running":
            st.progress(job.overall_fraction, text=progress_text(job))
        elif job.status == "queued" and (slot := manager.queue_slot(job.key)) is not None:
            st.caption(t("queue_slot", n=slot.position, s=f"{slot.wait_seconds:.0f}"))
        if job.status in ACTIVE and st.button(t("cancel"), key=f"cancel_{job.id}", icon=":material/stop:"):
            manager.cancel(job.key)
            st.rerun(scope="fragment")
        if job.status == "done":
            metrics = job.metrics
            auroc = metrics.get("auroc")
            st.success(t("job_done", f1=f"{metrics.get('f1', 0):.3f}",
                         auroc="–" if auroc is None else f"{auroc:.3f}", s=f"{job.elapsed():.0f}"))
            if st.button(t("next_threshold"), key=f"next_{job.id}", icon=":material/tune:"):
                st.session_state["run"] = job.run_dir
                st.switch_page("pages/threshold.py")
        elif job.status in ("failed", "interrupted"):
            st.error(job.error or t("status_interrupted"))
        with st.expander(t("log")):
            st.code("\n".join(job.log) or "-", language=None)


def jobs_panel(manager: JobManager, project: Path, limit: int = 5) -> None:
    """Jobs of the project, newest first; re-runs itself every few seconds while one is queued or running."""
    active = {job.key for job in manager.active(project)}

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def panel() -> None:
        jobs = manager.jobs(project)
        if not jobs:
            st.caption(t("no_jobs"))
        for job in jobs[:limit]:
            _job_box(manager, job)
        still = {job.key for job in jobs if job.status in ACTIVE}
        if active and not still >= active:  # a job ended: refresh the whole page (runs list, polling)
            st.rerun()

    panel()
