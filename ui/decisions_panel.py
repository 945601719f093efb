"""The Threshold page's decision tools: ranges beside the metrics, bands on the curves, the recall sentence, costs,
constraints, per-type results, runs side by side, and the gallery filter.

Everything at the slider's threshold is rendered from one :class:`~hamacho_core.decisions.ThresholdAnswer`
(``question`` reads what the page asks: costs, width, constraints; ``Decisions.answer`` answers it). The bootstrap
(:class:`hamacho_core.decisions.Decisions`) is built once per run and change (``ui.threshold_panel`` caches it);
bands, cost curves, the cheapest threshold and the constraints are memoised on it, so a slider move only costs
O(resamples) look-ups. Runs side by side do not depend on the threshold: ``compare_section`` is drawn outside the
slider's fragment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from hamacho_core.comparison import compare_runs
from hamacho_core.decisions import ConstraintChoice, Costs, Decisions, ThresholdAnswer, ThresholdIntervals, load_costs
from hamacho_core.errors import HamachoError
from hamacho_core.evaluation import Evaluation
from hamacho_core.metrics import outcomes as picture_outcomes
from hamacho_core.projects import project_runs
from ui.charts import DEFECT_COLOR, POINT_COLOR
from ui.decision_text import cost_sentence, costs_given, reason_sentence, source, span
from ui.i18n import t
from ui.live_charts import cost_markers, static_spec
from ui.widgets import run_label

__all__ = ["Question", "add_bands", "compare_section", "decision_tabs", "gallery_filter", "given_costs",
           "metric_ranges", "question", "recall_block"]

OUTCOMES = ("TP", "FP", "TN", "FN")
_BAND_COLOR = "rgba(31, 119, 180, 0.18)"


def _lang() -> str:
    return str(st.session_state.get("lang", "en"))


def metric_ranges(intervals: ThresholdIntervals) -> None:
    """False-alarm rate and AUROC as metrics, each with its 95 % range and source underneath."""
    columns = st.columns(2)
    fa = intervals.false_alarm_rate
    columns[0].metric(t("d_false_alarm_rate"), f"{fa.value:.3f}", help=t("d_range_help"))
    columns[0].caption(f"95 %: {fa.low:.3f}–{fa.high:.3f} ({fa.count}/{fa.total}) · {source(_lang(), fa.provenance)}")
    if intervals.auroc is not None:
        auroc = intervals.auroc
        columns[1].metric(t("d_auroc"), f"{auroc.value:.3f}", help=t("d_range_help"))
        columns[1].caption(f"95 %: {auroc.low:.3f}–{auroc.high:.3f} · {source(_lang(), auroc.provenance)}")


def _band(figure: go.Figure, x: list[float], low: list[float], high: list[float], name: str) -> None:
    x, low, high = np.asarray(x), np.asarray(low), np.asarray(high)  # plotly checks lists element by element
    figure.add_scatter(x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
    figure.add_scatter(x=x, y=low, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=_BAND_COLOR,
                       name=name, hoverinfo="skip")


def add_bands(figures: dict[str, go.Figure], decisions: Decisions) -> None:
    """Shade the 95 % bootstrap band under the PR and ROC curves (bands cached on ``decisions``)."""
    if decisions.n_defect_ == 0 or decisions.n_good_ == 0:
        return
    pr, roc = decisions.pr_band(), decisions.roc_band()
    _band(figures["pr"], pr["recall"], pr["low"], pr["high"], t("d_band"))
    _band(figures["roc"], roc["fpr"], roc["low"], roc["high"], t("d_band"))


@dataclass(frozen=True)
class Question:
    """What the page asks the core at a threshold besides the threshold: the decision tools' inputs."""

    costs: Costs | None  # None: the costs entered are invalid (the Costs tab says why) or there is no decision
    width: float
    min_recall: float
    max_false_alarm_rate: float

    def ask(self, decisions: Decisions, threshold: float, pixel_norm: float | None) -> ThresholdAnswer:
        """The one answer the slider's fragment renders (``Decisions.answer``)."""
        return decisions.answer(threshold, self.costs, self.width, pixel_norm, self.min_recall,
                                self.max_false_alarm_rate)


