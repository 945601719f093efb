"""The decision figures in the report: an HTML fragment for ``index.html`` and a one-page summary PNG, both in the
UI's language (plain functions: no streamlit, tested directly).

Both state the headline figures at the run's saved threshold (hold-out when the run has one, else cross-fitted) with
their 95 % intervals and where they come from, the fitted figures marked as such, the recall sentence, the cost
statement when costs were saved with the run (``costs.json``), and the per-type and per-folder tables. The same
figures go into the ZIP as ``decisions.csv`` (one row per figure, with its source).
"""

from __future__ import annotations

import html
import zipfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

from hamacho_core.decisions import (
    CostChoice,
    Decisions,
    FolderResult,
    ThresholdAnswer,
    ThresholdIntervals,
    TypeResult,
    load_costs,
)
from hamacho_core.errors import HamachoError
from hamacho_core.evaluation import Evaluation
from ui.decision_text import (
    cost_sentence,
    costs_given,
    interval,
    reason_sentence,
    source,
    span,
)
from ui.i18n import translate

__all__ = ["DecisionSummary", "add_decisions", "decision_summary", "decisions_csv", "decisions_html", "summary_png"]

WIDTH = 0.1  # interval width the report's "pictures needed" sentence uses


@dataclass
class DecisionSummary:
    """Everything the report states about decisions, at the run's saved threshold."""

    answer: ThresholdAnswer  # headline and fitted figures, costs, per type and folder, reason codes
    cheapest: CostChoice | None

    @property
    def intervals(self) -> ThresholdIntervals:
        return self.answer.headline

    @property
    def types(self) -> list[TypeResult]:
        return self.answer.types

    @property
    def folders(self) -> list[FolderResult]:
        return self.answer.folders

    @property
    def cost(self) -> CostChoice | None:
        return self.answer.cost


def decision_summary(run_dir: Path, evaluation: Evaluation | None = None,
                     holdout: Evaluation | None = None) -> DecisionSummary:
    """The figures at the saved threshold (the bootstrap is drawn here: about a second for 2,000 pictures)."""
    decisions = (Decisions.for_run(run_dir) if evaluation is None and holdout is None
                 else Decisions(evaluation if evaluation is not None else Evaluation.load(run_dir), holdout=holdout))
    evaluation = decisions.evaluation
    threshold = float(evaluation.normalization.normalized_image_threshold)
    pixel_norm = float(evaluation.normalization.normalized_pixel_threshold) if evaluation.masks is not None else None
    costs = load_costs(run_dir)
    answer = decisions.answer(threshold, costs, WIDTH, pixel_norm)
    return DecisionSummary(answer, answer.cheapest)


_FIGURES = (("d_precision", "precision"), ("d_recall", "recall"), ("d_false_alarm_rate", "false_alarm_rate"),
            ("d_accuracy", "accuracy"), ("d_f1", "f1"), ("d_auroc", "auroc"))


def _rows(summary: DecisionSummary, language: str, fitted: bool = True) -> list[tuple[str, str, str, str, str]]:
    """(figure, value, interval, counts, source) of the table: the headline figures, then (``fitted``) the fitted
    ones."""
    rows = []
    both = fitted and summary.answer.provenance != "fitted"
    for figures in (summary.answer.headline, summary.answer.fitted)[:2 if both else 1]:
        for key, name in _FIGURES:
            if (e := getattr(figures, name)) is None or (figures is summary.answer.fitted and name == "auroc"):
                continue
            rows.append((translate(language, key), f"{e.value:.3f}", interval(e, 3),
                         f"{e.count}/{e.total}" if e.total is not None else "", source(language, e.provenance)))
    return rows


