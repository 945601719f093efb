"""The review loop's widgets: relabel a picture where it is shown, add a scored picture, the label history, refused
imports, and "retrain with N changes". Every change is made by the core (``hamacho_core.labels``,
``hamacho_core.review``); this module only asks and shows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from hamacho_core import labels, review
from hamacho_core.workspace import project_data_dir
from ui.i18n import t
from ui.widgets import flash, show_errors

__all__ = ["REVIEW_OPEN", "add_popover", "current_user", "history_panel", "label_text", "refused_panel",
           "relabel_popover", "doctor_panel", "retrain_button", "review_panel", "wrong_verdicts_panel"]

_NEW = "\0new"
REVIEW_OPEN = "review_open"  # session key: (old run, new run) of a retrain this session started, until it is shown


def current_user() -> str:
    """The signed-in user (OIDC name or e-mail), else ``local``."""
    from ui.access import login_mode

    if login_mode() == "oidc" and st.user.is_logged_in:
        return str(st.user.get("email") or st.user.get("name") or labels.LOCAL)
    return labels.LOCAL


def label_text(label: str) -> str:
    """``good`` / ``defect:<type>`` / ``excluded`` / ``new`` in the page's language."""
    kind, _, kind_type = label.partition(":")
    if kind == labels.DEFECT:
        return f"{t('l_defect')}: {kind_type}"
    return {"good": t("l_good"), "excluded": t("l_excluded"), "new": "—"}.get(kind, label)


def _types(project: Path) -> list[str]:
    bad = project_data_dir(project) / "bad"
    return sorted(p.name for p in bad.iterdir() if p.is_dir() and not p.name.startswith(".")) if bad.is_dir() else []


def _choose(project: Path, key: str, choices: tuple[str, ...]) -> tuple[str, str | None, str]:
    words = [t(f"l_{c}") for c in choices]  # plain options (no format_func): the key carries the language
    language = st.session_state.get("lang", "en")
    to = choices[words.index(st.radio(t("l_choice"), words, key=f"{key}_to_{language}", horizontal=True))]
    defect_type = None
    if to == labels.DEFECT:
        defect_type = st.selectbox(t("l_type"), [*_types(project), _NEW], key=f"{key}_type",
                                   format_func=lambda c: t("l_new_type") if c == _NEW else c)
        if defect_type == _NEW:
            defect_type = st.text_input(t("l_type_name"), key=f"{key}_new_type")
    why = st.text_input(t("l_why"), key=f"{key}_why")
    return to, defect_type, why


def relabel_popover(project: Path, picture: str | Path, key: str,
                    found: Sequence[labels.LabelChange] | None = None) -> None:
    """A "Label" popover under a picture of the dataset: good / defect (type) / exclude (why), and undo.

    ``found``: the project's label changes, read once by a caller that shows many pictures."""
    now, last = labels.where_now(project, picture, found)
    title = t("l_button") if last is None else f"{t('l_button')} · {label_text(last.after)}"
    with st.popover(title, icon=":material/label:"):
        if now is None:
            st.caption(t("l_gone"))
            return
        st.caption(t("l_now", label=label_text(labels.label_of(now))))
        to, defect_type, why = _choose(project, key, labels.LABELS)
        mask = None
        if to == labels.DEFECT and st.toggle(t("l_draw"), key=f"{key}_draw", help=t("l_draw_help")):
            mask = _draw_mask(project, now, key)
        if st.button(t("l_apply"), key=f"{key}_apply", type="primary"):
            with show_errors():
                change = labels.relabel(project, now.as_posix(), to, defect_type, why, current_user(), mask)
                flash(t("l_done", picture=Path(change.picture).name, before=label_text(change.before),
                        after=label_text(change.after)))
                st.rerun(scope="app")
        if last is not None and st.button(t("l_undo"), key=f"{key}_undo", icon=":material/undo:"):
            with show_errors():
                _undo(project, last.id)