def question(run_dir: Path) -> Question:
    """The decision tools' inputs from the session (their widgets are drawn later in the run; first visit: the
    costs kept with the run, if any)."""
    key = run_dir.name
    _init_costs(run_dir, key)
    try:
        costs = _costs_from_state(key)
    except HamachoError:
        costs = None
    state = st.session_state
    return Question(costs, float(state.get(f"d_width_{key}", 0.10)), float(state.get(f"d_min_recall_{key}", 0.95)),
                    float(state.get(f"d_max_fa_{key}", 0.05)))


def recall_block(answer: ThresholdAnswer, key: str) -> None:
    """The plain recall sentence, and how many defect pictures a narrower interval needs (from reason codes)."""
    if answer.headline.n_defect == 0:
        return
    st.markdown(reason_sentence(_lang(), answer.reason("recall")))
    st.number_input(t("d_width_label"), 0.01, 0.99, 0.10, 0.01, help=t("d_width_help"), key=f"d_width_{key}")
    st.caption(" ".join(reason_sentence(_lang(), r) for r in answer.reasons if r.code.startswith("width")))


# ------------------------------------------------------------------------------------------------------- costs
def _use(slider_key: str, value: float, key: str | None = None) -> None:
    """Button callback: move the slider (runs before the fragment re-runs, so the slider shows it)."""
    st.session_state[slider_key] = float(value)
    if key is not None:
        st.session_state[f"d_costs_given_{key}"] = True


def _mark(key: str) -> None:
    st.session_state[f"d_costs_given_{key}"] = True


def given_costs(key: str) -> Costs | None:
    """The costs entered on the page, when the analyst touched them (None otherwise or when invalid)."""
    if not st.session_state.get(f"d_costs_given_{key}"):
        return None
    try:
        return _costs_from_state(key)
    except (HamachoError, KeyError):
        return None


def _costs_from_state(key: str) -> Costs:
    unit = 1e6 if st.session_state.get(f"d_rate_unit_{key}") == "ppm" else 1000.0
    return Costs(float(st.session_state[f"d_cost_miss_{key}"]), float(st.session_state[f"d_cost_fa_{key}"]),
                 float(st.session_state[f"d_rate_{key}"]) / unit)


@st.cache_resource(show_spinner=False, max_entries=32)
def _cost_spec(run: tuple[str, float], costs_key: tuple[float, float, float], language: str,
               _decisions: Decisions, _costs: Costs) -> dict:
    """The cost chart's static part (curve, band, layout) of a run, costs and language, checked once by plotly; the
    markers are placed per move (:func:`ui.live_charts.cost_markers`)."""
    curve = _decisions.cost_curve(_costs)
    x = np.append(curve.thresholds, 1.0)  # arrays, not lists: plotly checks a list element by element
    extend = lambda values: np.append(values, values[-1])  # noqa: E731 - the last plateau reaches 1.0
    figure = go.Figure()
    figure.add_scatter(x=x, y=extend(curve.high), mode="lines", line={"width": 0, "shape": "hv"}, showlegend=False,
                       hoverinfo="skip")
    figure.add_scatter(x=x, y=extend(curve.low), mode="lines", line={"width": 0, "shape": "hv"}, fill="tonexty",
                       fillcolor=_BAND_COLOR, name=t("d_band"), hoverinfo="skip")
    figure.add_scatter(x=x, y=extend(curve.cost), mode="lines", line={"shape": "hv"}, name=t("d_cost_curve"))
    for name, color in ((t("d_cheapest_point"), DEFECT_COLOR), (t("d_current_point"), POINT_COLOR)):
        figure.add_scatter(x=[0.5], y=[0.0], mode="markers", name=name, marker={"size": 12, "color": color})
    figure.update_layout(title=t("d_cost_title"), xaxis_title=t("chart_score"), yaxis_title=t("d_cost_axis"),
                         xaxis_range=[0, 1], height=320, margin={"l": 50, "r": 10, "t": 40, "b": 40},
                         legend={"orientation": "h", "y": -0.25})
    return static_spec(figure)


