"""The threshold page's live part: sliders and, beside them, metrics, curves, histogram, confusion matrix, the
decision tools and the gallery of images that flip.

A slider move re-runs only this fragment and asks the core one question (:class:`ui.decisions_panel.Question`,
answered by ``Decisions.answer`` as one :class:`~hamacho_core.decisions.ThresholdAnswer`). What does not depend on
the threshold is computed once per run and change (:func:`load`: the bootstrap, bands, curves as arrays, the
ranking figures) and the gallery's pictures once per picture and pixel threshold (:func:`_picture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import streamlit as st

from hamacho_core import labels
from hamacho_core.data import relative_names
from hamacho_core.decisions import FITTED, Decisions, ThresholdAnswer, ThresholdIntervals, save_costs
from hamacho_core.evaluation import Evaluation
from hamacho_core.metrics import ImageMetrics, curves, image_metrics
from hamacho_core.persistence import update_thresholds
from hamacho_core.report import TEST_DIR
from hamacho_core.review import pictures_in_project
from ui.charts import confusion_figure, histogram_figure, pr_figure, roc_figure
from ui.decision_text import reason_sentence, source
from ui.decisions_panel import (
    add_bands,
    decision_tabs,
    gallery_filter,
    given_costs,
    metric_ranges,
    question,
    recall_block,
)
from ui.evaluate import gallery_order, outcome
from ui.i18n import t
from ui.images import heat_overlay, mask_outline, thumbnail
from ui.label_view import relabel_popover
from ui.live_charts import moved, static_spec
from ui.widgets import show_errors

__all__ = ["Loaded", "chart_text", "load", "threshold_panel"]


@dataclass
class Loaded:
    """A run's evaluation and what does not depend on the threshold."""

    evaluation: Evaluation
    scores: np.ndarray  # the run's normalized image scores (what the saved model says of each picture: the gallery)
    curves: dict[str, np.ndarray]  # PR and ROC of the headline scores (cross-fitted or hold-out), as arrays
    names: list[str]  # output names inside test_predictions
    decisions: Decisions  # headline figures, intervals and costs: the bootstraps are drawn once per run and change
    ranking: tuple[float | None, float | None] = (None, None)  # AUROC and AP of the headline scores (no threshold)
    stamp: float = 0.0  # the run's files' last change (cache key of the gallery's pictures)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(run_dir: str, stamp: float) -> Loaded:
    decisions = Decisions.for_run(run_dir)
    evaluation = decisions.evaluation
    names = evaluation.output_names or [  # runs written before output names were saved
        p.as_posix() for p in relative_names([Path(p) for p in evaluation.paths], evaluation.defect_types)]
    ranking = image_metrics(decisions.labels_, decisions.scores_, 0.5)
    if decisions.n_defect_ and decisions.n_good_:
        decisions.pr_band(), decisions.roc_band()  # memoised: drawn here, not on the first slider move
    # arrays, not lists: plotly checks a list element by element on every chart of every move
    headline_curves = {k: np.asarray(v) for k, v in curves(decisions.labels_, decisions.scores_).items()}
    return Loaded(evaluation, evaluation.normalized_scores, headline_curves, names, decisions,
                  (ranking.auroc, ranking.average_precision), stamp)


def _stamp(run_dir: Path) -> float:
    return max((run_dir / n).stat().st_mtime for n in ("config.yaml", "evaluation.safetensors")
               if (run_dir / n).exists())


def load(run_dir: Path) -> Loaded:
    """Cached per run and per change of its config.yaml (a saved threshold reloads the normalization); the
    eight runs last opened are kept (one server serves every browser session)."""
    return _load(str(run_dir), _stamp(run_dir))


