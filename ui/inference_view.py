"""Inference: save dropped images into the project, run ``hamacho_core.pipeline.infer`` (it writes the outputs),
and show the results again from disk with the thresholds adjustable on the spot (re-thresholding only).

Where it runs (:func:`runs_in_server`): a handful of uploaded pictures (at most ``SMALL_INPUT``) in the Streamlit
server process, for an answer within seconds; more pictures, and every server folder, as an inference job in a
worker process (:func:`submit_inference`), with the jobs panel's progress and cancel, like a training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from hamacho_core import labels
from hamacho_core.data import Problem
from hamacho_core.drawing import defect_regions
from hamacho_core.imageio import read_image
from hamacho_core.jobs import INFERENCE as INFERENCE_KIND
from hamacho_core.jobs import Job, JobManager
from hamacho_core.jobs.inference import PROBLEMS_FILE, InferenceJobConfig, InferenceJobResult, run_inference_job
from hamacho_core.projects import INFERENCE, new_stamp
from hamacho_core.store.store import RECORD_VARIABLE, env_flag
from hamacho_core.uploads import ImportReport, save_inference_inputs
from ui.i18n import t
from ui.images import fit, gray_to_map, heat_overlay, mask_outline
from ui.label_view import add_popover, relabel_popover

ENGINE_LABELS = {"torch": "PyTorch", "onnx": "ONNX Runtime", "openvino": "OpenVINO"}

__all__ = ["ENGINE_LABELS", "SMALL_INPUT", "Session", "load_session", "results_table", "run_inference",
           "runs_in_server", "save_inputs", "show_gallery", "submit_inference"]

# At most this many uploaded pictures are scored in the server process (a few seconds on a CPU, the answer comes at
# once); a larger upload or any server folder (it may hold thousands) becomes a job in a worker process, so the
# server stays responsive and two sessions' inferences queue instead of competing in one process.
SMALL_INPUT = 16


def runs_in_server(n_pictures: int, server_folder: bool) -> bool:
    """Whether an inference of ``n_pictures`` uploaded pictures (or of a server folder) runs in this process."""
    return not server_folder and n_pictures <= SMALL_INPUT


def save_inputs(project: Path, run_dir: Path, files: list[tuple[str, bytes]]) -> tuple[Path, ImportReport]:
    """A new inference folder ``inference/<timestamp>/`` holding the dropped images in ``input/``."""
    parent = project / INFERENCE
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / new_stamp(parent)
    (folder / "input").mkdir(parents=True)
    report = save_inference_inputs(folder / "input", files)
    (folder / "session.json").write_text(json.dumps({"run_dir": str(run_dir)}, ensure_ascii=False), encoding="utf-8")
    return folder, report


def _job_config(run_dir: Path, folder: Path, source: Path | None, write_csv: bool, engine: str,
                address: str | None = None) -> InferenceJobConfig:
    return InferenceJobConfig(str(run_dir), str(source or folder / "input"), str(folder), write_csv, engine, address,
                              record=env_flag(RECORD_VARIABLE, True))  # the results store (the Monitor page)


def run_inference(run_dir: Path, folder: Path, source: Path | None = None, write_csv: bool = False,
                  progress: object = None, engine: str = "torch") -> InferenceJobResult:
    """Run the core's inference on ``source`` (default ``folder/input``) in this process, writing ``folder/output``
    (the very function an inference job's worker runs).

    ``engine``: "torch", "onnx" or "openvino" (the run's own export, made on first use).
    Raises:
        DataError: no readable picture. Other HamachoError: no usable run.
    """
    return run_inference_job(_job_config(run_dir, folder, source, write_csv, engine), progress)  # type: ignore[arg-type]


def submit_inference(manager: JobManager, project: Path, run_dir: Path, folder: Path, source: Path | None = None,
                     write_csv: bool = False, engine: str = "torch", address: str | None = None) -> Job:
    """Queue the inference of :func:`run_inference` as a job (a worker process; with ``address``, on that Ray
    cluster); its results appear in ``folder/output`` when it is done."""
    config = _job_config(run_dir, folder, source, write_csv, engine, address)
    return manager.submit(project, config, kind=INFERENCE_KIND)


@dataclass
class Session:
    folder: Path
    frame: pd.DataFrame  # pred_outputs.csv
    problems: list[Problem]  # pictures the inference left out (problems.json)


def load_session(folder: Path) -> Session:
    frame = pd.read_csv(folder / "output" / "metrics" / "pred_outputs.csv", encoding="utf-8-sig")
    try:
        problems = [Problem(str(p["path"]), str(p["reason"]))
                    for p in json.loads((folder / PROBLEMS_FILE).read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError):  # an older session, or a damaged file: nothing to list
        problems = []
    return Session(folder, frame, problems)


def results_table(session: Session, image_norm: float) -> pd.DataFrame:
    """file, score, normalized score and verdict at ``image_norm`` (no model call)."""
    frame = session.frame
    defect = frame["norm_score"] > image_norm
    return pd.DataFrame({t("col_file"): frame["output_name"], t("col_score"): frame["raw_score"].round(4),
                         t("col_norm_score"): frame["norm_score"].round(4),
                         t("col_verdict"): np.where(defect, t("defect"), t("good"))})


@st.cache_data(show_spinner=False, max_entries=256)
def _pictures(folder: str, name: str, side: int) -> tuple[np.ndarray, np.ndarray]:
    images = Path(folder) / "output" / "images"
    png = Path(name).with_suffix(".png")
    image = fit(read_image(images / "input_image" / png), side)
    normalized_map = gray_to_map(images / "grayscale" / png)
    return image, normalized_map


def show_gallery(session: Session, image_norm: float, pixel_norm: float, limit: int = 24) -> None:
    """Heat map and predicted-mask outline per image at the current thresholds (most anomalous first)."""
    frame = session.frame.sort_values("norm_score", ascending=False).head(limit)
    columns = st.columns(3)
    project = session.folder.parent.parent
    found = labels.changes(project)  # the history read once for the whole gallery
    for slot, item in enumerate(frame.itertuples()):
        image, normalized_map = _pictures(str(session.folder), str(item.output_name), 256)
        predicted = normalized_map > pixel_norm
        picture = np.hstack([heat_overlay(image, normalized_map), mask_outline(image, predicted)])
        verdict = t("defect") if item.norm_score > image_norm else t("good")
        caption = f"{verdict} · {item.norm_score:.3f} · {item.output_name}"
        regions = defect_regions(normalized_map, pixel_norm)  # in the original picture's pixels
        if regions:
            top = regions[0]
            caption += " · " + t("regions_caption", n=len(regions), x=top["x"], y=top["y"], w=top["width"],
                                 h=top["height"])
        columns[slot % 3].image(picture, caption=caption, width="stretch")
        source = Path(str(item.filepath))
        if source.is_file():  # a picture of the dataset can be relabelled, one from elsewhere can join it
            with columns[slot % 3]:
                if (place := labels.in_dataset(project, source)) is not None:
                    relabel_popover(project, place, f"inf_relabel_{slot}", found)
                else:
                    add_popover(project, source, f"add_{slot}")