def _cost_figure(decisions: Decisions, costs: Costs, cheapest: float, current: float,
                 run: tuple[str, float]) -> go.Figure:
    spec = _cost_spec(run, costs.key(), _lang(), decisions, costs)
    curve = decisions.cost_curve(costs)
    return cost_markers(spec, curve.thresholds, curve.cost, {t("d_cheapest_point"): cheapest,
                                                             t("d_current_point"): current})


def _init_costs(run_dir: Path, key: str) -> None:
    """First visit: the cost inputs start from the costs kept with the run, if any."""
    if f"d_cost_miss_{key}" not in st.session_state:
        saved = load_costs(run_dir)
        st.session_state[f"d_cost_miss_{key}"] = saved.cost_miss if saved else 100.0
        st.session_state[f"d_cost_fa_{key}"] = saved.cost_false_alarm if saved else 1.0
        st.session_state[f"d_rate_{key}"] = saved.defect_rate * 1000 if saved else 3.0
        st.session_state[f"d_costs_given_{key}"] = saved is not None


def _costs_tab(decisions: Decisions, answer: ThresholdAnswer, key: str, slider_key: str,
               run: tuple[str, float]) -> None:
    st.caption(t("d_costs_intro"))
    columns = st.columns(4)
    columns[0].number_input(t("d_cost_miss"), min_value=0.0, step=10.0, key=f"d_cost_miss_{key}",
                            on_change=_mark, args=(key,))
    columns[1].number_input(t("d_cost_false_alarm"), min_value=0.0, step=1.0, key=f"d_cost_fa_{key}",
                            on_change=_mark, args=(key,))
    columns[2].number_input(t("d_defect_rate"), min_value=0.0, step=0.5, format="%g", key=f"d_rate_{key}",
                            on_change=_mark, args=(key,))
    columns[3].radio(t("d_rate_unit"), ["/1,000", "ppm"], key=f"d_rate_unit_{key}", on_change=_mark, args=(key,),
                     horizontal=True, help=t("d_rate_unit_help"))
    if answer.cost is None or answer.cheapest is None:
        try:
            _costs_from_state(key)
        except HamachoError as error:
            st.warning(str(error), icon=":material/warning:")
        return
    choice, costs = answer.cheapest, answer.cost.costs
    low, high = choice.threshold_interval
    st.markdown(t("d_cheapest", threshold=f"{choice.threshold:g}", low=f"{low:.2f}", high=f"{high:.2f}") + " "
                + cost_sentence(_lang(), choice))
    st.button(t("d_use"), icon=":material/call_missed_outgoing:", key=f"d_use_cost_{key}", on_click=_use,
              args=(slider_key, choice.threshold, key))
    st.plotly_chart(_cost_figure(decisions, costs, choice.threshold, answer.threshold, run),
                    key=f"d_cost_fig_{key}")
    st.caption(cost_sentence(_lang(), answer.cost) + "  \n" + costs_given(_lang(), costs) + " "
               + t("d_costs_saved_note"))


def _constraints_tab(answer: ThresholdAnswer, key: str, slider_key: str) -> None:
    left, right = st.columns(2)
    with left:
        st.number_input(t("d_min_recall"), 0.0, 1.0, 0.95, 0.01, key=f"d_min_recall_{key}")
        _constraint(answer.constraint("min_recall"), f"d_use_recall_{key}", slider_key)
    with right:
        st.number_input(t("d_max_fa"), 0.0, 1.0, 0.05, 0.01, key=f"d_max_fa_{key}")
        _constraint(answer.constraint("max_false_alarm_rate"), f"d_use_fa_{key}", slider_key)


def _constraint(choice: ConstraintChoice | None, button_key: str, slider_key: str) -> None:
    if choice is None or choice.threshold is None:
        st.info(t("d_constraint_none"))
        return
    st.markdown(t("d_constraint_found", threshold=f"{choice.threshold:g}", recall=span(choice.intervals.recall),
                  fa=span(choice.intervals.false_alarm_rate)))
    st.button(t("d_use"), key=button_key, on_click=_use, args=(slider_key, choice.threshold))