def _metrics(figures: ThresholdIntervals, ranking: tuple[float | None, float | None]) -> ImageMetrics:
    """The charts' view of the answer's headline figures (no second count of the verdicts)."""
    return ImageMetrics(figures.threshold, *ranking, f1=figures.f1.value, precision=figures.precision.value,
                        recall=figures.recall.value, accuracy=figures.accuracy.value, tp=figures.tp, fp=figures.fp,
                        tn=figures.tn, fn=figures.fn)


def chart_text() -> dict[str, str]:
    keys = ("curve", "point", "pr", "roc", "recall", "precision", "fpr", "tpr", "good", "defect", "histogram",
            "score", "count", "confusion", "predicted", "truth")
    return {k: t(f"chart_{k}") for k in keys}


@st.cache_data(show_spinner=False, max_entries=256)
def _thumb(run_dir: str, name: str, source: str, side: int) -> np.ndarray:
    copy = Path(run_dir) / TEST_DIR / "images" / "input_image" / Path(name).with_suffix(".png")
    return thumbnail(copy if copy.is_file() else source, side)


@st.cache_data(show_spinner=False, max_entries=512)
def _picture(run_dir: str, stamp: float, index: int, pixel_norm: float) -> bytes:
    """A gallery picture (heat map | predicted and true outlines) as PNG bytes: drawn and encoded once per picture
    and pixel threshold, not on every image-threshold move."""
    loaded = _load(run_dir, stamp)
    evaluation = loaded.evaluation
    image = _thumb(run_dir, loaded.names[index], evaluation.paths[index], 192)
    normalized_map = evaluation.normalization.normalize_maps(evaluation.maps[index].astype(np.float32))
    truth = evaluation.masks[index] if evaluation.masks is not None else None
    picture = np.hstack([heat_overlay(image, normalized_map),
                         mask_outline(image, evaluation.predicted_mask(index, pixel_norm), truth)])
    return cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))[1].tobytes()


@st.cache_data(show_spinner=False, max_entries=256)
def _places(project: str, run_dir: str, stamp: float, pictures: tuple[str, ...]) -> list[Path]:
    """Where the gallery's pictures are in the project: a path mapping of the run's settings, so once per run and
    gallery page, not on every slider move."""
    return pictures_in_project(Path(project), run_dir, pictures)


def _metric_row(metrics: ImageMetrics, saved: ImageMetrics, answer: ThresholdAnswer) -> None:
    """The headline figures at the slider (with the change against the saved threshold), each with its 95 % range
    and source; the provenance sentence; the fitted figures, marked optimistic."""
    language = str(st.session_state.get("lang", "en"))
    st.caption(reason_sentence(language, answer.reason("provenance")))
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
    places = _places(str(project), str(run_dir), loaded.stamp, tuple(evaluation.paths[index] for index in order))
    for slot, (index, place) in enumerate(zip(order, places, strict=True)):
        result = outcome(int(evaluation.labels[index]), float(loaded.scores[index]), threshold)
        columns[slot % 3].image(_picture(str(run_dir), loaded.stamp, index, float(pixel_norm)), output_format="PNG",
                                caption=f"{result} · {loaded.scores[index]:.3f} · {loaded.names[index]}",
                                width="stretch")
        with columns[slot % 3]:
            relabel_popover(project, place, f"relabel_{index}", found)


@st.cache_resource(show_spinner=False, max_entries=16)
def _chart_specs(run_dir: str, stamp: float, language: str) -> dict[str, dict]:
    """The four charts' static parts (curves, bootstrap bands, histogram bars, layout in ``language``), built and
    checked by plotly once per run and language."""
    loaded = _load(run_dir, stamp)
    decisions, text = loaded.decisions, chart_text()
    metrics = _metrics(decisions.at(float(decisions.evaluation.normalization.normalized_image_threshold)),
                       loaded.ranking)
    figures = {"pr": pr_figure(loaded.curves, metrics, text), "roc": roc_figure(loaded.curves, metrics, text),
               "histogram": histogram_figure(decisions.labels_, decisions.scores_, metrics.threshold, text),
               "confusion": confusion_figure(metrics, text)}
    add_bands(figures, decisions)
    return {name: static_spec(figure) for name, figure in figures.items()}


