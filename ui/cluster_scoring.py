"""Inference page: offer a large server folder to the Ray cluster (``HAMACHO_RAY_ADDRESS``) with progress."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from ui.i18n import t

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


def offer_cluster(project: Path, run_dir: Path, path: str) -> None:
    """Below the server-path field: when a cluster is configured and ``path`` is large, a button that scores it there.

    Writes ``<project>/scores/<timestamp>/pred_outputs.csv`` (and .parquet) and shows the first rows.
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
    from hamacho_core.scale import ScoreConfig, score

    output = project / "scores" / time.strftime("%Y%m%d-%H%M%S")
    bar = st.progress(0.0, text=t("cluster_running"))
    started = time.perf_counter()

    def progress(done: int, total: int, stage: str) -> None:
        rate = done / max(time.perf_counter() - started, 1e-6)
        bar.progress(done / max(total, 1), text=t("cluster_progress", done=done, total=total, rate=f"{rate:.1f}"))

    result = score(ScoreConfig(run_dir / "config.yaml", path.strip(), output, engine="ray", address=address),
                   progress)
    bar.empty()
    st.success(t("cluster_done", n=result.n_pictures, problems=result.n_problems, path=str(output)))
    st.dataframe(pd.read_csv(output / "pred_outputs.csv", encoding="utf-8-sig", nrows=200), hide_index=True)