def _types_tab(answer: ThresholdAnswer) -> None:
    rows = []
    for item in answer.types:  # pixel figures memoised on the run's Decisions
        row = {t("d_col_type"): item.defect_type, t("d_col_caught"): f"{item.recall.count}/{item.recall.total}",
               t("d_col_recall"): span(item.recall), t("d_source"): source(_lang(), item.recall.provenance)}
        if item.pixel_recall is not None:
            row.update({t("d_col_pixel_recall"): f"{item.pixel_recall:.2f}",
                        t("d_col_pixel_precision"): f"{item.pixel_precision:.2f}",
                        t("d_col_iou"): f"{item.pixel_iou:.2f}"})
        rows.append(row)
    st.markdown(f"**{t('d_types_title')}**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="d_types_table")
    folders = [{t("d_col_folder"): f.folder,
                t("d_col_false_alarms"): f"{f.false_alarm_rate.count}/{f.false_alarm_rate.total}",
                t("d_col_fa_rate"): span(f.false_alarm_rate),
                t("d_source"): source(_lang(), f.false_alarm_rate.provenance)}
               for f in answer.folders]
    st.markdown(f"**{t('d_folders_title')}**")
    st.dataframe(pd.DataFrame(folders), hide_index=True, width="stretch", key="d_folders_table")


# ------------------------------------------------------------------------------------------ runs side by side
@st.cache_resource(show_spinner=False, max_entries=8)
def _evaluation(run_dir: str, stamp: float) -> Evaluation:
    return Evaluation.load(run_dir)


def _stamp(run_dir: Path) -> float:
    return max((run_dir / n).stat().st_mtime for n in ("config.yaml", "evaluation.safetensors")
               if (run_dir / n).exists())


@st.cache_resource(show_spinner=False, max_entries=4)
def _comparison(runs: tuple[tuple[str, float], ...]):
    evaluations = [_evaluation(run, stamp) for run, stamp in runs]
    return compare_runs(evaluations, [Path(run).name for run, _ in runs])


def _curves_figure(comparison, kind: str) -> go.Figure:
    figure = go.Figure()
    for run in comparison.runs:
        if not run.curves:
            continue
        x, y = (run.curves["recall"], run.curves["precision"]) if kind == "pr" else (run.curves["fpr"],
                                                                                        run.curves["tpr"])
        auroc = "" if run.intervals.auroc is None else f" (AUROC {run.intervals.auroc.value:.3f})"
        figure.add_scatter(x=x, y=y, mode="lines", name=run.name + (auroc if kind == "roc" else ""),
                           line={"shape": "hv"} if kind == "pr" else {})
    axes = (t("chart_recall"), t("chart_precision")) if kind == "pr" else (t("chart_fpr"), t("chart_tpr"))
    figure.update_layout(title=t("chart_pr") if kind == "pr" else t("chart_roc"), xaxis_title=axes[0],
                         yaxis_title=axes[1], height=320, margin={"l": 50, "r": 10, "t": 40, "b": 40},
                         legend={"orientation": "h", "y": -0.25})
    return figure


def _compare_tab(run_dir: Path) -> None:
    st.caption(t("d_compare_intro"))
    runs = project_runs(run_dir.parent.parent)
    labels = {str(run.run_dir): run_label(run) for run in runs}
    preset = [run for run in st.session_state.pop("d_compare_preset", []) if run in labels]  # a retrain's 2 runs
    if preset:
        st.session_state["d_compare_runs"] = preset
    chosen = st.multiselect(t("d_compare_pick"), list(labels), default=None if preset else [str(run_dir)]
                            if str(run_dir) in labels else None, format_func=labels.__getitem__, key="d_compare_runs")
    if len(chosen) < 2:
        st.info(t("d_compare_need_two"))
        return
    comparison = _comparison(tuple((run, _stamp(Path(run))) for run in chosen))
    message = t("d_compare_same" if comparison.same_pictures else "d_compare_differ", n=comparison.n_common)
    (st.caption if comparison.same_pictures else st.warning)(message)
    rows = []
    for run, difference in zip(comparison.runs, comparison.auroc_differences, strict=True):
        figures = run.intervals
        rows.append({t("d_col_run"): run.name, t("d_col_threshold"): f"{figures.threshold:.3f}",
                     t("d_source"): source(_lang(), figures.provenance),
                     "AUROC": "–" if figures.auroc is None else span(figures.auroc, 3),
                     t("d_col_auroc_diff"): "" if difference is None else span(difference, 3),
                     t("m_precision"): span(figures.precision), t("m_recall"): span(figures.recall),
                     t("d_false_alarm_rate"): span(figures.false_alarm_rate), t("m_f1"): span(figures.f1)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="d_compare_table")
    columns = st.columns(2)
    columns[0].plotly_chart(_curves_figure(comparison, "pr"), key="d_compare_pr")
    columns[1].plotly_chart(_curves_figure(comparison, "roc"), key="d_compare_roc")
    st.markdown(f"**{t('d_disagree_title', n=len(comparison.disagreements))}**")
    if comparison.disagreements:
        names = [run.name for run in comparison.runs]
        st.dataframe(pd.DataFrame([{
            t("d_col_picture"): item.path, t("d_col_type"): item.defect_type,
            t("d_col_truth"): t("defect") if item.label else t("good"),
            **{name: f"{t('defect') if verdict else t('good')} ({score:.3f})"
               for name, verdict, score in zip(names, item.verdicts, item.scores, strict=True)}}
            for item in comparison.disagreements]), hide_index=True, width="stretch", key="d_disagree_table")


def decision_tabs(decisions: Decisions, answer: ThresholdAnswer, key: str, slider_key: str,
                  run: tuple[str, float]) -> None:
    """Costs, constraints and per-type results at the slider's threshold, in tabs below the charts (all from
    ``answer``; ``run``: the run folder and its files' last change, the cache key of the cost chart)."""
    costs, constraints, types = st.tabs([t("d_tab_costs"), t("d_tab_constraints"), t("d_tab_types")])
    both = answer.headline.n_defect > 0 and answer.headline.n_good > 0
    with costs:
        if both:
            _costs_tab(decisions, answer, key, slider_key, run)
    with constraints:
        if both:
            _constraints_tab(answer, key, slider_key)
    with types:
        _types_tab(answer)


def compare_section(run_dir: Path) -> None:
    """Runs side by side (no threshold in it: drawn once per page run, outside the slider's fragment)."""
    retrained = bool(st.session_state.get("d_compare_preset"))  # a retrain just ended: open on its two runs
    with st.expander(t("d_tab_compare"), icon=":material/compare_arrows:", expanded=retrained):
        try:
            _compare_tab(run_dir)
        except HamachoError as error:
            st.error(f"{t('error')}: {error}", icon=":material/error:")


def gallery_filter(evaluation: Evaluation, scores: np.ndarray, order: list[int], threshold: float) -> list[int]:
    """Filter the gallery order by defect type and outcome (widgets above the gallery); ``scores`` are the ones the
    gallery shows (the run's own)."""
    types = sorted(set(evaluation.defect_types))
    left, right = st.columns(2)
    every = t("d_all")  # plain options (no format_func): the key carries the language
    chosen_type = left.selectbox(t("d_filter_type"), [every, *types], key=f"d_filter_type_{_lang()}")
    outcomes = right.multiselect(t("d_filter_outcome"), list(OUTCOMES), default=list(OUTCOMES),
                                 key="d_filter_outcome")
    if chosen_type == every and set(outcomes) == set(OUTCOMES):
        return order
    chosen = [i for i in order if chosen_type == every or evaluation.defect_types[i] == chosen_type]
    result = picture_outcomes(evaluation.labels[chosen], scores[chosen], threshold)
    return [i for i, name in zip(chosen, result, strict=True) if name in outcomes]
