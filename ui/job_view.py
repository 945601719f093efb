"""The training jobs panel: progress with stage and ETA, cancel, log, next step. Polls while a job is active."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.i18n import t
from ui.jobs import ACTIVE, Job, JobManager

__all__ = ["jobs_panel"]


def _eta(job: Job) -> str:
    seconds = job.eta_seconds()
    return "" if seconds is None else t("eta", s=f"{seconds:.0f}")


def _job_box(manager: JobManager, job: Job) -> None:
    with st.container(border=True):
        st.markdown(f"**{job.id}** · {job.config.get('model', '')} · {t('status_' + job.status)}")
        if job.status == "running":
            text = f"{job.stage} {job.done}/{job.total} · {t('elapsed', s=f'{job.elapsed():.0f}')} {_eta(job)}"
            st.progress(job.fraction, text=text)
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
    """Jobs of the project, newest first; re-runs itself every second while one is queued or running."""
    active = {job.key for job in manager.active(project)}

    @st.fragment(run_every=1.0 if active else None)
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
