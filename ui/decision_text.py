"""The decision tools' sentences in the UI's language (no streamlit: the page and the report both use them)."""

from __future__ import annotations

from hamacho_core.decisions import CostChoice, Costs, Estimate, ThresholdIntervals, pictures_for_width
from hamacho_core.threshold_table import count, pct
from ui.i18n import translate

__all__ = ["cost_sentence", "costs_given", "interval", "recall_sentence", "span", "width_sentence"]


def interval(estimate: Estimate, digits: int = 2) -> str:
    """``0.86–0.99``."""
    return f"{estimate.low:.{digits}f}–{estimate.high:.{digits}f}"


def span(estimate: Estimate, digits: int = 2) -> str:
    """``0.95 (0.86–0.99)``."""
    return f"{estimate.value:.{digits}f} ({interval(estimate, digits)})"


def recall_sentence(language: str, figures: ThresholdIntervals) -> str:
    """"Recall 0.95 (0.86–0.99): with 40 defect pictures, a miss rate up to 14 % cannot be ruled out."."""
    recall = figures.recall
    return translate(language, "d_recall_sentence", recall=f"{recall.value:.2f}", low=f"{recall.low:.2f}",
                     high=f"{recall.high:.2f}", n=figures.n_defect, miss=pct(1 - recall.low))


def width_sentence(language: str, figures: ThresholdIntervals, width: float) -> str:
    """How many defect pictures would bring the recall interval under ``width``."""
    if figures.recall.width <= width:
        return translate(language, "d_width_done", width=f"{width:g}")
    needed = pictures_for_width(figures.recall.value, width)
    if needed is None:
        return translate(language, "d_width_never", width=f"{width:g}")
    return translate(language, "d_width_needed", n=f"{needed:,}", width=f"{width:g}")


def cost_sentence(language: str, choice: CostChoice) -> str:
    """"At 0.47: per 1,000 parts, about 12 false alarms (8–17) and 0.3 escapes (0.1–0.9); expected cost ..."."""
    fa, esc, cost = choice.false_alarms, choice.escapes, choice.cost
    return translate(language, "d_cost_sentence", threshold=f"{choice.threshold:g}", fa=count(fa.value),
                     fa_low=count(fa.low), fa_high=count(fa.high), esc=count(esc.value), esc_low=count(esc.low),
                     esc_high=count(esc.high), cost=count(cost.value), cost_low=count(cost.low),
                     cost_high=count(cost.high))


def costs_given(language: str, costs: Costs) -> str:
    """The costs the statement rests on."""
    return translate(language, "d_costs_given", miss=f"{costs.cost_miss:g}", fa=f"{costs.cost_false_alarm:g}",
                     rate=f"{costs.defect_rate * 1000:g}")