def decisions_csv(summary: DecisionSummary) -> str:
    """``decisions.csv``: one row per figure at the saved threshold, with its interval, counts and source."""
    lines = ["figure,value,low,high,count,total,source,threshold,pictures"]
    answer = summary.answer
    for figures in (answer.headline, answer.fitted):
        for _, name in _FIGURES:
            if (e := getattr(figures, name)) is None:
                continue
            lines.append(f"{name},{e.value:.6f},{e.low:.6f},{e.high:.6f},{'' if e.count is None else e.count},"
                         f"{'' if e.total is None else e.total},{e.provenance},{figures.threshold:.6f},"
                         f"{figures.n_pictures}")
    if answer.cost is not None:
        for name in ("cost", "false_alarms", "escapes"):
            e = getattr(answer.cost, name)
            lines.append(f"{name}_per_1000_parts,{e.value:.6f},{e.low:.6f},{e.high:.6f},,,{e.provenance},"
                         f"{answer.threshold:.6f},{answer.headline.n_pictures}")
    return "\n".join(lines) + "\n"


def _sentences(summary: DecisionSummary, language: str) -> list[str]:
    answer = summary.answer
    out = [reason_sentence(language, r).replace("**", "") for r in answer.reasons if r.code != "provenance"]
    if summary.cost is not None:
        out += [costs_given(language, summary.cost.costs), cost_sentence(language, summary.cost)]
        if summary.cheapest is not None and summary.cheapest.threshold_interval is not None:
            low, high = summary.cheapest.threshold_interval
            out.append(translate(language, "d_cheapest", threshold=f"{summary.cheapest.threshold:g}",
                                 low=f"{low:.2f}", high=f"{high:.2f}").replace("**", "") + " "
                       + cost_sentence(language, summary.cheapest))
    return out


def _type_rows(summary: DecisionSummary, language: str) -> tuple[list[str], list[list[str]]]:
    pixels = any(item.pixel_recall is not None for item in summary.types)
    head = [translate(language, k) for k in ("d_col_type", "d_col_caught", "d_col_recall", "d_source")]
    if pixels:
        head += [translate(language, k) for k in ("d_col_pixel_recall", "d_col_pixel_precision", "d_col_iou")]
    rows = []
    for item in summary.types:
        row = [item.defect_type, f"{item.recall.count}/{item.recall.total}", span(item.recall),
               source(language, item.recall.provenance)]
        if pixels:
            row += [f"{v:.2f}" if v is not None else "–"
                    for v in (item.pixel_recall, item.pixel_precision, item.pixel_iou)]
        rows.append(row)
    return head, rows


def _folder_rows(summary: DecisionSummary, language: str) -> tuple[list[str], list[list[str]]]:
    head = [translate(language, k) for k in ("d_col_folder", "d_col_false_alarms", "d_col_fa_rate", "d_source")]
    return head, [[f.folder, f"{f.false_alarm_rate.count}/{f.false_alarm_rate.total}", span(f.false_alarm_rate),
                   source(language, f.false_alarm_rate.provenance)] for f in summary.folders]


def _table(head: list[str], rows: list[list[str]] | list[tuple[str, ...]]) -> str:
    esc = html.escape
    top = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class=\"decisions\"><tr>{top}</tr>{body}</table>"


def decisions_html(summary: DecisionSummary, language: str = "en") -> str:
    """The report's decision section: intervals table, sentences, per-type and per-folder tables (HTML)."""
    esc = html.escape
    figures = summary.intervals
    head = [translate(language, k) for k in ("d_figure", "d_value", "d_interval", "d_counts", "d_source")]
    sentences = "".join(f"<p>{esc(s)}</p>" for s in _sentences(summary, language))
    return (f"<section id=\"decisions\"><h2>{esc(translate(language, 'd_report_title'))}</h2>"
            f"<p>{esc(translate(language, 'd_report_intervals', threshold=f'{figures.threshold:.3f}'))}</p>"
            f"<p class=\"provenance\"><strong>{esc(reason_sentence(language, summary.answer.reason('provenance')))}"
            "</strong></p>"
            f"{_table(head, _rows(summary, language))}{sentences}"
            f"<h3>{esc(translate(language, 'd_types_title'))}</h3>{_table(*_type_rows(summary, language))}"
            f"<h3>{esc(translate(language, 'd_folders_title'))}</h3>{_table(*_folder_rows(summary, language))}"
            "</section>")