def _draw_mask(project: Path, relative, key: str):
    """A canvas over the picture (streamlit-drawable-canvas): boxes or strokes become the defect's mask, returned
    at the picture's size (None while nothing is drawn)."""
    import cv2
    from PIL import Image
    from streamlit_drawable_canvas import st_canvas  # a component: its import needs the running app

    from hamacho_core.imageio import read_image

    image = read_image(project_data_dir(project) / relative)
    height, width = image.shape[:2]
    scale = 360 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    modes = {"rect": t("l_draw_rect"), "freedraw": t("l_draw_free")}
    mode = st.radio(t("l_draw_mode"), list(modes), format_func=modes.__getitem__, horizontal=True,
                    key=f"{key}_mode")
    result = st_canvas(fill_color="rgba(255, 0, 0, 0.35)", stroke_color="#ff0000", stroke_width=10,
                       background_image=Image.fromarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA)),
                       width=size[0], height=size[1], drawing_mode=mode, return_image_data=True,
                       key=f"{key}_canvas")
    drawn = result.image_data
    if drawn is None or not (drawn[..., 3] > 0).any():
        return None
    return cv2.resize((drawn[..., 3] > 0).astype("uint8"), (width, height), interpolation=cv2.INTER_NEAREST)


def _undo(project: Path, change_id: str) -> None:
    change = labels.undo(project, change_id, current_user())
    flash(t("l_undone", picture=Path(change.picture).name, after=label_text(change.after)))
    st.rerun(scope="app")


def add_popover(project: Path, source: Path, key: str) -> None:
    """Under a scored picture of the Inference page: add it to the dataset as good or as a defect (type)."""
    with st.popover(t("l_add"), icon=":material/add_photo_alternate:"):
        to, defect_type, why = _choose(project, key, (labels.GOOD, labels.DEFECT))
        if st.button(t("l_apply"), key=f"{key}_apply", type="primary"):
            with show_errors():
                change = labels.add_picture(project, source.read_bytes(), source.name, to, defect_type, why,
                                            current_user())
                flash(t("l_added", picture=change.picture, after=label_text(change.after)))
                st.rerun(scope="app")


def history_panel(project: Path) -> None:
    """The project's label history, newest first, with undo of a change still in force."""
    st.subheader(t("l_history"), help=t("l_history_help"))
    found = labels.changes(project)
    if not found:
        st.caption(t("l_history_empty"))
        return
    st.dataframe(pd.DataFrame([{
        t("l_col_when"): c.when[:19].replace("T", " "), t("l_col_who"): c.who,
        t("l_col_picture"): c.picture, t("l_col_from"): label_text(c.before), t("l_col_to"): label_text(c.after),
        t("l_col_why"): c.why, t("l_col_sha"): c.sha256[:12]} for c in reversed(found)]),
        hide_index=True, width="stretch", key="label_history")
    in_force = labels.changes_since(project, None)
    if in_force:
        choice = st.selectbox(t("l_undo"), [c.id for c in reversed(in_force)], key="history_undo_pick",
                              format_func=lambda i: next(f"{c.picture} ({label_text(c.before)} → "
                                                         f"{label_text(c.after)})" for c in in_force if c.id == i))
        if st.button(t("l_undo"), key="history_undo", icon=":material/undo:"):
            with show_errors():
                _undo(project, choice)


def refused_panel(project: Path, show: bool = True) -> int:
    """Files refused by earlier imports, kept until dismissed (``show=False``: only count them)."""
    refused = labels.open_refusals(project)
    if not refused or not show:
        return len(refused)
    st.warning(t("l_refused", n=len(refused)), icon=":material/block:")
    st.dataframe(pd.DataFrame([{t("l_col_when"): r.when[:19].replace("T", " "),
                                t("col_file"): r.name, t("col_reason"): r.reason} for r in refused]),
                 hide_index=True, width="stretch", key="refused_table")
    if st.button(t("l_dismiss"), key="dismiss_refused", icon=":material/done_all:"):
        labels.dismiss_refusals(project, [r.id for r in refused], current_user())
        st.rerun()
    return len(refused)


