"""The threshold page's live part: sliders and, beside them, metrics, curves, histogram, confusion matrix and the
gallery of images that flip. Only cached scores are used (``Evaluation.load`` once per run and change)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from hamacho_core import labels
from hamacho_core.data import relative_names
from hamacho_core.decisions import FITTED, Decisions, ThresholdAnswer, save_costs
from hamacho_core.evaluation import Evaluation
from hamacho_core.metrics import ImageMetrics, curves, image_metrics
from hamacho_core.persistence import update_thresholds
from hamacho_core.report import TEST_DIR
from hamacho_core.review import picture_in_project
from ui.decision_text import provenance_sentence, source
from ui.decisions_panel import add_bands, decision_tabs, gallery_filter, given_costs, metric_ranges, recall_block
from ui.evaluate import gallery_order, outcome, threshold_view
from ui.i18n import t
from ui.images import heat_overlay, mask_outline, thumbnail
from ui.label_view import relabel_popover
from ui.widgets import show_errors

__all__ = ["Loaded", "chart_text", "load", "threshold_panel"]


@dataclass
class Loaded:
    """A run's evaluation and what does not depend on the threshold."""

    evaluation: Evaluation
    scores: np.ndarray  # the run's normalized image scores (what the saved model says of each picture: the gallery)
    curves: dict[str, list[float]]  # PR and ROC of the headline scores (cross-fitted or hold-out)
    names: list[str]  # output names inside test_predictions
    decisions: Decisions  # headline figures, intervals and costs: the bootstraps are drawn once per run and change


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(run_dir: str, stamp: float) -> Loaded:
    decisions = Decisions.for_run(run_dir)
    evaluation = decisions.evaluation
    names = evaluation.output_names or [  # runs written before output names were saved
        p.as_posix() for p in relative_names([Path(p) for p in evaluation.paths], evaluation.defect_types)]
    return Loaded(evaluation, evaluation.normalized_scores, curves(decisions.labels_, decisions.scores_), names,
                  decisions)


def load(run_dir: Path) -> Loaded:
    """Cached per run and per change of its config.yaml (a saved threshold reloads the normalization)."""
    stamp = max((run_dir / n).stat().st_mtime for n in ("config.yaml", "evaluation.safetensors")
                if (run_dir / n).exists())
    return _load(str(run_dir), stamp)


def chart_text() -> dict[str, str]:
    keys = ("curve", "point", "pr", "roc", "recall", "precision", "fpr", "tpr", "good", "defect", "histogram",
            "score", "count", "confusion", "predicted", "truth")
    return {k: t(f"chart_{k}") for k in keys}


@st.cache_data(show_spinner=False, max_entries=256)
def _thumb(run_dir: str, name: str, source: str, side: int) -> np.ndarray:
    copy = Path(run_dir) / TEST_DIR / "images" / "input_image" / Path(name).with_suffix(".png")
    return thumbnail(copy if copy.is_file() else source, side)


def _metric_row(metrics: ImageMetrics, saved: ImageMetrics, answer: ThresholdAnswer) -> None:
    """The headline figures at the slider (with the change against the saved threshold), each with its 95 % range
    and source; the provenance sentence; the fitted figures, marked optimistic."""
    language = str(st.session_state.get("lang", "en"))
    st.caption(provenance_sentence(language, answer.reason("provenance")))
    columns = st.columns(4)
    for column, key in zip(columns, ("precision", "recall", "f1", "accuracy"), strict=True):
        value = getattr(metrics, key)
        delta = value - getattr(saved, key)
        column.metric(t(f"m_{key}"), f"{value:.3f}", f"{delta:+.3f}" if abs(delta) > 1e-9 else None,
                      help=t("m_delta_help") + " " + t("d_range_help"))
        estimate = getattr(answer.headline, key)
        counts = f" ({estimate.count}/{estimate.total})" if estimate.total is not None else ""
        column.caption(f"95 %: {estimate.low:.3f}–{estimate.high:.3f}{counts} · "
                       f"{source(language, estimate.provenance)}")
    if answer.provenance != FITTED:
        fitted = answer.fitted
        st.caption(t("d_fitted_line", f1=f"{fitted.f1.value:.3f}", p=f"{fitted.precision.value:.3f}",
                     r=f"{fitted.recall.value:.3f}"))


