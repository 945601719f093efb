"""Inference: save dropped images into the project, run ``hamacho_core.pipeline.infer`` (it writes the outputs),
and show the results again from disk with the thresholds adjustable on the spot (re-thresholding only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from hamacho_core.errors import DataError
from hamacho_core.imageio import read_image
from hamacho_core.pipeline import InferenceResult, infer
from hamacho_core.report import defect_regions
from ui.i18n import t
from ui.images import fit, gray_to_map, heat_overlay, mask_outline
from ui.projects import INFERENCE, new_stamp
from ui.uploads import ImportReport, save_inference_inputs

ENGINE_LABELS = {"torch": "PyTorch", "onnx": "ONNX Runtime", "openvino": "OpenVINO"}

__all__ = ["ENGINE_LABELS", "Session", "load_session", "results_table", "run_inference", "save_inputs", "show_gallery"]


def save_inputs(project: Path, run_dir: Path, files: list[tuple[str, bytes]]) -> tuple[Path, ImportReport]:
    """A new inference folder ``inference/<timestamp>/`` holding the dropped images in ``input/``."""
    parent = project / INFERENCE
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / new_stamp(parent)
    (folder / "input").mkdir(parents=True)
    report = save_inference_inputs(folder / "input", files)
    (folder / "session.json").write_text(json.dumps({"run_dir": str(run_dir)}, ensure_ascii=False), encoding="utf-8")
    return folder, report


def run_inference(run_dir: Path, folder: Path, source: Path | None = None, write_csv: bool = False,
                  progress: object = None, engine: str = "torch") -> InferenceResult:
    """Run the core's inference on ``source`` (default ``folder/input``), writing to ``folder/output``.

    ``engine``: "torch", "onnx" or "openvino" (the run's own export, made on first use).
    """
    result = infer(run_dir, str(source or folder / "input"), save_path=folder / "output", write_csv=write_csv,
                   keep_maps=False, progress=progress, engine=engine)  # type: ignore[arg-type]
    if not result.rows:  # the CLI carries on with an empty table; in the page it is an error to show
        raise DataError(result.warnings[0] if result.warnings else "no image to run on")
    return result


@dataclass
class Session:
    folder: Path
    frame: pd.DataFrame  # pred_outputs.csv


def load_session(folder: Path) -> Session:
    frame = pd.read_csv(folder / "output" / "metrics" / "pred_outputs.csv", encoding="utf-8-sig")
    return Session(folder, frame)


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