def retrain_button(project: Path, run_dir: Path) -> None:
    """"Retrain with N changes": the run's settings on the corrected data, as a job; the Train page shows it."""
    from ui.state import get_manager

    pending = review.pending_changes(project, run_dir)
    if not pending:
        return
    if st.button(t("l_retrain", n=len(pending)), type="primary", icon=":material/model_training:",
                 help=t("l_retrain_help"), key="retrain"):
        with show_errors():
            config = review.retrain_config(project, run_dir)
            job = get_manager().submit(project, config)
            review.record_retrain(project, run_dir, Path(config.run_dir), pending, current_user())
            st.session_state[REVIEW_OPEN] = (str(run_dir), str(config.run_dir))  # the job view opens the comparison
            flash(t("l_retrain_queued", id=job.id))
            st.switch_page("pages/train.py")


@st.cache_resource(show_spinner=False, max_entries=4)
def _review(project: str, old: str, new: str, stamp: float):
    from hamacho_core.comparison import compare_runs
    from hamacho_core.evaluation import Evaluation

    changes = review.changes_between(Path(project), old, new)
    before = review.corrected(Evaluation.load(old), Path(project), changes)
    return compare_runs([before, Evaluation.load(new)], [Path(old).name, Path(new).name]), changes


def review_panel(project: Path, run_dir: Path) -> bool:
    """For a run retrained with label changes: the two runs side by side (paired AUROC difference), the pictures
    whose verdict changed and the label changes between them. False when the run is not such a retrain."""
    from ui.decision_text import span

    old = review.retrained_from(project, run_dir)
    if old is None:
        return False
    stamp = (project / labels.HISTORY).stat().st_mtime
    comparison, changes = _review(str(project), str(old), str(run_dir), stamp)
    st.subheader(t("l_compare_title"), help=t("l_compare_help"))
    st.markdown(t("l_runs", old=old.name, new=run_dir.name))
    st.caption(t("l_compare_help") + " " + t("d_range_help"))
    rows = []
    for run, difference in zip(comparison.runs, comparison.auroc_differences, strict=True):
        figures = run.intervals
        rows.append({t("l_col_run"): run.name, "AUROC": "–" if figures.auroc is None else span(figures.auroc, 3),
                     t("l_col_auroc_diff"): "" if difference is None else span(difference, 3),
                     "F1": span(figures.f1), "TP/FP/TN/FN": f"{figures.tp}/{figures.fp}/{figures.tn}/{figures.fn}"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="review_runs")
    data = project_data_dir(project).resolve()
    st.markdown(f"**{t('l_changed_verdicts', n=len(comparison.disagreements))}**")
    if comparison.disagreements:
        st.dataframe(pd.DataFrame([{
            t("l_col_picture"): _relative(item.path, data),
            t("l_col_truth"): t("defect") if item.label else t("good"),
            t("l_col_verdict_old"): f"{t('defect') if item.verdicts[0] else t('good')} ({item.scores[0]:.3f})",
            t("l_col_verdict_new"): f"{t('defect') if item.verdicts[1] else t('good')} ({item.scores[1]:.3f})"}
            for item in comparison.disagreements]), hide_index=True, width="stretch", key="review_verdicts")
    st.markdown(f"**{t('l_changes_between', n=len(changes))}**")
    if changes:
        st.dataframe(pd.DataFrame([{t("l_col_picture"): c.picture, t("l_col_from"): label_text(c.before),
                                    t("l_col_to"): label_text(c.after), t("l_col_why"): c.why, t("l_col_who"): c.who}
                                   for c in changes]), hide_index=True, width="stretch", key="review_changes")
    return True


def _relative(path: str, data: Path) -> str:
    try:
        return Path(path).resolve().relative_to(data).as_posix()
    except ValueError:
        return path


def _finding_text(finding) -> str:
    """The finding in the page's language: its reason code worded, its numbers, the pictures (data-relative)."""
    numbers = ", ".join(f"{k} {v}" for k, v in finding.values.items() if k != "across")
    across = finding.values.get("across")
    words = t(f"doc_{finding.kind}") + (f" ({t(f'doc_across_{across}')})" if across else "")
    return f"**{words}** {numbers}".strip()


def doctor_panel(project: Path) -> None:
    """The data doctor on the Data page: examine, then one click per finding (exclude, relabel)."""
    from hamacho_core.doctor import DoctorConfig, examine

    data = project_data_dir(project).resolve()
    st.subheader(t("doc_title"), help=t("doc_help"))
    features = st.checkbox(t("doc_features"), value=True, key="doc_features", help=t("doc_features_help"))
    if st.button(t("doc_run"), key="doc_run", icon=":material/health_and_safety:"):
        bar = st.progress(0.0, text=t("doc_running"))
        with show_errors():
            report = examine(data, "folder", DoctorConfig(features=features),
                             lambda done, total, stage: bar.progress(min(done / max(total, 1), 1.0),
                                                                     text=f"{t('doc_running')} {stage}"))
            st.session_state["doctor"] = (str(project), report)
        bar.empty()
    kept = st.session_state.get("doctor")
    if not kept or kept[0] != str(project):
        return
    report = kept[1]
    st.caption(t("doc_summary", n=report.n_pictures, found=len(report.findings), s=f"{report.seconds:.0f}"))
    for number, finding in enumerate(report.findings[:60]):
        target = finding.pictures[0]
        try:
            relative = labels.find_picture(project, target).as_posix()
        except labels.LabelError:
            continue  # acted on already (moved), or a mask
        left, right = st.columns([4, 1])
        names = " ↔ ".join(_relative(p, data) for p in finding.pictures)
        left.markdown(f"{_finding_text(finding)} · `{names}`")
        if target in report.maps:
            left.image(_heat(target, report.maps[target]), width=240, caption=t("doc_heat"))
        if finding.action == "relabel_defect" and right.button(t("doc_defect"), key=f"doc_d_{number}"):
            _apply(project, relative, labels.DEFECT, "suspect", finding.kind)
        if finding.action == "relabel_good" and right.button(t("doc_good"), key=f"doc_g_{number}"):
            _apply(project, relative, labels.GOOD, None, finding.kind)
        if right.button(t("doc_exclude"), key=f"doc_x_{number}"):
            _apply(project, relative, labels.EXCLUDED, None, finding.kind)


def _heat(path: str, distances):
    from ui.images import heat_overlay, thumbnail

    image = thumbnail(path, 240)
    scaled = (distances - distances.min()) / max(float(distances.max() - distances.min()), 1e-9)
    return heat_overlay(image, scaled)


def _apply(project: Path, relative: str, to: str, defect_type: str | None, kind: str) -> None:
    with show_errors():
        change = labels.relabel(project, relative, to, defect_type, f"data doctor: {kind}", current_user())
        flash(t("l_done", picture=Path(change.picture).name, before=label_text(change.before),
                after=label_text(change.after)))
        st.rerun()


def wrong_verdicts_panel(project: Path, run_dir: Path, limit: int = 12) -> None:
    """The Report page: the run's false alarms and misses at its saved threshold, each with the Label popover, so a
    label error is fixed before the report goes out (the history goes into the ZIP)."""
    from hamacho_core.evaluation import Evaluation
    from hamacho_core.metrics import outcomes
    from ui.images import thumbnail

    evaluation = Evaluation.load(run_dir)
    scores = evaluation.normalized_scores
    results = outcomes(evaluation.labels, scores, float(evaluation.normalization.normalized_image_threshold))
    wrong = sorted((i for i, r in enumerate(results) if r in ("FP", "FN")), key=lambda i: -abs(scores[i] - 0.5))
    with st.expander(t("l_wrong_title", n=len(wrong)), icon=":material/rule:"):
        st.caption(t("l_wrong_help"))
        places = review.pictures_in_project(project, run_dir, [evaluation.paths[i] for i in wrong[:limit]])
        found = labels.changes(project)
        columns = st.columns(4)
        for slot, (index, place) in enumerate(zip(wrong[:limit], places, strict=True)):
            with columns[slot % 4]:
                kind = t("l_false_alarm") if results[index] == "FP" else t("l_missed")
                st.image(thumbnail(place, 160), caption=f"{kind} · {scores[index]:.3f} · {Path(place).name}")
                relabel_popover(project, place, f"report_relabel_{index}", found)
