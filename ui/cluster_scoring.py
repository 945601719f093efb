"""Inference page: offer a large server folder to the Ray cluster (``HAMACHO_RAY_ADDRESS``), as a job.

The job's worker process drives the cluster (:func:`hamacho_core.scale.score`), so the server does not wait on it;
the Inference page's jobs panel shows its progress, lets it be cancelled, and shows its first rows when done.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from hamacho_core.jobs import JobManager
from ui.i18n import t
from ui.inference_view import save_inputs, submit_inference
from ui.widgets import flash

__all__ = ["cluster_address", "min_pictures", "offer_cluster"]

DEFAULT_MIN_PICTURES = 5000


def cluster_address() -> str | None:
    """The Ray cluster the app may use (HAMACHO_RAY_ADDRESS), or None."""
    return os.environ.get("HAMACHO_RAY_ADDRESS", "").strip() or None


def min_pictures() -> int:
    """Folders with more pictures than this are offered to the cluster (HAMACHO_RAY_MIN_PICTURES, default 5,000)."""
    try:
        return max(0, int(os.environ.get("HAMACHO_RAY_MIN_PICTURES", DEFAULT_MIN_PICTURES)))
    except ValueError:
        return DEFAULT_MIN_PICTURES


@st.cache_data(ttl=60, show_spinner=False)
def _count(path: str) -> int:
    from hamacho_core.scale import resolve_source

    try:
        return len(resolve_source(path).paths)
    except Exception:  # noqa: BLE001 - not a usable source: nothing to offer
        return 0


def offer_cluster(manager: JobManager, project: Path, run_dir: Path, path: str) -> None:
    """Below the server-path field: when a cluster is configured and ``path`` is large, a button that queues a job
    scoring it there.

    The job writes ``<project>/inference/<timestamp>/output/pred_outputs.csv`` (and .parquet); the jobs panel shows
    its first rows.
    """
    address = cluster_address()
    if not address or not path.strip() or not Path(path.strip()).exists():
        return
    count = _count(path.strip())
    if count <= min_pictures():
        return
    st.info(t("cluster_offer", n=count, address=address))
    if not st.button(t("cluster_run"), key="inf_cluster_go"):
        return
    folder, _ = save_inputs(project, run_dir, [])
    job = submit_inference(manager, project, run_dir, folder, Path(path.strip()), address=address)
    flash(t("cluster_queued", id=job.id), "info")
    st.rerun()