def _figures(run_dir: Path, loaded: Loaded, metrics: ImageMetrics, threshold: float) -> dict:
    """The four charts at the slider's threshold: the cached static parts with the moving parts put in."""
    specs = _chart_specs(str(run_dir), loaded.stamp, str(st.session_state.get("lang", "en")))
    return moved(specs, metrics, threshold, t("chart_point"))


@st.fragment
def threshold_panel(run_dir: Path, loaded: Loaded) -> None:
    """Sliders, figures, decision tools, gallery and the save button; re-runs alone when a slider moves, and renders
    one answer of the core (every figure, interval, cost and sentence at the slider's threshold)."""
    evaluation = loaded.evaluation
    saved = evaluation.normalization
    decisions = loaded.decisions  # the figures, curves, histogram and confusion matrix count the headline verdicts
    key = run_dir.name
    left, right = st.columns([1.3, 3])
    slider_key = f"thr_image_{key}"
    asked = question(run_dir)  # costs, width, constraints as the session holds them
    with left:
        # the "use this threshold" buttons set it
        st.session_state.setdefault(slider_key, float(saved.normalized_image_threshold))
        image_norm = st.slider(t("image_threshold"), 0.0, 1.0, step=0.005, format="%.3f",
                               help=t("image_threshold_help"), key=slider_key)
        pixel_norm = float(saved.normalized_pixel_threshold)
        if evaluation.masks is not None:
            pixel_norm = st.slider(t("pixel_threshold"), 0.0, 1.0, pixel_norm, 0.005, format="%.3f",
                                   help=t("pixel_threshold_help"), key=f"thr_pixel_{key}")
        answer = asked.ask(decisions, image_norm, pixel_norm if evaluation.masks is not None else None)
        moved = (image_norm, pixel_norm) != (saved.normalized_image_threshold, saved.normalized_pixel_threshold)
        if st.button(t("save_threshold"), type="primary" if moved else "secondary", disabled=not moved,
                     icon=":material/save:", key="save_threshold"):
            with show_errors():
                update_thresholds(run_dir, image_norm, pixel_norm if evaluation.masks is not None else None)
                if (costs := given_costs(key)) is not None:
                    save_costs(run_dir, costs)
                st.session_state["threshold_saved"] = t("threshold_saved", image=f"{image_norm:.3f}",
                                                         pixel=f"{pixel_norm:.3f}")
                st.rerun()
        if message := st.session_state.pop("threshold_saved", None):
            st.success(message)
        st.caption(t("saved_thresholds", image=f"{saved.normalized_image_threshold:.3f}",
                     pixel=f"{saved.normalized_pixel_threshold:.3f}"))
        metric_ranges(answer.headline)
        recall_block(answer, key)
    with right:
        metrics = _metrics(answer.headline, loaded.ranking)
        _metric_row(metrics, _metrics(answer.saved, loaded.ranking), answer)
        figures = _figures(run_dir, loaded, metrics, image_norm)
        top = st.columns(2)
        top[0].plotly_chart(figures["pr"], key="fig_pr")
        top[1].plotly_chart(figures["roc"], key="fig_roc")
        bottom = st.columns(2)
        bottom[0].plotly_chart(figures["histogram"], key="fig_histogram")
        bottom[1].plotly_chart(figures["confusion"], key="fig_confusion")
    decision_tabs(decisions, answer, key, slider_key, (str(run_dir), loaded.stamp))
    st.subheader(t("gallery"))
    st.caption(t("gallery_help"))
    order = gallery_order(evaluation.labels, loaded.scores, image_norm, limit=len(loaded.scores))
    _gallery(run_dir, loaded, gallery_filter(evaluation, loaded.scores, order, image_norm)[:9], image_norm,
             pixel_norm)