def _cjk_font() -> list[str]:
    """A font family list that draws Japanese when Noto CJK is installed (else matplotlib's default).

    matplotlib's font cache may predate the system's CJK fonts (or skip .ttc collections): those are added.
    """
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not any("CJK" in name for name in names):
        for path in font_manager.findSystemFonts():
            if "NotoSansCJK-Regular" in Path(path).name:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    return [n for n in ("Noto Sans CJK JP", "Noto Serif CJK JP") if n in names] + ["DejaVu Sans"]


def summary_png(summary: DecisionSummary, path: Path, title: str, language: str = "en") -> Path:
    """A one-page summary (A4 portrait at 100 dpi): figures with intervals, sentences, per-type recall chart."""
    import textwrap

    with plt.rc_context({"font.family": _cjk_font()}):
        figure = plt.figure(figsize=(8.27, 11.69), dpi=100)
        figure.text(0.06, 0.965, title, fontsize=15, weight="bold", va="top")
        subtitle = translate(language, "d_report_intervals", threshold=f"{summary.intervals.threshold:.3f}")
        figure.text(0.06, 0.935, subtitle, fontsize=11, va="top")
        provenance = reason_sentence(language, summary.answer.reason("provenance"))
        figure.text(0.06, 0.915, "\n".join(textwrap.wrap(provenance, 58 if language == "ja" else 100)), fontsize=9,
                    va="top", weight="bold")
        table_axis = figure.add_axes((0.06, 0.72, 0.88, 0.17))
        table_axis.axis("off")
        head = [translate(language, k) for k in ("d_figure", "d_value", "d_interval", "d_counts", "d_source")]
        table = table_axis.table(cellText=[list(r) for r in _rows(summary, language, fitted=False)], colLabels=head,
                                 loc="upper left", cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(10)
        table.scale(1, 1.4)
        wrap = 58 if language == "ja" else 100
        fitted = summary.answer.fitted
        notes = [] if summary.answer.provenance == "fitted" else [translate(
            language, "d_fitted_line", f1=f"{fitted.f1.value:.3f}", p=f"{fitted.precision.value:.3f}",
            r=f"{fitted.recall.value:.3f}")]
        lines = [line for s in notes + _sentences(summary, language) for line in textwrap.wrap(s, wrap)]
        figure.text(0.06, 0.69, "\n".join(lines), fontsize=10, va="top", linespacing=1.5)
        height = min(0.4, 0.05 + 0.04 * len(summary.types))
        chart = figure.add_axes((0.3, 0.48 - height, 0.62, height))
        names = [item.defect_type for item in summary.types]
        values = [item.recall.value for item in summary.types]
        errors = [[v - item.recall.low for v, item in zip(values, summary.types, strict=True)],
                  [item.recall.high - v for v, item in zip(values, summary.types, strict=True)]]
        chart.barh(names, values, xerr=errors, color="#d62728", alpha=0.75, capsize=4)
        for row, item in enumerate(summary.types):
            chart.text(1.02, row, f"{item.recall.count}/{item.recall.total}", va="center", fontsize=9)
        chart.set_xlim(0, 1.0)
        chart.invert_yaxis()
        chart.set_title(translate(language, "d_types_title") + " (95 %)", fontsize=11)
        chart.set_xlabel(translate(language, "d_recall"))
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
        plt.close(figure)
    return path


def add_decisions(run_dir: Path, archive: zipfile.ZipFile, top: str, page: str, title: str, language: str,
                  scratch: Path) -> str:
    """Put the decision section into the report page (before ``</body>``), ``summary.png`` and ``decisions.csv``
    into the ZIP.

    Returns the page unchanged when the run has no readable test results (older runs).
    """
    try:
        summary = decision_summary(run_dir)
    except HamachoError:
        return page
    archive.write(summary_png(summary, scratch / "summary.png", title, language), f"{top}/summary.png")
    archive.writestr(f"{top}/decisions.csv", decisions_csv(summary))
    section = decisions_html(summary, language) + '<p><img class="plot" src="summary.png" alt="summary"></p>'
    return page.replace("</body>", section + "</body>", 1)
