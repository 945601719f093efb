"""The project's dataset as the pages show it: loaded once per change of the files, counts, thumbnails."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import cv2
import pandas as pd
import streamlit as st

from hamacho_core.data import Dataset, Sample
from hamacho_core.projects import data_dir
from hamacho_core.uploads import KINDS, ImportReport
from ui.i18n import t
from ui.images import thumbnail
from ui.training import load_project_dataset

__all__ = ["counts_table", "dataset_of", "show_import", "thumbnails", "upload_box"]


def _signature(folder: Path) -> tuple[int, float]:
    """Number of files and newest change below good/, bad/, mask/ (the cache key of the dataset)."""
    count, newest = 0, 0.0
    for kind in KINDS:
        for path in (folder / kind).rglob("*") if (folder / kind).is_dir() else []:
            count += 1
            newest = max(newest, path.stat().st_mtime)
    return count, newest


@st.cache_data(show_spinner=False, max_entries=16)
def _load(project: str, split: float, seed: int, no_bad: bool, signature: tuple[int, float]) -> Dataset:
    return load_project_dataset(Path(project), split, seed, no_bad)


def dataset_of(project: Path, split: float = 0.2, seed: int = 420, no_bad: bool = False) -> Dataset | None:
    """The project's dataset, or None (with a hint) when it has no good/ folder yet. Raises HamachoError."""
    folder = data_dir(project)
    if not (folder / "good").is_dir():
        st.info(t("no_data"))
        return None
    return _load(str(project), split, seed, no_bad, _signature(folder))


def counts_table(dataset: Dataset) -> pd.DataFrame:
    """Images and masks per class / defect type."""
    everything = dataset.train + dataset.test
    rows: dict[str, list[int]] = {}
    for sample in everything:
        key = "good" if sample.label == 0 else f"bad/{sample.defect_type}"
        row = rows.setdefault(key, [0, 0])
        row[0] += 1
        row[1] += sample.mask_path is not None
    return pd.DataFrame([{t("col_class"): key, t("col_images"): n, t("col_masks"): str(m) if key != "good" else ""}
                         for key, (n, m) in sorted(rows.items(), key=lambda item: (item[0] != "good", item[0]))])


@st.cache_data(show_spinner=False, max_entries=512)
def _thumb(path: str, mask: str | None, side: int) -> str:
    """The thumbnail as a JPEG ``data:`` URL: it travels inside the page message, so there is no media file that a
    busy server could drop before the browser fetches it (the "Image source error ... 404" seen under load)."""
    image = thumbnail(path, side, mask)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes() if ok else b"").decode("ascii")


def thumbnails(dataset: Dataset, per_class: int = 6, side: int = 150) -> None:
    """A few images of each class, ground-truth masks outlined in green."""
    groups: dict[str, list[Sample]] = {}
    for sample in sorted(dataset.train + dataset.test, key=lambda s: (s.label, str(s.path))):
        groups.setdefault("good" if sample.label == 0 else sample.defect_type, []).append(sample)
    for name, samples in groups.items():
        st.caption(f"{t('good') if name == 'good' else name} ({len(samples)})")
        chosen = samples[:per_class]
        st.image([_thumb(str(s.path), str(s.mask_path) if s.mask_path else None, side) for s in chosen],
                 caption=[s.path.name for s in chosen], width=side)


def show_import(report: ImportReport, project: Path | None = None) -> None:
    """The import's counts once; its refused files also kept in the project's history until dismissed."""
    from ui.widgets import flash

    flash(t("imported", n=len(report.written)))
    if report.problems:
        st.session_state["import_problems"] = report.problems
        if project is not None:
            from hamacho_core.labels import record_refusals
            from ui.label_view import current_user

            record_refusals(project, report.problems, current_user())


def upload_box(label: str, help_text: str, key: str, save: Callable[[list[tuple[str, bytes]]], ImportReport],
               project: Path | None = None) -> None:
    """A folder drop zone; dropped files are saved at once and the box is emptied (a refresh loses nothing)."""
    generation = st.session_state.setdefault(f"{key}_gen", 0)
    from ui.widgets import flash_errors

    files = st.file_uploader(label, accept_multiple_files="directory", help=help_text, key=f"{key}_{generation}")
    if files:
        st.session_state[f"{key}_gen"] = generation + 1  # emptied even when saving fails (no retry loop)
        with flash_errors(), st.spinner(t("importing")):
            show_import(save([(f.name, f.getvalue()) for f in files]), project)
        st.rerun()