def _gallery(run_dir: Path, loaded: Loaded, order: list[int], threshold: float, pixel_norm: float) -> None:
    evaluation = loaded.evaluation
    if not order:
        st.info(t("d_gallery_empty"))
        return
    columns = st.columns(3)
    project = run_dir.parent.parent
    found = labels.changes(project)  # the history read once for the whole gallery, not once per picture
    for slot, index in enumerate(order):
        image = _thumb(str(run_dir), loaded.names[index], evaluation.paths[index], 192)
        normalized_map = evaluation.normalization.normalize_maps(evaluation.maps[index].astype(np.float32))
        truth = evaluation.masks[index] if evaluation.masks is not None else None
        picture = np.hstack([heat_overlay(image, normalized_map),
                             mask_outline(image, evaluation.predicted_mask(index, pixel_norm), truth)])
        result = outcome(int(evaluation.labels[index]), float(loaded.scores[index]), threshold)
        columns[slot % 3].image(picture, caption=f"{result} · {loaded.scores[index]:.3f} · {loaded.names[index]}",
                                width="stretch")
        with columns[slot % 3]:
            relabel_popover(project, picture_in_project(project, run_dir, evaluation.paths[index]),
                            f"relabel_{index}", found)


@st.fragment
def threshold_panel(run_dir: Path, loaded: Loaded) -> None:
    """Sliders, figures, gallery and the save button; re-runs alone when a slider moves."""
    evaluation = loaded.evaluation
    saved = evaluation.normalization
    left, right = st.columns([1.3, 3])
    slider_key = f"thr_image_{run_dir.name}"
    with left:
        # the "use this threshold" buttons set it
        st.session_state.setdefault(slider_key, float(saved.normalized_image_threshold))
        image_norm = st.slider(t("image_threshold"), 0.0, 1.0, step=0.005, format="%.3f",
                               help=t("image_threshold_help"), key=slider_key)
        pixel_norm = float(saved.normalized_pixel_threshold)
        if evaluation.masks is not None:
            pixel_norm = st.slider(t("pixel_threshold"), 0.0, 1.0, pixel_norm, 0.005, format="%.3f",
                                   help=t("pixel_threshold_help"), key=f"thr_pixel_{run_dir.name}")
        decisions = loaded.decisions  # the figures, curves, histogram and confusion matrix count the headline verdicts
        view = threshold_view(decisions.source_, decisions.scores_, loaded.curves, image_norm, chart_text())
        moved = (image_norm, pixel_norm) != (saved.normalized_image_threshold, saved.normalized_pixel_threshold)
        if st.button(t("save_threshold"), type="primary" if moved else "secondary", disabled=not moved,
                     icon=":material/save:", key="save_threshold"):
            with show_errors():
                update_thresholds(run_dir, image_norm, pixel_norm if evaluation.masks is not None else None)
                if (costs := given_costs(run_dir.name)) is not None:
                    save_costs(run_dir, costs)
                st.session_state["threshold_saved"] = t("threshold_saved", image=f"{image_norm:.3f}",
                                                         pixel=f"{pixel_norm:.3f}")
                st.rerun()
        if message := st.session_state.pop("threshold_saved", None):
            st.success(message)
        st.caption(t("saved_thresholds", image=f"{saved.normalized_image_threshold:.3f}",
                     pixel=f"{saved.normalized_pixel_threshold:.3f}"))
        answer = decisions.answer(image_norm)
        metric_ranges(answer.headline)
        recall_block(decisions, answer.headline, run_dir.name)
    with right:
        saved_metrics = image_metrics(decisions.labels_, decisions.scores_, saved.normalized_image_threshold)
        _metric_row(view.metrics, saved_metrics, answer)
        add_bands(view.figures, loaded.decisions)
        top = st.columns(2)
        top[0].plotly_chart(view.figures["pr"], key="fig_pr")
        top[1].plotly_chart(view.figures["roc"], key="fig_roc")
        bottom = st.columns(2)
        bottom[0].plotly_chart(view.figures["histogram"], key="fig_histogram")
        bottom[1].plotly_chart(view.figures["confusion"], key="fig_confusion")
    decision_tabs(run_dir, loaded.decisions, image_norm, pixel_norm if evaluation.masks is not None else None,
                  slider_key)
    st.subheader(t("gallery"))
    st.caption(t("gallery_help"))
    order = gallery_order(evaluation.labels, loaded.scores, image_norm, limit=len(loaded.scores))
    _gallery(run_dir, loaded, gallery_filter(evaluation, loaded.scores, order, image_norm)[:9], image_norm,
             pixel_norm)
